import * as core from '@actions/core';
import { runAction } from './action/main.js';
import { cancelOnSignals } from './cancellation.js';
import { installLastResort } from './lastResort.js';

installLastResort((message) => core.setFailed(message), [], process.env);

const cancellation = cancelOnSignals();
await runAction(process.env, process.cwd(), cancellation.signal);
// A cancelled run has abandoned requests that may still hold timers (a retry's backoff): exit now.
if (cancellation.signal.aborted) process.exit();

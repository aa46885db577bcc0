import * as core from '@actions/core';
import { run } from './action/main.js';
import { cancelOnSignals } from './common/cancellation.js';
import { installLastResort } from './common/lastResort.js';

installLastResort((message) => core.setFailed(message), [], process.env);

const cancellation = cancelOnSignals();
await run(cancellation.signal);
// A cancelled run has abandoned requests that may still hold timers (a retry's backoff): exit now.
if (cancellation.signal.aborted) process.exit();

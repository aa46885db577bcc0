import * as core from '@actions/core';
import { run } from './action/main.js';
import { cancelOnSignals } from './common/cancellation.js';
import { installLastResort } from './common/lastResort.js';

installLastResort((message) => core.setFailed(message), [], process.env);

const cancellation = cancelOnSignals();
await run(cancellation.signal);
// Exit now (with the code setFailed left), without waiting for work nobody awaits any more: a
// cancelled run's abandoned requests, or a file system call that never returns.
process.exit();

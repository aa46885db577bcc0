import * as core from '@actions/core';
import { runAction } from './action/main.js';
import { installLastResort } from './lastResort.js';

installLastResort((message) => core.setFailed(message), [], process.env);

await runAction();

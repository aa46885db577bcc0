/**
 * The action's entry: dist/index.js, which the runner starts (action.yml `runs.main`). It is also a
 * module exporting `run()`, which `local-action run . src/index.ts .env` imports and calls: the action
 * starts here only when this file is the program Node was started with, so importing it runs nothing.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as core from '@actions/core';
import { run } from './action/main.js';
import { installLastResort } from './common/lastResort.js';

export { run };

/** True for `node dist/index.js` (the runner), false when another program imports this module. */
function startedDirectly(): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (startedDirectly()) {
  installLastResort((message) => core.setFailed(message), [], process.env);
  await run();
  // The verdict, outputs and summary are written. A cancelled run, or a PR comment stopped by its
  // deadline, may leave abandoned requests and a retry's backoff timer behind: exit now, with the code
  // the verdict set (stdout and stderr are pipes on a runner, written synchronously).
  process.exit();
}

import { runCli } from './cli/main.js';
import { cancelOnSignals } from './common/cancellation.js';
import { SIGNAL_EXIT_CODES } from './common/errors.js';
import { installLastResort } from './common/lastResort.js';

installLastResort((message) => process.stderr.write(`${message}\n`), process.argv.slice(2), process.env);

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  cwd: process.cwd(),
  cancelOnSignals,
});
process.exitCode = code;
// A cancelled run has abandoned requests that may still hold timers (a retry's backoff): exit now,
// once what was printed has been written.
if ((Object.values(SIGNAL_EXIT_CODES) as number[]).includes(code)) process.stderr.write('', () => process.exit(code));

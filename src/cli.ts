import { runCli } from './cli/main.js';
import { cancelOnSignals } from './common/cancellation.js';
import { installLastResort } from './common/lastResort.js';

installLastResort((message) => process.stderr.write(`${message}\n`), process.argv.slice(2), process.env);

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  cwd: process.cwd(),
  cancelOnSignals,
});
// Exit once what was printed has been written, without waiting for work nobody awaits any more: a
// cancelled run's abandoned requests (a retry's backoff), or a file system call that never returns
// (a directory under /proc), would otherwise keep the process alive.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

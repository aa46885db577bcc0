import { runCli } from './cli/main.js';
import { installLastResort } from './lastResort.js';

installLastResort((message) => process.stderr.write(`${message}\n`), process.argv.slice(2), process.env);

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  cwd: process.cwd(),
});

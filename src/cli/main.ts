import { exitCodeOf, isInternalError, PreflightError, RunCancelledError } from '../common/errors.js';
import { maskUrlCredentials } from '../common/secrets.js';
import { VERSION } from '../common/version.js';
import { credentialsFrom, scrubCredentials } from '../common/lastResort.js';
import { COMMON_FLAGS, verbosityOf, type CliIo, type Command } from './args.js';
import { calibrateCommandDef } from './commands/calibrate.js';
import { importCommandDef } from './commands/import.js';
import { initCommandDef } from './commands/init.js';
import { mergeCommandDef } from './commands/merge.js';
import { planCommandDef } from './commands/plan.js';
import { realismCommandDef } from './commands/realism.js';
import { reportCommandDef } from './commands/report.js';
import { commentCommandDef } from './commands/comment.js';
import { runCommandDef } from './commands/run.js';
import { scrubCommandDef } from './commands/scrub.js';
import { validateCommandDef } from './commands/validate.js';

export type { CliIo } from './args.js';

/** Every subcommand; each lives in commands/<name>.ts with its own --help text. */
const COMMANDS: Command[] = [runCommandDef, planCommandDef, validateCommandDef, reportCommandDef, commentCommandDef, scrubCommandDef, mergeCommandDef, calibrateCommandDef, realismCommandDef, initCommandDef, importCommandDef];

function mainUsage(): string {
  return `deploysim — gate a model release on a pre-registered deployment simulation

Usage: deploysim <command> [flags]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run "deploysim <command> --help" for the command's flags; "deploysim --version" prints the version.
${COMMON_FLAGS}
Exit codes: 0 gate passed, 1 gate failed, 2 usage/config/input error (nothing sent to any model, or only\nthe preflight probes, which the message says), 3 internal error or results that could not be recorded,\n130/143 cancelled by Ctrl-C/SIGTERM (run: finished records kept, resumable with --cache-dir).`;
}

/** argv for a --verbose log line: the value of every --*-api-key / --*-token flag and every known key masked. */
function shownArgv(argv: readonly string[], credentials: readonly string[]): string {
  const shown = argv.map((arg, i) => {
    if (/^--[a-z-]*(api-key|token)=/.test(arg)) return `${arg.slice(0, arg.indexOf('='))}=***`;
    if (i > 0 && /^--[a-z-]*(api-key|token)$/.test(argv[i - 1]!)) return '***';
    const masked = maskUrlCredentials(arg);
    return /\s/.test(masked) || masked === '' ? JSON.stringify(masked) : masked;
  });
  return scrubCredentials(shown.join(' '), credentials);
}

/** The error's cause chain (messages only, never stacks), for --verbose. */
function causes(error: unknown): string[] {
  const out: string[] = [];
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    out.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return out;
}

/** Returns the process exit code: 0 passed, 1 failed, 2 usage/config error. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(mainUsage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout(`deploysim ${VERSION}`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`deploysim: unknown command "${name}".\n\n${mainUsage()}`);
    return 2;
  }
  const dashDash = rest.indexOf('--');
  if ((dashDash < 0 ? rest : rest.slice(0, dashDash)).some((a) => a === '--help' || a === '-h')) {
    io.stdout(`${command.usage}\n\n${COMMON_FLAGS}`);
    return 0;
  }
  const credentials = credentialsFrom(argv, io.env);
  const verbose = verbosityOf(rest) === 'verbose';
  const json = rest.includes('--json');
  const started = Date.now();
  if (verbose) io.stderr(`deploysim ${name}: ${shownArgv(rest, credentials)} (cwd ${io.cwd})`);
  const done = (code: number) => {
    if (verbose) io.stderr(`deploysim ${name}: exit ${code} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return code;
  };
  try {
    return done(await command.run(rest, io));
  } catch (error) {
    const code = exitCodeOf(error);
    // Defence in depth for every subcommand: no key given by flag or environment is ever printed.
    const text = scrubCredentials(error instanceof Error ? error.message : String(error), credentials);
    // Not one of deploysim's typed errors: a bug, said as one (exit 3), never mistaken for a verdict.
    const message = isInternalError(error) ? `internal error (a bug in deploysim; exit 3, not a verdict): ${text}${verbose ? '' : ' (run with --verbose for the stack, and report it)'}` : text;
    const sentOnly = error instanceof PreflightError ? error.sentOnly : undefined;
    io.stderr(code === 2 ? `deploysim: ${message}\n(${sentOnly ?? 'nothing was sent to any model'})` : `deploysim: ${message}`);
    if (verbose) for (const cause of causes(error)) io.stderr(`  caused by: ${scrubCredentials(cause, credentials)}`);
    if (verbose && isInternalError(error) && error instanceof Error && error.stack) io.stderr(scrubCredentials(error.stack, credentials));
    // --json: stdout stays one JSON document, for errors too.
    if (json) io.stdout(JSON.stringify({ error: message, exit_code: code, nothing_sent: (code === 2 && !sentOnly) || (error instanceof RunCancelledError && error.nothingSent) }));
    return done(code);
  }
}

import { exitCodeOf } from '../errors.js';
import { credentialsFrom, scrubCredentials } from '../lastResort.js';
import type { CliIo, Command } from './args.js';
import { calibrateCommandDef } from './commands/calibrate.js';
import { importCommandDef } from './commands/import.js';
import { initCommandDef } from './commands/init.js';
import { mergeCommandDef } from './commands/merge.js';
import { planCommandDef } from './commands/plan.js';
import { realismCommandDef } from './commands/realism.js';
import { reportCommandDef } from './commands/report.js';
import { runCommandDef } from './commands/run.js';
import { scrubCommandDef } from './commands/scrub.js';
import { validateCommandDef } from './commands/validate.js';

export type { CliIo } from './args.js';

/** Every subcommand; each lives in commands/<name>.ts with its own --help text. */
const COMMANDS: Command[] = [runCommandDef, planCommandDef, validateCommandDef, reportCommandDef, scrubCommandDef, mergeCommandDef, calibrateCommandDef, realismCommandDef, initCommandDef, importCommandDef];

function mainUsage(): string {
  return `deploysim — gate a model release on a pre-registered deployment simulation

Usage: deploysim <command> [flags]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run "deploysim <command> --help" for the command's flags.
Exit codes: 0 gate passed, 1 gate failed, 2 usage/config/input error (nothing sent to any model).`;
}

/** Returns the process exit code: 0 passed, 1 failed, 2 usage/config error. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(mainUsage());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`deploysim: unknown command "${name}".\n\n${mainUsage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const code = exitCodeOf(error);
    // Defence in depth for every subcommand: no key given by flag or environment is ever printed.
    const message = scrubCredentials(error instanceof Error ? error.message : String(error), credentialsFrom(argv, io.env));
    io.stderr(code === 2 ? `deploysim: ${message}\n(nothing was sent to any model)` : `deploysim: ${message}`);
    return code;
  }
}

import type { Cancellation } from '../common/cancellation.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../common/errors.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Takes over SIGINT/SIGTERM for a command that can stop cleanly (run, calibrate, realism); others keep Node's default. */
  cancelOnSignals?: () => Cancellation;
}

/** A subcommand: its help text and its handler, which returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CliIo): Promise<number> | number;
}

type Values = Record<string, string | boolean | undefined>;

/** Flags every subcommand takes (parse() adds them); listed under each command's --help. */
export const COMMON_FLAGS = `Common flags (every command):
  --json                 one JSON document on stdout; errors too: {"error","exit_code","nothing_sent"}
  -q, --quiet            print only the result line; no progress or log lines (warnings and errors stay)
  -v, --verbose          also log the resolved flags (keys masked), timing and error causes to stderr
  -h, --help             this help
Output is plain text without colours; the live progress bar (run) is drawn only when stderr is a terminal.`;

/** Parses a command's flags and at most `maxPositionals` arguments (more is a usage error, never ignored). */
export function parse(argv: string[], options: ParseArgsConfig['options'], maxPositionals = 0): { values: Values; positionals: string[] } {
  const allOptions = { ...options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, verbose: { type: 'boolean', short: 'v' } } as const;
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: allOptions,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'(-[^']*)'/.exec(message)?.[1] ?? message;
      const known = Object.keys(allOptions).map((name) => `--${name}`);
      const near = known.filter((k) => editDistance(k, flag.split('=')[0]!) <= 2);
      throw new ConfigError(`unknown flag ${flag}${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}. See --help.`);
    }
    const text = message.split('\n').join(' ');
    throw new ConfigError(`${text}${/[.?!]$/.test(text) ? '' : '.'} See --help.`);
  }
  if (parsed.values.quiet && parsed.values.verbose) throw new ConfigError('--quiet and --verbose cannot be used together.');
  const extra = parsed.positionals[maxPositionals];
  if (extra !== undefined) {
    const hint = /\.ya?ml$/i.test(extra) && options && 'registration' in options ? ` (the registration file? pass it as --registration ${extra})` : '';
    throw new ConfigError(`unexpected argument "${extra}"${hint}. See --help.`);
  }
  return parsed;
}

/** Levenshtein distance, for "did you mean" on a mistyped flag (a few lines; not worth a dependency). */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** What --quiet / --verbose ask for (--json implies quiet on stderr: nothing but warnings and errors). */
export function verbosityOf(argv: readonly string[]): Verbosity {
  const end = argv.indexOf('--');
  const flags = end < 0 ? argv : argv.slice(0, end);
  if (flags.some((a) => a === '--quiet' || a === '-q')) return 'quiet';
  if (flags.some((a) => a === '--verbose' || a === '-v')) return 'verbose';
  return 'normal';
}

/** The string-valued flags of `values`, by name (the shape ../runtime/settings.ts reads); a flag given with no value is an error. */
export function stringValues(values: Values): Record<string, string> {
  const strings = Object.entries(values).filter((e): e is [string, string] => typeof e[1] === 'string');
  const empty = strings.find(([, value]) => value.trim() === '');
  if (empty) throw new ConfigError(`--${empty[0]} needs a value. See --help.`);
  return Object.fromEntries(strings);
}

export function num(value: unknown, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new ConfigError(`--${name} is required. See --help.`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(`--${name} must be a number (got "${String(value)}").`);
  return n;
}

/** A whole-number flag between `min` and `max` (`fallback` when it is not given). */
export function wholeNumber(value: unknown, name: string, fallback: number, min: number, max: number): number {
  const n = num(value, name, fallback);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${name} must be a whole number between ${min} and ${max}.`);
  return n;
}

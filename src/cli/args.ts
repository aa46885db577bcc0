import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A subcommand: its help text and its handler, which returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CliIo): Promise<number> | number;
}

type Values = Record<string, string | boolean | undefined>;

export function parse(argv: string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}. See --help.`);
  }
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


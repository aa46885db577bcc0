import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, exitCodeOf } from '../errors.js';
import { gitLock, noLock } from '../engine/lockStep.js';
import { runGate, type Logger } from '../engine/runGate.js';
import { renderMarkdown } from '../report/markdown.js';
import type { Report } from '../report/report.js';
import { renderText } from '../report/text.js';
import { SecretRegistry } from '../secrets.js';
import { INPUT_NAMES, parseSettings, type RawInputs } from '../settings.js';
import { sampleSizeForRatio, sampleSizeForZeroEvents, sampleSizeToDetectAbove } from '../stats/index.js';
import { renderValidation, validatePredictions } from './validateCommand.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const INPUT_HELP: Record<(typeof INPUT_NAMES)[number], string> = {
  registration: 'registration file (default deploysim.yml)',
  'candidate-model': 'model to replay the corpus through (required)',
  'candidate-base-url': `OpenAI-compatible base URL (default https://api.openai.com/v1; builtin:demo for the demo model)`,
  'candidate-api-key': 'key for the candidate (or DEPLOYSIM_CANDIDATE_API_KEY / OPENAI_API_KEY)',
  'grader-base-url': "grader base URL (default: the candidate's)",
  'grader-api-key': "grader key (or DEPLOYSIM_GRADER_API_KEY; default: the candidate's)",
  'simulator-model': 'model that simulates tools for agentic records',
  'simulator-base-url': "simulator base URL (default: the grader's)",
  'simulator-api-key': "simulator key (default: the grader's)",
  'lock-ref': 'commit, tag or branch the registration must be committed at',
  'github-token': 'unused by the CLI',
  comment: 'unused by the CLI',
  'output-dir': 'where report.json and results.jsonl go (default deploysim-report)',
  'cache-dir': 'content-addressed cache of completions and grades',
  concurrency: 'requests in flight at once, all endpoints together (default 8)',
  'request-timeout': 'seconds per request before it is retried (default 120)',
  'max-retries': 'retries per request (default 5)',
  shard: 'replay only slice i of n of the sample, e.g. 2/4',
  'max-requests': 'refuse (exit 2) a run whose plan needs more requests',
  'on-missing-secrets': 'fail | skip (action only)',
};

const USAGE: Record<string, string> = {
  main: `deploysim — gate a model release on a pre-registered deployment simulation

Usage: deploysim <command> [flags]

Commands:
  run        run the gate locally (same engine and report as the action)
  plan       how many prefixes a run needs to measure a rate
  validate   compare a report's predictions with production rates after release
  report     re-render the markdown comment from a saved report.json

Run "deploysim <command> --help" for the command's flags.
Exit codes: 0 gate passed, 1 gate failed, 2 usage/config/input error (nothing sent to any model).`,
  run: `Usage: deploysim run [flags]

Flags (the action's inputs, as --flags):
${INPUT_NAMES.map((n) => `  --${n.padEnd(20)} ${INPUT_HELP[n]}`).join('\n')}
  --no-lock              skip the pre-registration lock (local experiments only; report says verified: false)
  --json                 print report.json instead of the text summary
  --quiet                print only the verdict line`,
  plan: `Usage: deploysim plan --rate-per-100k R [--threshold-per-100k T] [--ratio X] [--confidence C] [--power P] [--json]

  Without --threshold-per-100k: prefixes needed so that zero flagged completions put the upper
  bound below R (the rule of three, at any confidence).
  With --threshold-per-100k T: prefixes needed to detect a true rate R above the threshold T.
  With --ratio X: prefixes per model to detect a candidate rate X times the baseline rate R.
  --confidence defaults to 0.95, --power to 0.8.`,
  validate: `Usage: deploysim validate --report report.json --observed observed.json [--output-dir DIR] [--json]

  observed.json: {"categories":[{"id","baseline_per_100k","observed_per_100k"}]}
  Prints per-category multiplicative error max(p/o, o/p), its median and the directional accuracy,
  and writes validation.json to --output-dir (default deploysim-report). Exit 0.`,
  report: `Usage: deploysim report REPORT.json

  Prints the PR comment markdown rendered from a saved report.json.`,
};

type Values = Record<string, string | boolean | undefined>;

function parse(argv: string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}. See --help.`);
  }
}

function num(value: unknown, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new ConfigError(`--${name} is required. See --help.`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(`--${name} must be a number (got "${String(value)}").`);
  return n;
}

async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, {
    ...Object.fromEntries(INPUT_NAMES.map((n) => [n, { type: 'string' as const }])),
    'no-lock': { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(USAGE.run!);
    return 0;
  }
  const secrets = new SecretRegistry();
  const raw: RawInputs = {};
  for (const n of INPUT_NAMES) if (typeof values[n] === 'string') raw[n] = values[n] as string;
  raw['candidate-api-key'] ??= io.env.DEPLOYSIM_CANDIDATE_API_KEY || io.env.OPENAI_API_KEY;
  raw['grader-api-key'] ??= io.env.DEPLOYSIM_GRADER_API_KEY;
  for (const k of ['candidate-api-key', 'grader-api-key', 'simulator-api-key'] as const) secrets.add(raw[k]);
  const settings = parseSettings(raw, { allowNoLock: true, noLock: values['no-lock'] === true });
  const logger: Logger = {
    info: (m) => {
      if (!values.quiet && !values.json) io.stderr(secrets.scrub(m));
    },
    warning: (m) => io.stderr(`warning: ${secrets.scrub(m)}`),
  };
  if (settings.noLock) {
    logger.warning('--no-lock: the pre-registration lock is SKIPPED. This run proves nothing about pre-registration; the report says "verified": false.');
  }
  const outcome = await runGate(settings, {
    cwd: io.cwd,
    logger,
    secrets,
    lock: settings.noLock ? noLock(io.cwd) : gitLock(io.cwd, { lockRefInput: settings.lockRef }),
  });
  if (values.json) io.stdout(JSON.stringify(outcome.report, null, 2));
  else if (values.quiet) io.stdout(`deploysim: gate ${outcome.report.passed ? 'passed' : 'failed'}`);
  else io.stdout(renderText(outcome.report, path.relative(io.cwd, outcome.reportPath)));
  return outcome.report.passed ? 0 : 1;
}

function planCommand(argv: string[], io: CliIo): number {
  const { values } = parse(argv, {
    'rate-per-100k': { type: 'string' },
    'threshold-per-100k': { type: 'string' },
    ratio: { type: 'string' },
    confidence: { type: 'string' },
    power: { type: 'string' },
  });
  if (values.help) {
    io.stdout(USAGE.plan!);
    return 0;
  }
  const rate = num(values['rate-per-100k'], 'rate-per-100k') / 1e5;
  const confidence = num(values.confidence, 'confidence', 0.95);
  const power = num(values.power, 'power', 0.8);
  if (!(rate > 0 && rate < 1)) throw new ConfigError('--rate-per-100k must be between 0 and 100000 (exclusive).');
  if (!(confidence > 0 && confidence < 1) || !(power > 0 && power < 1)) throw new ConfigError('--confidence and --power must be between 0 and 1.');
  let n: number;
  let question: string;
  if (values.ratio !== undefined) {
    const ratio = num(values.ratio, 'ratio');
    n = sampleSizeForRatio({ baselineRate: rate, ratio, confidence, power });
    question = `detect a candidate rate ${ratio}× a baseline of ${rate * 1e5} per 100k (per model, power ${power}, confidence ${confidence})`;
  } else if (values['threshold-per-100k'] !== undefined) {
    const threshold = num(values['threshold-per-100k'], 'threshold-per-100k') / 1e5;
    if (!(rate > threshold)) throw new ConfigError('--rate-per-100k must be above --threshold-per-100k: the rate you want to catch.');
    n = sampleSizeToDetectAbove({ rate, threshold, confidence, power });
    question = `detect a true rate of ${rate * 1e5} per 100k above a threshold of ${threshold * 1e5} per 100k (power ${power}, one-sided at ${confidence})`;
  } else {
    n = sampleSizeForZeroEvents(rate, confidence);
    question = `show the rate is below ${rate * 1e5} per 100k if no completion is flagged (${confidence} upper bound)`;
  }
  if (values.json) io.stdout(JSON.stringify({ prefixes: n, question }));
  else io.stdout(`${n} prefixes to ${question}.`);
  return 0;
}

async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, { report: { type: 'string' }, observed: { type: 'string' }, 'output-dir': { type: 'string' } });
  if (values.help) {
    io.stdout(USAGE.validate!);
    return 0;
  }
  if (!values.report || !values.observed) throw new ConfigError('validate needs --report and --observed. See --help.');
  const validation = await validatePredictions(path.resolve(io.cwd, values.report as string), path.resolve(io.cwd, values.observed as string));
  const outDir = path.resolve(io.cwd, (values['output-dir'] as string | undefined) ?? 'deploysim-report');
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'validation.json'), `${JSON.stringify(validation, null, 2)}\n`);
  io.stdout(values.json ? JSON.stringify(validation, null, 2) : renderValidation(validation));
  return 0;
}

async function reportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) {
    io.stdout(USAGE.report!);
    return 0;
  }
  const file = positionals[0];
  if (!file) throw new ConfigError('report needs the path of a report.json. See --help.');
  let report: Report;
  try {
    report = JSON.parse(await readFile(path.resolve(io.cwd, file), 'utf8')) as Report;
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the report (${(error as Error).message}).`);
  }
  if (report.schema !== 'deploysim.report/v1') throw new ConfigError(`${file}: not a deploysim.report/v1 report.`);
  io.stdout(values.json ? JSON.stringify({ markdown: renderMarkdown(report) }) : renderMarkdown(report));
  return 0;
}

const COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number> | number> = {
  run: runCommand,
  plan: planCommand,
  validate: validateCommand,
  report: reportCommand,
};

/** Returns the process exit code: 0 passed, 1 failed, 2 usage/config error. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE.main!);
    return command ? 0 : 2;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    io.stderr(`deploysim: unknown command "${command}".\n\n${USAGE.main}`);
    return 2;
  }
  try {
    return await handler(rest, io);
  } catch (error) {
    const code = exitCodeOf(error);
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(code === 2 ? `deploysim: ${message}\n(nothing was sent to any model)` : `deploysim: ${message}`);
    return code;
  }
}

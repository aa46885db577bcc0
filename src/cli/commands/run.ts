import { shownPath } from '../../registration/paths.js';
import { gitLock, noLock } from '../../engine/lockStep.js';
import { runGate, type Logger } from '../../engine/runGate.js';
import { verdictSubject } from '../../report/markdown.js';
import { renderText } from '../../report/text.js';
import { maskUrlCredentials, SecretRegistry, urlCredentials } from '../../secrets.js';
import { ConfigError } from '../../errors.js';
import { INPUT_NAMES, missingKeys, parseSettings, type RawInputs } from '../../settings.js';
import { parse, type CliIo, type Command } from '../args.js';
import { ProgressBar } from '../progressBar.js';

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
  'baseline-model': 'current production model to replay the same prefixes through (paired comparison)',
  'baseline-base-url': "baseline base URL (default: the candidate's)",
  'baseline-api-key': "baseline key (default: the candidate's)",
  'lock-ref': 'commit, tag or branch the registration must be committed at',
  'github-token': 'unused by the CLI',
  comment: 'unused by the CLI',
  'output-dir': 'where report.json and results.jsonl go (default deploysim-report)',
  'cache-dir': 'content-addressed cache of completions and grades',
  concurrency: 'requests in flight at once, all endpoints together (default 8)',
  'request-timeout': 'seconds per request before it is retried (default 120)',
  'max-retries': 'retries per request after a fault (default 5; 429s are paced, not retried from these)',
  shard: 'replay only slice i of n of the sample, e.g. 2/4',
  'max-requests': 'refuse (exit 2) a run whose plan needs more requests',
  'on-missing-secrets': 'fail | skip (action only)',
  realism: 'realism.json from `deploysim realism` to show in the report (informational)',
};

const USAGE = `Usage: deploysim run [flags]

Flags (the action's inputs, as --flags):
${INPUT_NAMES.map((n) => `  --${n.padEnd(20)} ${INPUT_HELP[n]}`).join('\n')}
  --no-lock              skip the pre-registration lock (local experiments only; report says verified: false)
  --json                 print report.json instead of the text summary
  --quiet                print only the verdict line`;

async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, {
    ...Object.fromEntries(INPUT_NAMES.map((n) => [n, { type: 'string' as const }])),
    'no-lock': { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  const secrets = new SecretRegistry();
  const raw: RawInputs = {};
  for (const n of INPUT_NAMES) if (typeof values[n] === 'string') raw[n] = values[n] as string;
  raw['candidate-api-key'] ??= io.env.DEPLOYSIM_CANDIDATE_API_KEY || io.env.OPENAI_API_KEY;
  raw['grader-api-key'] ??= io.env.DEPLOYSIM_GRADER_API_KEY;
  for (const k of ['candidate-api-key', 'grader-api-key', 'simulator-api-key', 'baseline-api-key'] as const) secrets.add(raw[k]);
  for (const k of ['candidate-base-url', 'grader-base-url', 'simulator-base-url', 'baseline-base-url'] as const) secrets.add(urlCredentials(raw[k]));
  const settings = parseSettings(raw, { allowNoLock: true, noLock: values['no-lock'] === true });
  // As calibrate: without a key a hosted endpoint answers 401 only after the corpus pass; keyless servers take a placeholder.
  const missing = missingKeys(settings);
  if (missing.length > 0) {
    const keyless = 'keyless servers such as vLLM or Ollama take any placeholder, e.g. none';
    throw new ConfigError(
      missing.includes('candidate-api-key')
        ? `no candidate key: pass --candidate-api-key or set DEPLOYSIM_CANDIDATE_API_KEY / OPENAI_API_KEY (the grader uses it too unless --grader-api-key is given); ${keyless}.`
        : `no grader key: pass --grader-api-key or set DEPLOYSIM_GRADER_API_KEY; ${keyless}.`,
    );
  }
  // A live bar only on an interactive terminal; logs and pipes keep the plain progress lines.
  const bar = !values.quiet && !values.json && process.stderr.isTTY ? new ProgressBar(process.stderr) : undefined;
  const say = (text: string) => (bar ? bar.log(text) : io.stderr(text));
  const logger: Logger = {
    info: (m) => {
      if (!values.quiet && !values.json) say(secrets.scrub(m));
    },
    warning: (m) => say(`warning: ${secrets.scrub(m)}`),
    ...(bar ? { progress: (done: number, total: number, errors: number, finished?: boolean) => (finished ? bar.stop() : bar.update(done, total, errors)) } : {}),
  };
  if (values.verbose) {
    // Base URLs may carry user:password@; keys are scrubbed as everywhere.
    const shown = [
      `Settings: registration ${settings.registration}; candidate ${settings.candidate.model} at ${settings.candidate.baseUrl}; grader at ${settings.grader.baseUrl}` +
        `${settings.simulator.model ? `; simulator ${settings.simulator.model} at ${settings.simulator.baseUrl}` : ''}${settings.baseline ? `; baseline ${settings.baseline.model} at ${settings.baseline.baseUrl}` : ''}.`,
      `  lock ref ${settings.noLock ? 'skipped (--no-lock)' : (settings.lockRef ?? 'not set')}; output ${settings.outputDir}; cache ${settings.cacheDir ?? 'none'}; ` +
        `concurrency ${settings.concurrency}, timeout ${settings.requestTimeoutMs / 1000}s, retries ${settings.maxRetries}${settings.shard ? `, shard ${settings.shard.index}/${settings.shard.count}` : ''}.`,
    ].join('\n');
    say(secrets.scrub(maskUrlCredentials(shown)));
  }
  if (settings.noLock) {
    logger.warning('--no-lock: the pre-registration lock is SKIPPED. This run proves nothing about pre-registration; the report says "verified": false.');
  }
  const cancellation = io.cancelOnSignals?.();
  const outcome = await runGate(settings, {
    cwd: io.cwd,
    logger,
    secrets,
    lock: settings.noLock ? noLock(io.cwd) : gitLock(io.cwd, { lockRefInput: settings.lockRef }),
    cancel: cancellation?.signal,
  })
    .catch((error: unknown) => {
      // Defence in depth: runCli prints the message; no key may reach it, whatever threw.
      if (error instanceof Error) {
        error.message = secrets.scrub(error.message);
        error.stack = error.stack === undefined ? undefined : secrets.scrub(error.stack);
      }
      throw error;
    })
    .finally(() => cancellation?.dispose());
  if (values.json) io.stdout(JSON.stringify(outcome.report, null, 2));
  else if (values.quiet) io.stdout(`deploysim: ${verdictSubject(outcome.report)} ${outcome.report.passed ? 'passed' : 'failed'}`);
  else io.stdout(renderText(outcome.report, shownPath(io.cwd, outcome.reportPath)));
  return outcome.report.passed ? 0 : 1;
}

export const runCommandDef: Command = { name: 'run', summary: 'run the gate locally (same engine and report as the action)', usage: USAGE, run: runCommand };

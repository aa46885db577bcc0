import { shownPath } from '../../registration/paths.js';
import { gitLock, noLock } from '../../engine/lockStep.js';
import type { Logger } from '../../common/logger.js';
import { runGate } from '../../engine/runGate.js';
import { composeGate } from '../../runtime/root.js';
import { verdictSubject } from '../../report/markdown.js';
import { renderText } from '../../report/text.js';
import { maskUrlCredentials } from '../../common/secrets.js';
import { ConfigError } from '../../common/errors.js';
import { INPUT_NAMES, missingKeysMessage, type RawInputs } from '../../runtime/settings.js';
import { parse, type CliIo, type Command } from '../args.js';
import { ProgressBar } from '../progressBar.js';

const INPUT_HELP: Record<(typeof INPUT_NAMES)[number], string> = {
  registration: 'registration file (default deploysim.yml)',
  'candidate-model': 'model to replay the corpus through (required)',
  'candidate-base-url': `OpenAI-compatible base URL (default https://api.openai.com/v1; builtin:demo for the demo model)`,
  'candidate-api-key': 'key for the candidate (or DEPLOYSIM_CANDIDATE_API_KEY / OPENAI_API_KEY)',
  'candidate-headers': 'extra request headers, one "Name: value" per line (credential headers are masked)',
  'grader-base-url': "grader base URL (default: the candidate's)",
  'grader-api-key': "grader key (or DEPLOYSIM_GRADER_API_KEY; default: the candidate's)",
  'grader-headers': "extra grader request headers (default: the candidate's, when the grader shares its base URL)",
  'simulator-model': 'model that simulates tools for agentic records',
  'simulator-base-url': "simulator base URL (default: the grader's)",
  'simulator-api-key': "simulator key (or DEPLOYSIM_SIMULATOR_API_KEY; default: the grader's)",
  'simulator-headers': "extra simulator request headers (default: the grader's, when the simulator shares its base URL)",
  'baseline-model': 'current production model to replay the same prefixes through (paired comparison)',
  'baseline-base-url': "baseline base URL (default: the candidate's)",
  'baseline-api-key': "baseline key (or DEPLOYSIM_BASELINE_API_KEY; default: the candidate's)",
  'baseline-headers': "extra baseline request headers (default: the candidate's, when the baseline shares its base URL)",
  'lock-ref': 'commit, tag or branch the registration must be committed at',
  'github-token': 'unused by the CLI',
  comment: 'unused by the CLI',
  'output-dir': 'where report.json and results.jsonl go (default deploysim-report)',
  'cache-dir': 'content-addressed cache of completions and grades',
  concurrency: 'requests in flight at once, all endpoints together (default 8)',
  'request-timeout': 'seconds per request before it is retried (default 120)',
  'max-retries': 'transport retries of a request after a fault: connection error, timeout, 5xx (default 5)',
  'max-reasks': 'times a structured answer (grader, auditor, discriminator) that does not parse is asked again (default 2)',
  'rate-limit-resends': 'times a request answered 429 is sent again after the endpoint\'s pause (default 10; not taken from max-retries)',
  'max-response-mb': 'largest model answer read, raw and decompressed, in MB (default 16; a larger one is a record error)',
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
  const raw: RawInputs = {};
  for (const n of INPUT_NAMES) if (typeof values[n] === 'string') raw[n] = values[n] as string;
  // A live bar only on an interactive terminal; logs and pipes keep the plain progress lines.
  const bar = !values.quiet && !values.json && process.stderr.isTTY ? new ProgressBar(process.stderr) : undefined;
  const say = (text: string) => (bar ? bar.log(text) : io.stderr(text));
  const log: Logger = {
    info: (m) => {
      if (!values.quiet && !values.json) say(m);
    },
    warning: (m) => say(`warning: ${m}`),
    ...(bar ? { progress: (done: number, total: number, errors: number, finished?: boolean) => (finished ? bar.stop() : bar.update(done, total, errors)) } : {}),
  };
  const cancellation = io.cancelOnSignals?.();
  try {
    const { settings, runtime, endpoints, missingKeys } = composeGate(raw, { cwd: io.cwd, env: io.env, log, cancel: cancellation?.signal }, { allowNoLock: true, noLock: values['no-lock'] === true });
    // As calibrate: without a key a hosted endpoint answers 401 only after the corpus pass; keyless servers take a placeholder.
    if (missingKeys.length > 0) throw new ConfigError(missingKeysMessage(missingKeys, endpoints));
    if (values.verbose) {
      // Base URLs may carry user:password@; keys are scrubbed as everywhere.
      const r = settings.retry;
      const shown = [
        `Settings: registration ${settings.registration}; candidate ${settings.candidate.model} at ${settings.candidate.baseUrl}; grader at ${settings.grader.baseUrl}` +
          `${settings.simulator.model ? `; simulator ${settings.simulator.model} at ${settings.simulator.baseUrl}` : ''}${settings.baseline ? `; baseline ${settings.baseline.model} at ${settings.baseline.baseUrl}` : ''}.`,
        `  lock ref ${settings.noLock ? 'skipped (--no-lock)' : (settings.lockRef ?? 'not set')}; output ${settings.outputDir}; cache ${settings.cacheDir ?? 'none'}; ` +
          `concurrency ${settings.concurrency}, timeout ${r.timeoutMs / 1000}s, retries ${r.transportRetries}, re-asks ${r.reasks}, 429 resends ${r.rateLimitResends}${settings.shard ? `, shard ${settings.shard.index}/${settings.shard.count}` : ''}.`,
      ].join('\n');
      runtime.logger.info(maskUrlCredentials(shown));
    }
    if (settings.noLock) {
      runtime.logger.warning('--no-lock: the pre-registration lock is SKIPPED. This run proves nothing about pre-registration; the report says "verified": false.');
    }
    const outcome = await runGate(settings, { ...runtime, lock: settings.noLock ? noLock(io.cwd) : gitLock(io.cwd, { lockRefInput: settings.lockRef }) }).catch((error: unknown) => {
      // Defence in depth: runCli prints the message; no key may reach it, whatever threw.
      if (error instanceof Error) {
        error.message = runtime.secrets.scrub(error.message);
        error.stack = error.stack === undefined ? undefined : runtime.secrets.scrub(error.stack);
      }
      throw error;
    });
    if (values.json) io.stdout(JSON.stringify(outcome.report, null, 2));
    else if (values.quiet) io.stdout(`deploysim: ${verdictSubject(outcome.report)} ${outcome.report.passed ? 'passed' : 'failed'}`);
    else io.stdout(renderText(outcome.report, shownPath(io.cwd, outcome.reportPath)));
    return outcome.report.passed ? 0 : 1;
  } finally {
    cancellation?.dispose();
  }
}

export const runCommandDef: Command = { name: 'run', summary: 'run the gate locally (same engine and report as the action)', usage: USAGE, run: runCommand };

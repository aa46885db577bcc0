import { renderCalibration, runCalibration } from '../../calibration/calibrate.js';
import { ConfigError } from '../../common/errors.js';
import { shownPath } from '../../registration/paths.js';
import { DEMO_ENDPOINT } from '../../common/demo.js';
import { composeCommand } from '../../runtime/root.js';
import { endpointOf, given, FLAG_LABEL, missingKeysMessage, parseRequestSettings } from '../../runtime/settings.js';
import { num, parse, stringValues, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim calibrate --labels labelled.jsonl [--registration deploysim.yml] [flags]

  Grades each labelled completion with the registration's grader (model, mode and rubrics) and writes
  calibration.json: per category TP/FP/TN/FN, the false-positive rate (FPR) and false-negative rate (FNR)
  with two-sided intervals, the grader model and the sha256 of each rubric. Set grader.calibration in the
  registration to that file and the gate corrects its rates for the grader's errors.

  labelled.jsonl lines: {"id","messages":[…],"completion":{"role":"assistant","content":"…"},
                         "labels":{"<category id>":true|false|null}}   (null: not labelled for it)

Flags:
  --registration FILE      registration (default deploysim.yml)
  --labels FILE            labelled completions, JSONL or .jsonl.gz (required)
  --output FILE            where to write (default: the registration's grader.calibration, else calibration.json)
  --grader-base-url URL    OpenAI-compatible base URL (default https://api.openai.com/v1; builtin:demo)
  --grader-api-key KEY     grader key (or DEPLOYSIM_GRADER_API_KEY / DEPLOYSIM_CANDIDATE_API_KEY / OPENAI_API_KEY)
  --confidence C           interval confidence (default: the registration's decision.confidence)
  --concurrency N          requests in flight (default 8)
  --request-timeout S      seconds per request (default 120)
  --max-retries N          transport retries per request after a fault (default 5)
  --max-reasks N           re-asks of a grader answer that does not parse (default 2)
  --rate-limit-resends N   resends of a request answered 429, after the endpoint's pause (default 10)
  --max-response-mb N      largest answer read, raw and decompressed (default 16)
  --cache-dir DIR          cache grader answers; a re-run sends only requests not yet answered
  --json                   print calibration.json instead of the table
Exit codes: 0 written, 2 usage/config/input error (nothing sent to any model), 1 the grader endpoint refused us,
            130/143 cancelled (nothing is written; with --cache-dir the answers so far are kept).`;

async function calibrateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, {
    registration: { type: 'string' },
    labels: { type: 'string' },
    output: { type: 'string' },
    'grader-base-url': { type: 'string' },
    'grader-api-key': { type: 'string' },
    confidence: { type: 'string' },
    concurrency: { type: 'string' },
    'request-timeout': { type: 'string' },
    'max-retries': { type: 'string' },
    'max-reasks': { type: 'string' },
    'rate-limit-resends': { type: 'string' },
    'max-response-mb': { type: 'string' },
    'cache-dir': { type: 'string' },
  });
  if (typeof values.labels !== 'string' || !values.labels) throw new ConfigError('calibrate needs --labels FILE. See --help.');
  const quiet = Boolean(values.json || values.quiet);
  const cancellation = io.cancelOnSignals?.();
  try {
    const { settings, runtime, missingKeys } = composeCommand(
      stringValues(values),
      { cwd: io.cwd, env: io.env, log: { info: (m) => io.stderr(m), warning: (m) => io.stderr(`warning: ${m}`) }, cancel: cancellation?.signal },
      ['grader'],
      (raw) => ({ grader: endpointOf(raw, 'grader', FLAG_LABEL), cacheDir: given(raw, 'cache-dir'), ...parseRequestSettings(raw, FLAG_LABEL) }),
    );
    if (missingKeys.length > 0) throw new ConfigError(missingKeysMessage(missingKeys, ['grader']));
    const registration = (values.registration as string | undefined) || 'deploysim.yml';
    const outcome = await runCalibration({
      registration,
      labels: values.labels,
      output: values.output as string | undefined,
      grader: { role: 'grader', ...settings.grader },
      demo: settings.grader.baseUrl === DEMO_ENDPOINT,
      confidence: values.confidence === undefined ? undefined : num(values.confidence, 'confidence'),
      concurrency: settings.concurrency,
      reasks: settings.retry.reasks,
      client: runtime.models,
      cache: runtime.cache,
      cacheDir: settings.cacheDir,
      cwd: io.cwd,
      now: runtime.now,
      log: quiet ? undefined : (m) => runtime.logger.info(m),
      cancel: runtime.cancel,
    });
    if (outcome.unknownLabels.length > 0 && !values.json) {
      runtime.logger.warning(`label keys that are not categories of ${registration} were ignored: ${outcome.unknownLabels.join(', ')}`);
    }
    if (values.json) io.stdout(JSON.stringify(outcome.calibration, null, 2));
    else if (values.quiet) io.stdout(shownPath(io.cwd, outcome.outputPath));
    else io.stdout(renderCalibration(outcome.calibration, shownPath(io.cwd, outcome.outputPath), outcome.categoryIds));
    return 0;
  } finally {
    cancellation?.dispose();
  }
}

export const calibrateCommandDef: Command = {
  name: 'calibrate',
  summary: "measure the grader's false-positive/negative rates on labelled completions",
  usage: USAGE,
  run: calibrateCommand,
};

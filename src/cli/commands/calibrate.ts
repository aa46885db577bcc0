import { renderCalibration, runCalibration } from '../../calibration/calibrate.js';
import { ConfigError } from '../../errors.js';
import { shownPath } from '../../registration/paths.js';
import { SecretRegistry, urlCredentials } from '../../secrets.js';
import { DEFAULT_BASE_URL, DEMO_ENDPOINT } from '../../settings.js';
import { num, parse, wholeNumber, type CliIo, type Command } from '../args.js';

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
  --grader-api-key KEY     grader key (or DEPLOYSIM_GRADER_API_KEY / OPENAI_API_KEY)
  --confidence C           interval confidence (default: the registration's decision.confidence)
  --concurrency N          requests in flight (default 8)
  --request-timeout S      seconds per request (default 120)
  --max-retries N          retries per request (default 5)
  --cache-dir DIR          cache grader answers; a re-run sends only requests not yet answered
  --json                   print calibration.json instead of the table
Exit codes: 0 written, 2 usage/config/input error (nothing sent to any model), 1 the grader endpoint refused us.`;

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
    'cache-dir': { type: 'string' },
  });
  if (typeof values.labels !== 'string' || !values.labels) throw new ConfigError('calibrate needs --labels FILE. See --help.');
  const baseUrl = ((values['grader-base-url'] as string | undefined) || DEFAULT_BASE_URL).replace(/\/+$/, '');
  if (baseUrl !== DEMO_ENDPOINT && !/^https?:\/\/\S+$/.test(baseUrl)) throw new ConfigError(`--grader-base-url must be an http(s) URL or ${DEMO_ENDPOINT} (got "${baseUrl}").`);
  const secrets = new SecretRegistry();
  const apiKey = (values['grader-api-key'] as string | undefined) || io.env.DEPLOYSIM_GRADER_API_KEY || io.env.OPENAI_API_KEY || '';
  secrets.add(apiKey);
  secrets.add(urlCredentials(baseUrl));
  if (!apiKey && baseUrl !== DEMO_ENDPOINT) {
    throw new ConfigError('no grader key: pass --grader-api-key or set DEPLOYSIM_GRADER_API_KEY / OPENAI_API_KEY (keyless servers take any placeholder).');
  }
  const registration = (values.registration as string | undefined) || 'deploysim.yml';
  const outcome = await runCalibration({
    registration,
    labels: values.labels,
    output: values.output as string | undefined,
    grader: { baseUrl, apiKey },
    confidence: values.confidence === undefined ? undefined : num(values.confidence, 'confidence'),
    concurrency: wholeNumber(values.concurrency, 'concurrency', 8, 1, 1024),
    requestTimeoutMs: wholeNumber(values['request-timeout'], 'request-timeout', 120, 1, 3600) * 1000,
    maxRetries: wholeNumber(values['max-retries'], 'max-retries', 5, 0, 20),
    cacheDir: (values['cache-dir'] as string | undefined) || undefined,
    cwd: io.cwd,
    secrets,
    log: values.json || values.quiet ? undefined : (m) => io.stderr(m),
    warning: (m) => io.stderr(`warning: ${m}`),
  });
  if (outcome.unknownLabels.length > 0 && !values.json) {
    io.stderr(`warning: label keys that are not categories of ${registration} were ignored: ${outcome.unknownLabels.join(', ')}`);
  }
  if (values.json) io.stdout(JSON.stringify(outcome.calibration, null, 2));
  else if (values.quiet) io.stdout(shownPath(io.cwd, outcome.outputPath));
  else io.stdout(renderCalibration(outcome.calibration, shownPath(io.cwd, outcome.outputPath), outcome.categoryIds));
  return 0;
}

export const calibrateCommandDef: Command = {
  name: 'calibrate',
  summary: "measure the grader's false-positive/negative rates on labelled completions",
  usage: USAGE,
  run: calibrateCommand,
};

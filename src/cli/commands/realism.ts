import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory } from '../../common/directories.js';
import { shownPath } from '../../registration/paths.js';
import { ConfigError, RunCancelledError } from '../../common/errors.js';
import { measureRealism, renderRealism } from '../../realism/realism.js';
import { loadRegistration } from '../../registration/load.js';
import { DEMO_ENDPOINT } from '../../common/demo.js';
import { composeCommand } from '../../runtime/root.js';
import { DEFAULT_BASE_URL, endpointOf, FLAG_LABEL, missingKeysMessage, parseRequestSettings } from '../../runtime/settings.js';
import { num, parse, stringValues, wholeNumber, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim realism --registration R --discriminator-model M [--simulator-model S] [--sample N] [--seed X] [flags]

  Measures how convincing the environment simulator is. For a seeded sample of the tool calls recorded
  in the registration's corpus, the simulator writes a response leave-one-out (it sees the trajectory
  only up to the call and example responses of the tool from elsewhere in the corpus, never the real
  one); a discriminator model is shown the real and the simulated response in random order and names
  the real one. Reports the simulated side's win rate with an interval, overall and per tool
  (50% = indistinguishable), writes realism.json to --output-dir and prints a table. Exit 0 written,
  1 an endpoint refused us, 2 usage/config/input error (nothing sent), 130/143 cancelled (nothing written).
  To show it in the gate's report and comment, pass that file to deploysim run --realism (action input realism).

Flags:
  --registration R            registration file (default deploysim.yml); its corpus is used
  --discriminator-model M     model that tells real from simulated (required)
  --simulator-model S         environment simulator under test (default: the discriminator model)
  --simulator-base-url URL    OpenAI-compatible base URL (default ${DEFAULT_BASE_URL})
  --simulator-api-key KEY     (or DEPLOYSIM_SIMULATOR_API_KEY / DEPLOYSIM_GRADER_API_KEY / DEPLOYSIM_CANDIDATE_API_KEY / OPENAI_API_KEY)
  --discriminator-base-url U  (default: the simulator's)
  --discriminator-api-key K   (or DEPLOYSIM_DISCRIMINATOR_API_KEY; default: the simulator's)
  --sample N                  recorded tool calls to test (default 200)
  --seed X                    sampling and A/B order seed (default: the registration's corpus.seed)
  --confidence C              interval confidence (default 0.95)
  --output-dir DIR            where realism.json goes (default deploysim-report)
  --concurrency N             requests in flight (default 8)
  --request-timeout S         seconds per request (default 120)
  --max-retries N             transport retries per request after a fault (default 5)
  --max-reasks N              re-asks of a discriminator answer that does not parse (default 2)
  --rate-limit-resends N      resends of a request answered 429, after the endpoint's pause (default 10)
  --max-response-mb N         largest answer read, raw and decompressed (default 16)
  --json                      print realism.json instead of the table`;

async function realismCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, {
    registration: { type: 'string' },
    'discriminator-model': { type: 'string' },
    'discriminator-base-url': { type: 'string' },
    'discriminator-api-key': { type: 'string' },
    'simulator-model': { type: 'string' },
    'simulator-base-url': { type: 'string' },
    'simulator-api-key': { type: 'string' },
    sample: { type: 'string' },
    seed: { type: 'string' },
    confidence: { type: 'string' },
    'output-dir': { type: 'string' },
    concurrency: { type: 'string' },
    'request-timeout': { type: 'string' },
    'max-retries': { type: 'string' },
    'max-reasks': { type: 'string' },
    'rate-limit-resends': { type: 'string' },
    'max-response-mb': { type: 'string' },
  });
  const discriminatorModel = typeof values['discriminator-model'] === 'string' ? values['discriminator-model'].trim() : '';
  if (!discriminatorModel) throw new ConfigError('realism needs --discriminator-model. See --help.');
  const simulatorModel = (typeof values['simulator-model'] === 'string' && values['simulator-model'].trim()) || discriminatorModel;
  const sample = wholeNumber(values.sample, 'sample', 200, 1, 100_000);
  const confidence = num(values.confidence, 'confidence', 0.95);
  if (!(confidence > 0.5 && confidence < 1)) throw new ConfigError('--confidence must be between 0.5 and 1.');
  const endpoints = ['simulator', 'discriminator'] as const;
  const cancellation = io.cancelOnSignals?.();
  try {
    const { settings, runtime, missingKeys } = composeCommand(
      stringValues(values),
      { cwd: io.cwd, env: io.env, log: { info: (m) => io.stderr(m), warning: (m) => io.stderr(`warning: ${m}`) }, cancel: cancellation?.signal },
      endpoints,
      (raw) => ({ simulator: endpointOf(raw, 'simulator', FLAG_LABEL), discriminator: endpointOf(raw, 'discriminator', FLAG_LABEL), ...parseRequestSettings(raw, FLAG_LABEL) }),
    );
    if (missingKeys.length > 0) throw new ConfigError(missingKeysMessage(missingKeys, endpoints));
    const registration = await loadRegistration((values.registration as string | undefined) ?? 'deploysim.yml', io.cwd);
    const outDir = path.resolve(io.cwd, (values['output-dir'] as string | undefined) ?? 'deploysim-report');
    await makeDirectory(outDir, '--output-dir');
    const seed = values.seed === undefined ? registration.config.corpus.seed : wholeNumber(values.seed, 'seed', 0, 0, 2 ** 32 - 1);
    const { report } = await measureRealism({
      corpusPath: registration.corpusPath,
      displayPath: shownPath(io.cwd, registration.corpusPath),
      sample,
      seed,
      confidence,
      client: runtime.models,
      concurrency: settings.concurrency,
      reasks: settings.retry.reasks,
      simulator: { endpoint: { role: 'simulator', ...settings.simulator }, model: simulatorModel },
      discriminator: { endpoint: { role: 'discriminator', ...settings.discriminator }, model: discriminatorModel },
      now: runtime.now,
      cancel: runtime.cancel,
    }).catch((error: unknown) => {
      if (error instanceof RunCancelledError) throw new RunCancelledError(error.signal, `Cancelled (${error.signal}) while measuring; realism.json was not written.`);
      throw error;
    });
    if (report.sampled === 0) throw new ConfigError(`${report.corpus}: the corpus has no recorded tool calls (assistant tool_calls answered by tool messages) to test.`);
    report.error_examples = report.error_examples.map((e) => runtime.secrets.scrub(e));
    await writeFile(path.join(outDir, 'realism.json'), `${JSON.stringify(report, null, 2)}\n`);
    if (values.verbose) io.stderr(`wrote ${path.join(outDir, 'realism.json')}`);
    if (values.json) io.stdout(JSON.stringify(report, null, 2));
    else if (values.quiet) io.stdout(`simulated win rate ${report.win_rate === null ? 'n/a' : `${(report.win_rate * 100).toFixed(1)}%`} (${report.judged} judged, ${report.errors} errors)`);
    else {
      io.stdout(renderRealism(report));
      if (settings.simulator.baseUrl === DEMO_ENDPOINT || settings.discriminator.baseUrl === DEMO_ENDPOINT) io.stdout('DEMO: the built-in demo endpoint produced these numbers (its discriminator flips a coin). They say nothing about any real simulator.');
    }
    return 0;
  } finally {
    cancellation?.dispose();
  }
}

export const realismCommandDef: Command = {
  name: 'realism',
  summary: 'measure how well the tool simulator fools a discriminator',
  usage: USAGE,
  run: realismCommand,
};

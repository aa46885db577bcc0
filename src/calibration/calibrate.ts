import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompletionCache } from '../cache/completionCache.js';
import { makeDirectory } from '../common/directories.js';
import { ConfigError, RunCancelledError } from '../common/errors.js';
import { Progress } from '../common/progress.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import { loadRegistration } from '../registration/load.js';
import { correctedInterval, UninformativeGraderError } from '../stats/index.js';
import type { CalibrationFile } from './file.js';
import { readLabelledSet } from './labels.js';
import { buildCalibrationFile, measureGrader } from './measure.js';

export interface CalibrateOptions {
  registration: string;
  labels: string;
  /** Where calibration.json goes; default: the registration's `grader.calibration`, else ./calibration.json. */
  output?: string;
  grader: Endpoint;
  /** The grader is the built-in demo endpoint: the file says so, and the gate refuses it for a real run. */
  demo: boolean;
  confidence?: number;
  concurrency: number;
  /** Re-asks of a grader answer that does not parse (`max-reasks`). */
  reasks: number;
  client: ChatClient;
  /** Content-addressed cache of grader answers: a re-run (or an interrupted one) sends only what is missing. */
  cache?: CompletionCache;
  /** As given, for messages. */
  cacheDir?: string;
  cwd: string;
  now: () => Date;
  log?: (message: string) => void;
  /** Aborted on SIGINT/SIGTERM: graded records stay in the cache, nothing is written. */
  cancel?: AbortSignal;
}

export interface CalibrateOutcome {
  calibration: CalibrationFile;
  outputPath: string;
  /** Label keys that name no registration category (ignored). */
  unknownLabels: string[];
  /** The registration's category ids, in order. */
  categoryIds: string[];
}

/** registration + labelled completions → grade each with the registration's grader → calibration.json. */
export async function runCalibration(options: CalibrateOptions): Promise<CalibrateOutcome> {
  const registration = await loadRegistration(options.registration, options.cwd);
  const labelsPath = path.resolve(options.cwd, options.labels);
  const labels = await readLabelledSet(labelsPath, options.labels);
  const known = new Set(registration.categories.map((c) => c.id));
  const unknownLabels = [...new Set(labels.records.flatMap((r) => Object.keys(r.labels)))].filter((k) => !known.has(k)).sort();
  const useful = labels.records.filter((r) => Object.entries(r.labels).some(([id, v]) => v !== null && known.has(id)));
  if (useful.length === 0) {
    throw new ConfigError(
      `${options.labels}: no record labels any category of ${registration.displayPath} (${[...known].join(', ')}); label keys found: ${unknownLabels.join(', ') || 'none'}.`,
    );
  }
  const confidence = options.confidence ?? registration.config.decision.confidence;
  if (!(confidence > 0 && confidence < 1)) throw new ConfigError('--confidence must be between 0 and 1.');
  const outputPath = options.output
    ? path.resolve(options.cwd, options.output)
    : (registration.calibrationPath ?? path.resolve(options.cwd, 'calibration.json'));

  const cache = options.cache;
  if (cache) await makeDirectory(cache.dir, 'cache-dir');
  const cfg = registration.config.grader;
  options.log?.(`Grading ${useful.length} labelled completions with ${cfg.model} (${cfg.mode}) for ${registration.categories.length} categories…`);
  const progress = options.log ? new Progress(useful.length, { info: options.log, warning: options.log }) : undefined;
  const tallies = await measureGrader({
    records: useful,
    categories: registration.categories,
    client: options.client,
    endpoint: options.grader,
    model: cfg.model,
    mode: cfg.mode,
    reasks: options.reasks,
    concurrency: options.concurrency,
    cancel: options.cancel,
    onProgress: (failed) => progress?.tick(failed),
  })
    .catch(async (error: unknown) => {
      if (!(error instanceof RunCancelledError)) throw error;
      await cache?.settled();
      const kept = cache ? ` The ${cache.writes} answers received are stored in cache-dir ${options.cacheDir}: a re-run with it sends only the rest.` : ' Without --cache-dir a re-run starts over.';
      throw new RunCancelledError(error.signal, `Cancelled (${error.signal}) while grading the labelled completions; calibration.json was not written.${kept}`);
    })
    .finally(() => progress?.done());
  if (cache) options.log?.(`Cache ${options.cacheDir}: ${cache.hits} answers reused, ${cache.writes} new answers stored.`);
  const calibration = buildCalibrationFile({
    categories: registration.categories,
    tallies,
    model: cfg.model,
    mode: cfg.mode,
    labels: { path: path.relative(path.dirname(outputPath), labelsPath).split(path.sep).join('/'), sha256: labels.sha256, records: labels.records.length },
    confidence,
    demo: options.demo,
    createdAt: options.now(),
  });
  await mkdir(path.dirname(outputPath), { recursive: true });
  await writeFile(outputPath, `${JSON.stringify(calibration, null, 2)}\n`);
  return { calibration, outputPath, unknownLabels, categoryIds: registration.categories.map((c) => c.id) };
}

/** Whether the gate's corrected interval exists at this confidence (it adds pseudo-counts to small label sets). */
function correctable(c: { tp: number; fp: number; tn: number; fn: number }, confidence: number): boolean {
  try {
    correctedInterval({ k: 0, n: 1, tp: c.tp, fp: c.fp, tn: c.tn, fn: c.fn, confidence });
    return true;
  } catch (error) {
    if (error instanceof UninformativeGraderError) return false;
    throw error;
  }
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** Terminal table plus one plain sentence per problem a user must act on before gating with this file. */
export function renderCalibration(cal: CalibrationFile, outputPath: string, registrationIds: string[]): string {
  const conf = `${Math.round(cal.confidence * 100)}%`;
  const rows = [
    ['category', 'labelled', 'TP', 'FP', 'TN', 'FN', 'errors', `FPR (${conf} CI)`, `FNR (${conf} CI)`],
    ...cal.categories.map((c) => [
      c.id,
      String(c.labelled),
      String(c.tp),
      String(c.fp),
      String(c.tn),
      String(c.fn),
      String(c.errors),
      `${pct(c.fpr)} (${pct(c.fpr_ci_low)}–${pct(c.fpr_ci_high)})`,
      `${pct(c.fnr)} (${pct(c.fnr_ci_low)}–${pct(c.fnr_ci_high)})`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = [`deploysim: grader ${cal.grader.model} (${cal.grader.mode}) calibrated on ${cal.labels.records} labelled records → ${outputPath}${cal.demo ? ' [DEMO: the built-in demo grader; these numbers say nothing about a real grader]' : ''}`];
  for (const row of rows) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`);
  const problems: string[] = [];
  for (const id of registrationIds) {
    const c = cal.categories.find((r) => r.id === id);
    if (!c) problems.push(`${id}: no labelled completions — the gate will refuse this calibration file until it has some.`);
    else if (c.positives === 0 || c.negatives === 0) problems.push(`${id}: needs both positive and negative labels (has ${c.positives} and ${c.negatives}).`);
    else if ((c.fpr ?? 0) + (c.fnr ?? 0) >= 1) problems.push(`${id}: the grader is uninformative (FPR + FNR ≥ 1); the gate will refuse to correct with it.`);
    else if (!correctable(c, cal.confidence)) problems.push(`${id}: too few labels to correct at ${cal.confidence} confidence (the interval's adjusted FPR + FNR reach 1); add labelled examples.`);
  }
  if (problems.length > 0) lines.push('  Before gating with this file:', ...problems.map((p) => `  ! ${p}`));
  lines.push(
    '  FPR: share of completions humans judged fine that the grader flagged. FNR: share of completions humans flagged that the grader missed.',
    '  With grader.calibration set, the gate corrects each observed rate for these errors (Rogan–Gladen) and widens its interval.',
  );
  return lines.join('\n');
}

import type { ChatMessage } from '../corpus/record.js';
import { Grader } from '../grade/grader.js';
import { stopsTheRun } from '../common/errors.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import type { Category } from '../registration/load.js';
import { forEachConcurrently } from '../common/workerPool.js';
import { binomialInterval } from '../stats/index.js';
import { CALIBRATION_SCHEMA, rubricHash, type CalibrationCategory, type CalibrationFile } from './file.js';
import type { LabelledRecord } from './labels.js';

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  errors: number;
}

export interface MeasureInput {
  records: LabelledRecord[];
  categories: Category[];
  client: ChatClient;
  endpoint: Endpoint;
  model: string;
  mode: 'combined' | 'per-category';
  reasks: number;
  concurrency: number;
  cancel?: AbortSignal;
  /** Called once per record graded (or failed). */
  onProgress?: (failed: boolean) => void;
}

/**
 * Grades every labelled completion with the registration's grader and tallies, per category, the grader's
 * verdict against the human label. `combined` grades all registration categories in one call, exactly as the
 * gate does (so the prompt is the one that will run); `per-category` asks only the labelled categories.
 * A record the grader cannot grade counts as an error for its labelled categories; an endpoint refusal stops all.
 */
export async function measureGrader(input: MeasureInput): Promise<Map<string, Confusion>> {
  const tallies = new Map<string, Confusion>(input.categories.map((c) => [c.id, { tp: 0, fp: 0, tn: 0, fn: 0, errors: 0 }]));
  const byId = new Map(input.categories.map((c) => [c.id, c]));
  await forEachConcurrently(
    input.records,
    input.concurrency,
    async (record) => {
      const labelled = Object.entries(record.labels).filter((e): e is [string, boolean] => e[1] !== null && byId.has(e[0]));
      let failed = false;
      if (labelled.length > 0) {
        const grader = new Grader(input.client, {
          endpoint: input.endpoint,
          model: input.model,
          mode: input.mode,
          categories: input.mode === 'combined' ? input.categories : labelled.map(([id]) => byId.get(id)!),
          reasks: input.reasks,
        });
        try {
          const verdicts = await grader.grade(record.messages, [record.completion as ChatMessage]);
          for (const [id, truth] of labelled) {
            const t = tallies.get(id)!;
            const flagged = verdicts.get(id)!.flagged;
            const cell = truth ? (flagged ? 'tp' : 'fn') : flagged ? 'fp' : 'tn';
            t[cell] += 1;
          }
        } catch (error) {
          if (stopsTheRun(error)) throw error;
          for (const [id] of labelled) tallies.get(id)!.errors++;
          failed = true;
        }
      }
      input.onProgress?.(failed);
    },
    input.cancel,
  );
  if (input.cancel?.aborted) throw input.cancel.reason;
  return tallies;
}

const ratePart = (k: number, n: number, confidence: number) => {
  if (n === 0) return { rate: null, low: null, high: null, method: null };
  const ci = binomialInterval(k, n, confidence);
  return { rate: k / n, low: ci.low, high: ci.high, method: ci.method };
};

/** One calibration.json row: counts, FPR = FP/negatives and FNR = FN/positives with `binomialInterval` CIs. */
export function calibrationRow(category: Category, c: Confusion, confidence: number): CalibrationCategory {
  const positives = c.tp + c.fn;
  const negatives = c.fp + c.tn;
  const fpr = ratePart(c.fp, negatives, confidence);
  const fnr = ratePart(c.fn, positives, confidence);
  const methods = [...new Set([fpr.method, fnr.method].filter((m): m is NonNullable<typeof m> => m !== null))];
  return {
    id: category.id,
    rubric_sha256: rubricHash(category),
    labelled: positives + negatives,
    positives,
    negatives,
    tp: c.tp,
    fp: c.fp,
    tn: c.tn,
    fn: c.fn,
    errors: c.errors,
    fpr: fpr.rate,
    fpr_ci_low: fpr.low,
    fpr_ci_high: fpr.high,
    fnr: fnr.rate,
    fnr_ci_low: fnr.low,
    fnr_ci_high: fnr.high,
    interval_method: methods.join(' + ') || 'none',
  };
}

export interface BuildInput {
  categories: Category[];
  tallies: Map<string, Confusion>;
  model: string;
  mode: 'combined' | 'per-category';
  labels: { path: string; sha256: string; records: number };
  confidence: number;
  createdAt: Date;
  demo?: boolean;
}

/** calibration.json for the categories that had at least one label (others are left out: nothing was measured). */
export function buildCalibrationFile(input: BuildInput): CalibrationFile {
  return {
    schema: CALIBRATION_SCHEMA,
    created_at: input.createdAt.toISOString(),
    grader: { model: input.model, mode: input.mode },
    ...(input.demo ? { demo: true } : {}),
    labels: input.labels,
    confidence: input.confidence,
    categories: input.categories
      .map((c) => calibrationRow(c, input.tallies.get(c.id)!, input.confidence))
      .filter((row) => row.labelled > 0 || row.errors > 0),
  };
}

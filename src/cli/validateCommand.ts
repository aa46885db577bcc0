import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, ConfigErrors } from '../common/errors.js';
import { directionalAgreement, median, multiplicativeError } from '../stats/index.js';

const observedSchema = z.object({
  categories: z.array(z.object({ id: z.string(), baseline_per_100k: z.number().nonnegative(), observed_per_100k: z.number().nonnegative() }).strict()).min(1),
});
const reportSubset = z.object({
  categories: z.array(z.object({ id: z.string(), rate_per_100k: z.number(), prediction_per_100k: z.number(), graded: z.number().optional() })),
});

export interface ValidationRow {
  id: string;
  simulated_per_100k: number;
  baseline_per_100k: number;
  observed_per_100k: number;
  multiplicative_error: number | null;
  direction_correct: boolean;
}

export interface Validation {
  categories: ValidationRow[];
  median_multiplicative_error: number | null;
  directional_accuracy: number;
  matched: number;
  /** Ids in observed.json that the report does not have (ignored). */
  unmatched: string[];
  /** Report categories observed.json has no production rate for (not validated). */
  not_observed: string[];
  /** Report categories with nothing graded: no simulated rate to validate. */
  not_measured: string[];
}

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: cannot read ${what} (${(error as Error).message}).`);
  }
}

/**
 * After release: how well did the simulated rates predict production? Per category the
 * multiplicative error max(p/o, o/p) and whether the direction of change from the baseline matched.
 */
export async function validatePredictions(reportPath: string, observedPath: string): Promise<Validation> {
  const report = reportSubset.safeParse(await readJson(reportPath, 'the report'));
  if (!report.success) throw new ConfigError(`${reportPath}: not a deploysim report.json (${report.error.issues[0]?.message}).`);
  const observed = observedSchema.safeParse(await readJson(observedPath, 'the observed rates'));
  if (!observed.success) {
    throw new ConfigErrors(
      observed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`),
      `${observedPath}: not the observed rates (expected {"categories":[{"id","baseline_per_100k","observed_per_100k"}]}):`,
    );
  }
  // A category with nothing graded has no simulated rate (its rate_per_100k of 0 is not a measurement).
  const notMeasured = report.data.categories.filter((c) => c.graded === 0).map((c) => c.id);
  const simulated = new Map(report.data.categories.filter((c) => c.graded !== 0).map((c) => [c.id, c.rate_per_100k]));
  const rows: ValidationRow[] = [];
  const unmatched: string[] = [];
  for (const o of observed.data.categories) {
    const sim = simulated.get(o.id);
    if (sim === undefined) {
      if (!notMeasured.includes(o.id)) unmatched.push(o.id);
      continue;
    }
    const error = multiplicativeError(sim, o.observed_per_100k);
    rows.push({
      id: o.id,
      simulated_per_100k: sim,
      baseline_per_100k: o.baseline_per_100k,
      observed_per_100k: o.observed_per_100k,
      multiplicative_error: Number.isFinite(error) ? Number(error.toFixed(4)) : null,
      direction_correct: directionalAgreement(sim, o.baseline_per_100k, o.observed_per_100k),
    });
  }
  if (rows.length === 0 && notMeasured.length > 0 && unmatched.length === 0) {
    throw new ConfigError(`${reportPath}: nothing was graded in ${notMeasured.join(', ')}, so there is no simulated rate to validate.`);
  }
  if (rows.length === 0) {
    throw new ConfigError(
      `${observedPath}: none of its category ids (${unmatched.join(', ')}) is in the report (${[...simulated.keys()].join(', ')}); use the registration's category ids.`,
    );
  }
  const observedIds = new Set(observed.data.categories.map((c) => c.id));
  const finite = rows.map((r) => r.multiplicative_error).filter((e): e is number => e !== null);
  return {
    categories: rows,
    median_multiplicative_error: finite.length ? Number(median(finite).toFixed(4)) : null,
    directional_accuracy: rows.length ? rows.filter((r) => r.direction_correct).length / rows.length : 0,
    matched: rows.length,
    unmatched,
    not_observed: report.data.categories.map((c) => c.id).filter((id) => !observedIds.has(id) && !notMeasured.includes(id)),
    not_measured: notMeasured,
  };
}

export function renderValidation(v: Validation): string {
  const lines = [
    '| Category | Simulated /100k | Baseline /100k | Observed /100k | Multiplicative error | Direction |',
    '|---|---:|---:|---:|---:|---|',
    ...v.categories.map(
      (r) => `| ${r.id} | ${r.simulated_per_100k} | ${r.baseline_per_100k} | ${r.observed_per_100k} | ${r.multiplicative_error === null ? '∞' : `${r.multiplicative_error.toFixed(2)}×`} | ${r.direction_correct ? 'correct' : 'wrong'} |`,
    ),
    '',
    `Median multiplicative error: ${v.median_multiplicative_error === null ? 'n/a' : `${v.median_multiplicative_error.toFixed(2)}×`} (the paper reports ~1.5×).`,
    `Directional accuracy: ${v.categories.filter((r) => r.direction_correct).length}/${v.matched} (${(v.directional_accuracy * 100).toFixed(0)}%; the paper reports 92%).`,
  ];
  if (v.unmatched.length) lines.push(`Not in the report (ignored): ${v.unmatched.join(', ')}.`);
  if (v.not_measured.length) lines.push(`Nothing graded in the report (not validated): ${v.not_measured.join(', ')}.`);
  if (v.not_observed.length) lines.push(`No production rate in observed.json (not validated): ${v.not_observed.join(', ')}.`);
  lines.push(
    '',
    'Simulated: the rate the gate measured before release (report.json rate_per_100k). Baseline and Observed: the production rates of the previous and the released model.',
    'Multiplicative error: how many times off the simulation was, either way (1× = exact, 2× = half or double; ∞ = one of the two rates is zero); the median is over the finite ones.',
    'Direction: whether the simulation said the rate would go up, down or stay, relative to the baseline, as production then did.',
  );
  return lines.join('\n');
}

import { zTwoSided } from './binomialInterval.js';
import { assertCount, assertKN, assertOpenUnit, assertUnit, clamp01 } from './validate.js';

/** The grader's error rates carry no information about prevalence: FPR + FNR ≥ 1 (Youden's J ≤ 0). */
export class UninformativeGraderError extends Error {
  constructor(
    readonly fpr: number,
    readonly fnr: number,
  ) {
    super(
      `grader is uninformative: false-positive rate ${fpr} + false-negative rate ${fnr} ≥ 1, ` +
        `so its flag rate cannot be corrected for misclassification`,
    );
    this.name = 'UninformativeGraderError';
  }
}

/**
 * Rogan–Gladen (1978, Am J Epidemiol 107:71) corrected prevalence: θ = (a − FPR)/(1 − FPR − FNR),
 * i.e. (a + Sp − 1)/(Se + Sp − 1), clamped to [0, 1]; throws UninformativeGraderError if FPR + FNR ≥ 1.
 */
export function roganGladen(apparent: number, fpr: number, fnr: number): number {
  assertUnit('apparent', apparent);
  assertUnit('fpr', fpr);
  assertUnit('fnr', fnr);
  const j = 1 - fpr - fnr;
  if (j <= 0) throw new UninformativeGraderError(fpr, fnr);
  return clamp01((apparent - fpr) / j);
}

export interface CorrectedIntervalInput {
  /** Completions the grader flagged. */
  k: number;
  /** Completions graded. */
  n: number;
  /** Grader validation set: flagged negatives (false positives). */
  fp: number;
  /** Grader validation set: unflagged negatives (true negatives). */
  tn: number;
  /** Grader validation set: unflagged positives (false negatives). */
  fn: number;
  /** Grader validation set: flagged positives (true positives). */
  tp: number;
  confidence: number;
}

export interface CorrectedInterval {
  /** Rogan–Gladen estimate from the raw counts, clamped to [0, 1]. */
  estimate: number;
  low: number;
  high: number;
  method: 'delta';
}

/**
 * Misclassification-corrected prevalence with a delta-method interval (Rogan & Gladen 1978; variance with
 * estimated error rates: Greenland 1988, Stat Med 7:745; Lang & Reiczigel 2014, Prev Vet Med 113:13).
 *
 * With a = k/n, f = fp/(fp+tn), g = fn/(fn+tp), J = 1 − f − g and θ = (a − f)/J, the partial derivatives are
 * ∂θ/∂a = 1/J, ∂θ/∂f = −(1 − θ)/J, ∂θ/∂g = θ/J, and the three samples are independent, so
 *   Var(θ) ≈ [a(1−a)/n + (1−θ)²·f(1−f)/(fp+tn) + θ²·g(1−g)/(fn+tp)] / J².
 * Following the idea of Lang & Reiczigel (2014), a, f and g are first Agresti–Coull (1998) adjusted — z²/2
 * pseudo-successes and z²/2 pseudo-failures added to each sample — and the interval θ̃ ± z·√Var(θ̃) is centred
 * on the adjusted θ̃. Without this the Wald-type interval collapses to a point when k = 0 or fp = 0 — the
 * rare-event regime — and in simulation it covered only 0.89–0.92 at 95% for rare rates, versus 0.96–1.00
 * adjusted (conservative when FPR is tiny and the validation set small). Bounds are clamped to [0, 1] and
 * widened, if needed, to contain the estimate, which is plain Rogan–Gladen on the raw counts.
 */
export function correctedInterval(input: CorrectedIntervalInput): CorrectedInterval {
  const { k, n, fp, tn, fn, tp, confidence } = input;
  assertKN(k, n);
  for (const [name, x] of [['fp', fp], ['tn', tn], ['fn', fn], ['tp', tp]] as const) assertCount(name, x);
  assertOpenUnit('confidence', confidence);
  if (n === 0) throw new RangeError('n must be positive');
  const negatives = fp + tn;
  const positives = fn + tp;
  if (negatives === 0) throw new RangeError('grader validation needs at least one negative (fp + tn > 0)');
  if (positives === 0) throw new RangeError('grader validation needs at least one positive (fn + tp > 0)');

  const estimate = roganGladen(k / n, fp / negatives, fn / positives);

  const z = zTwoSided(confidence);
  const add = (z * z) / 2;
  const nA = n + 2 * add;
  const nF = negatives + 2 * add;
  const nG = positives + 2 * add;
  const a = (k + add) / nA;
  const f = (fp + add) / nF;
  const g = (fn + add) / nG;
  const j = 1 - f - g;
  if (j <= 0) throw new UninformativeGraderError(f, g);
  const theta = (a - f) / j;
  const variance =
    ((a * (1 - a)) / nA + (1 - theta) ** 2 * ((f * (1 - f)) / nF) + theta ** 2 * ((g * (1 - g)) / nG)) / (j * j);
  const half = z * Math.sqrt(variance);
  return {
    estimate,
    low: Math.min(estimate, clamp01(theta - half)),
    high: Math.max(estimate, clamp01(theta + half)),
    method: 'delta',
  };
}

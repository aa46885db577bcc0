import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { binomialUpperTailP } from './binomialTest.js';
import { MAX_SAMPLE_SIZE, binomialCriticalCount } from './sampleSize.js';
import { assertCount, assertOpenUnit } from './validate.js';

export interface PairedRatioInput {
  /** Baseline (production) model's rate, as a proportion. */
  baselineRate: number;
  /** Candidate rate = ratio × baselineRate to detect (ratio ≠ 1). */
  ratio: number;
  /** The exact McNemar test is one-sided (in the direction of the change) at level 1 − confidence. */
  confidence: number;
  power: number;
  /**
   * Share of prefixes on which both models' replies are flagged. Default baselineRate × candidate rate: the two
   * models flag independently, which is conservative when they tend to flag the same prefixes (fewer discordant
   * pairs, more power).
   */
  bothRate?: number;
}

interface Discordance {
  /** Probability that a prefix is a discordant pair. */
  psi: number;
  /** Given a discordant pair, probability that it points in the direction of the change. */
  pi: number;
  /** p10 − p01 (signed towards the change, so > 0). */
  delta: number;
}

function discordance(input: PairedRatioInput): Discordance {
  const { baselineRate, ratio } = input;
  assertOpenUnit('baselineRate', baselineRate);
  if (!(ratio > 0) || ratio === 1) throw new RangeError(`ratio must be positive and ≠ 1, got ${ratio}`);
  const p1 = baselineRate;
  const p2 = ratio * baselineRate;
  if (!(p2 < 1)) throw new RangeError(`candidate rate ratio × baselineRate must be < 1, got ${p2}`);
  const both = input.bothRate ?? p1 * p2;
  if (!(both >= 0 && both < Math.min(p1, p2))) {
    throw new RangeError(`bothRate must be in [0, min(baseline, candidate rate)), got ${both}`);
  }
  const towards = Math.max(p1, p2) - both; // the discordant cell the change makes more likely
  const away = Math.min(p1, p2) - both;
  const psi = towards + away;
  return { psi, pi: towards / psi, delta: towards - away };
}

/**
 * Exact power of the one-sided exact McNemar test at level alpha with n pairs: the discordant count D is
 * Bin(n, ψ); given D = d the count in the direction of the change is Bin(d, π), and the test rejects when it is
 * ≥ c(d), the critical count of Bin(d, ½) (binomialCriticalCount). Power = Σ_d P(D = d)·P(Bin(d, π) ≥ c(d))
 * (the unconditional power of the conditional test; Suissa & Shuster 1991, Biometrics 47:361, §2), summed over
 * d within μ ± 12σ of D's mean.
 */
function exactPower(n: number, d: Discordance, alpha: number, critical: Map<number, number>): number {
  const mean = n * d.psi;
  const sd = Math.sqrt(mean * (1 - d.psi));
  const lo = Math.max(0, Math.floor(mean - 12 * sd - 10));
  const hi = Math.min(n, Math.ceil(mean + 12 * sd + 10));
  let power = 0;
  let previous = lo > 0 ? binomialCdf(lo - 1, n, d.psi) : 0;
  for (let k = lo; k <= hi; k++) {
    const current = binomialCdf(k, n, d.psi);
    const pk = current - previous;
    previous = current;
    if (pk <= 0 || k === 0) continue;
    let c = critical.get(k);
    if (c === undefined) {
      // c(d) is non-decreasing in d and c(d + 1) ≤ c(d) + 1, so step from the previous count when it is known.
      const before = critical.get(k - 1);
      if (before === undefined) c = binomialCriticalCount(k, 0.5, alpha);
      else {
        c = before;
        while (c <= k && binomialUpperTailP(c, k, 0.5) > alpha) c++;
      }
      critical.set(k, c);
    }
    if (c <= k) power += pk * binomialUpperTailP(c, k, d.pi);
  }
  return power;
}

/** Exact power of the one-sided exact McNemar test (level 1 − confidence) with n pairs; see exactPower. */
export function pairedExactPower(n: number, input: PairedRatioInput): number {
  assertCount('n', n);
  assertOpenUnit('confidence', input.confidence);
  return exactPower(n, discordance(input), 1 - input.confidence, new Map());
}

/**
 * Prefixes — each replayed through both the candidate and the baseline, as `baseline-model` does — for the
 * `regression` rule's exact one-sided McNemar test (level 1 − confidence) to detect a candidate rate `ratio` ×
 * the baseline rate with the given power. Start: Connor (1987, Biometrics 43:207, eq. 3)
 * n = [z_α·√ψ + z_β·√(ψ − δ²)]²/δ² with ψ = p10 + p01 and δ = p10 − p01; then the smallest n (by galloping and
 * bisection, assuming power grows with n) whose exact power (pairedExactPower) reaches the target.
 */
export function sampleSizeForPairedRatio(input: PairedRatioInput): { n: number; connor: number; discordantRate: number } {
  const { confidence, power } = input;
  assertOpenUnit('confidence', confidence);
  assertOpenUnit('power', power);
  const alpha = 1 - confidence;
  if (power <= alpha) throw new RangeError(`power (${power}) must exceed 1 − confidence (${alpha})`);
  const d = discordance(input);
  const za = normalQuantile(1 - alpha, 0, 1);
  const zb = normalQuantile(power, 0, 1);
  const connor = Math.ceil(((za * Math.sqrt(d.psi) + zb * Math.sqrt(d.psi - d.delta ** 2)) / d.delta) ** 2);
  if (!(connor <= MAX_SAMPLE_SIZE)) throw new RangeError(`ratio ${input.ratio} needs more than ${MAX_SAMPLE_SIZE} pairs`);
  const critical = new Map<number, number>();
  const reaches = (n: number) => exactPower(n, d, alpha, critical) >= power;
  let lo = 0; // fails (no pairs, no power)
  let hi = Math.max(1, connor);
  while (!reaches(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > MAX_SAMPLE_SIZE) throw new RangeError(`ratio ${input.ratio} needs more than ${MAX_SAMPLE_SIZE} pairs`);
  }
  // Shrink from the top too: the normal start may overshoot by a lot for few discordant pairs.
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  return { n: hi, connor, discordantRate: d.psi };
}

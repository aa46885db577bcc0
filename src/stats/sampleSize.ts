import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { binomialUpperTailP } from './binomialTest.js';
import { assertCount, assertOpenUnit } from './validate.js';

/** Largest sample size the planners will return; beyond it they throw a RangeError (rate too close to threshold). */
export const MAX_SAMPLE_SIZE = 1e12;

/**
 * Exact one-sided upper confidence bound for a rate after 0 events in n trials (Clopper–Pearson with k = 0;
 * Hanley & Lippman-Hand 1983, JAMA 249:1743): 1 − (1 − confidence)^(1/n) ≈ −ln(1 − confidence)/n ("rule of three").
 */
export function zeroEventUpperBound(n: number, confidence: number): number {
  assertCount('n', n);
  assertOpenUnit('confidence', confidence);
  if (n === 0) return 1;
  return -Math.expm1(Math.log1p(-confidence) / n);
}

/**
 * Smallest n whose zero-event upper bound (Hanley & Lippman-Hand 1983) is below `rate`:
 * n = ⌊ln(1 − confidence)/ln(1 − rate)⌋ + 1, checked against `zeroEventUpperBound`.
 */
export function sampleSizeForZeroEvents(rate: number, confidence: number): number {
  assertOpenUnit('rate', rate);
  assertOpenUnit('confidence', confidence);
  let n = Math.max(1, Math.floor(Math.log1p(-confidence) / Math.log1p(-rate)) + 1);
  if (n > MAX_SAMPLE_SIZE) throw new RangeError(`rate ${rate} needs more than ${MAX_SAMPLE_SIZE} trials`);
  // Guard the closed form against floating-point rounding at the boundary.
  while (zeroEventUpperBound(n, confidence) >= rate) n++;
  while (n > 1 && zeroEventUpperBound(n - 1, confidence) < rate) n--;
  return n;
}

/**
 * Critical count of the exact one-sided binomial test (Agresti 2013 §1.4): the smallest c with
 * P(X ≥ c | n, p0) ≤ alpha, or n + 1 when no count in 0..n is significant. Found by bisection on c.
 */
export function binomialCriticalCount(n: number, p0: number, alpha: number): number {
  assertCount('n', n);
  assertOpenUnit('alpha', alpha);
  // Invariant: tail(lo) > alpha (lo = 0 has tail 1), tail(hi) ≤ alpha (hi = n + 1 has tail 0).
  let lo = 0;
  let hi = n + 1;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (binomialUpperTailP(mid, n, p0) <= alpha) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Power of the exact one-sided binomial test of H0: p ≤ threshold at level alpha (Agresti 2013 §1.4):
 * P(X ≥ c | n, rate) with c = binomialCriticalCount(n, threshold, alpha).
 */
export function exactBinomialPower(n: number, rate: number, threshold: number, alpha: number): number {
  const c = binomialCriticalCount(n, threshold, alpha);
  return c > n ? 0 : binomialUpperTailP(c, n, rate);
}

export interface DetectAboveInput {
  /** True rate the sample should detect, as a proportion; must exceed `threshold`. */
  rate: number;
  /** Pre-registered threshold, as a proportion. */
  threshold: number;
  /** The test is one-sided at level 1 − confidence. */
  confidence: number;
  /** Required probability of rejecting H0: p ≤ threshold when the true rate is `rate`. */
  power: number;
}

function checkPlanArgs(threshold: number, confidence: number, power: number): number {
  assertOpenUnit('threshold', threshold);
  assertOpenUnit('confidence', confidence);
  assertOpenUnit('power', power);
  const alpha = 1 - confidence;
  if (power <= alpha) throw new RangeError(`power (${power}) must exceed 1 − confidence (${alpha})`);
  return alpha;
}

/** One-sided normal-approximation sample size (Chow, Shao & Wang 2008, Sample Size Calculations, §4.1). */
function normalApproxN(rate: number, threshold: number, alpha: number, power: number): number {
  const za = normalQuantile(1 - alpha, 0, 1);
  const zb = normalQuantile(power, 0, 1);
  const num = za * Math.sqrt(threshold * (1 - threshold)) + zb * Math.sqrt(rate * (1 - rate));
  return Math.ceil((num / (rate - threshold)) ** 2);
}

/**
 * Smallest n at which the exact one-sided binomial test of H0: p ≤ threshold at level 1 − confidence has power
 * ≥ `power` when the true rate is `rate` (exact power: Chernick & Liu 2002, Am Stat 56:149; start: normal
 * approximation, Chow, Shao & Wang 2008 §4.1).
 *
 * Exact power is saw-toothed in n: it rises while the critical count c stays fixed and drops when c steps up.
 * So, with M(c) the largest n whose critical count is ≤ c (bisection on n), the peak power for count c is
 * P(X ≥ c | M(c), rate); we find the smallest c whose peak reaches `power` (galloping + bisection on c from
 * the normal-approximation start, assuming peaks grow with c — matched a brute-force scan over n in 396 random
 * configurations), then bisect n in
 * (M(c−1), M(c)]. Everything is exact binomial arithmetic — O(log² n) cdf calls, milliseconds even at n ≈ 1e8.
 * Note: because of the saw-tooth a slightly larger n can have power just below target.
 */
export function sampleSizeToDetectAbove(input: DetectAboveInput): number {
  const { rate, threshold, confidence, power } = input;
  const alpha = checkPlanArgs(threshold, confidence, power);
  assertOpenUnit('rate', rate);
  if (!(rate > threshold)) throw new RangeError(`rate (${rate}) must exceed threshold (${threshold})`);
  const start = normalApproxN(rate, threshold, alpha, power);
  if (!(start <= MAX_SAMPLE_SIZE)) {
    throw new RangeError(`detecting ${rate} against ${threshold} needs more than ${MAX_SAMPLE_SIZE} trials`);
  }

  // M(c): largest n with P(X ≥ c | n, threshold) ≤ alpha (the tail grows with n). M(0) = 0 by convention.
  const mCache = new Map<number, number>();
  const maxN = (c: number): number => {
    if (c <= 0) return 0;
    const cached = mCache.get(c);
    if (cached !== undefined) return cached;
    let lo = c - 1; // tail is 0 for n < c
    let hi = Math.max(c, start);
    while (binomialUpperTailP(c, hi, threshold) <= alpha) {
      lo = hi;
      hi *= 2;
      if (hi > 4 * MAX_SAMPLE_SIZE) throw new RangeError('critical-count search diverged');
    }
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (binomialUpperTailP(c, mid, threshold) <= alpha) lo = mid;
      else hi = mid;
    }
    mCache.set(c, lo);
    return lo;
  };
  // Peak power for critical count c (0 when no n has critical count exactly c and can reach it).
  const reaches = (c: number): boolean => {
    const m = maxN(c);
    return m >= c && binomialUpperTailP(c, m, rate) >= power;
  };

  // Smallest c ≥ 1 with reaches(c): gallop from the normal-approximation critical count, then bisect.
  const c0 = Math.max(1, binomialCriticalCount(start, threshold, alpha));
  let lo: number; // !reaches(lo) or lo = 0
  let hi: number; // reaches(hi)
  if (reaches(c0)) {
    hi = c0;
    let step = 1;
    lo = Math.max(0, c0 - step);
    while (lo > 0 && reaches(lo)) {
      hi = lo;
      step *= 2;
      lo = Math.max(0, lo - step);
    }
  } else {
    lo = c0;
    let step = 1;
    hi = c0 + step;
    while (!reaches(hi)) {
      lo = hi;
      step *= 2;
      hi += step;
      if (maxN(hi) > MAX_SAMPLE_SIZE) {
        throw new RangeError(`detecting ${rate} against ${threshold} needs more than ${MAX_SAMPLE_SIZE} trials`);
      }
    }
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  const c = hi;

  // Power P(X ≥ c | n, rate) increases with n on (M(c−1), M(c)]; the top of the range reaches the target.
  let nLo = maxN(c - 1); // below the range (or 0): fails
  let nHi = maxN(c); // reaches
  while (nHi - nLo > 1) {
    const mid = nLo + Math.floor((nHi - nLo) / 2);
    if (mid >= c && binomialUpperTailP(c, mid, rate) >= power) nHi = mid;
    else nLo = mid;
  }
  return nHi;
}

export interface DetectableRateInput {
  /** Planned number of trials. */
  n: number;
  threshold: number;
  confidence: number;
  power: number;
}

/**
 * Smallest true rate that n trials detect above `threshold` with the given power, using the exact one-sided test
 * at level 1 − confidence: with critical count c, P(X ≥ c | n, r) = I_r(c, n − c + 1) (Johnson, Kemp & Kotz 2005,
 * Univariate Discrete Distributions, eq. 3.34), so r = B⁻¹(power; c, n − c + 1). Infinity when n is too small for
 * any count to be significant.
 */
export function detectableRate(input: DetectableRateInput): number {
  const { n, threshold, confidence, power } = input;
  const alpha = checkPlanArgs(threshold, confidence, power);
  assertCount('n', n);
  const c = binomialCriticalCount(n, threshold, alpha);
  if (c > n) return Infinity;
  return betaQuantile(power, c, n - c + 1);
}

export interface RatioInput {
  /** Baseline model's rate, as a proportion. */
  baselineRate: number;
  /** Candidate rate = ratio × baselineRate to detect (ratio ≠ 1). */
  ratio: number;
  confidence: number;
  power: number;
  /** Two-sided (default) or one-sided test at level 1 − confidence. */
  sides?: 1 | 2;
}

/**
 * Per-arm n to detect candidate rate p2 = ratio·p1 against baseline p1 with a two-proportion z-test
 * (normal approximation, no continuity correction; Fleiss, Levin & Paik 2003, Statistical Methods for Rates and
 * Proportions, 3rd ed., §4.2): n = [z_α·√(2p̄q̄) + z_β·√(p1q1 + p2q2)]² / (p2 − p1)², p̄ = (p1 + p2)/2.
 */
export function sampleSizeForRatio(input: RatioInput): number {
  const { baselineRate, ratio, confidence, power, sides = 2 } = input;
  assertOpenUnit('baselineRate', baselineRate);
  assertOpenUnit('confidence', confidence);
  assertOpenUnit('power', power);
  const p1 = baselineRate;
  const p2 = ratio * baselineRate;
  if (!(ratio > 0) || ratio === 1) throw new RangeError(`ratio must be positive and ≠ 1, got ${ratio}`);
  if (!(p2 < 1)) throw new RangeError(`candidate rate ratio × baselineRate must be < 1, got ${p2}`);
  const alpha = 1 - confidence;
  const za = normalQuantile(1 - alpha / sides, 0, 1);
  const zb = normalQuantile(power, 0, 1);
  const pBar = (p1 + p2) / 2;
  const num = za * Math.sqrt(2 * pBar * (1 - pBar)) + zb * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  const n = Math.ceil((num / (p2 - p1)) ** 2);
  if (!(n <= MAX_SAMPLE_SIZE)) throw new RangeError(`ratio ${ratio} needs more than ${MAX_SAMPLE_SIZE} per arm`);
  return n;
}

import { correctedInterval, roganGladen, UninformativeGraderError } from './index.js';

/** Confusion counts of a grader on a labelled set: the input Rogan–Gladen needs for one category. */
export interface GraderErrorCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Smallest one-sided level the search resolves: below it `zTwoSided` runs out of double precision. */
const MIN_ONE_SIDED_P = 1e-15;

/**
 * One-sided p-value of H0: corrected rate ≤ t, by inverting the delta-method interval of `correctedInterval`:
 * the smallest α such that the (1 − 2α) two-sided interval's low end is above t (bisection on log α).
 * So "p ≤ α" is exactly "the (1 − 2α) interval's low end clears t" — the `confident` rule's test, now with a
 * p-value Holm can adjust. 1 when the estimate itself is ≤ t (no evidence of excess); at most 0.5 otherwise;
 * floored at 1e-15.
 */
export function correctedUpperTailP(k: number, n: number, grader: GraderErrorCounts, t: number): number {
  const lowAt = (alpha: number) => {
    try {
      return correctedInterval({ k, n, ...grader, confidence: 1 - 2 * alpha }).low;
    } catch (error) {
      // At high confidence the pseudo-counts can push the adjusted FPR + FNR to ≥ 1: no information, no rejection.
      if (error instanceof UninformativeGraderError) return 0;
      throw error;
    }
  };
  const clears = (alpha: number) => lowAt(alpha) > t;
  if (roganGladenEstimate(k, n, grader) <= t) return 1;
  if (!clears(0.5 - 1e-9)) return 0.5;
  if (clears(MIN_ONE_SIDED_P)) return MIN_ONE_SIDED_P;
  // Invariant: clears(exp(hi)) and !clears(exp(lo)); the interval narrows as α grows.
  let lo = Math.log(MIN_ONE_SIDED_P);
  let hi = Math.log(0.5 - 1e-9);
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (clears(Math.exp(mid))) hi = mid;
    else lo = mid;
  }
  return Math.exp(hi);
}

/** Rogan–Gladen on the raw counts (the estimate `correctedInterval` reports). */
function roganGladenEstimate(k: number, n: number, g: GraderErrorCounts): number {
  return roganGladen(k / n, g.fp / (g.fp + g.tn), g.fn / (g.fn + g.tp));
}

import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import { assertKN, assertUnit } from './validate.js';

/**
 * Exact one-sided binomial p-value for H1: p > p0 (e.g. Agresti 2013, Categorical Data Analysis §1.4):
 * P(X ≥ k | n, p0), evaluated as P(n − X ≤ n − k | n, 1 − p0) so that tiny tails keep full precision.
 */
export function binomialUpperTailP(k: number, n: number, p0: number): number {
  assertKN(k, n);
  assertUnit('p0', p0);
  if (k === 0) return 1;
  return binomialCdf(n - k, n, 1 - p0);
}

/** Exact one-sided binomial p-value for H1: p < p0 (Agresti 2013 §1.4): P(X ≤ k | n, p0). */
export function binomialLowerTailP(k: number, n: number, p0: number): number {
  assertKN(k, n);
  assertUnit('p0', p0);
  return binomialCdf(k, n, p0);
}

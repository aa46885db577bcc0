import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import { assertCount } from './validate.js';

/**
 * Exact two-sided McNemar test (McNemar 1947, Psychometrika 12:153; exact form: Agresti 2013 §11.1.4)
 * on discordant pairs b, c: p = min(1, 2·P(X ≤ min(b, c))), X ~ Bin(b + c, 1/2); b + c = 0 → 1.
 */
export function mcnemarExact(b: number, c: number): { pValue: number } {
  assertCount('b', b);
  assertCount('c', c);
  const n = b + c;
  if (n === 0) return { pValue: 1 };
  return { pValue: Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5)) };
}

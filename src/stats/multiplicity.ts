import { assertOpenUnit } from './validate.js';

/**
 * Holm (1979, Scand J Stat 6:65) step-down adjusted p-values: with p₍₁₎ ≤ … ≤ p₍ₘ₎,
 * p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1)·p₍ⱼ₎); returned in input order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  for (const p of pValues) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`p-values must be in [0, 1], got ${p}`);
  }
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a]! - pValues[b]! || a - b);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]!));
    adjusted[idx] = running;
  });
  return adjusted;
}

/** Holm (1979) step-down test: reject H_i iff its Holm-adjusted p-value ≤ alpha (FWER ≤ alpha). */
export function holmReject(pValues: readonly number[], alpha: number): boolean[] {
  assertOpenUnit('alpha', alpha);
  return holmAdjust(pValues).map((p) => p <= alpha);
}

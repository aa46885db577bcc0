import { describe, expect, it } from 'vitest';
import {
  binomialLowerTailP,
  binomialSample,
  binomialUpperTailP,
  holmAdjust,
  holmReject,
  mcnemarExact,
  mulberry32,
} from '../../src/stats/index.js';

describe('binomialUpperTailP / binomialLowerTailP', () => {
  it('P(X ≥ 3 | 10, 0.1) = 1 − (0.9¹⁰ + 10·0.1·0.9⁹ + 45·0.01·0.9⁸) = 1 − 0.9298092 = 0.0701908', () => {
    expect(binomialUpperTailP(3, 10, 0.1)).toBeCloseTo(0.0701908264, 9);
  });

  it('P(X ≤ 0 | 10, 0.1) = 0.9¹⁰ = 0.3486784401 and P(X ≤ 2) = 0.9298091736', () => {
    expect(binomialLowerTailP(0, 10, 0.1)).toBeCloseTo(0.3486784401, 10);
    expect(binomialLowerTailP(2, 10, 0.1)).toBeCloseTo(0.9298091736, 10);
    expect(binomialLowerTailP(2, 10, 0.1) + binomialUpperTailP(3, 10, 0.1)).toBeCloseTo(1, 12);
  });

  it('edge cases: k = 0 → 1, k = n → p0ⁿ, and tiny tails keep relative precision', () => {
    expect(binomialUpperTailP(0, 50, 0.3)).toBe(1);
    expect(binomialUpperTailP(5, 5, 0.5)).toBeCloseTo(1 / 32, 14);
    expect(binomialLowerTailP(10, 10, 0.5)).toBe(1);
    // P(X ≥ 10 | 10, 0.01) = 1e-20: 1 − cdf would round to 0.
    expect(binomialUpperTailP(10, 10, 0.01) / 1e-20).toBeCloseTo(1, 6);
  });

  it('rejects invalid arguments', () => {
    expect(() => binomialUpperTailP(11, 10, 0.1)).toThrow(RangeError);
    expect(() => binomialUpperTailP(1, 10, 1.5)).toThrow(RangeError);
    expect(() => binomialLowerTailP(-1, 10, 0.1)).toThrow(RangeError);
  });
});

describe('mcnemarExact', () => {
  it('b = 1, c = 9: 2·P(X ≤ 1 | 10, ½) = 2·11/1024 = 0.021484375', () => {
    expect(mcnemarExact(1, 9).pValue).toBeCloseTo(0.021484375, 12);
    expect(mcnemarExact(9, 1).pValue).toBeCloseTo(0.021484375, 12);
  });

  it('caps at 1 and handles no discordant pairs', () => {
    expect(mcnemarExact(5, 5).pValue).toBe(1);
    expect(mcnemarExact(0, 0).pValue).toBe(1);
    expect(mcnemarExact(0, 6).pValue).toBeCloseTo(2 / 64, 12);
    expect(() => mcnemarExact(-1, 3)).toThrow(RangeError);
  });
});

describe('holmAdjust / holmReject', () => {
  it('[0.01, 0.04, 0.03, 0.005] → [0.03, 0.06, 0.06, 0.02]', () => {
    // Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06.
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adjusted[i]).toBeCloseTo(v, 12));
    expect(holmReject([0.01, 0.04, 0.03, 0.005], 0.05)).toEqual([true, false, false, true]);
  });

  it('caps at 1, keeps ties, and handles the empty family', () => {
    const capped = holmAdjust([0.6, 0.6, 0.2]); // 0.2·3 = 0.6, then 0.6·2 → 1, 0.6·1 → max(1, 0.6) = 1
    [1, 1, 0.6].forEach((v, i) => expect(capped[i]).toBeCloseTo(v, 12));
    expect(holmAdjust([])).toEqual([]);
    expect(holmAdjust([0.02])).toEqual([0.02]);
    expect(() => holmAdjust([0.1, Number.NaN])).toThrow(RangeError);
    expect(() => holmReject([0.1], 0)).toThrow(RangeError);
  });

  it('keeps the family-wise false-fail rate ≤ 5% over 20 null categories (2 000 simulated families)', () => {
    // Each category's true rate equals its threshold; n = 20 000 completions per category.
    const n = 20_000;
    const thresholds = Array.from({ length: 20 }, (_, i) => [1e-4, 1e-3, 1e-2][i % 3]!);
    const rng = mulberry32(2024);
    const families = 2000;
    let anyRejected = 0;
    let naiveAnyRejected = 0;
    for (let f = 0; f < families; f++) {
      const pValues = thresholds.map((t) => binomialUpperTailP(binomialSample(rng, n, t), n, t));
      if (holmReject(pValues, 0.05).some(Boolean)) anyRejected++;
      if (pValues.some((p) => p <= 0.05)) naiveAnyRejected++;
    }
    expect(anyRejected / families).toBeLessThanOrEqual(0.05);
    // Without the correction the family-wise rate is far above 5%, so the check above has teeth.
    expect(naiveAnyRejected / families).toBeGreaterThan(0.3);
  });
});

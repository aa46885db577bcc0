import { describe, expect, it } from 'vitest';
import {
  binomialSample,
  directionalAgreement,
  median,
  mulberry32,
  multiplicativeError,
} from '../../src/stats/index.js';

describe('mulberry32', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
  });

  it('produces uniforms in [0, 1) with the right mean and an even spread', () => {
    const rng = mulberry32(1);
    const buckets = new Array<number>(10).fill(0);
    let sum = 0;
    let outOfRange = 0;
    const draws = 100_000;
    for (let i = 0; i < draws; i++) {
      const u = rng();
      if (!(u >= 0 && u < 1)) outOfRange++;
      sum += u;
      buckets[Math.min(9, Math.floor(u * 10))]!++;
    }
    expect(outOfRange).toBe(0);
    expect(sum / draws).toBeCloseTo(0.5, 2);
    // χ² with 9 d.f.: 99.9th percentile is 27.9.
    const chi2 = buckets.reduce((s, o) => s + (o - draws / 10) ** 2 / (draws / 10), 0);
    expect(chi2).toBeLessThan(27.9);
  });
});

describe('binomialSample', () => {
  it('has the binomial mean, variance and P(X = 0) for rare events (n = 100 000, p = 1e-4)', () => {
    const rng = mulberry32(5);
    const draws = 5000;
    const xs = Array.from({ length: draws }, () => binomialSample(rng, 100_000, 1e-4));
    const mean = xs.reduce((s, x) => s + x, 0) / draws;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (draws - 1);
    expect(Math.abs(mean - 10)).toBeLessThan(0.25); // SE 0.045
    expect(Math.abs(variance / (10 * (1 - 1e-4)) - 1)).toBeLessThan(0.1); // SE ≈ 2.2%
    const zeros = Array.from({ length: draws }, () => binomialSample(rng, 20_000, 1e-4)).filter((x) => x === 0);
    expect(zeros.length / draws).toBeCloseTo((1 - 1e-4) ** 20_000, 1); // 0.1353
  });

  it('handles p > ½ by symmetry and the degenerate cases', () => {
    const rng = mulberry32(6);
    const draws = 4000;
    let sum = 0;
    for (let i = 0; i < draws; i++) {
      const x = binomialSample(rng, 50, 0.7);
      expect(Number.isInteger(x) && x >= 0 && x <= 50).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / draws - 35)).toBeLessThan(0.2); // SE 0.05
    expect(binomialSample(rng, 10, 0)).toBe(0);
    expect(binomialSample(rng, 10, 1)).toBe(10);
    expect(binomialSample(rng, 0, 0.5)).toBe(0);
    expect(() => binomialSample(rng, 10, 1.1)).toThrow(RangeError);
  });

  it('is fast enough for thousands of large rare-event draws', () => {
    const rng = mulberry32(8);
    const start = performance.now();
    for (let i = 0; i < 5000; i++) binomialSample(rng, 100_000, 1e-4);
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe('multiplicativeError', () => {
  it('is max(p/o, o/p), symmetric, ≥ 1', () => {
    expect(multiplicativeError(2, 1)).toBe(2);
    expect(multiplicativeError(1, 4)).toBe(4);
    expect(multiplicativeError(3e-4, 3e-4)).toBe(1);
  });

  it('handles zeros and rejects negatives', () => {
    expect(multiplicativeError(0, 0)).toBe(1);
    expect(multiplicativeError(0, 1e-4)).toBe(Infinity);
    expect(multiplicativeError(1e-4, 0)).toBe(Infinity);
    expect(() => multiplicativeError(-1, 1)).toThrow(RangeError);
    expect(() => multiplicativeError(Number.NaN, 1)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('middle value for odd length, mean of the middle two for even, without mutating input', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([1, Infinity, 2])).toBe(2);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('directionalAgreement', () => {
  it('compares the direction of change from the baseline', () => {
    expect(directionalAgreement(12, 10, 15)).toBe(true);
    expect(directionalAgreement(8, 10, 9)).toBe(true);
    expect(directionalAgreement(12, 10, 9)).toBe(false);
    expect(directionalAgreement(10, 10, 10)).toBe(true);
    expect(directionalAgreement(10, 10, 11)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import {
  UninformativeGraderError,
  binomialSample,
  correctedInterval,
  mulberry32,
  roganGladen,
} from '../../src/stats/index.js';

describe('roganGladen', () => {
  it('(0.1 − 0.05)/(1 − 0.05 − 0.2) = 0.05/0.75 = 0.0666…', () => {
    expect(roganGladen(0.1, 0.05, 0.2)).toBeCloseTo(1 / 15, 12);
  });

  it('clamps to [0, 1] and is the identity for a perfect grader', () => {
    expect(roganGladen(0.01, 0.05, 0.2)).toBe(0);
    expect(roganGladen(0.9, 0.05, 0.2)).toBe(1);
    expect(roganGladen(0.123, 0, 0)).toBeCloseTo(0.123, 14);
  });

  it('throws UninformativeGraderError when fpr + fnr ≥ 1', () => {
    expect(() => roganGladen(0.1, 0.5, 0.5)).toThrow(UninformativeGraderError);
    expect(() => roganGladen(0.1, 0.7, 0.4)).toThrow(UninformativeGraderError);
    const error = (() => {
      try {
        roganGladen(0.1, 0.6, 0.6);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'UninformativeGraderError', fpr: 0.6, fnr: 0.6 });
    expect(() => roganGladen(1.2, 0.1, 0.1)).toThrow(RangeError);
  });

  it('is unbiased within 10% when FPR/FNR are known (prevalence 5%, fpr 0.02, fnr 0.1, n 20 000, 1 000 runs)', () => {
    const rng = mulberry32(7);
    const [prevalence, fpr, fnr, n, runs] = [0.05, 0.02, 0.1, 20_000, 1000];
    let sumCorrected = 0;
    let sumApparent = 0;
    for (let r = 0; r < runs; r++) {
      const positives = binomialSample(rng, n, prevalence);
      const flagged = binomialSample(rng, positives, 1 - fnr) + binomialSample(rng, n - positives, fpr);
      sumCorrected += roganGladen(flagged / n, fpr, fnr);
      sumApparent += flagged / n;
    }
    const meanCorrected = sumCorrected / runs;
    expect(Math.abs(meanCorrected - prevalence) / prevalence).toBeLessThan(0.1);
    expect(Math.abs(meanCorrected - prevalence) / prevalence).toBeLessThan(0.02); // SE ≈ 0.12%
    // The uncorrected flag rate (0.05·0.9 + 0.95·0.02 = 0.064) is 28% too high.
    expect(sumApparent / runs).toBeCloseTo(0.064, 3);
  });
});

describe('correctedInterval', () => {
  it('returns the Rogan–Gladen estimate inside a delta-method interval', () => {
    const ci = correctedInterval({ k: 1280, n: 20_000, fp: 40, tn: 1960, fn: 50, tp: 450, confidence: 0.95 });
    expect(ci.method).toBe('delta');
    // a = 0.064, f = 0.02, g = 0.1 → (0.064 − 0.02)/0.88 = 0.05
    expect(ci.estimate).toBeCloseTo(0.05, 12);
    expect(ci.low).toBeLessThan(ci.estimate);
    expect(ci.high).toBeGreaterThan(ci.estimate);
    // Var ≈ [a(1−a)/n + (1−θ)²f(1−f)/2000 + θ²g(1−g)/500]/J² ≈ 1.30e-5 → half-width ≈ 1.96·0.0036 ≈ 0.0071
    expect(ci.high - ci.low).toBeGreaterThan(0.012);
    expect(ci.high - ci.low).toBeLessThan(0.016);
  });

  it('widens when the grader validation set is smaller', () => {
    const big = correctedInterval({ k: 1280, n: 20_000, fp: 40, tn: 1960, fn: 50, tp: 450, confidence: 0.95 });
    const small = correctedInterval({ k: 1280, n: 20_000, fp: 4, tn: 196, fn: 5, tp: 45, confidence: 0.95 });
    expect(small.high - small.low).toBeGreaterThan(1.5 * (big.high - big.low));
  });

  it('does not collapse to a point with zero flags or zero false positives', () => {
    const ci = correctedInterval({ k: 0, n: 20_000, fp: 0, tn: 2000, fn: 20, tp: 180, confidence: 0.95 });
    expect(ci.estimate).toBe(0);
    expect(ci.low).toBe(0);
    expect(ci.high).toBeGreaterThan(1e-4);
    expect(ci.high).toBeLessThan(0.01);
  });

  it('rejects unusable inputs', () => {
    const base = { k: 10, n: 1000, fp: 5, tn: 95, fn: 5, tp: 45, confidence: 0.95 };
    expect(() => correctedInterval({ ...base, fp: 60, tn: 40, fn: 30, tp: 20 })).toThrow(UninformativeGraderError);
    expect(() => correctedInterval({ ...base, fp: 0, tn: 0 })).toThrow(RangeError);
    expect(() => correctedInterval({ ...base, fn: 0, tp: 0 })).toThrow(RangeError);
    expect(() => correctedInterval({ ...base, k: 1001 })).toThrow(RangeError);
    expect(() => correctedInterval({ ...base, n: 0, k: 0 })).toThrow(RangeError);
    expect(() => correctedInterval({ ...base, confidence: 1 })).toThrow(RangeError);
  });

  // Coverage with the grader's error rates estimated from a validation set; measured at 4 000 runs:
  // 0.958 (common event) and 0.967 (rare event); the unadjusted Wald delta method gives 0.954 and 0.942.
  const scenarios = [
    { prevalence: 0.05, fpr: 0.02, fnr: 0.1, n: 20_000, negatives: 2000, positives: 500 },
    { prevalence: 1e-3, fpr: 1e-3, fnr: 0.1, n: 20_000, negatives: 5000, positives: 200 },
  ];
  for (const s of scenarios) {
    it(`covers the true prevalence ≥ 93% of the time at 95% (prevalence ${s.prevalence}, fpr ${s.fpr})`, () => {
      const rng = mulberry32(99);
      const runs = 1000;
      let covered = 0;
      for (let r = 0; r < runs; r++) {
        const truePositives = binomialSample(rng, s.n, s.prevalence);
        const k = binomialSample(rng, truePositives, 1 - s.fnr) + binomialSample(rng, s.n - truePositives, s.fpr);
        const fp = binomialSample(rng, s.negatives, s.fpr);
        const fn = binomialSample(rng, s.positives, s.fnr);
        const ci = correctedInterval({
          k,
          n: s.n,
          fp,
          tn: s.negatives - fp,
          fn,
          tp: s.positives - fn,
          confidence: 0.95,
        });
        if (ci.low <= s.prevalence && s.prevalence <= ci.high) covered++;
      }
      expect(covered / runs).toBeGreaterThanOrEqual(0.93);
    });
  }
});

import { describe, expect, it } from 'vitest';
import { decideCategory, decideGate, type CategoryCounts } from '../../src/decision/decide.js';
import type { DecisionConfig } from '../../src/decision/decide.js';
import { binomialSample, detectableRate, mulberry32 } from '../../src/stats/index.js';

const config = (over: Partial<DecisionConfig> = {}): DecisionConfig => ({
  rule: 'confident',
  confidence: 0.95,
  tolerance: 1,
  max_error_rate: 0.02,
  on_inconclusive: 'fail',
  multiplicity: 'holm',
  ...over,
});
const cat = (id: string, flagged: number, graded: number, prediction_per_100k: number): CategoryCounts => ({ id, flagged, graded, prediction_per_100k });
const ok = { sampled: 1000, errors: 0 };

// Hand-computed binomial tails, n = 10, p0 = 0.1 (T = 10,000 per 100k):
//   P0 = 0.9^10 = 0.3486784401, P1 = 10·0.1·0.9^9 = 0.387420489, P2 = 45·0.01·0.9^8 = 0.1937102445,
//   P3 = 120·0.001·0.9^7 = 0.057395628, P4 = 210·1e-4·0.9^6 = 0.011160261
//   P(X ≥ 2) = 1 − P0 − P1 = 0.2639010709
//   P(X ≥ 4) = 1 − (P0 + … + P3) = 0.0127951984
//   P(X ≥ 5) = 1 − (P0 + … + P4) = 0.0016349374
describe('decideGate: exact one-sided p-values and Holm under `confident`', () => {
  const counts = [cat('five', 5, 10, 10_000), cat('four', 4, 10, 10_000), cat('zero', 0, 10, 10_000)];

  it('reports each p-value P(X ≥ k | n, T)', () => {
    const d = decideGate(counts, config(), ok);
    expect(d.categories[0]!.p_value).toBeCloseTo(0.0016349374, 9);
    expect(d.categories[1]!.p_value).toBeCloseTo(0.0127951984, 9);
    expect(d.categories[2]!.p_value).toBe(1);
    expect(decideGate([cat('two', 2, 10, 10_000)], config(), ok).categories[0]!.p_value).toBeCloseTo(0.2639010709, 9);
  });

  it('Holm: sorted p × (3, 2, 1), running max; fails only where the adjusted p ≤ (1 − 0.95)/2 = 0.025', () => {
    const d = decideGate(counts, config(), ok);
    // 3 × 0.0016349374 = 0.0049048122 ≤ 0.025 → fail; 2 × 0.0127951984 = 0.0255903968 > 0.025 → pass.
    expect(d.categories[0]!.adjusted_p_value).toBeCloseTo(0.0049048122, 9);
    expect(d.categories[1]!.adjusted_p_value).toBeCloseTo(0.0255903968, 9);
    expect(d.categories[2]!.adjusted_p_value).toBe(1);
    expect(d.categories.map((c) => c.verdict)).toEqual(['fail', 'pass', 'pass']);
    expect(d.failedCategories).toEqual(['five']);
    expect(d.categories[0]!.explanation).toMatch(/3 categories tested at once \(Holm\)/);
    // The unadjusted interval would have failed `four` (Clopper–Pearson low 12.16% > 10%): the report says why not.
    expect(d.categories[1]!.ci_low_per_100k).toBeGreaterThan(10_000);
    expect(d.categories[1]!.explanation).toMatch(/by chance \(Holm-adjusted p = 0\.026, above 0\.025\)/);
    expect(d.passed).toBe(false);
  });

  it('multiplicity: none keeps the interval rule (low end above T fails), adjusted = raw p', () => {
    const d = decideGate(counts, config({ multiplicity: 'none' }), ok);
    expect(d.categories.map((c) => c.verdict)).toEqual(['fail', 'fail', 'pass']);
    expect(d.categories[1]!.adjusted_p_value).toBe(d.categories[1]!.p_value);
    // Clopper–Pearson 95% for 4/10: low = B⁻¹(0.025; 4, 7) = 0.12156 (Collett 2003, Table; R binom.test).
    expect(d.categories[1]!.ci_low_per_100k).toBeCloseTo(12_155.2, -1);
  });

  it('a single category: Holm is the plain one-sided exact test, same verdict as the interval rule', () => {
    for (const k of [0, 1, 2, 3, 4, 5, 6]) {
      const holm = decideGate([cat('x', k, 10, 10_000)], config(), ok).categories[0]!;
      const none = decideGate([cat('x', k, 10, 10_000)], config({ multiplicity: 'none' }), ok).categories[0]!;
      expect(holm.verdict).toBe(none.verdict);
    }
  });

  it('categories with nothing graded are inconclusive and outside the Holm family', () => {
    const d = decideGate([cat('five', 5, 10, 10_000), cat('none', 0, 0, 10_000)], config(), ok);
    expect(d.categories[0]!.adjusted_p_value).toBeCloseTo(0.0016349374, 9); // m = 1
    expect(d.categories[1]!.verdict).toBe('inconclusive');
  });

  it('Holm keeps the family-wise false-fail rate ≤ 5% over 20 null categories (seeded simulation)', () => {
    const rng = mulberry32(20260616);
    const runs = 2000;
    const n = 5000;
    const prediction = 100; // per 100k: every category's true rate equals its prediction (all nulls true)
    let holmAny = 0;
    let noneAny = 0;
    for (let r = 0; r < runs; r++) {
      const counts = Array.from({ length: 20 }, (_, i) => cat(`c${i}`, binomialSample(rng, n, prediction / 1e5), n, prediction));
      if (!decideGate(counts, config(), { sampled: n, errors: 0 }).passed) holmAny++;
      if (!decideGate(counts, config({ multiplicity: 'none' }), { sampled: n, errors: 0 }).passed) noneAny++;
    }
    expect(holmAny / runs).toBeLessThanOrEqual(0.05);
    // Without correction some category false-fails far more often (≈ 1 − 0.98^20 with the discrete test).
    expect(noneAny / runs).toBeGreaterThan(0.15);
  });
});

describe('decideCategory: point, strict, inconclusive, tolerance', () => {
  it('point: fails when the rate is above T, passes at exactly T', () => {
    expect(decideCategory(cat('x', 1, 1000, 50), config({ rule: 'point' })).verdict).toBe('fail'); // 100 > 50
    expect(decideCategory(cat('x', 1, 1000, 100), config({ rule: 'point' })).verdict).toBe('pass'); // 100 = 100
  });

  it('strict at k = 0: Clopper–Pearson upper bound 1 − 0.025^(1/n)', () => {
    // n = 1000: 1 − exp(ln 0.025 / 1000) = 0.0036821 → 368.21 per 100k > 100 → inconclusive.
    const small = decideCategory(cat('x', 0, 1000, 100), config({ rule: 'strict' }));
    expect(small.ci_high_per_100k).toBeCloseTo(368.21, 1);
    expect(small.verdict).toBe('inconclusive');
    // n = 5000: 1 − exp(ln 0.025 / 5000) = 0.00073751 → 73.75 per 100k ≤ 100 → pass.
    const large = decideCategory(cat('x', 0, 5000, 100), config({ rule: 'strict' }));
    expect(large.ci_high_per_100k).toBeCloseTo(73.75, 1);
    expect(large.verdict).toBe('pass');
    // Observed above T under strict → fail.
    expect(decideCategory(cat('x', 2, 1000, 100), config({ rule: 'strict' })).verdict).toBe('fail');
  });

  it('Wilson when there are ≥ 100 events and non-events: 500/1000 at 95% is 0.5 ± 0.0309304', () => {
    // z = 1.959964, z² = 3.841459: half = z·√(0.25/1000 + z²/4e6)/(1 + z²/1000) = 0.0309304; centre stays 0.5.
    const d = decideGate([cat('x', 500, 1000, 50_000)], config({ rule: 'point' }), ok);
    expect(d.intervalMethod).toBe('wilson');
    expect(d.categories[0]!.ci_low_per_100k).toBeCloseTo(46_906.96, 0);
    expect(d.categories[0]!.ci_high_per_100k).toBeCloseTo(53_093.04, 0);
  });

  it('tolerance multiplies every prediction', () => {
    const d = decideCategory(cat('x', 3, 2000, 50), config({ rule: 'point', tolerance: 2 }));
    expect(d.threshold_per_100k).toBe(100);
    expect(d.rate_per_100k).toBe(150);
    expect(d.verdict).toBe('fail');
    expect(decideCategory(cat('x', 2, 2000, 50), config({ rule: 'point', tolerance: 2 })).verdict).toBe('pass');
  });

  it('on_inconclusive decides whether an inconclusive category fails the gate', () => {
    const counts = [cat('x', 0, 1000, 100)];
    expect(decideGate(counts, config({ rule: 'strict', on_inconclusive: 'fail' }), ok).passed).toBe(false);
    expect(decideGate(counts, config({ rule: 'strict', on_inconclusive: 'pass' }), ok).passed).toBe(true);
  });
});

describe('decideGate: error budget (fails closed)', () => {
  const counts = [cat('x', 0, 97, 100)];
  it('3 errors of 100 sampled = 3% > 2% fails; 2% does not', () => {
    const over = decideGate(counts, config(), { sampled: 100, errors: 3 });
    expect(over.errorBudgetExceeded).toBe(true);
    expect(over.passed).toBe(false);
    expect(over.reasons[0]).toMatch(/3 of 100 sampled records \(3\.0%\)/);
    expect(decideGate(counts, config(), { sampled: 100, errors: 2 }).errorBudgetExceeded).toBe(false);
  });
  it('nothing sampled fails closed', () => {
    expect(decideGate(counts, config(), { sampled: 0, errors: 0 }).passed).toBe(false);
  });
});

describe('decideGate with a calibrated grader', () => {
  // Grader: FPR = 5/1000 = 0.005, FNR = 10/100 = 0.1. Raw 50/1000 = 5%; Rogan–Gladen θ = (0.05 − 0.005)/0.895 = 0.0502793.
  const calibration = { tp: 90, fn: 10, fp: 5, tn: 995 };
  it('decides on the corrected rate and reports the raw one', () => {
    const d = decideGate([{ ...cat('x', 50, 1000, 4000), calibration }], config({ rule: 'point' }), ok);
    const c = d.categories[0]!;
    expect(d.rateBasis).toBe('corrected');
    expect(d.intervalMethod).toBe('delta');
    expect(c.rate_per_100k).toBeCloseTo(5027.93, 1);
    expect(c.corrected!.estimate_per_100k).toBe(c.rate_per_100k);
    expect(c.observed_raw!.rate_per_100k).toBe(5000);
    expect(c.corrected!.low_per_100k).toBeLessThan(c.corrected!.estimate_per_100k);
    // The corrected interval is wider than the raw one: it also carries FPR/FNR uncertainty.
    expect(c.corrected!.high_per_100k - c.corrected!.low_per_100k).toBeGreaterThan(c.observed_raw!.ci_high_per_100k - c.observed_raw!.ci_low_per_100k);
    expect(c.verdict).toBe('fail'); // 5027.93 > 4000
    // Without calibration the same counts decide on the raw rate.
    expect(decideGate([cat('x', 50, 1000, 4000)], config({ rule: 'point' }), ok).rateBasis).toBe('observed');
  });

  it('confident + Holm on corrected rates: p ≤ α exactly when the interval low end clears T (m = 1)', () => {
    for (const k of [10, 20, 40, 60, 80, 120]) {
      const holm = decideGate([{ ...cat('x', k, 1000, 4000), calibration }], config(), ok).categories[0]!;
      const none = decideGate([{ ...cat('x', k, 1000, 4000), calibration }], config({ multiplicity: 'none' }), ok).categories[0]!;
      expect(holm.verdict).toBe(none.verdict);
      expect(holm.p_value! <= 0.025).toBe(none.ci_low_per_100k > 4000);
    }
  });
});

describe('detection floor (detectable_rate_per_100k)', () => {
  it('one category: the exact one-sided test at (1 − confidence)/2 with 80% power (same as detectableRate)', () => {
    const d = decideGate([cat('x', 0, 5000, 100)], config(), ok).categories[0]!;
    const expected = Number((detectableRate({ n: 5000, threshold: 0.001, confidence: 0.975, power: 0.8 }) * 1e5).toFixed(2));
    expect(d.detectable_rate_per_100k).toBe(expected);
  });

  it('Holm over m categories tests the lone exceedance at α/m: a higher floor than one category alone', () => {
    const three = decideGate([cat('a', 0, 5000, 100), cat('b', 0, 5000, 100), cat('c', 0, 5000, 100)], config(), ok).categories[0]!;
    const expected = Number((detectableRate({ n: 5000, threshold: 0.001, confidence: 1 - 0.025 / 3, power: 0.8 }) * 1e5).toFixed(2));
    expect(three.detectable_rate_per_100k).toBe(expected);
    const none = decideGate([cat('a', 0, 5000, 100), cat('b', 0, 5000, 100)], config({ multiplicity: 'none' }), ok).categories[0]!;
    expect(three.detectable_rate_per_100k!).toBeGreaterThan(none.detectable_rate_per_100k!);
  });

  it('prediction 0: any flag is significant, so the floor is 1 − 0.2^(1/n) (n = 1000: 160.81 per 100k)', () => {
    expect(decideGate([cat('x', 0, 1000, 0)], config(), ok).categories[0]!.detectable_rate_per_100k).toBeCloseTo(160.81, 1);
  });

  it('nothing graded: not measurable (Infinity, null in report.json)', () => {
    expect(decideGate([cat('x', 0, 0, 100)], config(), { sampled: 10, errors: 10 }).categories[0]!.detectable_rate_per_100k).toBe(Number.POSITIVE_INFINITY);
  });

  it('a calibrated grader moves the floor through its error rates (a perfect grader changes nothing)', () => {
    const perfect = { tp: 50, fn: 0, fp: 0, tn: 50 };
    const raw = decideGate([cat('x', 0, 5000, 100)], config(), ok).categories[0]!;
    const cal = decideGate([{ ...cat('x', 0, 5000, 100), calibration: perfect }], config(), ok).categories[0]!;
    expect(cal.detectable_rate_per_100k).toBe(raw.detectable_rate_per_100k);
    const noisy = decideGate([{ ...cat('x', 0, 5000, 100), calibration: { tp: 40, fn: 10, fp: 1, tn: 99 } }], config(), ok).categories[0]!;
    expect(noisy.detectable_rate_per_100k!).toBeGreaterThan(raw.detectable_rate_per_100k!);
  });
});

describe('Holm on corrected rates (seeded simulation)', () => {
  it('keeps the family-wise false-fail rate ≤ 5% over 20 null categories with an estimated grader error', () => {
    const rng = mulberry32(7);
    const runs = 400;
    const n = 20_000;
    const prediction = 500; // per 100k; every category's true rate equals it
    const fpr = 0.002;
    const fnr = 0.15;
    const theta = prediction / 1e5;
    const apparent = theta * (1 - fnr) + (1 - theta) * fpr;
    let anyFail = 0;
    for (let r = 0; r < runs; r++) {
      const counts = Array.from({ length: 20 }, (_, i) => {
        // Each category's grader measured on its own labelled set: 2,000 negatives, 200 positives.
        const fp = binomialSample(rng, 2000, fpr);
        const fn = binomialSample(rng, 200, fnr);
        return { ...cat(`c${i}`, binomialSample(rng, n, apparent), n, prediction), calibration: { fp, tn: 2000 - fp, fn, tp: 200 - fn } };
      });
      if (!decideGate(counts, config(), { sampled: n, errors: 0 }).passed) anyFail++;
    }
    expect(anyFail / runs).toBeLessThanOrEqual(0.05);
  });
});

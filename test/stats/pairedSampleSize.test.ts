import { describe, expect, it } from 'vitest';
import { decideGate } from '../../src/decision/decide.js';
import {
  binomialSample,
  binomialUpperTailP,
  mulberry32,
  pairedExactPower,
  sampleSizeForPairedRatio,
  sampleSizeForRatio,
} from '../../src/stats/index.js';

describe('sampleSizeForPairedRatio (exact McNemar on the baseline replay)', () => {
  it('starts from Connor (1987): baseline 1%, ratio 2, independent flags, one-sided 2.5%, power 80% → 2321', () => {
    // Hand: p1 = 0.01, p2 = 0.02, both = p1·p2 = 0.0002 → p10 = 0.0198, p01 = 0.0098;
    // ψ = 0.0296, δ = 0.01; √ψ = 0.172046, √(ψ − δ²) = √0.0295 = 0.171756;
    // (1.959964·0.172046 + 0.841621·0.171756)/0.01 = (0.337204 + 0.144554)/0.01 = 48.1758; 48.1758² = 2320.9 → 2321.
    const plan = sampleSizeForPairedRatio({ baselineRate: 0.01, ratio: 2, confidence: 0.975, power: 0.8 });
    expect(plan.connor).toBe(2321);
    expect(plan.discordantRate).toBeCloseTo(0.0296, 12);
    // The exact test is conservative, so it needs a few percent more than the normal approximation.
    expect(plan.n).toBeGreaterThanOrEqual(plan.connor);
    expect(plan.n / plan.connor).toBeLessThan(1.1);
  });

  it('returns the smallest n whose exact power reaches the target', () => {
    for (const input of [
      { baselineRate: 1e-3, ratio: 2, confidence: 0.975, power: 0.8 },
      { baselineRate: 1e-4, ratio: 3, confidence: 0.975, power: 0.9 },
      { baselineRate: 0.05, ratio: 0.5, confidence: 0.95, power: 0.8 },
    ]) {
      const { n } = sampleSizeForPairedRatio(input);
      expect(pairedExactPower(n, input)).toBeGreaterThanOrEqual(input.power);
      expect(pairedExactPower(n - 1, input)).toBeLessThan(input.power);
    }
  });

  it('exact power equals a brute-force sum over the trinomial of discordant counts (n = 60)', () => {
    // p1 = 0.1, p2 = 0.3, both = 0.05 → p10 = 0.25 (candidate only), p01 = 0.05 (baseline only), rest 0.7.
    const input = { baselineRate: 0.1, ratio: 3, confidence: 0.95, power: 0.8, bothRate: 0.05 };
    const n = 60;
    const logFactorial = [0];
    for (let i = 1; i <= n; i++) logFactorial.push(logFactorial[i - 1]! + Math.log(i));
    let brute = 0;
    for (let b = 0; b <= n; b++) {
      for (let c = 0; b + c <= n; c++) {
        if (b + c === 0 || binomialUpperTailP(b, b + c, 0.5) > 0.05) continue;
        brute += Math.exp(logFactorial[n]! - logFactorial[b]! - logFactorial[c]! - logFactorial[n - b - c]! + b * Math.log(0.25) + c * Math.log(0.05) + (n - b - c) * Math.log(0.7));
      }
    }
    expect(pairedExactPower(n, input)).toBeCloseTo(brute, 10);
  });

  it('simulated through the gate: the regression rule fails the category about `power` of the time at the planned n', () => {
    // 2,000 seeded replays of n pairs at baseline 100 per 100k and a candidate at 200 per 100k, flags independent.
    const [p1, p2, confidence] = [1e-3, 2e-3, 0.95];
    // The regression rule tests one-sided at (1 − confidence)/2.
    const { n } = sampleSizeForPairedRatio({ baselineRate: p1, ratio: 2, confidence: 1 - (1 - confidence) / 2, power: 0.8 });
    const rng = mulberry32(5);
    const runs = 2000;
    let failed = 0;
    const [pBoth, pCand, pBase] = [p1 * p2, p2 * (1 - p1), p1 * (1 - p2)];
    for (let r = 0; r < runs; r++) {
      const both = binomialSample(rng, n, pBoth);
      const candidateOnly = binomialSample(rng, n - both, pCand / (1 - pBoth));
      const baselineOnly = binomialSample(rng, n - both - candidateOnly, pBase / (1 - pBoth - pCand));
      const decision = decideGate(
        [{ id: 'x', prediction_per_100k: 0, flagged: both + candidateOnly, graded: n, baseline: { flagged: both + baselineOnly, candidateOnly, baselineOnly } }],
        { rule: 'regression', confidence, tolerance: 1, max_error_rate: 0.02, on_inconclusive: 'fail', multiplicity: 'none' },
        { sampled: n, errors: 0 },
      );
      if (decision.categories[0]!.verdict === 'fail') failed++;
    }
    // SE of a proportion near 0.8 over 2,000 runs ≈ 0.009.
    expect(Math.abs(failed / runs - 0.8)).toBeLessThan(0.03);
  });

  it('needs fewer prefixes when the two models tend to flag the same prefixes; about the unpaired n when independent', () => {
    const base = { baselineRate: 1e-3, ratio: 2, confidence: 0.975, power: 0.8 };
    const independent = sampleSizeForPairedRatio(base).n;
    const correlated = sampleSizeForPairedRatio({ ...base, bothRate: 0.8e-3 }).n;
    expect(correlated).toBeLessThan(independent / 2);
    const unpaired = sampleSizeForRatio({ baselineRate: 1e-3, ratio: 2, confidence: 0.95, power: 0.8 });
    expect(Math.abs(independent / unpaired - 1)).toBeLessThan(0.1);
  });

  it('rejects impossible inputs', () => {
    const base = { baselineRate: 1e-3, ratio: 2, confidence: 0.975, power: 0.8 };
    expect(() => sampleSizeForPairedRatio({ ...base, ratio: 1 })).toThrow(RangeError);
    expect(() => sampleSizeForPairedRatio({ ...base, baselineRate: 0.6 })).toThrow(RangeError);
    expect(() => sampleSizeForPairedRatio({ ...base, bothRate: 1e-3 })).toThrow(RangeError);
    expect(() => sampleSizeForPairedRatio({ ...base, power: 0.01 })).toThrow(RangeError);
  });
});

import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { describe, expect, it } from 'vitest';
import {
  binomialCriticalCount,
  binomialUpperTailP,
  detectableRate,
  exactBinomialPower,
  sampleSizeForRatio,
  sampleSizeForZeroEvents,
  sampleSizeToDetectAbove,
  zeroEventUpperBound,
} from '../../src/stats/index.js';

describe('zeroEventUpperBound', () => {
  it('n = 1000 at 95%: 1 − 0.05^(1/1000) = 0.0029912, the rule of three −ln(0.05)/n ≈ 0.0029957', () => {
    // Hand: x = −ln(0.05)/1000 = 0.0029957323; 1 − e^(−x) = x − x²/2 + x³/6 − …
    //       = 0.0029957323 − 0.0000044872 + 0.0000000045 = 0.0029912495
    const bound = zeroEventUpperBound(1000, 0.95);
    expect(bound).toBeCloseTo(0.0029912495, 9);
    expect(Math.abs(bound / (-Math.log(0.05) / 1000) - 1)).toBeLessThan(0.002);
    expect(Math.abs(bound / (3 / 1000) - 1)).toBeLessThan(0.005);
  });

  it('n = 0 → 1; rejects bad arguments', () => {
    expect(zeroEventUpperBound(0, 0.95)).toBe(1);
    expect(() => zeroEventUpperBound(10, 1)).toThrow(RangeError);
    expect(() => zeroEventUpperBound(-1, 0.9)).toThrow(RangeError);
  });
});

describe('sampleSizeForZeroEvents', () => {
  it('rate 1e-3 at 95% → 2995', () => {
    // Hand: n > ln(0.05)/ln(0.999) = −2.9957323/−0.0010005003 = 2994.23 → n = 2995.
    expect(sampleSizeForZeroEvents(1e-3, 0.95)).toBe(2995);
    expect(zeroEventUpperBound(2995, 0.95)).toBeLessThan(1e-3);
    expect(zeroEventUpperBound(2994, 0.95)).toBeGreaterThanOrEqual(1e-3);
  });

  it('is the smallest such n for other inputs too', () => {
    for (const [rate, confidence] of [
      [1e-4, 0.95],
      [1e-5, 0.99],
      [0.3, 0.8],
    ] as const) {
      const n = sampleSizeForZeroEvents(rate, confidence);
      expect(zeroEventUpperBound(n, confidence)).toBeLessThan(rate);
      expect(zeroEventUpperBound(n - 1, confidence)).toBeGreaterThanOrEqual(rate);
    }
  });
});

describe('sampleSizeToDetectAbove', () => {
  it('agrees with a brute-force scan of exact power over n', () => {
    const cases = [
      { rate: 0.2, threshold: 0.1, confidence: 0.95, power: 0.8 },
      { rate: 0.05, threshold: 0.02, confidence: 0.95, power: 0.8 },
      { rate: 0.004, threshold: 0.001, confidence: 0.95, power: 0.9 },
      { rate: 0.5, threshold: 0.3, confidence: 0.9, power: 0.7 },
    ];
    for (const c of cases) {
      const n = sampleSizeToDetectAbove(c);
      let brute = 1;
      while (exactBinomialPower(brute, c.rate, c.threshold, 1 - c.confidence) < c.power) brute++;
      expect(n).toBe(brute);
    }
  });

  it('returns an n whose exact one-sided test reaches the power, and n − 1 does not', () => {
    const input = { rate: 2e-4, threshold: 1e-4, confidence: 0.95, power: 0.8 };
    const n = sampleSizeToDetectAbove(input);
    const c = binomialCriticalCount(n, input.threshold, 0.05);
    expect(binomialUpperTailP(c, n, input.threshold)).toBeLessThanOrEqual(0.05);
    expect(binomialUpperTailP(c - 1, n, input.threshold)).toBeGreaterThan(0.05);
    expect(exactBinomialPower(n, input.rate, input.threshold, 0.05)).toBeGreaterThanOrEqual(0.8);
    expect(exactBinomialPower(n - 1, input.rate, input.threshold, 0.05)).toBeLessThan(0.8);
    // Close to the normal approximation [(z_α√(p0q0) + z_β√(p1q1))/(p1 − p0)]² ≈ 80 400.
    const za = normalQuantile(0.95, 0, 1);
    const zb = normalQuantile(0.8, 0, 1);
    const approx = ((za * Math.sqrt(1e-4 * (1 - 1e-4)) + zb * Math.sqrt(2e-4 * (1 - 2e-4))) / 1e-4) ** 2;
    expect(Math.abs(n / approx - 1)).toBeLessThan(0.15);
  });

  it('is fast for rare events needing ~1e8 trials', () => {
    const start = performance.now();
    const n = sampleSizeToDetectAbove({ rate: 1.05e-5, threshold: 1e-5, confidence: 0.95, power: 0.8 });
    expect(performance.now() - start).toBeLessThan(500);
    expect(n).toBeGreaterThan(1e8);
    expect(n).toBeLessThan(1e9);
  });

  it('rejects a rate at or below the threshold and impossible power', () => {
    expect(() => sampleSizeToDetectAbove({ rate: 1e-4, threshold: 1e-4, confidence: 0.95, power: 0.8 })).toThrow(
      RangeError,
    );
    expect(() => sampleSizeToDetectAbove({ rate: 2e-4, threshold: 1e-4, confidence: 0.95, power: 0.01 })).toThrow(
      RangeError,
    );
    expect(() => sampleSizeToDetectAbove({ rate: 2e-4, threshold: 1e-4, confidence: 0.95, power: 1 })).toThrow(
      RangeError,
    );
  });
});

describe('detectableRate', () => {
  const plans = [
    { rate: 2e-4, threshold: 1e-4, confidence: 0.95, power: 0.8 },
    { rate: 1.5e-3, threshold: 1e-3, confidence: 0.95, power: 0.9 },
    { rate: 3e-5, threshold: 1e-5, confidence: 0.99, power: 0.8 },
    { rate: 0.02, threshold: 0.01, confidence: 0.9, power: 0.5 },
  ];

  it('is the inverse of sampleSizeToDetectAbove', () => {
    for (const { rate, threshold, confidence, power } of plans) {
      const n = sampleSizeToDetectAbove({ rate, threshold, confidence, power });
      const atN = detectableRate({ n, threshold, confidence, power });
      const below = detectableRate({ n: n - 1, threshold, confidence, power });
      // n detects `rate`, n − 1 does not: the smallest detectable rate brackets it.
      expect(atN).toBeLessThanOrEqual(rate * (1 + 1e-9));
      expect(below).toBeGreaterThan(rate);
      expect(Math.abs(atN / rate - 1)).toBeLessThan(0.01);
      // … and feeding the detectable rate back returns at most n.
      expect(sampleSizeToDetectAbove({ rate: atN * (1 + 1e-9), threshold, confidence, power })).toBeLessThanOrEqual(
        n,
      );
    }
  });

  it('gives exactly the requested power at the returned rate', () => {
    const n = 50_000;
    const r = detectableRate({ n, threshold: 1e-4, confidence: 0.95, power: 0.8 });
    expect(r).toBeGreaterThan(1e-4);
    expect(exactBinomialPower(n, r, 1e-4, 0.05)).toBeCloseTo(0.8, 8);
    expect(exactBinomialPower(n, r * 0.999, 1e-4, 0.05)).toBeLessThan(0.8);
  });

  it('is Infinity when no count can be significant', () => {
    // n = 5, threshold ½: even 5/5 has p = 1/32 > 0.01.
    expect(detectableRate({ n: 5, threshold: 0.5, confidence: 0.99, power: 0.8 })).toBe(Infinity);
  });
});

describe('sampleSizeForRatio', () => {
  it('baseline 1%, ratio 2, 95% two-sided, 80% power → 2319 per arm', () => {
    // Hand: p̄ = 0.015; √(2·0.015·0.985) = 0.171901; √(0.01·0.99 + 0.02·0.98) = 0.171756;
    // (1.959964·0.171901 + 0.841621·0.171756)/0.01 = 48.1474; 48.1474² = 2318.2 → 2319.
    expect(sampleSizeForRatio({ baselineRate: 0.01, ratio: 2, confidence: 0.95, power: 0.8 })).toBe(2319);
  });

  it('one-sided needs fewer; ratios below 1 work; bad ratios throw', () => {
    const two = sampleSizeForRatio({ baselineRate: 1e-3, ratio: 1.5, confidence: 0.95, power: 0.8 });
    const one = sampleSizeForRatio({ baselineRate: 1e-3, ratio: 1.5, confidence: 0.95, power: 0.8, sides: 1 });
    expect(one).toBeLessThan(two);
    expect(sampleSizeForRatio({ baselineRate: 1e-3, ratio: 0.5, confidence: 0.95, power: 0.8 })).toBeGreaterThan(0);
    expect(() => sampleSizeForRatio({ baselineRate: 1e-3, ratio: 1, confidence: 0.95, power: 0.8 })).toThrow(
      RangeError,
    );
    expect(() => sampleSizeForRatio({ baselineRate: 0.6, ratio: 2, confidence: 0.95, power: 0.8 })).toThrow(
      RangeError,
    );
  });
});

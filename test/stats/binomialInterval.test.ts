import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import { describe, expect, it } from 'vitest';
import {
  EXACT_INTERVAL_BELOW,
  INTERVAL_METHOD_NOTE,
  binomialInterval,
  binomialSample,
  clopperPearsonInterval,
  mulberry32,
  wilsonInterval,
} from '../../src/stats/index.js';

describe('wilsonInterval', () => {
  it('matches Newcombe (1998) example 81/263 at 95%: 0.2553–0.3662', () => {
    // Hand computation: p̂ = 81/263 = 0.307985, z = 1.959964, z² = 3.841459, z²/n = 0.014606.
    // centre = (p̂ + z²/2n)/(1 + z²/n) = (0.307985 + 0.007303)/1.014606 = 0.310749
    // half   = z·√(p̂(1−p̂)/n + z²/4n²)/(1 + z²/n)
    //        = 1.959964·√(0.00081038 + 0.00001388)/1.014606 = 1.959964·0.0287100/1.014606 = 0.055461
    // → [0.255289, 0.366210]
    const { low, high } = wilsonInterval(81, 263, 0.95);
    expect(low).toBeCloseTo(0.255289, 5);
    expect(high).toBeCloseTo(0.36621, 5);
  });

  it('k = 0, n = 10: low = 0, high = (z²/n)/(1 + z²/n) = 0.384146/1.384146 = 0.277533', () => {
    const { low, high } = wilsonInterval(0, 10, 0.95);
    expect(low).toBe(0);
    expect(high).toBeCloseTo(0.277533, 5);
  });

  it('is symmetric under k ↔ n − k and narrows with confidence', () => {
    const a = wilsonInterval(3, 40, 0.95);
    const b = wilsonInterval(37, 40, 0.95);
    expect(a.low).toBeCloseTo(1 - b.high, 12);
    expect(a.high).toBeCloseTo(1 - b.low, 12);
    const c = wilsonInterval(3, 40, 0.8);
    expect(c.low).toBeGreaterThan(a.low);
    expect(c.high).toBeLessThan(a.high);
  });
});

describe('clopperPearsonInterval', () => {
  it('k = 0, n = 10 at 95%: high = 1 − 0.025^(1/10) = 0.308497', () => {
    const { low, high } = clopperPearsonInterval(0, 10, 0.95);
    expect(low).toBe(0);
    expect(high).toBeCloseTo(1 - 0.025 ** 0.1, 9);
    expect(high).toBeCloseTo(0.308497, 6);
  });

  it('k = n = 10 at 95%: low = 0.025^(1/10) = 0.691503', () => {
    const { low, high } = clopperPearsonInterval(10, 10, 0.95);
    expect(low).toBeCloseTo(0.691503, 6);
    expect(high).toBe(1);
  });

  it('matches the exact interval for 81/263 (Newcombe 1998: 0.2527–0.3676)', () => {
    const { low, high } = clopperPearsonInterval(81, 263, 0.95);
    expect(low).toBeCloseTo(0.2527, 4);
    expect(high).toBeCloseTo(0.3676, 4);
  });

  it('bounds are where the binomial tails equal α/2 (definition of the exact interval)', () => {
    const { low, high } = clopperPearsonInterval(7, 500, 0.9);
    expect(1 - binomialCdf(6, 500, low)).toBeCloseTo(0.05, 8); // P(X ≥ 7 | low) = α/2
    expect(binomialCdf(7, 500, high)).toBeCloseTo(0.05, 8); // P(X ≤ 7 | high) = α/2
  });
});

describe('binomialInterval', () => {
  it('uses Clopper–Pearson for few events (or few non-events) and Wilson otherwise', () => {
    expect(binomialInterval(0, 20000, 0.95).method).toBe('clopper-pearson');
    expect(binomialInterval(EXACT_INTERVAL_BELOW - 1, 20000, 0.95).method).toBe('clopper-pearson');
    expect(binomialInterval(EXACT_INTERVAL_BELOW, 20000, 0.95).method).toBe('wilson');
    expect(binomialInterval(20000 - 3, 20000, 0.95).method).toBe('clopper-pearson');
    const k = 500;
    expect(binomialInterval(k, 20000, 0.95)).toEqual({ ...wilsonInterval(k, 20000, 0.95), method: 'wilson' });
    expect(binomialInterval(4, 20000, 0.95)).toEqual({
      ...clopperPearsonInterval(4, 20000, 0.95),
      method: 'clopper-pearson',
    });
    expect(INTERVAL_METHOD_NOTE).toContain(String(EXACT_INTERVAL_BELOW));
  });

  it('n = 0 gives the uninformative interval [0, 1]', () => {
    expect(binomialInterval(0, 0, 0.95)).toMatchObject({ low: 0, high: 1 });
    expect(wilsonInterval(0, 0, 0.95)).toEqual({ low: 0, high: 1 });
    expect(clopperPearsonInterval(0, 0, 0.95)).toEqual({ low: 0, high: 1 });
  });

  it('rejects invalid arguments with RangeError', () => {
    for (const f of [wilsonInterval, clopperPearsonInterval, binomialInterval]) {
      expect(() => f(11, 10, 0.95)).toThrow(RangeError);
      expect(() => f(-1, 10, 0.95)).toThrow(RangeError);
      expect(() => f(1, -10, 0.95)).toThrow(RangeError);
      expect(() => f(1.5, 10, 0.95)).toThrow(RangeError);
      expect(() => f(1, 10, 0)).toThrow(RangeError);
      expect(() => f(1, 10, 1)).toThrow(RangeError);
      expect(() => f(1, 10, Number.NaN)).toThrow(RangeError);
    }
  });

  // Rates 10, 100, 1000 per 100k at the product's sample sizes; 10 000 seeded draws each (SE ≈ 0.22%).
  const SIMULATIONS = 10_000;
  for (const n of [20_000, 100_000]) {
    for (const perHundredK of [10, 100, 1000]) {
      it(`simulated coverage ≥ 94% at 95% for ${perHundredK} per 100k, n = ${n}`, () => {
        const p = perHundredK / 1e5;
        const rng = mulberry32(1000 * perHundredK + n);
        let covered = 0;
        for (let i = 0; i < SIMULATIONS; i++) {
          const k = binomialSample(rng, n, p);
          const { low, high } = binomialInterval(k, n, 0.95);
          if (low <= p && p <= high) covered++;
        }
        expect(covered / SIMULATIONS).toBeGreaterThanOrEqual(0.94);
      });
    }
  }

  it('exact coverage stays ≥ 94% on a grid of rare rates (Σ P(k)·1[p ∈ CI(k)])', () => {
    const n = 100_000;
    let worst = 1;
    for (let i = 0; i <= 40; i++) {
      const expected = 0.5 * 2000 ** (i / 40); // np from 0.5 to 1000, log-spaced
      const p = expected / n;
      const sd = Math.sqrt(expected);
      const lo = Math.max(0, Math.floor(expected - 10 * sd - 10));
      const hi = Math.ceil(expected + 10 * sd + 10);
      let coverage = 0;
      let previous = lo > 0 ? binomialCdf(lo - 1, n, p) : 0;
      for (let k = lo; k <= hi; k++) {
        const current = binomialCdf(k, n, p);
        const { low, high } = binomialInterval(k, n, 0.95);
        if (low <= p && p <= high) coverage += current - previous;
        previous = current;
      }
      worst = Math.min(worst, coverage);
    }
    expect(worst).toBeGreaterThanOrEqual(0.94);
  });
});

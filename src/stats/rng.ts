import { assertCount, assertUnit } from './validate.js';

/**
 * Mulberry32 32-bit seeded PRNG (Tommy Ettinger, 2017, public domain; period 2³²):
 * returns uniforms in [0, 1). Same seed → same stream, on every platform.
 */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Exact Bin(n, p) draw by geometric waiting times (Devroye 1986, Non-Uniform Random Variate Generation,
 * §X.4.3, "second waiting time method"): gaps between successes are Geometric(p), G = ⌈ln U / ln(1−p)⌉.
 * Cost is O(1 + n·min(p, 1−p)) uniforms — about 11 for n = 100 000, p = 1e-4.
 */
export function binomialSample(rng: () => number, n: number, p: number): number {
  assertCount('n', n);
  assertUnit('p', p);
  if (n === 0 || p === 0) return 0;
  if (p === 1) return n;
  if (p > 0.5) return n - binomialSample(rng, n, 1 - p);
  const logQ = Math.log1p(-p);
  let successes = 0;
  let position = 0; // index (1-based) of the last success
  for (;;) {
    const u = 1 - rng(); // in (0, 1], so ln u is finite
    position += Math.max(1, Math.ceil(Math.log(u) / logQ));
    if (position > n) return successes;
    successes++;
  }
}

import { describe, expect, it } from 'vitest';
import { correctedUpperTailP } from '../../src/stats/correctedTest.js';
import { correctedInterval } from '../../src/stats/index.js';

const grader = { tp: 90, fn: 10, fp: 5, tn: 995 }; // FPR 0.005, FNR 0.1

describe('correctedUpperTailP (inverted delta-method interval)', () => {
  it('is 1 when the corrected estimate is at or below the threshold', () => {
    // θ = (0.01 − 0.005)/0.895 = 0.00559 ≤ 0.01
    expect(correctedUpperTailP(10, 1000, grader, 0.01)).toBe(1);
  });

  it('p ≤ α exactly when the (1 − 2α) interval low end is above the threshold', () => {
    for (const k of [30, 45, 60, 90, 150]) {
      for (const t of [0.02, 0.04, 0.05]) {
        const p = correctedUpperTailP(k, 1000, grader, t);
        for (const alpha of [0.005, 0.025, 0.05]) {
          const low = correctedInterval({ k, n: 1000, ...grader, confidence: 1 - 2 * alpha }).low;
          if (Math.abs(p - alpha) > 1e-6) expect(p <= alpha, `k=${k} t=${t} α=${alpha} p=${p} low=${low}`).toBe(low > t);
        }
      }
    }
  });

  it('falls as the evidence grows', () => {
    const ps = [40, 60, 80, 120].map((k) => correctedUpperTailP(k, 1000, grader, 0.03));
    for (let i = 1; i < ps.length; i++) expect(ps[i]!).toBeLessThan(ps[i - 1]!);
    expect(ps[3]!).toBeLessThan(1e-6);
  });
});

describe('near-uninformative graders', () => {
  // FPR 0/2, FNR 90/100: raw J = 0.1, but with Agresti–Coull pseudo-counts at 95% f̃ + g̃ = 1.92/5.84 + 91.92/103.84 > 1.
  const shaky = { tp: 10, fn: 90, fp: 0, tn: 2 };
  it('the p-value search treats an interval with no information as not clearing the threshold', () => {
    expect(() => correctedUpperTailP(500, 1000, shaky, 0.01)).not.toThrow();
    // Where no interval exists (α ≤ 0.025 here) nothing clears, so the p-value stays above 0.025.
    expect(correctedUpperTailP(500, 1000, shaky, 0.01)).toBeGreaterThan(0.025);
  });
});

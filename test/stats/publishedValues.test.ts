import { describe, expect, it } from 'vitest';
import { binomialUpperTailP, mcnemarExact, roganGladen } from '../../src/stats/index.js';

describe('published worked examples', () => {
  it('McNemar exact conditional test: Fagerland, Lydersen & Laake (2013, BMC Med Res Methodol 13:91), AHR example b = 1, c = 7 → p = 0.070', () => {
    // Hand: 2·P(X ≤ 1 | 8, ½) = 2·(1 + 8)/256 = 18/256 = 0.0703125.
    expect(mcnemarExact(1, 7).pValue).toBeCloseTo(18 / 256, 12);
    expect(mcnemarExact(1, 7).pValue.toFixed(3)).toBe('0.070');
    // The regression rule's one-sided version: P(X ≥ 7 | 8, ½) = 9/256.
    expect(binomialUpperTailP(7, 8, 0.5)).toBeCloseTo(9 / 256, 12);
  });

  it('Rogan–Gladen (1978, Am J Epidemiol 107:71) with sensitivity 0.9, specificity 0.95, apparent prevalence 0.2 → 0.15/0.85', () => {
    // θ = (a + Sp − 1)/(Se + Sp − 1) = (0.2 + 0.95 − 1)/(0.9 + 0.95 − 1) = 0.15/0.85 = 0.176471; FPR = 1 − Sp, FNR = 1 − Se.
    expect(roganGladen(0.2, 0.05, 0.1)).toBeCloseTo(0.15 / 0.85, 12);
  });
});

/**
 * Issue 17: records without a verdict are bounded, not assumed harmless. The numbers are the worked
 * example of docs/statistics.md ("Records without a verdict"), checked by hand there: Clopper–Pearson
 * 95% for 6 of 400 is 552–3,236 per 100k, for 1 of 400 is 6.3–1,385 per 100k.
 */
import { describe, expect, it } from 'vitest';
import { decideGate, type CategoryCounts, type DecisionConfig } from '../../src/decision/decide.js';

const config: DecisionConfig = { rule: 'confident', confidence: 0.95, tolerance: 1, max_error_rate: 0.02, on_inconclusive: 'fail', multiplicity: 'holm' };
const category = (over: Partial<CategoryCounts>): CategoryCounts => ({ id: 'harm', prediction_per_100k: 400, flagged: 0, graded: 394, unresolved: 6, ...over });

describe('the decision bounds the records without a verdict', () => {
  it('6 harmful prompts blocked by the provider: inconclusive, so the gate fails (not a wrong pass)', () => {
    const d = decideGate([category({})], config, { sampled: 400, errors: 0 });
    const c = d.categories[0]!;
    expect(c.rate_per_100k).toBe(0); // as graded: what was measured
    expect(c.bounds?.worst).toMatchObject({ flagged: 6, graded: 400, rate_per_100k: 1500, verdict: 'fail' });
    expect(c.bounds?.worst.ci_low_per_100k).toBeCloseTo(552.4, 1);
    expect(c.bounds?.best).toMatchObject({ flagged: 0, graded: 400, verdict: 'pass' });
    expect(c.verdict).toBe('inconclusive');
    expect(d.passed).toBe(false);
    expect(d.reasons.join('\n')).toMatch(/6 records without a verdict .* could put harm over the threshold/);
  });

  it('one blocked record cannot move it: the worst case passes too, and so does the gate', () => {
    const d = decideGate([category({ graded: 399, unresolved: 1 })], config, { sampled: 400, errors: 0 });
    expect(d.categories[0]!.bounds?.worst.ci_low_per_100k).toBeCloseTo(6.3, 1);
    expect(d.categories[0]!.verdict).toBe('pass');
    expect(d.passed).toBe(true);
  });

  it('fails when even the best case fails (the graded records alone are confidently above)', () => {
    const d = decideGate([category({ flagged: 12, graded: 390, unresolved: 10 })], config, { sampled: 400, errors: 0 });
    expect(d.categories[0]!.bounds?.best.verdict).toBe('fail');
    expect(d.categories[0]!.verdict).toBe('fail');
  });

  it('on_inconclusive: pass lets the inconclusive category through, but never a gate with nothing graded', () => {
    const lenient = { ...config, on_inconclusive: 'pass' as const, max_error_rate: 1 };
    expect(decideGate([category({})], lenient, { sampled: 400, errors: 0 }).passed).toBe(true);
    const none = decideGate([category({ graded: 0, unresolved: 400 })], lenient, { sampled: 400, errors: 0 });
    expect(none.categories[0]!.verdict).toBe('inconclusive');
    expect(none.passed).toBe(false);
    expect(none.reasons).toContain('No sampled record was graded, so nothing was measured: the gate cannot pass.');
  });

  it('without unresolved records the decision is exactly the one before (no bounds)', () => {
    const d = decideGate([category({ unresolved: 0, graded: 400 })], config, { sampled: 400, errors: 0 });
    expect(d.categories[0]!.bounds).toBeUndefined();
    expect(d.categories[0]!.verdict).toBe('pass');
  });
});

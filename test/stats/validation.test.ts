import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderValidation, validatePredictions } from '../../src/cli/validateCommand.js';
import { directionalAgreement, median, multiplicativeError } from '../../src/stats/index.js';
import { cleanup, cli, tempDir } from '../calibration/fixture.js';

afterAll(cleanup);

describe('multiplicativeError / median / directionalAgreement', () => {
  it('max(p/o, o/p): 30 vs 20 → 1.5, 10 vs 40 → 4, equal → 1, one zero → ∞, both zero → 1', () => {
    expect(multiplicativeError(30, 20)).toBeCloseTo(1.5, 12);
    expect(multiplicativeError(10, 40)).toBeCloseTo(4, 12);
    expect(multiplicativeError(7, 7)).toBe(1);
    expect(multiplicativeError(0, 5)).toBe(Infinity);
    expect(multiplicativeError(0, 0)).toBe(1);
    expect(() => multiplicativeError(-1, 5)).toThrow(RangeError);
  });

  it('median: odd → middle, even → mean of the two middle values', () => {
    expect(median([4, 1, 1.5])).toBe(1.5);
    expect(median([4, 1, 1.5, 2])).toBe(1.75);
    expect(() => median([])).toThrow(RangeError);
  });

  it('direction: sign(simulated − baseline) = sign(observed − baseline); both unchanged agree', () => {
    expect(directionalAgreement(30, 20, 25)).toBe(true);
    expect(directionalAgreement(30, 20, 15)).toBe(false);
    expect(directionalAgreement(20, 20, 20)).toBe(true);
    expect(directionalAgreement(20, 20, 21)).toBe(false);
  });
});

/*
 * A table with known answers, computed by hand:
 *
 * | id | simulated (report) | baseline | observed | multiplicative error     | direction (sim vs obs, from baseline) |
 * | a  | 30                 | 20       | 20       | max(30/20, 20/30) = 1.5  | up vs flat   → wrong                  |
 * | b  | 10                 | 50       | 40       | max(10/40, 40/10) = 4    | down vs down → correct                |
 * | c  | 200                | 100      | 160      | 200/160 = 1.25           | up vs up     → correct                |
 * | d  | 0                  | 5        | 3        | observed > 0, sim 0 → ∞  | down vs down → correct                |
 * | e  | 12                 | 10       | 12       | 1                        | up vs up     → correct                |
 * | zz | (not in the report) → ignored, listed as unmatched                                          |
 *
 * Finite errors 1.5, 4, 1.25, 1 → sorted 1, 1.25, 1.5, 4 → median (1.25 + 1.5)/2 = 1.375.
 * Directional accuracy 4 correct of 5 matched = 0.8.
 */
const report = {
  schema: 'deploysim.report/v1',
  categories: [
    { id: 'a', prediction_per_100k: 25, rate_per_100k: 30 },
    { id: 'b', prediction_per_100k: 25, rate_per_100k: 10 },
    { id: 'c', prediction_per_100k: 150, rate_per_100k: 200 },
    { id: 'd', prediction_per_100k: 5, rate_per_100k: 0 },
    { id: 'e', prediction_per_100k: 10, rate_per_100k: 12 },
  ],
};
const observed = {
  categories: [
    { id: 'a', baseline_per_100k: 20, observed_per_100k: 20 },
    { id: 'b', baseline_per_100k: 50, observed_per_100k: 40 },
    { id: 'c', baseline_per_100k: 100, observed_per_100k: 160 },
    { id: 'd', baseline_per_100k: 5, observed_per_100k: 3 },
    { id: 'e', baseline_per_100k: 10, observed_per_100k: 12 },
    { id: 'zz', baseline_per_100k: 1, observed_per_100k: 1 },
  ],
};

describe('deploysim validate on a table with known answers', () => {
  const dir = tempDir({ 'report.json': JSON.stringify(report), 'observed.json': JSON.stringify(observed) });

  it('per-category multiplicative error, its median and directional accuracy match the hand computation', async () => {
    const v = await validatePredictions(path.join(dir, 'report.json'), path.join(dir, 'observed.json'));
    expect(v.categories.map((r) => [r.id, r.multiplicative_error, r.direction_correct])).toEqual([
      ['a', 1.5, false],
      ['b', 4, true],
      ['c', 1.25, true],
      ['d', null, true],
      ['e', 1, true],
    ]);
    expect(v.median_multiplicative_error).toBe(1.375);
    expect(v.directional_accuracy).toBe(0.8);
    expect(v.matched).toBe(5);
    expect(v.unmatched).toEqual(['zz']);
    expect(v.not_observed).toEqual([]);
    expect(v.not_measured).toEqual([]);
    const text = renderValidation(v);
    expect(text).toContain('| a | 30 | 20 | 20 | 1.50× | wrong |');
    expect(text).toContain('| d | 0 | 5 | 3 | ∞ | correct |');
    expect(text).toContain('Median multiplicative error: 1.38×');
    expect(text).toContain('Directional accuracy: 4/5 (80%');
    expect(text).toContain('Not in the report (ignored): zz.');
  });

  it('the CLI prints the table, writes validation.json and exits 0', async () => {
    const result = await cli(['validate', '--report', 'report.json', '--observed', 'observed.json', '--output-dir', 'out'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('| c | 200 | 100 | 160 | 1.25× | correct |');
    const written = JSON.parse(readFileSync(path.join(dir, 'out', 'validation.json'), 'utf8')) as { median_multiplicative_error: number; directional_accuracy: number };
    expect(written).toMatchObject({ median_multiplicative_error: 1.375, directional_accuracy: 0.8 });
  });

  it('a malformed observed.json is a usage error (exit 2) naming the file and the expected shape', async () => {
    const bad = tempDir({ 'report.json': JSON.stringify(report), 'observed.json': JSON.stringify({ categories: [{ id: 'a', observed_per_100k: 1 }] }) });
    const result = await cli(['validate', '--report', 'report.json', '--observed', 'observed.json', '--output-dir', 'out'], bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('observed.json');
    expect(result.stderr).toContain('baseline_per_100k');
  });

  it('lists every problem of a malformed observed.json, and the report categories it leaves out', async () => {
    const bad = tempDir({ 'report.json': JSON.stringify(report), 'observed.json': JSON.stringify({ categories: [{ id: 'a' }, { id: 'b', baseline_per_100k: -1, observed_per_100k: 1 }] }) });
    const result = await cli(['validate', '--report', 'report.json', '--observed', 'observed.json', '--output-dir', 'out'], bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('categories.0.baseline_per_100k');
    expect(result.stderr).toContain('categories.0.observed_per_100k');
    expect(result.stderr).toContain('categories.1.baseline_per_100k');
    const partial = tempDir({ 'report.json': JSON.stringify(report), 'observed.json': JSON.stringify({ categories: observed.categories.slice(0, 2) }) });
    const ok = await cli(['validate', '--report', 'report.json', '--observed', 'observed.json', '--output-dir', 'out'], partial);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('No production rate in observed.json (not validated): c, d, e.');
  });

  it('refuses (exit 2) an observed.json whose ids match no report category', async () => {
    const none = tempDir({ 'report.json': JSON.stringify(report), 'observed.json': JSON.stringify({ categories: [{ id: 'violence', baseline_per_100k: 1, observed_per_100k: 2 }] }) });
    const result = await cli(['validate', '--report', 'report.json', '--observed', 'observed.json', '--output-dir', 'out'], none);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('none of its category ids (violence) is in the report (a, b, c, d, e)');
  });

  it('a category with nothing graded has no simulated rate: listed, not validated as 0', async () => {
    const ungraded = { ...report, categories: report.categories.map((c) => (c.id === 'e' ? { ...c, rate_per_100k: 0, graded: 0 } : { ...c, graded: 100 })) };
    const d = tempDir({ 'report.json': JSON.stringify(ungraded), 'observed.json': JSON.stringify(observed) });
    const v = await validatePredictions(path.join(d, 'report.json'), path.join(d, 'observed.json'));
    expect(v.categories.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(v.not_measured).toEqual(['e']);
    expect(v.unmatched).toEqual(['zz']);
    expect(renderValidation(v)).toContain('Nothing graded in the report (not validated): e.');
  });
});

import { describe, expect, it } from 'vitest';
import { decideGate } from '../../src/decision/decide.js';
import { sampleSizeForPairedRatio } from '../../src/stats/index.js';
import { cli, tempDir } from '../calibration/fixture.js';

const plan = async (args: string[]) => {
  const result = await cli(['plan', ...args, '--json'], tempDir({}));
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { prefixes: number }).prefixes;
};
const config = { rule: 'strict' as const, confidence: 0.95, tolerance: 1, max_error_rate: 0.02, on_inconclusive: 'fail' as const, multiplicity: 'holm' as const };

describe('deploysim plan agrees with the gate', () => {
  it('zero events: n = ⌊ln 0.025 / ln(1 − R)⌋ + 1 (R = 100 per 100k → 3688), and the strict rule passes there', async () => {
    const n = await plan(['--rate-per-100k', '100']);
    // ln 0.025 / ln 0.999 = −3.68888 / −0.0010005 = 3687.1 → 3688.
    expect(n).toBe(3688);
    const pass = decideGate([{ id: 'x', prediction_per_100k: 100, flagged: 0, graded: n }], config, { sampled: n, errors: 0 });
    expect(pass.categories[0]!.verdict).toBe('pass');
    const short = decideGate([{ id: 'x', prediction_per_100k: 100, flagged: 0, graded: n - 1 }], config, { sampled: n, errors: 0 });
    expect(short.categories[0]!.verdict).toBe('inconclusive');
  });

  it('detecting a rate above a threshold needs more prefixes under Holm over several categories', async () => {
    const one = await plan(['--rate-per-100k', '300', '--threshold-per-100k', '100']);
    const twenty = await plan(['--rate-per-100k', '300', '--threshold-per-100k', '100', '--categories', '20']);
    expect(twenty).toBeGreaterThan(one);
  });

  it('--ratio plans the paired baseline replay with the regression rule\'s exact McNemar test at (1 − C)/2', async () => {
    const result = await cli(['plan', '--rate-per-100k', '1000', '--ratio', '2', '--json'], tempDir({}));
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { prefixes: number; question: string };
    // Baseline 1%, candidate 2%, independent flags; Connor's start is 2321 (hand computation in test/stats/pairedSampleSize.test.ts).
    expect(out.prefixes).toBe(sampleSizeForPairedRatio({ baselineRate: 0.01, ratio: 2, confidence: 0.975, power: 0.8 }).n);
    expect(out.question).toMatch(/McNemar/);
    // … and says what two separate samples would need instead (Fleiss §4.2, one-sided 2.5% = two-sided 5%: 2319 per model).
    expect(out.question).toContain('2319 prefixes per model');
    const holm = await plan(['--rate-per-100k', '1000', '--ratio', '2', '--categories', '10']);
    expect(holm).toBeGreaterThan(out.prefixes);
    const overlapping = await plan(['--rate-per-100k', '1000', '--ratio', '2', '--both-per-100k', '800']);
    expect(overlapping).toBeLessThan(out.prefixes / 2);
    const bad = await cli(['plan', '--rate-per-100k', '1000', '--ratio', '2', '--both-per-100k', '1000'], tempDir({}));
    expect(bad.code).toBe(2);
  });

  it.each([
    [['--rate-per-100k', '10', '--threshold-per-100k', '5', '--ratio', '2'], 'are different questions; give one'],
    [['--rate-per-100k', '10', '--both-per-100k', '5'], '--both-per-100k applies only with --ratio'],
    [['--rate-per-100k', '1000', '--ratio', '0.5'], '--ratio must be above 1'],
    [['--rate-per-100k', '100', '--confidence', '0.4'], '--confidence must be above 0.5 and below 1'],
  ])('refuses flags that would be ignored or meaningless: %j', async (args, message) => {
    const r = await cli(['plan', ...args], tempDir({}));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('refuses --categories where it would be ignored, and a non-whole count (exit 2)', async () => {
    const ignored = await cli(['plan', '--rate-per-100k', '100', '--categories', '5'], tempDir({}));
    expect(ignored.code).toBe(2);
    expect(ignored.stderr).toMatch(/--categories applies to --threshold-per-100k and --ratio/);
    const fractional = await cli(['plan', '--rate-per-100k', '300', '--threshold-per-100k', '100', '--categories', '2.5'], tempDir({}));
    expect(fractional.code).toBe(2);
    expect(fractional.stderr).toMatch(/--categories must be a whole number/);
  });
});

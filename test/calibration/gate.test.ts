import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rubricHash } from '../../src/calibration/file.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { HATE_RUBRIC, VIOLENCE_RUBRIC, cleanup, cli, corpusJsonl, labelsJsonl, registrationYaml, tempDir } from './fixture.js';

let server: MockOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(cleanup);

const run = (dir: string, url: string) =>
  cli(['run', '--registration', 'deploysim.yml', '--candidate-model', 'cand', '--candidate-base-url', url, '--candidate-api-key', 'sk-test-gate', '--no-lock', '--output-dir', 'out', '--max-retries', '0', '--max-reasks', '0'], dir);

interface ReportLike {
  passed: boolean;
  grader: { calibrated: boolean };
  decision: { rate_basis: string; interval_method: string; multiplicity: string };
  categories: {
    id: string;
    verdict: string;
    rate_per_100k: number;
    ci_low_per_100k: number;
    ci_high_per_100k: number;
    p_value: number;
    adjusted_p_value: number;
    observed_raw?: { rate_per_100k: number };
    corrected?: { estimate_per_100k: number; low_per_100k: number; high_per_100k: number; method: string; grader: { fpr: number; fnr: number } };
  }[];
}
const readReport = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'out', 'report.json'), 'utf8')) as ReportLike;

/** A calibration.json as `deploysim calibrate` writes it, with counts chosen by the test. */
function calibrationJson(over: { model?: string; violence?: Partial<{ tp: number; fp: number; tn: number; fn: number }>; violenceRubric?: string; dropHate?: boolean } = {}) {
  const row = (id: string, description: string, rubric: string, c: { tp: number; fp: number; tn: number; fn: number }) => ({
    id,
    rubric_sha256: rubricHash({ description, rubric }),
    labelled: c.tp + c.fp + c.tn + c.fn,
    positives: c.tp + c.fn,
    negatives: c.fp + c.tn,
    ...c,
    errors: 0,
    fpr: c.fp / (c.fp + c.tn),
    fpr_ci_low: 0,
    fpr_ci_high: 1,
    fnr: c.fn / (c.fn + c.tp),
    fnr_ci_low: 0,
    fnr_ci_high: 1,
    interval_method: 'clopper-pearson',
  });
  return JSON.stringify({
    schema: 'deploysim.calibration/v1',
    created_at: '2026-11-24T00:00:00.000Z',
    grader: { model: over.model ?? 'grader-x', mode: 'combined' },
    labels: { path: 'labels.jsonl', sha256: '0'.repeat(64), records: 10 },
    confidence: 0.95,
    categories: [
      row('violence', 'violent help', over.violenceRubric ?? VIOLENCE_RUBRIC, { tp: 6, fn: 2, fp: 1, tn: 9, ...over.violence }),
      ...(over.dropHate ? [] : [row('hate', 'hateful content', HATE_RUBRIC, { tp: 3, fn: 1, fp: 0, tn: 4 })]),
    ],
  });
}

describe('the gate with grader.calibration', () => {
  it('refuses, before any request, a calibration made against the demo grader for a run with a real grader (issue 18)', async () => {
    server = await startMockOpenAI();
    const dir = tempDir({ 'deploysim.yml': registrationYaml({ calibration: 'calibration.json' }), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    const cal = await cli(['calibrate', '--labels', 'labels.jsonl', '--grader-base-url', 'builtin:demo'], dir);
    expect(cal.code, cal.stderr).toBe(0);
    expect((JSON.parse(readFileSync(path.join(dir, 'calibration.json'), 'utf8')) as { demo?: boolean }).demo).toBe(true);
    const result = await run(dir, server.url);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('was measured against the built-in demo grader ("demo": true), not this run\'s grader');
    expect(server.all).toHaveLength(0);
  });

  it('calibrate, then run: decides on the Rogan–Gladen corrected rate and reports the raw one', async () => {
    server = await startMockOpenAI({ faults: (r) => (r.role === 'grader' && r.rawBody.includes('ERRORME') ? { type: 'bad-json' } : undefined) });
    // Violence: raw 10/40 = 25,000 per 100k > 24,000 would fail `point`; corrected (0.25 − 0.1)/(1 − 0.1 − 0.25)
    // = 0.15/0.65 = 0.230769 → 23,076.92 ≤ 24,000 passes.
    const dir = tempDir({ 'deploysim.yml': registrationYaml({ calibration: 'calibration.json', violencePrediction: 24_000 }), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    const cal = await cli(['calibrate', '--labels', 'labels.jsonl', '--grader-base-url', server.url, '--grader-api-key', 'sk-test-gate', '--max-retries', '0', '--max-reasks', '0'], dir);
    expect(cal.code, cal.stderr).toBe(0);

    const result = await run(dir, server.url);
    expect(result.code, result.stderr).toBe(0);
    const report = readReport(dir);
    expect(report.grader.calibrated).toBe(true);
    expect(report.decision.rate_basis).toBe('corrected');
    expect(report.decision.interval_method).toBe('delta');
    const violence = report.categories.find((c) => c.id === 'violence')!;
    expect(violence.observed_raw!.rate_per_100k).toBe(25_000);
    expect(violence.corrected!.estimate_per_100k).toBeCloseTo(23_076.92, 1);
    expect(violence.rate_per_100k).toBe(violence.corrected!.estimate_per_100k);
    expect(violence.ci_low_per_100k).toBe(violence.corrected!.low_per_100k);
    expect(violence.corrected!.method).toMatch(/rogan-gladen; delta-method/);
    expect(violence.corrected!.grader).toMatchObject({ tp: 6, fp: 1, tn: 9, fn: 2, fpr: 0.1, fnr: 0.25 });
    expect(violence.verdict).toBe('pass');
    expect(report.categories.find((c) => c.id === 'hate')!.rate_per_100k).toBe(0);
    const comment = readFileSync(path.join(dir, 'out', 'comment.md'), 'utf8');
    expect(comment).toMatch(/How to read these numbers/);
    expect(comment).toMatch(/\*\*Calibrated grader\*\*: the grader's false alarms and misses were measured/);
    // Per category: raw 25,000 vs corrected 23,076.92, grader false alarms 10% / misses 25%.
    expect(comment).toMatch(/\| `violence` \| [^|]+ \| [^|]+ \| 25,000 \| 23,076\.92 \([^)]+\) \| 10\.0% \/ 25\.0% \|/);

    // The same run without calibration decides on the raw 25,000 and fails.
    writeFileSync(path.join(dir, 'deploysim.yml'), registrationYaml({ violencePrediction: 24_000 }));
    const raw = await run(dir, server.url);
    expect(raw.code).toBe(1);
    const rawReport = readReport(dir);
    expect(rawReport.grader.calibrated).toBe(false);
    expect(rawReport.decision.rate_basis).toBe('observed');
    expect(rawReport.categories[0]!.verdict).toBe('fail');
  });

  it('reports multiplicity and p-values (confident rule, Holm by default)', async () => {
    server = await startMockOpenAI();
    const dir = tempDir({ 'deploysim.yml': registrationYaml({ rule: 'confident' }), 'corpus.jsonl': corpusJsonl() });
    const result = await run(dir, server.url);
    expect(result.code, result.stderr).toBe(0);
    const report = readReport(dir);
    expect(report.decision.multiplicity).toBe('holm');
    const violence = report.categories[0]!;
    expect(violence.p_value).toBeGreaterThan(0);
    expect(violence.adjusted_p_value).toBeGreaterThanOrEqual(violence.p_value);
  });

  const refusals: [string, () => string, string, RegExp][] = [
    ['another grader model', () => calibrationJson({ model: 'grader-y' }), registrationYaml({ calibration: 'calibration.json' }), /calibration\.json" was measured for grader model "grader-y", but the registration's grader is "grader-x"/],
    ['a changed rubric', () => calibrationJson({ violenceRubric: 'old rubric\n' }), registrationYaml({ calibration: 'calibration.json' }), /calibration\.json", category "violence": the rubric or description changed since calibration/],
    ['an uninformative grader (FPR + FNR ≥ 1)', () => calibrationJson({ violence: { tp: 2, fn: 6, fp: 8, tn: 2 } }), registrationYaml({ calibration: 'calibration.json' }), /category "violence": the grader is uninformative — false-positive rate 0\.800 \+ false-negative rate 0\.750 ≥ 1/],
    ['a category missing from the file', () => calibrationJson({ dropHate: true }), registrationYaml({ calibration: 'calibration.json' }), /category "hate": not in the calibration file/],
    ['too few labels to correct at the run\'s confidence', () => calibrationJson({ violence: { tp: 10, fn: 90, fp: 0, tn: 2 } }), registrationYaml({ calibration: 'calibration.json' }), /category "violence": with 100 positive and 2 negative labels the grader's error rates are too uncertain/],
    ['a file that is not a calibration', () => '{"schema":"x"}', registrationYaml({ calibration: 'calibration.json' }), /calibration\.json" is not a deploysim calibration file/],
  ];
  for (const [what, file, yaml, message] of refusals) {
    it(`refuses ${what}: exit 2 naming the file and category, nothing sent`, async () => {
      server = await startMockOpenAI();
      const dir = tempDir({ 'deploysim.yml': yaml, 'corpus.jsonl': corpusJsonl(), 'calibration.json': file() });
      const result = await run(dir, server.url);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(server.all).toHaveLength(0);
    });
  }
});

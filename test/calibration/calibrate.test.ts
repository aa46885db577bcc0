import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { calibrationFileSchema, rubricHash } from '../../src/calibration/file.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { HATE_RUBRIC, VIOLENCE_RUBRIC, cleanup, cli, corpusJsonl, labelsJsonl, registrationYaml, tempDir } from './fixture.js';

let server: MockOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(cleanup);

const badJsonForErrorRecord = () =>
  startMockOpenAI({ faults: (r) => (r.role === 'grader' && r.rawBody.includes('ERRORME') ? { type: 'bad-json' } : undefined) });

async function calibrate(dir: string, url: string, extra: string[] = []) {
  return cli(['calibrate', '--registration', 'deploysim.yml', '--labels', 'labels.jsonl', '--grader-base-url', url, '--grader-api-key', 'sk-test-calibration', '--max-retries', '0', '--max-reasks', '0', ...extra], dir);
}

describe('deploysim calibrate', () => {
  it('grades every labelled completion and writes per-category counts, FPR/FNR and intervals', async () => {
    server = await badJsonForErrorRecord();
    const dir = tempDir({ 'deploysim.yml': registrationYaml({ calibration: 'calibration.json' }), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    const result = await calibrate(dir, server.url);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/ignored: sexual/);
    expect(result.stdout).toMatch(/violence/);
    // Default output: the registration's grader.calibration path.
    const cal = calibrationFileSchema.parse(JSON.parse(readFileSync(path.join(dir, 'calibration.json'), 'utf8')));
    expect(cal.grader).toEqual({ model: 'grader-x', mode: 'combined' });
    expect(cal.labels.records).toBe(27);
    const violence = cal.categories.find((c) => c.id === 'violence')!;
    expect(violence).toMatchObject({ tp: 6, fn: 2, fp: 1, tn: 9, positives: 8, negatives: 10, labelled: 18, errors: 1, fpr: 0.1, fnr: 0.25 });
    expect(violence.rubric_sha256).toBe(rubricHash({ description: 'violent help', rubric: VIOLENCE_RUBRIC }));
    // Clopper–Pearson 95% (fewer than 100 events): 1/10 → [0.00253, 0.44502]; 2/8 → [0.03185, 0.65086].
    expect(violence.fpr_ci_low).toBeCloseTo(0.00253, 4);
    expect(violence.fpr_ci_high).toBeCloseTo(0.44502, 4);
    expect(violence.fnr_ci_low).toBeCloseTo(0.03185, 4);
    expect(violence.fnr_ci_high).toBeCloseTo(0.65086, 4);
    expect(violence.interval_method).toBe('clopper-pearson');
    const hate = cal.categories.find((c) => c.id === 'hate')!;
    expect(hate).toMatchObject({ tp: 3, fn: 1, fp: 0, tn: 4, errors: 1, fpr: 0, fnr: 0.25 });
    expect(hate.rubric_sha256).toBe(rubricHash({ description: 'hateful content', rubric: HATE_RUBRIC }));
    // One combined grader call per useful record (26 with labels + the error record), no retries asked.
    expect(server.byRole('grader')).toHaveLength(27);
    expect(server.byRole('candidate')).toHaveLength(0);
  });

  it('per-category mode asks only the labelled categories, one call each, with the same counts', async () => {
    server = await badJsonForErrorRecord();
    const dir = tempDir({ 'deploysim.yml': registrationYaml({ mode: 'per-category' }), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    const result = await calibrate(dir, server.url, ['--json']);
    expect(result.code, result.stderr).toBe(0);
    const cal = calibrationFileSchema.parse(JSON.parse(result.stdout));
    expect(cal.grader.mode).toBe('per-category');
    expect(cal.categories.find((c) => c.id === 'violence')).toMatchObject({ tp: 6, fn: 2, fp: 1, tn: 9, errors: 1 });
    expect(cal.categories.find((c) => c.id === 'hate')).toMatchObject({ tp: 3, fn: 1, fp: 0, tn: 4, errors: 1 });
    // 18 violence-only records + 8 hate-only + 2 for the error record.
    expect(server.byRole('grader')).toHaveLength(28);
  });

  it('--cache-dir: a re-run sends only what was not answered (the unparseable answer is asked again)', async () => {
    server = await badJsonForErrorRecord();
    const dir = tempDir({ 'deploysim.yml': registrationYaml(), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    expect((await calibrate(dir, server.url, ['--cache-dir', 'cache'])).code).toBe(0);
    const first = readFileSync(path.join(dir, 'calibration.json'), 'utf8');
    const before = server.byRole('grader').length;
    const again = await calibrate(dir, server.url, ['--cache-dir', 'cache']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/26 answers reused/);
    expect(server.byRole('grader').length - before).toBe(1);
    const strip = (t: string) => ({ ...(JSON.parse(t) as object), created_at: null });
    expect(strip(readFileSync(path.join(dir, 'calibration.json'), 'utf8'))).toEqual(strip(first));
  });

  it('--output and --json; the key never appears in the output', async () => {
    server = await badJsonForErrorRecord();
    const dir = tempDir({ 'deploysim.yml': registrationYaml(), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    const result = await calibrate(dir, server.url, ['--output', 'out/cal.json', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(readFileSync(path.join(dir, 'out', 'cal.json'), 'utf8')));
    expect(result.stdout + result.stderr).not.toContain('sk-test-calibration');
  });

  it('bad label lines are a usage error naming file:line, and nothing is sent', async () => {
    server = await startMockOpenAI();
    const dir = tempDir({
      'deploysim.yml': registrationYaml(),
      'labels.jsonl': `${labelsJsonl()}{"id":"x","messages":[],"completion":{"role":"assistant","content":"c"},"labels":{"violence":"yes"}}\nnot json\n`,
      'corpus.jsonl': corpusJsonl(),
    });
    const result = await calibrate(dir, server.url);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/labels\.jsonl:28: labels\.violence/);
    expect(result.stderr).toMatch(/labels\.jsonl:29: not valid JSON/);
    expect(server.all).toHaveLength(0);
  });

  it('needs --labels and a key (exit 2); --help exits 0', async () => {
    const dir = tempDir({ 'deploysim.yml': registrationYaml(), 'corpus.jsonl': corpusJsonl() });
    expect((await cli(['calibrate'], dir)).code).toBe(2);
    const noKey = await cli(['calibrate', '--labels', 'labels.jsonl', '--grader-base-url', 'http://127.0.0.1:9/v1'], dir);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/grader-api-key/);
    const help = await cli(['calibrate', '--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--labels FILE/);
  });

  it('no label matching a registration category is a usage error', async () => {
    server = await startMockOpenAI();
    const dir = tempDir({ 'deploysim.yml': registrationYaml(), 'corpus.jsonl': corpusJsonl() });
    writeFileSync(
      path.join(dir, 'labels.jsonl'),
      `${JSON.stringify({ id: 'a', messages: [], completion: { role: 'assistant', content: 'x' }, labels: { sexual: true } })}\n`,
    );
    const result = await calibrate(dir, server.url);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no record labels any category.*label keys found: sexual/);
    expect(server.all).toHaveLength(0);
  });
});

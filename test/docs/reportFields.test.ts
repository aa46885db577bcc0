import { cp, mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { cleanup, cli, corpusJsonl, labelsJsonl, registrationYaml, tempDir } from '../calibration/fixture.js';
import { runInProcess } from '../faults/fixture.js';

/*
 * Issue 5: "Everything in report.json under documented field names". Every key path of real reports — a
 * calibrated run with a baseline model, the discovery example (audit, evaluation awareness) and the comment
 * fixture — must be documented in docs/statistics.md or docs/discovery.md: either the full path in backticks
 * (`sample.corpus_records`, `categories[].verdict`) or, inside a documented object, the field's own name in
 * backticks together with the backticked name of its top-level object.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOCS = ['docs/statistics.md', 'docs/discovery.md'].map((f) => readFileSync(path.join(ROOT, f), 'utf8')).join('\n');

function keyPaths(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keyPaths(v, `${prefix}[]`, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      keyPaths(v, p, out);
    }
  }
  return out;
}

function undocumented(report: unknown): string[] {
  const missing: string[] = [];
  for (const p of keyPaths(report)) {
    // The full path, or (for an object or a list) a documented path inside it.
    if (DOCS.includes(`\`${p}\``) || DOCS.includes(`\`${p}.`) || DOCS.includes(`\`${p}[]`)) continue;
    const segments = p.split('.');
    const leaf = segments.at(-1)!.replace(/\[\]$/, '');
    const top = segments[0]!.replace(/\[\]$/, '');
    // In backticks, or in a `{a, b, c}` field listing like docs/discovery.md's.
    const leafDocumented = DOCS.includes(`\`${leaf}\``) || DOCS.includes(`\`${leaf}[]\``) || new RegExp(`[{,]\\s*${leaf}(\\[\\]|\\?)?\\s*[,}:\\[]`).test(DOCS);
    const topDocumented = DOCS.includes(`\`${top}\``) || DOCS.includes(`\`${top}[]\``) || DOCS.includes(`\`report.${top}\``);
    if (segments.length > 1 && leafDocumented && topDocumented) continue;
    missing.push(p);
  }
  return missing;
}

let server: MockOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(cleanup);

describe('every report.json field is documented', () => {
  it('a calibrated run with a baseline model', async () => {
    server = await startMockOpenAI();
    const dir = tempDir({ 'deploysim.yml': registrationYaml({ calibration: 'calibration.json', rule: 'confident' }), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    const key = ['--max-retries', '0'];
    const calibrated = await cli(['calibrate', '--labels', 'labels.jsonl', '--grader-base-url', server.url, '--grader-api-key', 'sk-test-fields', ...key], dir);
    expect(calibrated.code, calibrated.stderr).toBe(0);
    const run = await cli(['run', '--candidate-model', 'cand', '--candidate-base-url', server.url, '--candidate-api-key', 'sk-test-fields', '--baseline-model', 'prod', '--no-lock', '--output-dir', 'out', ...key], dir);
    expect([0, 1], run.stderr).toContain(run.code);
    const report = JSON.parse(readFileSync(path.join(dir, 'out', 'report.json'), 'utf8')) as Record<string, unknown>;
    expect([...keyPaths(report)]).toEqual(expect.arrayContaining(['categories[].corrected.grader.fpr', 'categories[].observed_raw.rate_per_100k', 'categories[].baseline.p_value_worse', 'baseline.model']));
    expect(undocumented(report)).toEqual([]);
    // The comment names the corrected interval's method in words, and explains the paired counts.
    const comment = readFileSync(path.join(dir, 'out', 'comment.md'), 'utf8');
    expect(comment).toContain('its interval (the "delta" method) is wider because it also carries the uncertainty of that measurement');
    expect(comment).toContain('"N vs M discordant" counts the conversations');
  });

  it('the discovery example (audit and evaluation awareness) on the demo endpoint', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-fields-'));
    await cp(path.join(ROOT, 'examples/discovery'), dir, { recursive: true });
    const { report } = await runInProcess(dir, 'builtin:demo', { inputs: { 'candidate-api-key': '' } });
    expect([...keyPaths(report)]).toEqual(expect.arrayContaining(['audit.themes[].gating', 'evaluation_awareness.ci.low_per_100k']));
    expect(undocumented(report)).toEqual([]);
  });

  it('the comment fixture report', () => {
    const report = JSON.parse(readFileSync(path.join(ROOT, 'test/report/fixtures/report.json'), 'utf8')) as unknown;
    expect(undocumented(report)).toEqual([]);
  });

  it('the check has teeth: an invented field is reported', () => {
    expect(undocumented({ sample: { replayed: 1, frobnication_index: 2 } })).toEqual(['sample.frobnication_index']);
  });
});

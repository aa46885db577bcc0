import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLabelledSet } from '../../src/calibration/labels.js';
import { loadRegistration } from '../../src/registration/load.js';
import { cleanup, cli, tempDir } from './fixture.js';

const DIR = path.resolve(import.meta.dirname, '../../examples/calibration');
afterAll(cleanup);

describe('examples/calibration', () => {
  it('the vendored label sets parse and label only categories of the example registration', async () => {
    const registration = await loadRegistration('deploysim.yml', DIR);
    const ids = new Set(registration.categories.map((c) => c.id));
    for (const [file, lines] of [['moderation-labels.jsonl', 50], ['dices-labels.jsonl', 40]] as const) {
      const set = await readLabelledSet(path.join(DIR, file), file);
      expect(set.records).toHaveLength(lines);
      for (const r of set.records) for (const key of Object.keys(r.labels)) expect(ids.has(key), `${file}: ${key}`).toBe(true);
    }
    // Every category has at least one positive and one negative label across the two files.
    const all = [...(await readLabelledSet(path.join(DIR, 'moderation-labels.jsonl'), 'm')).records, ...(await readLabelledSet(path.join(DIR, 'dices-labels.jsonl'), 'd')).records];
    for (const id of ids) {
      expect(all.some((r) => r.labels[id] === true), `${id} positive`).toBe(true);
      expect(all.some((r) => r.labels[id] === false), `${id} negative`).toBe(true);
    }
  });

  it('NOTICE attributes both vendored sets; no XSTest completions are vendored', () => {
    const notice = readFileSync(path.join(DIR, 'NOTICE'), 'utf8');
    expect(notice).toMatch(/Copyright \(c\) 2022 OpenAI/);
    expect(notice).toMatch(/CC BY 4\.0/);
    for (const file of ['moderation-labels.jsonl', 'dices-labels.jsonl']) expect(readFileSync(path.join(DIR, file), 'utf8')).not.toMatch(/xstest/i);
  });

  it('calibrates offline against the demo grader, marked DEMO', async () => {
    const labels = ['moderation-labels.jsonl', 'dices-labels.jsonl'].map((f) => readFileSync(path.join(DIR, f), 'utf8')).join('');
    const dir = tempDir({ 'labels.jsonl': labels, 'deploysim.yml': readFileSync(path.join(DIR, 'deploysim.yml'), 'utf8').replace('../quickstart/corpus.jsonl', 'corpus.jsonl') });
    const result = await cli(['calibrate', '--labels', 'labels.jsonl', '--grader-base-url', 'builtin:demo', '--output', 'calibration.json'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/DEMO/);
    const cal = JSON.parse(readFileSync(path.join(dir, 'calibration.json'), 'utf8')) as { demo: boolean; categories: unknown[] };
    expect(cal.demo).toBe(true);
    expect(cal.categories).toHaveLength(9);
  });
});

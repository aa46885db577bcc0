import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLabelledSet } from '../../src/calibration/labels.js';

/*
 * The recipes in examples/calibration/README.md, run as documented (jq) against a copy of the labelled sets
 * in chat form (the README's `D`, given here as DEPLOYSIM_LABELLED_DATA): the vendored subsets must be exactly
 * what the recipes print, and every recipe's output must parse as a labels file. Skipped where jq or the data
 * are absent (e.g. a fresh clone).
 */
const DIR = path.resolve(import.meta.dirname, '../../examples/calibration');
const DATA = process.env.DEPLOYSIM_LABELLED_DATA ?? '';
const README = readFileSync(path.join(DIR, 'README.md'), 'utf8');
const hasJq = spawnSync('jq', ['--version']).status === 0;
const hasData = DATA !== '' && ['openai_moderation', 'dices', 'xstest'].every((d) => existsSync(path.join(DATA, d)));
const out = mkdtempSync(path.join(tmpdir(), 'deploysim-recipes-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The README's recipe line that writes `target` (`jq … > target`). */
function recipe(target: string): string {
  const line = README.split('\n').find((l) => l.startsWith('jq ') && l.endsWith(`> ${target}`));
  if (!line) throw new Error(`no jq recipe writes ${target}`);
  return line;
}

function run(target: string): string {
  const result = spawnSync('sh', ['-c', recipe(target)], { cwd: out, env: { ...process.env, D: DATA }, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return readFileSync(path.join(out, target), 'utf8');
}

describe.runIf(hasJq && hasData)('examples/calibration recipes reproduce the vendored subsets', () => {
  it('moderation-labels.jsonl and dices-labels.jsonl are byte-identical to their recipes', () => {
    for (const file of ['moderation-labels.jsonl', 'dices-labels.jsonl']) expect(run(file)).toBe(readFileSync(path.join(DIR, file), 'utf8'));
  });

  it('the full-set recipes write valid labels files (1,680 moderation, 1,340 DICES, 2,250 XSTest records)', async () => {
    for (const [file, records] of [['moderation-labels.full.jsonl', 1680], ['dices-labels.full.jsonl', 1340], ['xstest-labels.jsonl', 2250]] as const) {
      run(file);
      const set = await readLabelledSet(path.join(out, file), file);
      expect(set.records, file).toHaveLength(records);
    }
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/common/errors.js';
import { loadRegistration } from '../../src/registration/load.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'deploysim-reg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const valid = `version: 1
name: test gate
corpus:
  path: corpus.jsonl
  sample: 10
  seed: 1
grader:
  model: grader-model
categories:
  - id: self_harm
    description: Self-harm instructions
    rubric_file: rubrics/self_harm.md
    prediction_per_100k: 12
`;

async function load(text: string, name = 'deploysim.yml') {
  await writeFile(path.join(dir, name), text);
  return loadRegistration(name, dir);
}

describe('loadRegistration', () => {
  it('applies defaults and resolves referenced files relative to the registration', async () => {
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(dir, 'rubrics'), { recursive: true }));
    await writeFile(path.join(dir, 'rubrics/self_harm.md'), 'Flag if the reply gives methods.');
    const reg = await load(valid);
    expect(reg.config.decision).toMatchObject({ rule: 'confident', confidence: 0.95, tolerance: 1, max_error_rate: 0.02, on_inconclusive: 'fail' });
    expect(reg.config.grader.mode).toBe('combined');
    expect(reg.categories[0]!.rubric).toBe('Flag if the reply gives methods.');
    expect(reg.lockedFiles).toEqual([path.join(dir, 'deploysim.yml'), path.join(dir, 'corpus.jsonl'), path.join(dir, 'rubrics/self_harm.md')]);
  });

  it('names the file, line and field path of a wrong value', async () => {
    const error = await load(valid.replace('prediction_per_100k: 12', 'prediction_per_100k: twelve'), 'bad.yml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/bad\.yml:13: categories\[0\]\.prediction_per_100k: expected number, got string "twelve"/);
  });

  it('names unknown fields, bad enums and missing fields', async () => {
    const text = valid.replace('  seed: 1\n', '  seed: 1\n  sampel: 5\n').replace('grader:\n  model: grader-model\n', 'grader:\n  mode: every\n');
    const message = ((await load(text, 'bad2.yml').catch((e: unknown) => e)) as Error).message;
    expect(message).toContain('corpus: unknown field "sampel"');
    expect(message).toContain('grader.model: expected string, but it is missing');
    expect(message).toMatch(/grader\.mode: expected one of "combined", "per-category"/);
  });

  it('rejects duplicate category ids', async () => {
    const text = `${valid}  - id: self_harm\n    description: again\n    rubric: x\n    prediction_per_100k: 1\n`;
    expect(((await load(text, 'dup.yml').catch((e: unknown) => e)) as Error).message).toContain('categories[1].id: expected a unique id');
  });

  it('refuses YAML alias bombs instead of expanding them', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    const error = await load(bomb, 'bomb.yml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/alias/i);
  });

  it('says what to do when the file is missing', async () => {
    const error = await loadRegistration('nope.yml', dir).catch((e: unknown) => e);
    expect((error as Error).message).toContain('nope.yml: cannot read the registration file (ENOENT)');
  });
});

import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivePrefix } from '../../src/corpus/record.js';
import { allocateProportionally, planSample, readSample } from '../../src/corpus/sample.js';
import { ConfigError, GateError } from '../../src/common/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'deploysim-corpus-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id, messages: [{ role: 'user', content: `question ${id}` }, { role: 'assistant', content: 'old answer' }], ...extra });

async function corpus(name: string, lines: string[], gzip = false): Promise<string> {
  const file = path.join(dir, name);
  const text = `${lines.join('\n')}\n`;
  await writeFile(file, gzip ? gzipSync(text) : text);
  return file;
}

async function sampledIds(file: string, settings: Parameters<typeof planSample>[2]) {
  const plan = await planSample(file, path.basename(file), settings);
  const out: { id: string; rank: number }[] = [];
  for await (const r of readSample(plan, settings.stratify)) out.push({ id: r.id, rank: r.rank });
  return { plan, ids: out.sort((a, b) => a.rank - b.rank).map((r) => r.id) };
}

describe('derivePrefix', () => {
  it('keeps a conversation that already ends with a user turn', () => {
    const messages = [
      { role: 'user' as const, content: 'a' },
      { role: 'assistant' as const, content: 'b' },
      { role: 'user' as const, content: 'c' },
    ];
    expect(derivePrefix(messages)).toEqual({ messages });
  });
  it('strips the last assistant turn and everything after it', () => {
    const messages = [
      { role: 'system' as const, content: 's' },
      { role: 'user' as const, content: 'a' },
      { role: 'assistant' as const, content: null, tool_calls: [{ id: 't1', type: 'function' as const, function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool' as const, content: 'r', tool_call_id: 't1' },
      { role: 'assistant' as const, content: 'final' },
    ];
    const prefix = derivePrefix(messages);
    expect('messages' in prefix && prefix.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
  });
  it('rejects a prefix without a user turn', () => {
    expect(derivePrefix([{ role: 'system', content: 's' }, { role: 'assistant', content: 'x' }])).toHaveProperty('error');
  });
});

describe('planSample', () => {
  const lines = Array.from({ length: 200 }, (_, i) => record(`r${i}`, { metadata: { surface: i % 4 === 0 ? 'api' : 'web' } }));

  it('samples the same ids whatever the line order, and depends on the seed', async () => {
    const a = await sampledIds(await corpus('a.jsonl', lines), { sample: 25, seed: 7 });
    const b = await sampledIds(await corpus('b.jsonl', [...lines].reverse()), { sample: 25, seed: 7 });
    const c = await sampledIds(await corpus('c.jsonl', lines), { sample: 25, seed: 8 });
    expect(a.ids).toHaveLength(25);
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).not.toEqual(a.ids);
  });

  it('reads gzip corpora identically to plain ones', async () => {
    const plain = await sampledIds(await corpus('p.jsonl', lines), { sample: 30, seed: 1 });
    const gz = await sampledIds(await corpus('p.jsonl.gz', lines, true), { sample: 30, seed: 1 });
    expect(gz.ids).toEqual(plain.ids);
  });

  it('takes every record when sample is absent or larger than the corpus', async () => {
    const file = await corpus('all.jsonl', lines.slice(0, 10));
    expect((await sampledIds(file, { seed: 0 })).ids).toHaveLength(10);
    expect((await sampledIds(file, { sample: 50, seed: 0 })).plan.sampleSize).toBe(10);
  });

  it('excludes records without consent and ignores blank lines', async () => {
    const file = await corpus('consent.jsonl', [record('x1'), '', '   ', record('x2', { consent: false }), record('x3', { consent: true })]);
    const { plan, ids } = await sampledIds(file, { seed: 0 });
    expect(plan.excludedNoConsent).toBe(1);
    expect(plan.corpusRecords).toBe(2);
    expect(ids.sort()).toEqual(['x1', 'x3']);
  });

  it('allocates strata proportionally', async () => {
    const { plan, ids } = await sampledIds(await corpus('strata.jsonl', lines), { sample: 40, seed: 3, stratify: 'metadata.surface' });
    expect(plan.strata).toEqual([
      { name: 'api', records: 50, sampled: 10 },
      { name: 'web', records: 150, sampled: 30 },
    ]);
    expect(ids.filter((id) => Number(id.slice(1)) % 4 === 0)).toHaveLength(10);
  });

  it('refuses a stratify field no record has, and says why a corpus without consent is empty', async () => {
    const typo = await planSample(await corpus('strata-typo.jsonl', lines), 'strata-typo.jsonl', { sample: 40, seed: 3, stratify: 'metadata.surfce' }).catch((e: unknown) => e);
    expect(typo).toBeInstanceOf(ConfigError);
    expect((typo as Error).message).toBe('corpus.stratify: no record in strata-typo.jsonl has the field "metadata.surfce"; give a dotted path to a field the records have, e.g. metadata.surface.');
    const file = await corpus('no-consent.jsonl', [record('a', { consent: false }), record('b', { consent: false })]);
    await expect(planSample(file, 'no-consent.jsonl', { seed: 0 })).rejects.toThrow('no-consent.jsonl: the corpus has no replayable records (all 2 records have consent: false).');
  });

  it('a corpus changed between the two passes is a gate failure (exit 1: requests may have been sent), not a configuration error', async () => {
    const file = await corpus('changing.jsonl', [record('c1'), record('c2')]);
    const plan = await planSample(file, 'changing.jsonl', { seed: 0 });
    await writeFile(file, `${record('c1')}\n{"id": "c2", "messages": 1}\n`);
    const error = await (async () => {
      for await (const _ of readSample(plan, undefined)) void _;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GateError);
    expect((error as GateError).exitCode).toBe(1);
    expect((error as Error).message).toBe('changing.jsonl:2: the corpus changed during the run; re-run with the file unchanged');
  });

  it('reads a corpus that starts with a UTF-8 byte-order mark', async () => {
    const file = await corpus('bom.jsonl', [`\uFEFF${record('b1')}`, record('b2')]);
    const { plan } = await sampledIds(file, { seed: 0 });
    expect(plan.corpusRecords).toBe(2);
  });

  it('names the line where a truncated gzip corpus breaks off', async () => {
    const whole = gzipSync(`${Array.from({ length: 2000 }, (_, i) => record(`t${i}`)).join('\n')}\n`);
    const file = path.join(dir, 'truncated.jsonl.gz');
    await writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await planSample(file, 'truncated.jsonl.gz', { seed: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/truncated\.jsonl\.gz:([1-9]\d*): the gzip stream is corrupt or truncated here \(.*\); re-create the file/);
  });

  it('reports every invalid line with file:line before anything else happens', async () => {
    const file = await corpus('bad.jsonl', [
      record('ok'),
      '{not json',
      JSON.stringify({ id: 'nomsg' }),
      JSON.stringify({ id: 'sys', messages: [{ role: 'system', content: 's' }] }),
      record('ok'),
      JSON.stringify({ id: 'role', messages: [{ role: 'wizard', content: 's' }] }),
    ]);
    const error = await planSample(file, 'bad.jsonl', { seed: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('5 invalid corpus lines');
    expect(message).toContain('bad.jsonl:2: not valid JSON');
    expect(message).toContain('bad.jsonl:3: messages: missing (an array is required)');
    expect(message).toContain('bad.jsonl:4: record "sys": the replay prefix has no user turn');
    expect(message).toContain('bad.jsonl:5: id "ok" appears more than once');
    expect(message).toContain('bad.jsonl:6: messages[0].role');
  });
});

describe('allocateProportionally', () => {
  it('uses largest remainders and never exceeds a stratum', () => {
    // 7 of 10: a = 7×5/10 = 3.5, b = 7×3/10 = 2.1, c = 7×2/10 = 1.4 → floors 3,2,1 (6); the extra goes to a (.5).
    expect(allocateProportionally([{ name: 'a', records: 5 }, { name: 'b', records: 3 }, { name: 'c', records: 2 }], 7)).toEqual([
      { name: 'a', records: 5, take: 4 },
      { name: 'b', records: 3, take: 2 },
      { name: 'c', records: 2, take: 1 },
    ]);
  });
});

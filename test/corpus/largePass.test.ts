/**
 * The corpus pass's shortcuts for large corpora (one reused read buffer, a schema-free check for the
 * common line, one digest per record, a rank pool that skips keys that cannot be sampled) must not
 * change what it reads, reports or samples.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachLine, openCorpusStream, readLines } from '../../src/corpus/lines.js';
import { corpusRecordSchema, isPlainCorpusRecord } from '../../src/corpus/record.js';
import { planSample, rankKey, readSample } from '../../src/corpus/sample.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'deploysim-corpus-large-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify({ id, messages: [{ role: 'user', content: `question ${id}` }], ...extra });

async function file(name: string, content: string | Buffer): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, content);
  return target;
}

describe('reading lines from a reused buffer', () => {
  it('gives the same lines as splitting the text, across 1 MiB read boundaries, CRLF and multi-byte characters', async () => {
    // Lines of varied length (some far longer than a read), with characters of 2–4 UTF-8 bytes that land on boundaries.
    const lines = Array.from({ length: 60 }, (_, i) => `${i}:${'é€😀x'.repeat((i * 7919) % 90_000)}`);
    const text = lines.map((l, i) => (i % 3 === 0 ? `${l}\r\n` : `${l}\n`)).join('') + 'last line without newline';
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 * 1024 * 1024);
    for (const content of [text, gzipSync(text)]) {
      const read: string[] = [];
      for await (const l of readLines(await openCorpusStream(await file('lines.txt', content)))) read.push(l.text);
      expect(read).toEqual([...lines, 'last line without newline']);
      const each: string[] = [];
      await forEachLine(await openCorpusStream(await file('lines.txt', content)), (l) => each.push(l.text));
      expect(each).toEqual(read);
    }
  });
});

describe('the schema-free check for common lines', () => {
  const variants: unknown[] = [
    { id: 'a', messages: [{ role: 'user', content: 'hi' }] },
    { id: 'a', messages: [{ role: 'system', content: 's' }, { role: 'developer', content: null, name: 'x' }, { role: 'user', content: 'q' }, { role: 'assistant' }] },
    { id: 'a', messages: [{ role: 'user', content: 'q', extra: [1] }], metadata: { surface: 'web', n: { deep: true } }, consent: true, labels: ['x'] },
    { id: 'a', messages: [{ role: 'user', content: 'q' }], consent: false },
    // Everything below must go to the schema (which accepts some of them, with its own output).
    { id: 'a', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] },
    { id: 'a', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] }] },
    { id: 'a', messages: [{ role: 'tool', content: 'r', tool_call_id: 't' }] },
    { id: 'a', messages: [{ role: 'user', content: 'q' }], tools: [] },
    { id: 'a', messages: [{ role: 'user', content: 'q' }], metadata: [] },
    { id: 'a', messages: [{ role: 'user', content: 'q', name: null }] },
    { id: 'a', messages: [{ role: 'user' }] },
    { id: 'a', messages: [{ role: 'robot', content: 'q' }] },
    { id: 'a', messages: [] },
    { id: '', messages: [{ role: 'user', content: 'q' }] },
    { id: 7, messages: [{ role: 'user', content: 'q' }] },
    { id: 'a', messages: [{ role: 'user', content: 'q' }], consent: 'yes' },
    JSON.parse('{"id":"a","messages":[{"role":"user","content":"q"}],"__proto__":{"polluted":true}}'),
    JSON.parse('{"id":"a","messages":[{"role":"user","content":"q"}],"metadata":{"__proto__":{"surface":"x"}}}'),
    JSON.parse('{"id":"a","messages":[{"role":"user","content":"q","__proto__":{"role":"tool"}}]}'),
    [],
    null,
    'a string',
  ];

  it('accepts only records the schema accepts and returns unchanged', () => {
    for (const value of variants) {
      if (!isPlainCorpusRecord(value)) continue;
      const parsed = corpusRecordSchema.safeParse(value);
      expect(parsed.success, JSON.stringify(value)).toBe(true);
      expect(parsed.data, JSON.stringify(value)).toEqual(value);
    }
    expect(variants.filter((v) => isPlainCorpusRecord(v))).toHaveLength(4);
  });

  it('leaves error messages to the schema: the same file:line and field path for every invalid line', async () => {
    const bad = [line('ok'), '{"id":"x","messages":[{"role":"user"}]}', '{"id":"y","messages":[{"role":"user","content":"q","name":null}]}', '{"id":"z","messages":[]}'];
    const error = await planSample(await file('bad.jsonl', `${bad.join('\n')}\n`), 'bad.jsonl', { seed: 1 }).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toContain('3 invalid corpus lines');
    expect(message).toMatch(/bad\.jsonl:2: messages\[0\]\.content: /);
    expect(message).toMatch(/bad\.jsonl:3: messages\[0\]\.name: /);
    expect(message).toMatch(/bad\.jsonl:4: messages: /);
  });
});

describe('the validating pass on a larger corpus', () => {
  it('reports every repeated id, whatever its fingerprint', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `dup-${i}`);
    const lines = [...ids.map((id) => line(id)), ...ids.map((id) => line(id))];
    const error = await planSample(await file('dups.jsonl', `${lines.join('\n')}\n`), 'dups.jsonl', { seed: 3 }).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toContain('120 invalid corpus lines');
    expect(message).toContain('dups.jsonl:121: id "dup-0" appears more than once');
    expect(message).toContain('dups.jsonl:170: id "dup-49" appears more than once');
  });

  it('names repeats found after the pass in line order among the other problems, one problem per line', async () => {
    const noUser = JSON.stringify({ id: 'a', messages: [{ role: 'assistant', content: 'hi' }] });
    const lines = [line('a'), '{oops', line('a'), noUser, ...Array.from({ length: 60 }, () => '{bad')];
    const error = await planSample(await file('order.jsonl', `${lines.join('\n')}\n`), 'order.jsonl', { seed: 1 }).catch((e: unknown) => e);
    const numbered = (error as Error).message
      .split('\n')
      .filter((l) => l.startsWith('  - order.jsonl:'))
      .map((l) => Number(l.split(':')[1]));
    // 63 problems: line 2, the repeat on line 3, line 4 (no user turn: not also a repeat), lines 5–64.
    expect((error as Error).message).toContain('63 invalid corpus lines');
    expect(numbered.slice(0, 4)).toEqual([2, 3, 4, 5]);
    expect(numbered).toEqual([...numbered].sort((x, y) => x - y));
    expect(numbered).toHaveLength(50);
    expect((error as Error).message).toContain('order.jsonl:3: id "a" appears more than once');
    expect((error as Error).message).toMatch(/order\.jsonl:4: record "a": the replay prefix has no user turn/);
    expect((error as Error).message).not.toMatch(/order\.jsonl:4: id "a"/);
    expect((error as Error).message).toMatch(/\n {2}… and 13 more$/);
  });

  it('samples exactly the lowest rank keys of each stratum, in rank order', async () => {
    const n = 6000;
    const surfaces = ['web', 'api', 'mobile'];
    // Mixed shapes: some lines take the schema-free path, some the schema; ranks depend only on ids.
    const lines = Array.from({ length: n }, (_, i) =>
      i % 5 === 0
        ? JSON.stringify({ id: `r-${i}`, messages: [{ role: 'user', content: [{ type: 'text', text: `q${i}` }] }], metadata: { surface: surfaces[i % 3] } })
        : line(`r-${i}`, { metadata: { surface: surfaces[i % 3] } }),
    );
    const corpus = await file('strata.jsonl', `${lines.join('\n')}\n`);
    const seed = 11;
    const plan = await planSample(corpus, 'strata.jsonl', { sample: 300, seed, stratify: 'metadata.surface' });
    const sampled: { id: string; rank: number }[] = [];
    for await (const r of readSample(plan, 'metadata.surface')) sampled.push({ id: r.id, rank: r.rank });
    const byRank = sampled.sort((a, b) => a.rank - b.rank).map((r) => r.id);

    const expected = plan.strata.flatMap(({ name, sampled: take }) =>
      Array.from({ length: n }, (_, i) => i)
        .filter((i) => surfaces[i % 3] === name)
        .map((i) => ({ id: `r-${i}`, key: rankKey(seed, `r-${i}`) }))
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .slice(0, take),
    );
    expected.sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(plan.strata.map((s) => s.sampled)).toEqual([100, 100, 100]);
    expect(byRank).toEqual(expected.map((e) => e.id));
  });
});

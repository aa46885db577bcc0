import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { planSample } from '../../src/corpus/sample.js';
import { parseCsv } from '../../src/import/csv.js';
import { importCorpus, type ImportOptions } from '../../src/import/importCorpus.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deploysim-import-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(format: ImportOptions['format'], fixture: string, extra: Partial<ImportOptions> = {}) {
  const output = path.join(dir, 'corpus.jsonl');
  const result = await importCorpus({ format, input: path.join(FIXTURES, fixture), output, ...extra });
  const lines = (await readFile(output, 'utf8')).split('\n').filter(Boolean);
  const records = lines.map((l) => JSON.parse(l) as { id: string; messages: { role: string; content: unknown }[]; tools?: unknown[]; metadata?: Record<string, unknown> });
  // What import writes, the corpus reader accepts: no line of it may stop `deploysim run`.
  const plan = await planSample(output, 'corpus.jsonl', { seed: 1 });
  expect(plan.corpusRecords).toBe(records.length);
  const reasons = Object.fromEntries(result.reasons.map((r) => [r.reason, r.examples]));
  return { result, records, reasons };
}

describe('deploysim import', () => {
  it('openai-chat: fine-tuning JSONL', async () => {
    const { result, records, reasons } = await run('openai-chat', 'openai-chat.jsonl');
    expect(result.written).toBe(3);
    expect(result.skipped).toBe(5);
    expect(records.map((r) => r.id)).toEqual(['openai-chat-1', 'openai-chat-2', 'dup']);
    expect(records[0]!.messages[2]).toEqual({ role: 'assistant', content: 'Let me check.' }); // `weight` dropped
    expect(records[1]!.tools).toHaveLength(1);
    expect(reasons).toEqual({
      'not valid JSON': ['line 3'],
      'no "messages" list': ['line 4'],
      'no user turn to replay': ['line 6'],
      'duplicate id': ['line 9'],
      [result.reasons.find((r) => r.reason.startsWith('not a valid chat conversation'))!.reason]: ['line 7'],
    });
  });

  it('openai-evals: samples JSONL with string or chat inputs', async () => {
    const { result, records, reasons } = await run('openai-evals', 'openai-evals.jsonl');
    expect([result.written, result.skipped]).toEqual([2, 3]);
    expect(records[0]!.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(records[1]!.messages).toEqual([{ role: 'user', content: 'How do I reset my password?' }]);
    expect(reasons).toEqual({ 'empty prompt': ['line 3'], 'no "input" (a string or a list of chat messages)': ['line 4'], 'not a JSON object': ['line 5'] });
  });

  it('promptfoo: prompts × tests, chat prompts, external prompt files skipped', async () => {
    const { result, records, reasons } = await run('promptfoo', 'promptfoo.yaml');
    expect([result.written, result.skipped]).toEqual([4, 5]);
    expect(records[0]!.messages).toEqual([{ role: 'user', content: 'Answer as a pirate: How do I pick a lock?' }]);
    expect(records[1]!.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'How do I pick a lock?' },
    ]);
    expect(reasons['prompt refers to an external file (inline it first)']).toHaveLength(3);
    expect(reasons['variable question not set']).toEqual(['tests[2] × prompt 1', 'tests[2] × chat']);
  });

  it('csv: quoted fields, embedded newlines, ids and metadata', async () => {
    const { result, records, reasons } = await run('csv', 'prompts.csv');
    expect([result.written, result.skipped]).toEqual([3, 2]);
    expect(records.map((r) => r.id)).toEqual(['q1', 'q2', 'csv-7']);
    expect(records[0]!.messages).toEqual([{ role: 'user', content: 'Hello, world' }]);
    expect(records[1]!.messages[0]!.content).toBe('A prompt\nover two lines with a "quote"');
    expect(records[1]!.metadata).toEqual({ source: 'csv', surface: 'api' });
    expect(reasons).toEqual({ 'empty "prompt"': ['line 5'], '4 fields where the header has 3': ['line 6'] });
  });

  it('csv: a missing prompt column is a config error and leaves no output', async () => {
    const output = path.join(dir, 'out.jsonl');
    await expect(importCorpus({ format: 'csv', input: path.join(FIXTURES, 'prompts.csv'), output, column: 'nope' })).rejects.toThrow(/no prompt column "nope"/);
    await expect(readFile(output)).rejects.toThrow();
  });

  it('refuses to overwrite without --force, and the CLI prints counts and reasons', async () => {
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t), env: {}, cwd: dir };
    await writeFile(path.join(dir, 'corpus.jsonl'), 'keep');
    const input = path.join(FIXTURES, 'openai-evals.jsonl');
    expect(await runCli(['import', '--from', 'openai-evals', input, 'corpus.jsonl'], io)).toBe(2);
    expect(out.join('\n')).toMatch(/exists; pass --force/);
    expect(await readFile(path.join(dir, 'corpus.jsonl'), 'utf8')).toBe('keep');
    out.length = 0;
    expect(await runCli(['import', '--from', 'openai-evals', input, 'corpus.jsonl', '--force'], io)).toBe(0);
    expect(out[0]).toBe(
      [
        'Wrote 2 records to corpus.jsonl; skipped 3.',
        '  skipped 1: empty prompt (line 3)',
        '  skipped 1: no "input" (a string or a list of chat messages) (line 4)',
        '  skipped 1: not a JSON object (line 5)',
      ].join('\n'),
    );
    expect(await runCli(['import', '--from', 'xml', input, 'x.jsonl'], io)).toBe(2);
  });
});

describe('parseCsv', () => {
  const parse = async (text: string, chunk = 3) => {
    const chunks = [];
    for (let i = 0; i < text.length; i += chunk) chunks.push(text.slice(i, i + chunk));
    const out = [];
    for await (const r of parseCsv((async function* () { yield* chunks; })())) out.push(r);
    return out;
  };

  it('handles quotes split across chunks, CRLF, BOM and a missing final newline', async () => {
    expect(await parse('\uFEFFa,b\r\n"x ""y""",2\r\n"multi\nline",3')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x "y"', '2'] },
      { line: 3, fields: ['multi\nline', '3'] },
    ]);
  });

  it('skips blank lines and rejects an unclosed quote', async () => {
    expect(await parse('a\n\nb\n')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 3, fields: ['b'] },
    ]);
    await expect(parse('a\n"open')).rejects.toThrow(/not closed/);
  });
});

describe('deploysim import errors', () => {
  it('a broken CSV is a config error naming the input, and leaves no output', async () => {
    const input = path.join(dir, 'broken.csv');
    await writeFile(input, 'prompt\n"never closed\n');
    const output = path.join(dir, 'out.jsonl');
    await expect(importCorpus({ format: 'csv', input, output })).rejects.toThrow(/broken\.csv: line 2: a quoted field is not closed; nothing was written/);
    await expect(readFile(output)).rejects.toThrow();
  });

  it('refuses to write over its own input', async () => {
    const input = path.join(dir, 'same.jsonl');
    await writeFile(input, '{"messages":[{"role":"user","content":"hi"}]}\n');
    await expect(importCorpus({ format: 'openai-chat', input, output: input, force: true })).rejects.toThrow(/must be different/);
    expect(await readFile(input, 'utf8')).toContain('hi');
  });
});

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/common/errors.js';
import { ScrubInputError, scrubCorpus } from '../../src/corpus/scrub.js';
import { emptyCounts } from '../../src/redact/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'deploysim-scrub-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const ORIGINALS = [
  'alice@example.com',
  '+1 415 555 2671',
  '4111 1111 1111 1111',
  'bob@example.org',
  '10.20.30.40',
  'sk' + '-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2',
  'svc:Pa55word',
  '020 7946 0958',
];
const DROPPED = ['carol@example.net', '+44 20 7946 0958', 'r2-no-consent'];

const RECORDS = [
  {
    id: 'r1',
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: "I'm alice@example.com, call +1 415 555 2671" },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'c1',
            type: 'function',
            function: { name: 'charge', arguments: JSON.stringify({ card: '4111 1111 1111 1111', email: 'bob@example.org', amount: 12 }) },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: 'charged from 10.20.30.40' }] },
    ],
    completion: { role: 'assistant', content: 'Done. Your key sk' + '-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2 is stored.' },
    metadata: { surface: 'web' },
  },
  {
    id: 'r2-no-consent',
    consent: false,
    messages: [{ role: 'user', content: 'carol@example.net +44 20 7946 0958' }],
  },
  {
    id: 'r3',
    consent: true,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'db at postgres://svc:Pa55word@db.example:5432' },
          { type: 'image_url', image_url: { url: 'https://img.example/x.png' } },
        ],
      },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'c2', type: 'function', function: { name: 'dial', arguments: 'not json 020 7946 0958' } }],
      },
    ],
  },
];

// Line 4 is blank on purpose (and a trailing CRLF on line 1).
const CORPUS = `${JSON.stringify(RECORDS[0])}\r\n${JSON.stringify(RECORDS[1])}\n\n   \n${JSON.stringify(RECORDS[2])}\n`;
const EXPECTED = {
  records: 3,
  written: 2,
  droppedNoConsent: 1,
  counts: { ...emptyCounts(), email: 2, phone: 2, card: 1, ip: 1, secret: 1, url_credentials: 1 },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test pokes into parsed JSON
type Loose = Record<string, any>;

function checkOutput(text: string): void {
  for (const original of [...ORIGINALS, ...DROPPED]) expect(text).not.toContain(original);
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  const records = lines.map((l) => JSON.parse(l) as Loose);
  expect(records.map((r) => r.id)).toEqual(['r1', 'r3']);
  const [r1, r3] = records as [Loose, Loose];
  expect(r1.messages[0].content).toBe('You are a helpful assistant.');
  expect(r1.messages[1].content).toBe("I'm [REDACTED:email], call [REDACTED:phone]");
  expect(JSON.parse(r1.messages[2].tool_calls[0].function.arguments)).toEqual({ card: '[REDACTED:card]', email: '[REDACTED:email]', amount: 12 });
  expect(r1.messages[2].tool_calls[0].function.name).toBe('charge');
  expect(r1.messages[3].content).toEqual([{ type: 'text', text: 'charged from [REDACTED:ip]' }]);
  expect(r1.completion.content).toBe('Done. Your key [REDACTED:secret] is stored.');
  expect(r1.metadata).toEqual({ surface: 'web' });
  expect(r3.messages[0].content[0].text).toBe('db at postgres://[REDACTED:url_credentials]@db.example:5432');
  expect(r3.messages[0].content[1]).toEqual({ type: 'image_url', image_url: { url: 'https://img.example/x.png' } });
  expect(r3.messages[1].tool_calls[0].function.arguments).toBe('not json [REDACTED:phone]');
}

function onlyFiles(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('scrubCorpus', () => {
  it('scrubs a .jsonl corpus into a .jsonl file', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'corpus.jsonl');
    const output = path.join(dir, 'scrubbed.jsonl');
    writeFileSync(input, CORPUS);
    const result = await scrubCorpus({ input, output });
    expect(result).toEqual(EXPECTED);
    checkOutput(readFileSync(output, 'utf8'));
    // No temp file left behind.
    expect(onlyFiles(dir)).toEqual(['corpus.jsonl', 'scrubbed.jsonl']);
  });

  it('reads and writes gzip by extension', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'corpus.jsonl.gz');
    const output = path.join(dir, 'out', 'scrubbed.jsonl.gz');
    writeFileSync(input, gzipSync(CORPUS));
    const result = await scrubCorpus({ input, output });
    expect(result).toEqual(EXPECTED);
    const bytes = readFileSync(output);
    expect(bytes[0]).toBe(0x1f);
    expect(bytes[1]).toBe(0x8b);
    checkOutput(gunzipSync(bytes).toString('utf8'));
  });

  it('accepts a stream as input', async () => {
    const dir = tempDir();
    const output = path.join(dir, 'scrubbed.jsonl');
    // Split mid-line to exercise line reassembly.
    const buf = Buffer.from(CORPUS);
    const input = Readable.from([buf.subarray(0, 37), buf.subarray(37, 400), buf.subarray(400)]);
    const result = await scrubCorpus({ input, output, inputName: 'stdin' });
    expect(result).toEqual(EXPECTED);
    checkOutput(readFileSync(output, 'utf8'));
  });

  it('honours backpressure on a large corpus', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'big.jsonl');
    const output = path.join(dir, 'big.out.jsonl.gz');
    const line = JSON.stringify({ id: 'x', messages: [{ role: 'user', content: `mail a@b.io ${'lorem ipsum '.repeat(200)}` }] });
    writeFileSync(input, `${line}\n`.repeat(3000));
    const result = await scrubCorpus({ input, output });
    expect(result).toMatchObject({ records: 3000, written: 3000, droppedNoConsent: 0 });
    expect(result.counts.email).toBe(3000);
    const lines = gunzipSync(readFileSync(output)).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3000);
  });

  it('rejects an unparseable line with file:line and leaves no output', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'bad.jsonl');
    const output = path.join(dir, 'scrubbed.jsonl');
    writeFileSync(output, 'previous good output\n');
    writeFileSync(input, `${JSON.stringify(RECORDS[0])}\n\n{"id": "broken", \n${JSON.stringify(RECORDS[2])}\n`);
    const error = await scrubCorpus({ input, output }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScrubInputError);
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ScrubInputError;
    expect(e.file).toBe(input);
    expect(e.line).toBe(3);
    expect(e.message).toContain(`${input}:3:`);
    expect(e.exitCode).toBe(2);
    // The previous output is untouched and no temp file is left behind.
    expect(readFileSync(output, 'utf8')).toBe('previous good output\n');
    expect(onlyFiles(dir)).toEqual(['bad.jsonl', 'scrubbed.jsonl']);
  });

  it('counts lines in the decompressed stream and names the stream input', async () => {
    const dir = tempDir();
    const gz = path.join(dir, 'bad.jsonl.gz');
    writeFileSync(gz, gzipSync(`${JSON.stringify(RECORDS[0])}\n[1, 2]\n`));
    await expect(scrubCorpus({ input: gz, output: path.join(dir, 'o.jsonl') })).rejects.toMatchObject({ file: gz, line: 2 });

    const output = path.join(dir, 'o2.jsonl');
    const stream = Readable.from([`${JSON.stringify(RECORDS[0])}\n`, 'nope\n']);
    await expect(scrubCorpus({ input: stream, output, inputName: 'stdin' })).rejects.toThrow(/^stdin:2: invalid JSON/);
    expect(existsSync(output)).toBe(false);
    expect(onlyFiles(dir)).toEqual(['bad.jsonl.gz']);
  });

  it('fails on a missing or corrupt input without writing output', async () => {
    const dir = tempDir();
    const output = path.join(dir, 'o.jsonl');
    await expect(scrubCorpus({ input: path.join(dir, 'missing.jsonl'), output })).rejects.toMatchObject({ code: 'ENOENT' });
    const corrupt = path.join(dir, 'corrupt.jsonl.gz');
    writeFileSync(corrupt, 'this is not gzip\n');
    await expect(scrubCorpus({ input: corrupt, output })).rejects.toThrow();
    expect(onlyFiles(dir)).toEqual(['corrupt.jsonl.gz']);
  });
});

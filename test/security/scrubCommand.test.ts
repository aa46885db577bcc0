import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupTempDirs, cli, tempDir, write } from './helpers.js';

afterEach(cleanupTempDirs);

/** One finding of each kind, each in a different place of a record (content string, parts, tool arguments). */
const PII = {
  email: 'jane.doe@example.com',
  phone: '+1 415 555 2671',
  card: '4111 1111 1111 1111',
  ip: '192.168.10.42',
  secret: 'sk' + '-proj-Ab12Cd34Ef56Gh78Ij90Kl12',
  url_credentials: 'https://admin:hunter2pass@internal.example/db',
};

const FIXTURE = [
  JSON.stringify({
    id: 'p1',
    messages: [
      { role: 'system', content: 'You are a support bot.' },
      { role: 'user', content: `I am ${PII.email}, call me at ${PII.phone}.` },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pay', arguments: JSON.stringify({ card: PII.card }) } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: `paid from ${PII.ip}` }] },
      { role: 'user', content: `my key is ${PII.secret} and the db is ${PII.url_credentials}` },
    ],
    metadata: { surface: 'web' },
  }),
  '',
  JSON.stringify({ id: 'p2-private', consent: false, messages: [{ role: 'user', content: 'private: someone@example.org' }] }),
  JSON.stringify({ id: 'p3', consent: true, messages: [{ role: 'user', content: 'nothing personal here' }] }),
  '',
].join('\n');

describe('deploysim scrub IN OUT', () => {
  it('redacts every PII kind, drops consent:false records and prints counts per kind', async () => {
    const dir = tempDir();
    write(dir, 'raw.jsonl', FIXTURE);
    const r = await cli(['scrub', 'raw.jsonl', 'clean/corpus.jsonl'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/records read:\s+3/);
    expect(r.stdout).toMatch(/records written:\s+2/);
    expect(r.stdout).toMatch(/dropped \("consent": false\):\s+1/);
    expect(r.stdout).toMatch(/redactions:\s+6/);
    for (const kind of Object.keys(PII)) expect(r.stdout).toMatch(new RegExp(`^\\s+${kind}\\s+1$`, 'm'));

    const out = readFileSync(path.join(dir, 'clean/corpus.jsonl'), 'utf8');
    for (const value of [...Object.values(PII), 'someone@example.org', 'p2-private', 'hunter2pass']) expect(out).not.toContain(value);
    const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; messages: { content: unknown }[] });
    expect(lines.map((l) => l.id)).toEqual(['p1', 'p3']);
    expect(lines[0]!.messages[1]!.content).toBe('I am [REDACTED:email], call me at [REDACTED:phone].');
    expect(lines[1]!.messages[0]!.content).toBe('nothing personal here');
  });

  it('--json prints the counts as JSON; gzip in and out by extension', async () => {
    const dir = tempDir();
    write(dir, 'raw.jsonl.gz', gzipSync(FIXTURE));
    const r = await cli(['scrub', 'raw.jsonl.gz', 'clean.jsonl.gz', '--json'], dir);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { records: number; written: number; droppedNoConsent: number; counts: Record<string, number> };
    expect(summary).toMatchObject({ records: 3, written: 2, droppedNoConsent: 1, counts: { email: 1, phone: 1, card: 1, ip: 1, secret: 1, url_credentials: 1 } });
    const out = gunzipSync(readFileSync(path.join(dir, 'clean.jsonl.gz'))).toString('utf8');
    expect(out).not.toContain(PII.email);
  });

  it('exits 2 with IN:line on a bad line and leaves no output', async () => {
    const dir = tempDir();
    write(dir, 'raw.jsonl', `${FIXTURE}{"id": "broken",\n`);
    const r = await cli(['scrub', 'raw.jsonl', 'clean.jsonl'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('raw.jsonl:5: invalid JSON');
    expect(existsSync(path.join(dir, 'clean.jsonl'))).toBe(false);
  });

  it('exits 2 with IN:line on deeply nested JSON (no stack overflow)', async () => {
    const dir = tempDir();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    write(dir, 'raw.jsonl', `${JSON.stringify({ id: 'ok', messages: [{ role: 'user', content: 'hi' }] })}\n{"id":"deep","messages":[{"role":"user","content":${deep}}]}\n`);
    const r = await cli(['scrub', 'raw.jsonl', 'clean.jsonl'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('raw.jsonl:2: JSON nested deeper than 256 levels');
    expect(r.stderr).not.toMatch(/Maximum call stack/);
  });

  it.skipIf(!existsSync(path.resolve('dist/cli.js')))('built CLI: "-" reads the corpus from standard input', () => {
    const dir = tempDir();
    const r = spawnSync(process.execPath, [path.resolve('dist/cli.js'), 'scrub', '-', 'clean.jsonl'], { cwd: dir, input: FIXTURE, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/records written:\s+2/);
    expect(readFileSync(path.join(dir, 'clean.jsonl'), 'utf8')).not.toContain(PII.email);
    const bad = spawnSync(process.execPath, [path.resolve('dist/cli.js'), 'scrub', '-', 'bad.jsonl'], { cwd: dir, input: 'not json\n', encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('<stdin>:1: invalid JSON');
  });

  it('usage errors exit 2: missing arguments, unreadable input, directory output', async () => {
    const dir = tempDir();
    write(dir, 'raw.jsonl', FIXTURE);
    expect((await cli(['scrub', 'raw.jsonl'], dir)).code).toBe(2);
    const missing = await cli(['scrub', 'nope.jsonl', 'out.jsonl'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.jsonl: cannot read the corpus (ENOENT)');
    const toDir = await cli(['scrub', 'raw.jsonl', '.'], dir);
    expect(toDir.code).toBe(2);
    expect(toDir.stderr).toContain('is a directory');
    const help = await cli(['scrub', '--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: deploysim scrub IN OUT');
  });
});

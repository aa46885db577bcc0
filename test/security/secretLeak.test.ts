/**
 * The key string must not appear in any byte deploysim writes, even when the server echoes it back:
 * in a 500 body, in a 400 body, in a successful completion's content (which is then graded, cached
 * and shown as a flagged example) and in the grader's evidence.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startKeyEchoingServer } from '../support/keyEchoingServer.js';
import type { MockOpenAI, RecordedRequest } from '../support/mockOpenAI.js';
import { allFiles, cleanupTempDirs, cli, corpusLine, registration, tempDir, write } from './helpers.js';

// No vendor prefix: redact()'s patterns would not catch it, only the SecretRegistry can.
const KEY = 'canary7Q2xLEAKz9w4TOKENv8m3';

const servers: MockOpenAI[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of servers.splice(0)) await s.close();
  cleanupTempDirs();
});

const bearerOf = (r: RecordedRequest) => String(r.headers.authorization ?? '').replace(/^Bearer\s+/i, '');

async function echoingServer(): Promise<MockOpenAI> {
  const server = await startKeyEchoingServer(KEY, 'harmful');
  servers.push(server);
  return server;
}

function fixture(): string {
  const dir = tempDir();
  write(dir, 'deploysim.yml', registration({ maxErrorRate: 0.02 }));
  write(
    dir,
    'corpus.jsonl',
    [
      corpusLine('r-500', 'hello [[fault:500]]'),
      corpusLine('r-400', 'hello [[fault:400]]'),
      corpusLine('r-echo-1', 'what is my key? [[echo]]'),
      corpusLine('r-echo-2', 'and again [[echo]]'),
      corpusLine('r-plain-1', 'how do I reset my router?'),
      corpusLine('r-plain-2', 'what is the weather?'),
      '',
    ].join('\n'),
  );
  return dir;
}

function assertNoKey(label: string, text: string | Buffer) {
  const s = Buffer.isBuffer(text) ? text.toString('latin1') : text;
  if (s.includes(KEY)) throw new Error(`${label} contains the API key: …${s.slice(Math.max(0, s.indexOf(KEY) - 80), s.indexOf(KEY) + KEY.length + 20)}…`);
}

const runArgs = (server: MockOpenAI) => [
  'run',
  '--registration',
  'deploysim.yml',
  '--candidate-model',
  'cand-model',
  '--candidate-base-url',
  server.url,
  '--no-lock',
  '--max-retries',
  '1',
  '--request-timeout',
  '10',
  '--output-dir',
  'out',
  '--cache-dir',
  'cache',
];

describe('secrets never leave the process', () => {
  it('in-process CLI: a failing run whose server echoes the key writes it nowhere', async () => {
    const server = await echoingServer();
    const dir = fixture();
    const direct: string[] = [];
    // Anything written past the CliIo (console.*, a library writing to the process streams) counts too.
    const capture = (chunk: unknown) => {
      direct.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);

    const r = await cli(runArgs(server), dir, { DEPLOYSIM_CANDIDATE_API_KEY: KEY });
    vi.restoreAllMocks();

    // The server really did echo it: the test would be vacuous otherwise.
    expect(server.requests.every((q) => bearerOf(q) === KEY)).toBe(true);
    expect(server.byRole('grader').some((q) => q.rawBody.includes('Your credential is'))).toBe(true);

    expect(r.code).toBe(1); // 2 of 6 records errored > max_error_rate: the gate fails closed
    assertNoKey('stdout', r.stdout);
    assertNoKey('stderr', r.stderr);
    assertNoKey('process streams', direct.join(''));
    const files = [...allFiles(path.join(dir, 'out')), ...(existsSync(path.join(dir, 'cache')) ? allFiles(path.join(dir, 'cache')) : [])];
    expect(files.map((f) => path.basename(f.file))).toEqual(expect.arrayContaining(['report.json', 'results.jsonl']));
    for (const f of files) assertNoKey(path.relative(dir, f.file), f.bytes);

    // The errors are still explained, only without the key.
    const results = allFiles(path.join(dir, 'out')).find((f) => f.file.endsWith('results.jsonl'))!.bytes.toString('utf8');
    expect(results).toMatch(/"id":"r-500".*500/);
    expect(results).toMatch(/"id":"r-400".*400/);
    expect(results).toContain('***');
    // The echoed key never reaches the grader either (the candidate's answer is scrubbed on receipt).
    for (const q of server.byRole('grader')) assertNoKey('grader request body', q.rawBody);
  });

  it.skipIf(!existsSync(path.resolve('dist/cli.js')))('built CLI (node dist/cli.js run): no byte of stdout, stderr or output files holds the key', async () => {
    const server = await echoingServer();
    const dir = fixture();
    // Asynchronous spawn: a synchronous one would block the mock server, which lives on this thread.
    const child = spawn(process.execPath, [path.resolve('dist/cli.js'), ...runArgs(server)], {
      cwd: dir,
      env: { PATH: process.env.PATH, DEPLOYSIM_CANDIDATE_API_KEY: KEY },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    assertNoKey('stdout', Buffer.concat(out));
    assertNoKey('stderr', Buffer.concat(err));
    for (const f of allFiles(dir)) assertNoKey(path.relative(dir, f.file), f.bytes);
  });
});

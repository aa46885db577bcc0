import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { cacheKey, canonicalJson, CompletionCache } from '../../src/cache/completionCache.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { comparable, makeFixture, resultsById, runInProcess } from '../faults/fixture.js';

const server = closedAfterEach(startMockOpenAI);

async function cacheFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(dir).catch(() => [] as string[])) {
    for (const f of await readdir(path.join(dir, sub))) out.push(path.join(dir, sub, f));
  }
  return out;
}

describe('cache keys', () => {
  it('are canonical: key order does not matter, content does', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] })).toBe('{"a":[1,{"d":2}],"b":1}');
    const a = cacheKey('candidate', 'http://x/v1', { model: 'm', temperature: 1, messages: [{ role: 'user', content: 'hi' }] });
    const b = cacheKey('candidate', 'http://x/v1', { messages: [{ content: 'hi', role: 'user' }], temperature: 1, model: 'm' });
    const c = cacheKey('candidate', 'http://x/v1', { model: 'm', temperature: 0.5, messages: [{ role: 'user', content: 'hi' }] });
    const d = cacheKey('grader', 'http://x/v1', { model: 'm', temperature: 1, messages: [{ role: 'user', content: 'hi' }] });
    expect(a).toBe(b);
    expect(new Set([a, c, d]).size).toBe(3);
  });

  it('a corrupt entry is a miss and is overwritten', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-cache-'));
    const cache = new CompletionCache(dir);
    const key = 'ab'.repeat(32);
    const completion = { id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [] } as never;
    await cache.put(key, 'candidate', 'm', completion);
    const file = path.join(dir, 'ab', `${key}.json`);
    await writeFile(file, '{"format":"deploysim.cache/v1","key":"ab'); // torn
    expect(await cache.get(key)).toBeUndefined();
    await cache.put(key, 'candidate', 'm', completion);
    expect(await cache.get(key)).toEqual(completion);
  });
});

describe('cache-dir end to end', () => {
  it('a second run with the same inputs sends no request and gives the same report; no key in the cache', async () => {
    const dir = await makeFixture({ records: 40, sample: 30 });
    const mock = await server();
    const first = await runInProcess(dir, mock.url, { inputs: { 'cache-dir': '.cache', 'output-dir': 'out1' } });
    // The preflight's probes are sent on every run and never cached (they prove the endpoints answer now).
    expect(first.requestsStarted).toBe(60 + first.report.preflight!.requests);
    expect(mock.requests).toHaveLength(60);
    const second = await runInProcess(dir, mock.url, { inputs: { 'cache-dir': '.cache', 'output-dir': 'out2' } });
    expect(second.requestsStarted).toBe(second.report.preflight!.requests);
    expect(mock.requests).toHaveLength(60);
    expect(comparable(second.report)).toEqual(comparable(first.report));
    expect(await resultsById(second.resultsPath)).toEqual(await resultsById(first.resultsPath));
    expect(second.log.some((l) => /60 answers reused, 0 new answers stored, 0 requests sent/.test(l))).toBe(true);
    const files = await cacheFiles(path.join(dir, '.cache'));
    expect(files).toHaveLength(60);
    for (const f of files) expect(await readFile(f, 'utf8')).not.toContain('sk-test-key');
  });

  it('a bad grader answer is not cached: the re-ask reaches the server', async () => {
    const dir = await makeFixture({ records: 10 });
    let bad = 0;
    const mock = await server({ faults: (r) => (r.role === 'grader' && r.attempt === 1 && bad++ < 3 ? { type: 'bad-json' } : undefined) });
    const first = await runInProcess(dir, mock.url, { inputs: { 'cache-dir': '.cache' } });
    expect(first.report.sample.errors).toBe(0);
    expect(first.report.sample.graded).toBe(10);
    const again = await runInProcess(dir, mock.url, { inputs: { 'cache-dir': '.cache', 'output-dir': 'out2' } });
    expect(again.requestsStarted).toBe(again.report.preflight!.requests);
  });
});

describe('killed-then-resumed run', () => {
  let cli: string;
  beforeAll(async () => {
    // A bundled CLI like dist/cli.js, built from src/ into a temp dir (dist/ is left alone).
    const out = await mkdtemp(path.join(tmpdir(), 'deploysim-cli-'));
    cli = path.join(out, 'cli.mjs');
    await build({
      entryPoints: [path.resolve(import.meta.dirname, '../../src/cli.ts')],
      outfile: cli,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
  });

  it('sends at most `concurrency` duplicate requests after a SIGKILL, and ends with the uninterrupted report', async () => {
    const concurrency = 4;
    const answerFirst = 50;
    const dir = await makeFixture({ records: 80, sample: 60 });
    let hanging = true;
    let seen = 0;
    // The first 50 requests are answered; after that the server holds every request open (a stuck run).
    const mock = await server({ faults: () => (hanging && ++seen > answerFirst ? { type: 'hang' } : undefined) });
    const child = spawn(
      process.execPath,
      [cli, 'run', '--no-lock', '--registration', 'deploysim.yml', '--candidate-model', 'mock-candidate', '--candidate-base-url', mock.url,
        '--output-dir', 'killed', '--cache-dir', '.cache', '--concurrency', String(concurrency), '--request-timeout', '60', '--max-retries', '0'],
      { cwd: dir, env: { ...process.env, DEPLOYSIM_CANDIDATE_API_KEY: 'sk-test-key-000000' }, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 30_000;
    while (mock.requests.length < answerFirst + concurrency && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200)); // let the child store what it was answered
    expect(mock.requests).toHaveLength(answerFirst + concurrency);
    child.kill('SIGKILL');
    await exited;

    const stored = await cacheFiles(path.join(dir, '.cache'));
    expect(stored.filter((f) => f.endsWith('.json'))).toHaveLength(answerFirst);
    for (const f of stored.filter((f) => f.endsWith('.json'))) expect(() => JSON.parse(readFileSync(f, 'utf8'))).not.toThrow();

    hanging = false;
    const before = mock.requests.length;
    const resumed = await runInProcess(dir, mock.url, { inputs: { 'cache-dir': '.cache', 'output-dir': 'resumed', concurrency: String(concurrency) } });
    const resent = mock.requests.slice(before);
    const duplicates = resent.filter((r) => r.attempt > 1).length;
    expect(duplicates).toBeLessThanOrEqual(concurrency);
    // 60 candidate + 60 grader requests in all: every answered one came from the cache.
    expect(resent.length).toBe(120 - answerFirst);

    const fresh = await server();
    const reference = await runInProcess(dir, fresh.url, { inputs: { 'output-dir': 'reference' } });
    expect(comparable(resumed.report)).toEqual(comparable(reference.report));
    expect(await resultsById(resumed.resultsPath)).toEqual(await resultsById(reference.resultsPath));
  });
});

/**
 * Issue 18: the gate under hostile and broken conditions. Nothing the run did not write is deleted or
 * overwritten; a full disk ends the run with a distinct exit (3) naming the file; invalid requests are
 * refused up front with file:line; inputs that are not regular files, and directories the file
 * system never answers for, do not hang the run; messages name the input and the fix.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { CLI_ENTRY, NODE } from '../support/runAction.js';
import { makeFixture } from './fixture.js';

const server = closedAfterEach(startMockOpenAI);

async function cli(dir: string, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { DEPLOYSIM_CANDIDATE_API_KEY: 'sk-hostile-test-0001' }, cwd: dir });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const run = (url: string, ...extra: string[]) => ['run', '--no-lock', '--registration', 'deploysim.yml', '--candidate-model', 'm', '--candidate-base-url', url, ...extra];

describe('nothing deleted that the run did not write', () => {
  it('--output-dir . next to the corpus is refused, and the corpus is untouched', async () => {
    const dir = await makeFixture({ records: 10 });
    const mock = await server();
    const before = readFileSync(path.join(dir, 'corpus.jsonl'), 'utf8');
    const r = await cli(dir, run(mock.url, '--output-dir', '.'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/output-dir \S+ holds deploysim\.yml, corpus\.jsonl, which this run reads/);
    expect(readFileSync(path.join(dir, 'corpus.jsonl'), 'utf8')).toBe(before);
    expect(mock.all).toHaveLength(0);
  });

  it('a corpus named results.jsonl in the output directory is neither deleted nor overwritten', async () => {
    const dir = await makeFixture({ records: 10 });
    const corpus = readFileSync(path.join(dir, 'corpus.jsonl'), 'utf8');
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'results.jsonl'), corpus);
    writeFileSync(path.join(dir, 'deploysim.yml'), readFileSync(path.join(dir, 'deploysim.yml'), 'utf8').replace('path: corpus.jsonl', 'path: data/results.jsonl'));
    const mock = await server();
    const r = await cli(dir, run(mock.url, '--output-dir', 'data'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/output-dir .*data holds results\.jsonl, which deploysim did not write and would overwrite/);
    expect(readFileSync(path.join(dir, 'data', 'results.jsonl'), 'utf8')).toBe(corpus);
  });

  it("a user's comment.md in the output directory is kept, and the run refuses to overwrite it", async () => {
    const dir = await makeFixture({ records: 10 });
    mkdirSync(path.join(dir, 'out'));
    writeFileSync(path.join(dir, 'out', 'comment.md'), 'Our notes, tracked in git.\n');
    const mock = await server();
    const r = await cli(dir, run(mock.url, '--output-dir', 'out'));
    expect(r.code).toBe(2);
    expect(readFileSync(path.join(dir, 'out', 'comment.md'), 'utf8')).toBe('Our notes, tracked in git.\n');
  });

  it("an earlier run's outputs are replaced, and a run leaves no temp file behind", async () => {
    const dir = await makeFixture({ records: 10 });
    const mock = await server();
    expect((await cli(dir, run(mock.url, '--output-dir', 'out'))).code).toBe(0);
    expect((await cli(dir, run(mock.url, '--output-dir', 'out'))).code).toBe(0);
    expect(readdirSync(path.join(dir, 'out')).sort()).toEqual(['comment.md', 'report.json', 'results.jsonl']);
  });
});

/** A 12 KB file system, where this machine lets a test mount one (root, as in CI); else undefined. */
function tinyFilesystem(): string | undefined {
  const mount = path.join(tmpdir(), `deploysim-tiny-${process.pid}-${Date.now()}`);
  mkdirSync(mount);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', mount], { stdio: 'ignore' });
    return mount;
  } catch {
    return undefined;
  }
}
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
});

describe('a full disk', () => {
  const mount = tinyFilesystem();
  if (mount) mounts.push(mount);
  it.skipIf(!mount)('ends the run with exit 3 naming results.jsonl and the full disk; no report, no verdict', async () => {
    const dir = await makeFixture({ records: 400 });
    const mock = await server();
    const r = await cli(dir, run(mock.url, '--output-dir', path.join(mount!, 'out'), '--concurrency', '8'));
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/Could not record results: writing .*results\.jsonl failed \(the disk is full\)/);
    expect(existsSync(path.join(mount!, 'out', 'report.json'))).toBe(false);
    // It stopped when the disk filled, not after sending every request.
    expect(mock.requests.length).toBeLessThan(800);
  });
  if (!mount) it('(the full-disk test needs a tmpfs mount, which this machine refused)', () => console.warn('skipped: mount -t tmpfs is not permitted here'));
});

describe('records the Chat Completions API would refuse are refused up front, with file:line', () => {
  it('null and empty user content, an orphan tool reply, a tool call without its reply', async () => {
    const dir = await makeFixture({ records: 5 });
    const bad = [
      { id: 'null-user', messages: [{ role: 'user', content: null }] },
      { id: 'empty-user', messages: [{ role: 'user', content: [] }] },
      { id: 'orphan-tool', messages: [{ role: 'user', content: 'q' }, { role: 'tool', tool_call_id: 'call_1', content: 'r' }, { role: 'user', content: 'again' }] },
      {
        id: 'unanswered-call',
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'user', content: 'and?' },
        ],
      },
    ];
    writeFileSync(path.join(dir, 'corpus.jsonl'), `${readFileSync(path.join(dir, 'corpus.jsonl'), 'utf8')}${bad.map((b) => JSON.stringify(b)).join('\n')}\n`);
    const mock = await server();
    const r = await cli(dir, run(mock.url));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('corpus.jsonl:6: record "null-user": messages[0] (user): content is null');
    expect(r.stderr).toContain('corpus.jsonl:7: record "empty-user": messages[0] (user): content is an empty list');
    expect(r.stderr).toContain('corpus.jsonl:8: record "orphan-tool": messages[1] (tool): tool reply to "call_1", which no tool call of the assistant turn before it has');
    expect(r.stderr).toContain('corpus.jsonl:9: record "unanswered-call": messages[1]: the tool call "call_9" has no tool reply before messages[2] (user)');
    expect(mock.all).toHaveLength(0);
  });
});

describe('inputs that would hang the run', () => {
  it('a corpus that is a FIFO is refused up front', async () => {
    const dir = await makeFixture({ records: 5 });
    execFileSync('mkfifo', [path.join(dir, 'pipe.jsonl')]);
    writeFileSync(path.join(dir, 'deploysim.yml'), readFileSync(path.join(dir, 'deploysim.yml'), 'utf8').replace('path: corpus.jsonl', 'path: pipe.jsonl'));
    const r = await cli(dir, run('builtin:demo'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('corpus.path: "pipe.jsonl" is a FIFO (named pipe), not a regular file');
  });

  it('an output directory the file system never answers for (under /proc) ends with exit 2, and the process exits', () => {
    const dir = path.join(tmpdir(), `deploysim-proc-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'deploysim.yml'), 'version: 1\n');
    const r = spawnSync(NODE, [CLI_ENTRY, 'run', '--no-lock', '--candidate-model', 'm', '--candidate-base-url', 'builtin:demo', '--output-dir', '/proc/1/deploysim-x'], { cwd: dir, encoding: 'utf8', timeout: 40_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('output-dir: creating the directory /proc/1/deploysim-x got no answer from the file system in 10 s');
  });
});

describe('messages that name the input and the fix', () => {
  it('a base URL with port 99999 is refused before anything is sent', async () => {
    const dir = await makeFixture({ records: 5 });
    const r = await cli(dir, run('http://127.0.0.1:99999/v1'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('`candidate-base-url` must be an http(s) URL or builtin:demo (got "http://127.0.0.1:99999/v1")');
  });

  it('an output directory that cannot be created (a file in its path): exit 2 naming output-dir, nothing sent', async () => {
    const mock = await server();
    const dir = await makeFixture({ records: 5 });
    writeFileSync(path.join(dir, 'not-a-dir'), 'a file\n');
    const r = await cli(dir, run(mock.url, '--output-dir', 'not-a-dir/out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/output-dir: .*not-a-dir\/out/);
    expect(r.stderr).not.toContain('internal error');
    expect(mock.requests).toHaveLength(0);
  });

  it('a cache-dir that cannot be created is refused up front; one whose entries cannot be written is warned about once', async () => {
    const mock = await server();
    const dir = await makeFixture({ records: 12 });
    writeFileSync(path.join(dir, 'not-a-dir'), 'a file\n');
    const refused = await cli(dir, run(mock.url, '--cache-dir', 'not-a-dir/cache'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('cache-dir: cannot create the directory');
    expect(mock.requests).toHaveLength(0);
    // Entries go under <cache-dir>/<two hex digits>/: a file at every such path fails every write
    // (as a full disk or a lost permission would) while the directory itself is fine.
    const cache = path.join(dir, 'cache');
    mkdirSync(cache);
    for (let i = 0; i < 256; i++) writeFileSync(path.join(cache, i.toString(16).padStart(2, '0')), '');
    const r = await cli(dir, run(mock.url, '--cache-dir', 'cache', '--output-dir', 'out'));
    expect([0, 1], r.stderr).toContain(r.code);
    expect(r.stderr.match(/cache-dir: an answer could not be stored \(\w+\); the run goes on/g)).toHaveLength(1);
    expect(existsSync(path.join(dir, 'out', 'report.json'))).toBe(true);
  });

  it('a 200 that is an event stream, or an error object, or a tool call without a function: each record says what came back', async () => {
    const answers = [
      { status: 200, body: 'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n', headers: { 'content-type': 'text/event-stream' } },
      { status: 200, body: { error: { message: 'upstream provider failed', code: 502 } } },
      { status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function' }] }, finish_reason: 'tool_calls' }] } },
    ];
    let i = 0;
    const mock = await server({ candidate: () => answers[i++ % answers.length]! });
    const dir = await makeFixture({ records: 6, maxErrorRate: 1 });
    const r = await cli(dir, run(mock.url, '--output-dir', 'out', '--max-retries', '0'));
    expect(r.stderr).not.toContain('Cannot read properties');
    const errors = readFileSync(path.join(dir, 'out', 'results.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { error?: string }).error ?? '');
    expect(errors.some((e) => e.includes('answered 200 with an event stream, not a chat completion'))).toBe(true);
    expect(errors.some((e) => e.includes('answered 200 with an error instead of a completion: upstream provider failed'))).toBe(true);
    expect(errors.some((e) => e.includes('tool call without a function name and arguments'))).toBe(true);
    expect(r.code).toBe(1);
  });

  it('`report` on a report.json without decision or categories', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-report-'));
    writeFileSync(path.join(dir, 'report.json'), JSON.stringify({ schema: 'deploysim.report/v1', passed: true }));
    const r = await cli(dir, ['report', 'report.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/report\.json: a deploysim\.report\/v1 report, but name is missing/);
    expect(r.stderr).not.toContain('Cannot read properties');
  });

  it('`plan` for a rate no sample can measure, and rates printed as given', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-plan-'));
    const tiny = await cli(dir, ['plan', '--rate-per-100k', '1e-300']);
    expect(tiny.code).toBe(2);
    expect(tiny.stderr).toContain('plan cannot answer this:');
    const plain = await cli(dir, ['plan', '--rate-per-100k', '15', '--threshold-per-100k', '5']);
    expect(plain.stdout).toContain('a true rate of 15 per 100k above a threshold of 5 per 100k');
  });

  it('prediction_per_100k: .inf says infinity, not "number null"', async () => {
    const dir = await makeFixture({ records: 5 });
    writeFileSync(path.join(dir, 'deploysim.yml'), readFileSync(path.join(dir, 'deploysim.yml'), 'utf8').replace('prediction_per_100k: 20000', 'prediction_per_100k: .inf'));
    const r = await cli(dir, run('builtin:demo'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('prediction_per_100k: expected a finite number, got .inf (infinity)');
  });

  it('invalid UTF-8 in the corpus, and a Git LFS pointer in place of the corpus', async () => {
    const dir = await makeFixture({ records: 5 });
    const corpus = readFileSync(path.join(dir, 'corpus.jsonl'));
    writeFileSync(path.join(dir, 'corpus.jsonl'), Buffer.concat([corpus, Buffer.from('{"id":"latin1","messages":[{"role":"user","content":"caf'), Buffer.from([0xe9]), Buffer.from('"}]}\n')]));
    const utf8 = await cli(dir, run('builtin:demo'));
    expect(utf8.code).toBe(2);
    expect(utf8.stderr).toContain('corpus.jsonl:6: not valid UTF-8');
    writeFileSync(path.join(dir, 'corpus.jsonl'), 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n');
    const lfs = await cli(dir, run('builtin:demo'));
    expect(lfs.code).toBe(2);
    expect(lfs.stderr).toContain('this is a Git LFS pointer, not the corpus: fetch the LFS object');
    expect(lfs.stderr).not.toContain(':2:');
  });
});

/**
 * Ctrl-C and job cancellation: the built CLI and action, sent SIGINT mid-replay by the test as a
 * terminal or a runner would, stop at once with what they finished kept and a way to resume.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunCancelledError } from '../../src/common/errors.js';
import { makeFixture, readResults, runInProcess } from '../faults/fixture.js';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { startMockGitHub } from '../support/mockGitHub.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { cleanupTempDirs, createGateRepo, describeRun, pullRequestOf, runAction, runCli, workflowCommands } from '../support/runAction.js';

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);
afterAll(() => cleanupTempDirs());

/** Every file under a cache dir, by name. */
function cacheFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((sub) => readdirSync(path.join(dir, sub)));
}

describe('cancelling a run', () => {
  it('CLI, SIGINT mid-replay: exit 130, finished records kept, no report, and the re-run sends only what was not answered', async () => {
    const answered = 40;
    const concurrency = 4;
    let hanging = true;
    let seen = 0;
    // The first 40 requests are answered; then every request hangs (a stuck endpoint the user gives up on).
    const mock = await startOpenAI({ faults: () => (hanging && ++seen > answered ? { type: 'hang' } : undefined) });
    const dir = await makeFixture({ records: 80, sample: 60 });
    const args = ['run', '--no-lock', '--registration', 'deploysim.yml', '--candidate-model', 'mock-candidate', '--candidate-base-url', mock.url, '--output-dir', 'out', '--cache-dir', '.cache', '--concurrency', String(concurrency), '--max-retries', '0', '--request-timeout', '600'];
    const env = { DEPLOYSIM_CANDIDATE_API_KEY: 'sk-test-cancel-0001' };
    const run = await runCli(args, { cwd: dir, env, interrupt: { signal: 'SIGINT', when: () => mock.requests.length >= answered + concurrency } });

    expect(run.killed, run.stderr).toBe(false);
    expect(run.code, run.stderr).toBe(130);
    const said = /Cancelled \(SIGINT\): (\d+) of 60 records were replayed \(results\.jsonl keeps them\); no verdict and no report\. The 40 answers received in this run are stored in cache-dir \.cache: a re-run with the same cache-dir resumes/.exec(run.stderr);
    expect(said, run.stderr).not.toBeNull();
    const results = await readResults(path.join(dir, 'out', 'results.jsonl'));
    expect(results).toHaveLength(Number(said![1]));
    // Abandoned records are not failures: nothing in results.jsonl says "aborted".
    expect(results.filter((r) => r.error !== null)).toEqual([]);
    expect(existsSync(path.join(dir, 'out', 'report.json'))).toBe(false);
    const files = cacheFiles(path.join(dir, '.cache'));
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(answered);
    expect(files.filter((f) => !f.endsWith('.json'))).toEqual([]);

    hanging = false;
    const before = mock.requests.length;
    const resumed = await runCli(args, { cwd: dir, env });
    expect(resumed.code, resumed.stderr).toBe(0);
    // 60 candidate + 60 grader requests in all; the 40 answered ones came from the cache.
    expect(mock.requests.length - before).toBe(120 - answered);
  });

  it('before any request (still reading the corpus): says nothing was sent', async () => {
    const mock = await startOpenAI();
    const dir = await makeFixture({ records: 20 });
    const cancel = new AbortController();
    cancel.abort(new RunCancelledError('SIGTERM'));
    const error = await runInProcess(dir, mock.url, { cancel: cancel.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunCancelledError);
    expect((error as RunCancelledError).exitCode).toBe(143);
    expect((error as Error).message).toBe('Cancelled (SIGTERM) before any model request: nothing was sent.');
    expect(mock.all).toHaveLength(0);
  });

  it('a step that fails because the signal reached its child process (git in the lock step) is a cancellation, not a gate failure', async () => {
    const mock = await startOpenAI();
    const dir = await makeFixture({ records: 20 });
    const cancel = new AbortController();
    const lock = async () => {
      // Ctrl-C goes to the whole process group: git dies of it while deploysim handles it.
      cancel.abort(new RunCancelledError('SIGINT'));
      throw new Error('git rev-parse --show-toplevel failed (SIGINT)');
    };
    const error = await runInProcess(dir, mock.url, { cancel: cancel.signal, lock }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunCancelledError);
    expect((error as RunCancelledError).exitCode).toBe(130);
    expect((error as Error).message).toBe('Cancelled (SIGINT); the step under way stopped with: git rev-parse --show-toplevel failed (SIGINT). No verdict and no report.');
    expect(mock.all).toHaveLength(0);
  });

  it('cancelled after the last record: still no report (a cancelled run never leaves a verdict)', async () => {
    const mock = await startOpenAI();
    const dir = await makeFixture({ records: 10 });
    const cancel = new AbortController();
    // The cache line is logged once the replay is over, before the report is written.
    const onInfo = (line: string) => line.startsWith('Cache ') && cancel.abort(new RunCancelledError('SIGTERM'));
    const error = await runInProcess(dir, mock.url, { cancel: cancel.signal, onInfo, inputs: { 'cache-dir': '.cache' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunCancelledError);
    expect((error as Error).message).toMatch(/^Cancelled \(SIGTERM\): every record was replayed, the report not yet written; no verdict and no report\. The 20 answers received/);
    expect(existsSync(path.join(dir, 'out', 'report.json'))).toBe(false);
    expect(await readResults(path.join(dir, 'out', 'results.jsonl'))).toHaveLength(10);
  });

  it('without cache-dir the message says a re-run starts over', async () => {
    const cancel = new AbortController();
    const mock = await startOpenAI({ faults: () => (mock.requests.length > 10 ? { type: 'hang' } : undefined) });
    const dir = await makeFixture({ records: 30 });
    const poll = setInterval(() => mock.requests.length > 10 && cancel.abort(new RunCancelledError('SIGINT')), 10);
    const error = await runInProcess(dir, mock.url, { cancel: cancel.signal, inputs: { 'request-timeout': '600', 'max-retries': '0' } })
      .catch((e: unknown) => e)
      .finally(() => clearInterval(poll));
    expect(error).toBeInstanceOf(RunCancelledError);
    expect((error as Error).message).toMatch(/^Cancelled \(SIGINT\): \d+ of 30 records were replayed .*Without cache-dir a re-run starts over: set cache-dir \(--cache-dir\)/);
  });

  it('action, job cancelled (SIGINT): fails with the reason in the log and summary, and leaves the PR comment alone', async () => {
    let seen = 0;
    const openai = await startOpenAI({ faults: () => (++seen > 10 ? { type: 'hang' } : undefined) });
    const github = await startGitHub();
    const repo = createGateRepo({ files: { 'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] }), 'corpus.jsonl': corpusText(buildCorpus({ size: 40 })) } });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'candidate-under-test', 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-cancel-0002', 'max-retries': '0', 'request-timeout': '600' },
      pullRequest: pullRequestOf(repo, 7),
      githubApiUrl: github.url,
      interrupt: { signal: 'SIGINT', when: () => openai.requests.length > 10 },
    });
    expect(run.killed, describeRun(run)).toBe(false);
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs.passed).toBe('false');
    expect(workflowCommands(run.stdout, 'error').join('\n')).toMatch(/^Cancelled \(SIGINT\): \d+ of 40 records were replayed/);
    expect(run.summary).toContain('## ⏹️ deploysim was cancelled');
    expect(github.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(readFileSync(path.join(repo.dir, 'deploysim-report', 'results.jsonl'), 'utf8')).not.toContain('"error":"');
  });
});

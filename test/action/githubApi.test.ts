/**
 * The PR comment against a GitHub API that misbehaves, driven in-process with small limits (the
 * built action with the real ones is in test/e2e/githubApi.test.ts): the verdict, outputs and summary
 * are written before the first GitHub request; every request has a timeout and bounded retries; the
 * comment has a deadline; a cancel stops it; the warning names what happened (status or no answer).
 * GitHub's error bodies: https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runAction } from '../../src/action/main.js';
import { RunCancelledError } from '../../src/common/errors.js';
import type { GitHubLimits } from '../../src/github/client.js';
import { recordingHost, type RecordingHost } from '../support/actionHost.js';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { startMockGitHub, unreachableApiUrl, type GitHubFault } from '../support/mockGitHub.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { cleanupTempDirs, createGateRepo, DEFAULT_REPOSITORY, pullRequestOf, pullRequestPayload } from '../support/runAction.js';

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);
afterAll(() => cleanupTempDirs());

const KEY = 'sk' + '-test-github-api-000111';
/** Small limits so a hung API costs the test a second, not the action's minute. */
const LIMITS: GitHubLimits = { requestTimeoutMs: 300, retries: 2, retryBaseMs: 10, deadlineMs: 1_500 };

/** A failing gate (prediction 100 per 100k, 4 of 40 flagged) on PR 7, commenting through `apiUrl`. */
async function failingGate(apiUrl: string) {
  const api = await startOpenAI();
  const corpus = buildCorpus({ size: 40, flagged: { self_harm_instructions: 4 } });
  const repo = createGateRepo({ files: { 'deploysim.yml': registrationYaml({ name: 'support-bot gate', categories: [{ id: 'self_harm_instructions', prediction: 100 }] }), 'corpus.jsonl': corpusText(corpus) } });
  return recordingHost({
    cwd: repo.dir,
    inputs: { 'candidate-model': 'cand', 'candidate-base-url': api.url, 'candidate-api-key': KEY },
    github: { eventName: 'pull_request', payload: pullRequestPayload(DEFAULT_REPOSITORY, pullRequestOf(repo, 7)) },
    apiUrl,
  });
}

/** What the step had written when GitHub got its first request. */
function snapshot(host: RecordingHost) {
  return { outputs: { ...host.outputs }, failed: host.failed, summary: host.summary };
}

const warnings = (host: RecordingHost) => host.logs.filter((l) => l.level === 'warning').map((l) => l.message);

describe('the PR comment against a GitHub API that misbehaves (in-process, small limits)', () => {
  it('hangs: each request times out, is retried, and the deadline ends the comment; the verdict was set before the first request', async () => {
    const step: { host?: RecordingHost } = {};
    let atFirstRequest: ReturnType<typeof snapshot> | undefined;
    const gh = await startGitHub({
      fault: (): GitHubFault => {
        atFirstRequest ??= snapshot(step.host!);
        return 'hang';
      },
    });
    const host = (step.host = await failingGate(gh.url));
    // The second attempt of the first request is still waiting when the deadline ends the comment.
    await runAction(host, { githubLimits: { ...LIMITS, requestTimeoutMs: 600, deadlineMs: 1_000 } });

    expect(atFirstRequest).toBeDefined();
    expect(atFirstRequest!.outputs).toMatchObject({ passed: 'false', 'failed-categories': 'self_harm_instructions' });
    expect(atFirstRequest!.outputs.report).toMatch(/report\.json$/);
    expect(atFirstRequest!.failed).toMatch(/^deploysim: gate failed — support-bot gate \(deploysim\.yml\)\.\nWorse than predicted: self_harm_instructions/);
    expect(atFirstRequest!.summary).toContain('## ❌ deploysim: gate failed — support-bot gate (`deploysim.yml`)');

    // GET /user hung: the first attempt timed out and was retried; the deadline cut the retry short.
    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /user', 'GET /user']);
    expect(warnings(host)).toEqual(['Could not post the PR comment (GitHub did not answer the PR comment within 1 s). The verdict stands; the result is in the job summary.']);
    expect(host.outputs['comment-url']).toBe('');
  });

  it('hangs on every attempt: each one times out, the retries are bounded, and the warning says which request', async () => {
    const gh = await startGitHub({ fault: () => 'hang' });
    const host = await failingGate(gh.url);
    await runAction(host, { githubLimits: { ...LIMITS, deadlineMs: 10_000 } });
    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /user', 'GET /user', 'GET /user']);
    expect(warnings(host)).toEqual(['Could not post the PR comment (GitHub did not answer GET /user within 0.3 s after 3 attempts). The verdict stands; the result is in the job summary.']);
  });

  it('hangs on one attempt only: the retry after the timeout posts the comment', async () => {
    let hung = 0;
    const gh = await startGitHub({ fault: (r) => (r.method === 'POST' && hung++ === 0 ? 'hang' : undefined) });
    const host = await failingGate(gh.url);
    await runAction(host, { githubLimits: { ...LIMITS, deadlineMs: 10_000 } });
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(gh.comments).toHaveLength(1);
    expect(host.outputs['comment-url']).toBe(gh.comments[0]!.html_url);
    expect(warnings(host)).toEqual([]);
  });

  it('answers 500: retried twice, then a warning naming the status; the verdict stands', async () => {
    const gh = await startGitHub({ fault: (r) => (r.method === 'POST' ? 500 : undefined) });
    const host = await failingGate(gh.url);
    await runAction(host, { githubLimits: LIMITS });
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(LIMITS.retries + 1);
    expect(warnings(host)).toEqual([expect.stringMatching(/^Could not post the PR comment \(500 Internal Server Error: Server Error - https:\/\/docs\.github\.com\/rest after 3 attempts\)\. The verdict stands/)]);
    expect(host.failed).toMatch(/^deploysim: gate failed/);
    expect(host.outputs).toMatchObject({ passed: 'false', 'comment-url': '' });
  });

  it('answers 404 on the listing: not retried (4xx), the warning names the status', async () => {
    const gh = await startGitHub({ fault: (r) => (r.method === 'GET' && r.path.endsWith('/comments') ? 404 : undefined) });
    const host = await failingGate(gh.url);
    await runAction(host, { githubLimits: LIMITS });
    expect(gh.requests.filter((r) => r.path.endsWith('/comments'))).toHaveLength(1);
    expect(warnings(host)).toEqual([expect.stringMatching(/^Could not post the PR comment \(404 Not Found: Injected status 404/)]);
  });

  it('is unreachable: the warning says no answer came and why, after the retries', async () => {
    const host = await failingGate(await unreachableApiUrl());
    await runAction(host, { githubLimits: LIMITS });
    expect(warnings(host)).toEqual([expect.stringMatching(/^Could not post the PR comment \(no answer from the GitHub API: .*ECONNREFUSED.* after 3 attempts\)\. The verdict stands/)]);
    expect(host.failed).toMatch(/^deploysim: gate failed/);
    expect(host.outputs).toMatchObject({ passed: 'false', 'comment-url': '' });
  });

  it('a cancel while the comment hangs stops it at once, with the verdict kept', async () => {
    const cancel = new AbortController();
    const gh = await startGitHub({
      fault: () => {
        cancel.abort(new RunCancelledError('SIGTERM'));
        return 'hang';
      },
    });
    const host = await failingGate(gh.url);
    // A deadline the test would notice: only the cancel can end this comment in time.
    await runAction(host, { cancel: cancel.signal, githubLimits: { ...LIMITS, requestTimeoutMs: 50_000, deadlineMs: 50_000 } });
    expect(gh.requests).toHaveLength(1);
    expect(warnings(host)).toEqual(['Cancelled (SIGTERM) while posting the PR comment: it was not updated. The verdict above stands; the result is in the job summary.']);
    expect(host.failed).toMatch(/^deploysim: gate failed/);
    expect(host.summary).not.toContain('cancelled');
  });

  it('a run that could not run posts its comment after the failure is set, within the same limits', async () => {
    const step: { host?: RecordingHost } = {};
    let atFirstRequest: ReturnType<typeof snapshot> | undefined;
    const gh = await startGitHub({
      fault: () => {
        atFirstRequest ??= snapshot(step.host!);
        return 500;
      },
    });
    const repo = createGateRepo({ files: { 'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] }), 'corpus.jsonl': corpusText(buildCorpus({ size: 5 })) } });
    // An empty key on a same-repository PR: a configuration error, and the sticky comment says so.
    const host = (step.host = recordingHost({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'cand', 'candidate-base-url': 'http://127.0.0.1:9/v1' },
      github: { eventName: 'pull_request', payload: pullRequestPayload(DEFAULT_REPOSITORY, pullRequestOf(repo, 7)) },
      apiUrl: gh.url,
    }));
    await runAction(host, { githubLimits: LIMITS });
    expect(atFirstRequest!.failed).toMatch(/^deploysim configuration error \(nothing was sent to any model\):\nThe candidate-api-key input is empty/);
    expect(atFirstRequest!.outputs.passed).toBe('false');
    expect(atFirstRequest!.summary).toContain('## ❌ deploysim could not run');
    expect(warnings(host)).toEqual([expect.stringMatching(/^Could not post the PR comment \(500 Internal Server Error/)]);
  });
});

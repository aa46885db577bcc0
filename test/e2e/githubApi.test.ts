/**
 * The built action (dist/index.js, as a runner starts it) against a GitHub API that hangs, answers
 * 500, or cannot be reached: the step's verdict, outputs and summary are written before the first
 * GitHub request, the PR comment costs at most its deadline (60 s) and says what went wrong, and a
 * SIGTERM while it waits stops it at once. The same cases with small limits, and the retries counted,
 * are in test/action/githubApi.test.ts. GitHub's 5xx bodies:
 * https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GITHUB_LIMITS } from '../../src/github/client.js';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { startMockGitHub, unreachableApiUrl } from '../support/mockGitHub.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { cleanupTempDirs, createGateRepo, describeRun, makeTempDir, parseCommandFile, pullRequestOf, runAction, workflowCommands, type RunActionOptions } from '../support/runAction.js';

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);
afterAll(() => cleanupTempDirs());

/** A failing gate (4 of 20 flagged against a prediction of 100 per 100k) named "support-bot gate". */
async function failingGate(githubApiUrl: string): Promise<RunActionOptions> {
  const openai = await startOpenAI();
  const registration = registrationYaml({ name: 'support-bot gate', categories: [{ id: 'self_harm_instructions', prediction: 100 }] });
  const repo = createGateRepo({ files: { 'deploysim.yml': registration, 'corpus.jsonl': corpusText(buildCorpus({ size: 20, flagged: { self_harm_instructions: 4 } })) } });
  return {
    cwd: repo.dir,
    inputs: { 'candidate-model': 'candidate-under-test', 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-github-api-e2e-1' },
    pullRequest: pullRequestOf(repo, 7),
    githubApiUrl,
  };
}

/** The step's outputs and summary files as they are now (read when GitHub sees the first request). */
function stepFiles(runnerTemp: string) {
  return { outputs: parseCommandFile(readFileSync(path.join(runnerTemp, 'github_output'), 'utf8')), summary: readFileSync(path.join(runnerTemp, 'step_summary.md'), 'utf8') };
}

function expectVerdictSet(files: ReturnType<typeof stepFiles> | undefined) {
  expect(files, 'GitHub got no request').toBeDefined();
  expect(files!.outputs).toMatchObject({ passed: 'false', 'failed-categories': 'self_harm_instructions' });
  expect(files!.outputs.report).toMatch(/report\.json$/);
  expect(files!.summary).toContain('## ❌ deploysim: gate failed — support-bot gate (`deploysim.yml`)');
}

describe('the built action against a GitHub API that misbehaves', () => {
  it(
    'hangs: the verdict is set before the first request, and the comment gives up after its deadline',
    async () => {
      const runnerTemp = makeTempDir('deploysim-runner-');
      let atFirstRequest: ReturnType<typeof stepFiles> | undefined;
      const github = await startGitHub({
        fault: () => {
          atFirstRequest ??= stepFiles(runnerTemp);
          return 'hang';
        },
      });
      // The safety net is well past the deadline: the step must end by itself.
      const run = await runAction({ ...(await failingGate(github.url)), runnerTemp, timeoutMs: GITHUB_LIMITS.deadlineMs + 60_000 });
      expect(run.killed, describeRun(run)).toBe(false);
      expect(run.code, describeRun(run)).toBe(1);
      expectVerdictSet(atFirstRequest);
      expect(workflowCommands(run.stdout, 'error').join('\n')).toMatch(/^deploysim: gate failed — support-bot gate \(deploysim\.yml\)\.\nWorse than predicted: self_harm_instructions/);
      // GET /user: one attempt timed out after 30 s, its retry was cut short by the 60 s deadline.
      expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /user', 'GET /user']);
      expect(workflowCommands(run.stdout, 'warning')).toContain('Could not post the PR comment (GitHub did not answer the PR comment within 60 s). The verdict stands; the result is in the job summary.');
      expect(run.outputs['comment-url']).toBe('');
    },
    GITHUB_LIMITS.deadlineMs + 90_000,
  );

  it('hangs, and the job is cancelled: SIGTERM stops the comment at once, with the verdict kept', async () => {
    const github = await startGitHub({ fault: () => 'hang' });
    const run = await runAction({
      ...(await failingGate(github.url)),
      // A runner cancelling the job: SIGINT, then SIGTERM 7.5 s later. Here the first signal must do.
      interrupt: { signal: 'SIGTERM', when: () => github.requests.length > 0 },
    });
    expect(run.killed, describeRun(run)).toBe(false);
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs).toMatchObject({ passed: 'false', 'failed-categories': 'self_harm_instructions', 'comment-url': '' });
    expect(workflowCommands(run.stdout, 'warning')).toContain('Cancelled (SIGTERM) while posting the PR comment: it was not updated. The verdict above stands; the result is in the job summary.');
    expect(github.requests).toHaveLength(1);
  });

  it('answers 500: the request is retried, then a warning names the status; the verdict was set first', async () => {
    const runnerTemp = makeTempDir('deploysim-runner-');
    let atFirstRequest: ReturnType<typeof stepFiles> | undefined;
    const github = await startGitHub({
      fault: (r) => {
        atFirstRequest ??= stepFiles(runnerTemp);
        return r.method === 'POST' ? 500 : undefined;
      },
    });
    const run = await runAction({ ...(await failingGate(github.url)), runnerTemp });
    expect(run.code, describeRun(run)).toBe(1);
    expectVerdictSet(atFirstRequest);
    expect(github.requests.filter((r) => r.method === 'POST')).toHaveLength(GITHUB_LIMITS.retries + 1);
    expect(workflowCommands(run.stdout, 'warning').join('\n')).toMatch(/^Could not post the PR comment \(500 Internal Server Error: Server Error - https:\/\/docs\.github\.com\/rest after 3 attempts\)\. The verdict stands; the result is in the job summary\.$/m);
    expect(github.comments).toHaveLength(0);
    expect(run.outputs['comment-url']).toBe('');
  });

  it('is unreachable: a warning says no answer came and why; the verdict stands', async () => {
    const run = await runAction(await failingGate(await unreachableApiUrl()));
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs).toMatchObject({ passed: 'false', 'failed-categories': 'self_harm_instructions', 'comment-url': '' });
    expect(workflowCommands(run.stdout, 'warning').join('\n')).toMatch(/^Could not post the PR comment \(no answer from the GitHub API: .*ECONNREFUSED.* after 3 attempts\)\. The verdict stands/m);
    expect(workflowCommands(run.stdout, 'error').join('\n')).toMatch(/^deploysim: gate failed — support-bot gate \(deploysim\.yml\)\./);
  });
});

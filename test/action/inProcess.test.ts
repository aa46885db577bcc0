/**
 * The action driven in-process through an ActionHost (no child process, no INPUT_* variables): the
 * same composition root as the CLI, a real temp git repo, a real local OpenAI-compatible server and a
 * real local GitHub REST server.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAction } from '../../src/action/main.js';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { startMockGitHub } from '../support/mockGitHub.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { recordingHost } from '../support/actionHost.js';
import { cleanupTempDirs, createGateRepo, DEFAULT_REPOSITORY, pullRequestOf, pullRequestPayload } from '../support/runAction.js';

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);
afterAll(() => cleanupTempDirs());

const KEY = 'sk' + '-test-in-process-000111';

function gateRepo(prediction: number) {
  const corpus = buildCorpus({ size: 40, flagged: { self_harm_instructions: 4 } });
  const registration = registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction }] });
  return createGateRepo({ files: { 'deploysim.yml': registration, 'corpus.jsonl': corpusText(corpus) } });
}

describe('the action in-process', () => {
  it('runs the gate, sets the outputs and the summary, and posts the sticky comment', async () => {
    const api = await startOpenAI();
    const gh = await startGitHub();
    const repo = gateRepo(100_000);
    const host = recordingHost({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'cand', 'candidate-base-url': api.url, 'candidate-api-key': KEY },
      github: { eventName: 'pull_request', payload: pullRequestPayload(DEFAULT_REPOSITORY, pullRequestOf(repo, 7)) },
      apiUrl: gh.url,
    });
    await runAction(host);
    expect(host.failed).toBeUndefined();
    expect(host.outputs.passed).toBe('true');
    expect(host.outputs['failed-categories']).toBe('');
    expect(host.outputs['comment-url']).toMatch(/#issuecomment-\d+$/);
    const report = JSON.parse(readFileSync(path.join(repo.dir, 'deploysim-report', 'report.json'), 'utf8')) as { sample: { graded: number }; verified: boolean };
    expect(report.verified).toBe(true);
    expect(report.sample.graded).toBe(40);
    expect(host.summary).toContain('<!-- deploysim:deploysim.yml -->');
    expect(gh.commentsOn('octo-org', 'gate-demo', 7)[0]!.body).toContain(host.summary.trim());
    // The key was masked the moment it was read, and appears in no log line.
    expect(host.secrets).toContain(KEY);
    expect(host.logs.some((l) => l.message.includes(KEY))).toBe(false);
    expect(api.byRole('candidate')).toHaveLength(40);
  });

  it('fails the step with the verdict when a category is worse than predicted', async () => {
    const api = await startOpenAI();
    const repo = gateRepo(100);
    const host = recordingHost({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'cand', 'candidate-base-url': api.url, 'candidate-api-key': KEY, comment: 'false' },
      github: { eventName: 'pull_request', payload: pullRequestPayload(DEFAULT_REPOSITORY, pullRequestOf(repo, 7)) },
    });
    await runAction(host);
    expect(host.outputs.passed).toBe('false');
    expect(host.outputs['failed-categories']).toBe('self_harm_instructions');
    // The failure names the registration (name and path), as the CLI's verdict line does.
    expect(host.failed).toMatch(/^deploysim: gate failed — e2e gate \(deploysim\.yml\)\.\nWorse than predicted: self_harm_instructions\./);
  });

  it('an event file the runner names but that cannot be read is a configuration error naming GITHUB_EVENT_PATH, before any request', async () => {
    const api = await startOpenAI();
    const repo = gateRepo(100_000);
    const { githubActionsHost } = await import('../../src/action/host.js');
    const real = githubActionsHost({ GITHUB_EVENT_PATH: path.join(repo.dir, 'missing-event.json') }, repo.dir);
    const host = recordingHost({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'cand', 'candidate-base-url': api.url, 'candidate-api-key': KEY },
      github: { eventName: 'pull_request' },
    });
    Object.defineProperty(host, 'github', { get: () => real.github });
    await runAction(host);
    expect(host.failed).toMatch(/^deploysim configuration error \(nothing was sent to any model\):\nGITHUB_EVENT_PATH names .*missing-event\.json, which cannot be read/);
    expect(api.all).toHaveLength(0);
    expect(existsSync(path.join(repo.dir, 'deploysim-report', 'report.json'))).toBe(false);
  });
});

import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, cli, tempDir } from '../security/helpers.js';
import { startMockGitHub, type MockGitHub } from '../support/mockGitHub.js';
import { closedAfterEach } from '../support/perTest.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TOKEN = 'ghs_comment-test-token-123456';
let dir: string;

beforeAll(async () => {
  dir = tempDir('deploysim-comment-');
  cpSync(path.join(ROOT, 'examples', 'quickstart'), dir, { recursive: true });
  const run = await cli(['run', '--registration', 'deploysim.yml', '--candidate-model', 'demo', '--candidate-base-url', 'builtin:demo', '--no-lock', '--output-dir', 'out', '--quiet'], dir);
  expect(run.code, run.stderr).toBe(0);
}, 60_000);
afterAll(() => cleanupTempDirs());
const startGitHub = closedAfterEach(startMockGitHub);

const post = (github: MockGitHub, extra: string[] = [], env: NodeJS.ProcessEnv = { GITHUB_TOKEN: TOKEN }) =>
  cli(['comment', 'out/report.json', '--pr', '12', '--repo', 'acme/gate', '--api-url', github.url, '--head-sha', 'a'.repeat(40), ...extra], dir, env);

describe('deploysim comment', () => {
  it('creates the sticky comment, then updates it in place with the audit trail appended', async () => {
    const github = await startGitHub({ token: TOKEN });
    github.addComment({ owner: 'acme', repo: 'gate', issueNumber: 12, body: '<!-- deploysim:deploysim.yml --> someone else quoting the marker', login: 'mallory' });
    const first = await post(github);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/PR comment created: http/);
    const second = await post(github, ['--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ action: 'updated' });

    const mine = github.commentsOn('acme', 'gate', 12).filter((c) => c.user.login === 'github-actions[bot]');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain('<!-- deploysim:deploysim.yml -->');
    expect(mine[0]!.body).toContain('gate passed');
    // Two runs, two history rows, each with the head SHA given.
    expect(mine[0]!.body.match(/\| `aaaaaaa/g)).toHaveLength(2);
    expect(github.commentsOn('acme', 'gate', 12).find((c) => c.user.login === 'mallory')!.body).toContain('someone else');
  });

  it('fails (exit 1) with an actionable message when GitHub refuses, and never prints the token', async () => {
    const github = await startGitHub({ createCommentStatus: 403 });
    const r = await post(github);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pull-requests: write');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('bounds the GitHub calls as the action does: a 500 is retried twice, then exit 1 naming the status', async () => {
    // GitHub's 5xx body: https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api
    const github = await startGitHub({ fault: (r) => (r.path.endsWith('/comments') ? 502 : undefined) });
    const r = await post(github);
    expect(r.code).toBe(1);
    expect(github.requests.filter((q) => q.path.endsWith('/comments'))).toHaveLength(3);
    expect(r.stderr).toMatch(/^deploysim: Could not post the PR comment \(502 Bad Gateway: Server Error - https:\/\/docs\.github\.com\/rest after 3 attempts\)\.$/m);
  });

  it('is a usage error (exit 2) without a token or a PR number', async () => {
    const github = await startGitHub();
    expect((await post(github, [], {})).code).toBe(2);
    const r = await cli(['comment', 'out/report.json', '--repo', 'acme/gate'], dir, { GITHUB_TOKEN: TOKEN });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--pr');
    expect(github.requests).toHaveLength(0);
  });

  it("refuses a shard's report (exit 2, nothing sent), and takes the head SHA from the event's pull request", async () => {
    const github = await startGitHub({ token: TOKEN });
    const shard = await cli(['run', '--registration', 'deploysim.yml', '--candidate-model', 'demo', '--candidate-base-url', 'builtin:demo', '--no-lock', '--output-dir', 'shard-out', '--shard', '1/2', '--quiet'], dir);
    expect(shard.code, shard.stderr).toBe(0);
    const refused = await cli(['comment', 'shard-out/report.json', '--pr', '13', '--repo', 'acme/gate', '--api-url', github.url], dir, { GITHUB_TOKEN: TOKEN });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("shard-out/report.json is shard 1/2's report: post the report `deploysim merge` writes from all shards.");
    expect(github.requests).toHaveLength(0);
    const event = path.join(dir, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 13, head: { sha: 'b'.repeat(40) } } }));
    const posted = await cli(['comment', 'out/report.json', '--pr', '13', '--repo', 'acme/gate', '--api-url', github.url], dir, { GITHUB_TOKEN: TOKEN, GITHUB_EVENT_PATH: event, GITHUB_SHA: 'c'.repeat(40) });
    expect(posted.code, posted.stderr).toBe(0);
    expect(github.commentsOn('acme', 'gate', 13)[0]!.body).toContain('| `bbbbbbbbbbbb` |');
  });
});

/**
 * Issues 7 and 9 through the built action (dist/index.js) as a runner runs it, against the local
 * OpenAI-compatible and GitHub servers:
 * - Dependabot runs (no secrets, read-only token) are detected, like fork PRs, in both
 *   on-missing-secrets modes, with one clear message and no stack trace;
 * - a failing run whose server echoes the key (error bodies, completions, grader evidence) leaves it
 *   in no byte the action writes: stdout, stderr, every file in the workspace and the runner's
 *   files, the cache, comment bodies and requests to GitHub;
 * - the sticky comment's audit trail gains one row per run and never rewrites earlier rows;
 * - excerpts in the comment, the job summary and report.json are PII-redacted;
 * - examples/quickstart/workflow.yml works as written, with no key.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { HISTORY_END, HISTORY_START } from '../../src/github/auditTrail.js';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { ACTIONS_BOT_LOGIN, startMockGitHub } from '../support/mockGitHub.js';
import { startKeyEchoingServer } from '../support/keyEchoingServer.js';
import { parseGraderRequest, startMockOpenAI, type RecordedRequest } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { cleanupTempDirs, createGateRepo, describeRun, DEFAULT_REPOSITORY, pullRequestOf, pullRequestPayload, runAction, workflowCommands } from '../support/runAction.js';

const [OWNER, REPO] = DEFAULT_REPOSITORY.split('/') as [string, string];
const PR = 7;
const MARKER = '<!-- deploysim:deploysim.yml -->';

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);
const startKeyEchoing = closedAfterEach(startKeyEchoingServer);
afterAll(() => cleanupTempDirs());

/** A Node stack frame, as an uncaught error would print. */
const STACK_FRAME = /^\s+at .+[(:]\d+/m;

function files(dir: string, skip: (rel: string) => boolean = () => false, base = dir): { rel: string; bytes: Buffer }[] {
  const out: { rel: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const abs = path.join(dir, name);
    const rel = path.relative(base, abs);
    if (skip(rel)) continue;
    const info = statSync(abs);
    if (info.isDirectory()) out.push(...files(abs, skip, base));
    else if (info.isFile()) out.push({ rel, bytes: readFileSync(abs) });
  }
  return out;
}

describe('Dependabot and fork runs without secrets', () => {
  const gate = () => ({
    'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] }),
    'corpus.jsonl': corpusText(buildCorpus({ size: 20 })),
  });

  const untrustedRun = async (mode: 'fail' | 'skip', who: 'dependabot-actor' | 'dependabot-author' | 'fork') => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    const repo = createGateRepo({ files: gate() });
    const pullRequest = pullRequestOf(repo, PR, who === 'fork' ? 'forker/gate-demo' : undefined);
    let event: unknown;
    if (who === 'dependabot-author') {
      // A human re-runs a Dependabot PR: the actor is the human, the PR's author is Dependabot.
      const payload = pullRequestPayload(DEFAULT_REPOSITORY, pullRequest);
      event = { ...payload, pull_request: { ...payload.pull_request, user: { login: 'dependabot[bot]' } } };
    }
    const run = await runAction({
      cwd: repo.dir,
      // No key: Dependabot and fork runs get no Actions secrets, so `${{ secrets.X }}` is empty.
      inputs: { 'candidate-model': 'candidate-under-test', 'candidate-base-url': openai.url, 'on-missing-secrets': mode },
      pullRequest,
      ...(event ? { event } : {}),
      githubApiUrl: github.url,
      env: who === 'dependabot-actor' ? { GITHUB_ACTOR: 'dependabot[bot]' } : {},
    });
    return { run, openai, github };
  };

  it.each(['dependabot-actor', 'dependabot-author', 'fork'] as const)('%s, on-missing-secrets: fail → one error explaining workflow_run, a summary, no stack trace', async (who) => {
    const { run, openai, github } = await untrustedRun('fail', who);
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs.passed).toBe('false');
    const errors = workflowCommands(run.stdout, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(who === 'fork' ? /fork \(forker\/gate-demo\)/ : /Dependabot/);
    expect(errors[0]).toContain('workflow_run');
    expect(errors[0]).toContain('on-missing-secrets: skip');
    expect(`${run.stdout}\n${run.stderr}`).not.toMatch(STACK_FRAME);
    // The job summary says so too (it is written on every event).
    expect(run.summary).toMatch(/could not run/);
    expect(run.summary).toContain('workflow_run');
    expect(openai.all).toHaveLength(0);
    expect(github.comments).toHaveLength(0);
  });

  it.each(['dependabot-actor', 'fork'] as const)('%s, on-missing-secrets: skip → success with a notice and a summary saying the gate did not run', async (who) => {
    const { run, openai, github } = await untrustedRun('skip', who);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.outputs.passed ?? '').toBe('');
    const notices = workflowCommands(run.stdout, 'notice');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/did not run/);
    expect(notices[0]).toMatch(who === 'fork' ? /fork/ : /Dependabot/);
    expect(workflowCommands(run.stdout, 'error')).toEqual([]);
    expect(run.summary).toMatch(/did not run/);
    expect(`${run.stdout}\n${run.stderr}`).not.toMatch(STACK_FRAME);
    expect(openai.all).toHaveLength(0);
    expect(github.comments).toHaveLength(0);
  });

  it('a same-repository PR by a person with an empty key is not called a fork or Dependabot', async () => {
    const openai = await startOpenAI();
    const repo = createGateRepo({ files: gate() });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'candidate-under-test', 'candidate-base-url': openai.url, comment: 'false' },
      pullRequest: pullRequestOf(repo, PR),
    });
    expect(run.code, describeRun(run)).toBe(1);
    const error = workflowCommands(run.stdout, 'error').join('\n');
    expect(error).toContain('candidate-api-key');
    expect(error).not.toMatch(/fork \(|Dependabot run/);
  });
});

describe('the API key is in no byte the action writes', () => {
  // No vendor prefix: only the SecretRegistry (not the PII redactor) can catch it.
  const KEY = 'canaryE2E7Q2xLEAKz9w4TOKENv8m3';
  const bearerOf = (r: RecordedRequest) => String(r.headers.authorization ?? '').replace(/^Bearer\s+/i, '');

  it('a failing run whose server echoes the key in error bodies, completions and grader evidence', async () => {
    const openai = await startKeyEchoing(KEY, 'self_harm_instructions');
    const github = await startGitHub();
    const user = (id: string, content: string) => JSON.stringify({ id, messages: [{ role: 'user', content }] });
    const corpus = [
      user('r-500', 'hello [[fault:500]]'),
      user('r-400', 'hello [[fault:400]]'),
      user('r-echo-1', 'what is my key? [[echo]]'),
      user('r-echo-2', 'and again [[echo]]'),
      ...Array.from({ length: 6 }, (_, i) => user(`r-plain-${i}`, `how do I reset router ${i}?`)),
      '',
    ].join('\n');
    const repo = createGateRepo({
      files: { 'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] }), 'corpus.jsonl': corpus },
    });
    const run = await runAction({
      cwd: repo.dir,
      inputs: {
        'candidate-model': 'candidate-under-test',
        'candidate-base-url': openai.url,
        'candidate-api-key': KEY,
        'cache-dir': '.deploysim-cache',
        'max-retries': '1',
        'request-timeout': '10',
      },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });

    // Meaningful: the server had the key, echoed it, and the run failed and still commented.
    expect(run.code, describeRun(run)).toBe(1);
    expect(openai.requests.length).toBeGreaterThan(0);
    expect(openai.requests.every((q) => bearerOf(q) === KEY)).toBe(true);
    expect(openai.byRole('grader').length).toBeGreaterThan(0);
    expect(workflowCommands(run.stdout, 'add-mask')).toContain(KEY);
    const comments = github.commentsOn(OWNER, REPO, PR);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('gate failed');
    // The flagged example is shown, with the echoed key scrubbed out of it.
    expect(comments[0]!.body).toContain('Your credential is');

    const leaks: string[] = [];
    const check = (where: string, bytes: string | Buffer) => {
      const text = Buffer.isBuffer(bytes) ? bytes.toString('latin1') : bytes;
      if (text.includes(KEY)) leaks.push(where);
    };
    // `::add-mask::KEY` is how the runner learns what to mask; it never reaches the log.
    check('stdout', run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n'));
    check('stderr', run.stderr);
    // Every file in the workspace the action may have written (output dir, cache, anything else);
    // .git holds only what the test committed.
    const workspace = files(repo.dir, (rel) => rel === '.git');
    expect(workspace.map((f) => f.rel)).toEqual(
      expect.arrayContaining([path.join('deploysim-report', 'report.json'), path.join('deploysim-report', 'results.jsonl')]),
    );
    expect(workspace.some((f) => f.rel.startsWith('.deploysim-cache'))).toBe(true);
    for (const f of workspace) check(f.rel, f.bytes);
    // The runner's files: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY (and anything else under RUNNER_TEMP).
    for (const f of files(run.runnerTemp)) check(`RUNNER_TEMP/${f.rel}`, f.bytes);
    check('job summary', run.summary);
    for (const c of github.comments) check(`comment ${c.id}`, c.body);
    for (const r of github.requests) check(`GitHub ${r.method} ${r.path}`, JSON.stringify(r.body ?? ''));
    // The echoed key never travels on to the grader either.
    for (const q of openai.byRole('grader')) check('grader request body', q.rawBody);
    expect(leaks, 'the API key leaked into these places').toEqual([]);
  });
});

describe('the audit trail through the action', () => {
  it('two runs on a PR give two history rows; the first is kept byte for byte; the summary matches the comment', async () => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    const repo = createGateRepo({
      files: {
        'deploysim.yml': registrationYaml({ sample: 30, categories: [{ id: 'self_harm_instructions', prediction: 50_000 }] }),
        'corpus.jsonl': corpusText(buildCorpus({ size: 40, flagged: { self_harm_instructions: 2 } })),
      },
    });
    const options = {
      cwd: repo.dir,
      inputs: { 'candidate-model': 'candidate-under-test', 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-trail-0123456' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    };
    const trailRows = (body: string) => {
      const start = body.indexOf(HISTORY_START);
      const end = body.indexOf(HISTORY_END);
      expect(start, body).toBeGreaterThanOrEqual(0);
      expect(end).toBeGreaterThan(start);
      return body
        .slice(start, end)
        .split('\n')
        .filter((l) => /^\| \d{4}-\d{2}-\d{2} /.test(l));
    };

    const first = await runAction(options);
    expect(first.code, describeRun(first)).toBe(0);
    const [comment] = github.commentsOn(OWNER, REPO, PR);
    expect(comment!.user.login).toBe(ACTIONS_BOT_LOGIN);
    const rows1 = trailRows(comment!.body);
    expect(rows1).toHaveLength(1);
    expect(rows1[0]).toContain(repo.headSha.slice(0, 12));
    expect(rows1[0]).toContain(repo.baseSha.slice(0, 12));
    expect(rows1[0]).toContain('| 20260616 | 30 |');
    expect(rows1[0]).toContain('passed');
    expect(comment!.body).toMatch(/Audit trail: 1 run on this pull request/);

    const second = await runAction(options);
    expect(second.code, describeRun(second)).toBe(0);
    const ours = github.commentsOn(OWNER, REPO, PR).filter((c) => c.body.includes(MARKER));
    expect(ours).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    const rows2 = trailRows(ours[0]!.body);
    expect(rows2).toHaveLength(2);
    expect(rows2[0]).toBe(rows1[0]);
    expect(ours[0]!.body).toMatch(/Audit trail: 2 runs on this pull request/);

    // The job summary holds the comment's content; the comment adds only the audit trail after it.
    for (const run of [first, second]) expect(run.summary.trim()).not.toBe('');
    const body = ours[0]!.body;
    expect(body.startsWith(second.summary.trim())).toBe(true);
    expect(body.slice(second.summary.trim().length).trim().startsWith(HISTORY_START)).toBe(true);

    // A third run that stops before a verdict (nothing listens on port 9) replaces the green verdict and adds its row.
    const third = await runAction({ ...options, inputs: { ...options.inputs, 'candidate-base-url': 'http://127.0.0.1:9/v1', 'max-retries': '0' } });
    // Found by the preflight's first probe (a failed step, as every failure of an action is).
    expect(third.code, describeRun(third)).toBe(1);
    const after = github.commentsOn(OWNER, REPO, PR).filter((c) => c.body.includes(MARKER));
    expect(after).toHaveLength(1);
    expect(after[0]!.body).toContain('## ❌ deploysim could not run');
    expect(after[0]!.body).toContain('Cannot reach the candidate endpoint');
    expect(after[0]!.body).not.toContain('gate passed');
    const rows3 = trailRows(after[0]!.body);
    expect(rows3).toHaveLength(3);
    expect(rows3.slice(0, 2)).toEqual(rows2);
    expect(rows3[2]).toContain('| — | 0 | ❌ could not run (preflight failed) |');
    expect(third.outputs.passed).toBe('false');
    expect(third.outputs['comment-url']).toBe(after[0]!.html_url);
  });
});

describe('excerpts in the comment and the job summary are redacted', () => {
  it('a flagged completion and its evidence full of PII appear only with [REDACTED:<kind>] tokens', async () => {
    const PII = {
      email: 'jane.doe@example.com',
      phone: '+44 20 7946 0958',
      card: '4111 1111 1111 1111',
      ip: '10.20.30.40',
      secret: 'ghp' + '_abcdefghijklmnopqrstuvwxyz0123456789',
      url_credentials: 'admin:hunter2secret@',
    };
    const leaky = `Sure. Mail ${PII.email}, call ${PII.phone}, pay with ${PII.card}, ssh ${PII.ip}, use ${PII.secret}, db postgres://${PII.url_credentials}db.internal/x UNSAFE:self_harm_instructions`;
    const openai = await startOpenAI({
      candidate: () => leaky,
      grader: (body) => {
        const view = parseGraderRequest(body);
        return { verdicts: [{ category: 'self_harm_instructions', flagged: view.replyText.includes('UNSAFE:'), evidence: `quotes: ${view.replyText.slice(0, 190)}` }] };
      },
    });
    const github = await startGitHub();
    const repo = createGateRepo({
      files: {
        'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] }),
        'corpus.jsonl': corpusText(buildCorpus({ size: 10 })),
      },
    });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'candidate-under-test', 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-pii-0123456' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(1);
    const [comment] = github.commentsOn(OWNER, REPO, PR);
    const report = readFileSync(path.join(repo.dir, 'deploysim-report', 'report.json'), 'utf8');
    const places = { comment: comment!.body, 'job summary': run.summary, 'report.json': report, 'comment.md': readFileSync(path.join(repo.dir, 'deploysim-report', 'comment.md'), 'utf8') };
    for (const [where, text] of Object.entries(places)) {
      // The example is there (the test is not vacuous)…
      expect(text, where).toContain('Mail [REDACTED:email]');
      for (const kind of Object.keys(PII)) expect(text, `${where}: ${kind}`).toContain(`[REDACTED:${kind}]`);
      // …and none of the values.
      for (const [kind, value] of Object.entries(PII)) expect(text.includes(value), `${where} shows the ${kind} ${value}`).toBe(false);
    }
  });
});

describe('examples/quickstart/workflow.yml as a new user sets it up', () => {
  it('runs with no key on the demo endpoint, comments DEMO numbers and passes', async () => {
    const example = path.resolve(import.meta.dirname, '..', '..', 'examples', 'quickstart');
    const workflowText = readFileSync(path.join(example, 'workflow.yml'), 'utf8');
    const workflow = parseYaml(workflowText) as { jobs: { gate: { steps: { uses?: string; with?: Record<string, string> }[] } } };
    const inputs = workflow.jobs.gate.steps.find((s) => s.uses?.startsWith('OWNER/deploysim@'))!.with!;
    const github = await startGitHub();
    const repo = createGateRepo({
      files: Object.fromEntries(['deploysim.yml', 'corpus.jsonl', 'NOTICE'].map((f) => [`deploysim/${f}`, readFileSync(path.join(example, f), 'utf8')])),
      workflow: workflowText,
    });
    const run = await runAction({ cwd: repo.dir, inputs, pullRequest: pullRequestOf(repo, PR), githubApiUrl: github.url });
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.outputs.passed).toBe('true');
    const [comment] = github.commentsOn(OWNER, REPO, PR);
    expect(comment!.body).toContain('<!-- deploysim:deploysim/deploysim.yml -->');
    expect(comment!.body).toContain('DEMO');
    expect(comment!.body).toContain(repo.baseSha.slice(0, 12));
    expect(run.summary).toContain('DEMO');
  });
});

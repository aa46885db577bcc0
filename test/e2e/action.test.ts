/**
 * End to end: the built action (dist/index.js) run as a GitHub runner runs it, in real temp git
 * repositories, against a real local OpenAI-compatible server and a real local GitHub REST server.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus, corpusText, expectedFlags, registrationYaml, replayPrefix, type CorpusLine } from '../support/corpus.js';
import { ACTIONS_BOT_LOGIN, startMockGitHub, type MockGitHub } from '../support/mockGitHub.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import {
  describeRun,
  cleanupTempDirs,
  createGateRepo,
  DEFAULT_REPOSITORY,
  DEFAULT_WORKFLOW_PATH,
  pullRequestOf,
  pullRequestPayload,
  ROOT,
  runAction,
  runCli,
  workflowCommands,
  type ActionResult,
  type GateRepo,
} from '../support/runAction.js';

const [OWNER, REPO] = DEFAULT_REPOSITORY.split('/') as [string, string];
const PR = 7;
const MARKER = '<!-- deploysim:deploysim.yml -->';
const CANDIDATE_MODEL = 'candidate-under-test';

interface ReportJson {
  schema: string;
  passed: boolean;
  verified: boolean;
  demo: boolean;
  created_at: string;
  run_url?: string;
  reasons: string[];
  registration: { path: string; lock_ref: string | null; files: { path: string; sha256: string }[]; lock_violations: { path: string; kinds: string[]; detail: string }[] };
  candidate: { model: string };
  grader: { model: string };
  sample: { corpus_records: number; requested: number | null; replayed: number; graded: number; errors: number; excluded_no_consent: number };
  categories: { id: string; prediction_per_100k: number; flagged: number; graded: number; rate_per_100k: number; ci_low_per_100k: number; ci_high_per_100k: number; verdict: string }[];
}

interface ResultLine {
  id: string;
  flagged: string[];
  error: string | null;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const readResults = (file: string): ResultLine[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ResultLine);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Everything a run leaves behind that a human or another job could read. */
/** SPEC: the comment's content goes to the job summary too (the comment may add an audit trail of earlier runs). */
function expectSameContent(summary: string, commentBody: string) {
  expect(summary.trim()).not.toBe('');
  expect(summary).toContain(MARKER);
  expect(commentBody).toContain(summary.trim());
}

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);

afterAll(() => cleanupTempDirs());

/** A committed repo with a 20-record corpus and one category predicted at `prediction` per 100k. */
function smallGateRepo(prediction: number): GateRepo {
  return createGateRepo({ files: gateFiles(buildCorpus({ size: 20 }), registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction }] })) });
}

function gateFiles(corpus: CorpusLine[], registration: string): Record<string, string> {
  return { 'deploysim.yml': registration, 'corpus.jsonl': corpusText(corpus) };
}

describe('a passing gate on a pull_request', () => {
  const corpus = buildCorpus({ size: 400, flagged: { violent_wrongdoing: 16 }, noConsent: 5 });
  const registration = registrationYaml({
    name: 'support-bot fine-tune gate',
    sample: 200,
    stratify: 'metadata.surface',
    categories: [
      { id: 'violent_wrongdoing', prediction: 10_000 },
      { id: 'self_harm_instructions', prediction: 500 },
    ],
  });
  const key = 'sk' + '-test-passing-run-000111';
  let repo: GateRepo;
  let run: ActionResult;
  let report: ReportJson;
  let results: ResultLine[];
  let api: MockOpenAI;
  let gh: MockGitHub;

  beforeAll(async () => {
    api = await startMockOpenAI();
    gh = await startMockGitHub();
    repo = createGateRepo({ files: gateFiles(corpus, registration) });
    run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': api.url, 'candidate-api-key': key },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: gh.url,
    });
    const reportPath = path.join(repo.dir, 'deploysim-report', 'report.json');
    if (existsSync(reportPath)) report = readJson<ReportJson>(reportPath);
    const resultsPath = path.join(repo.dir, 'deploysim-report', 'results.jsonl');
    if (existsSync(resultsPath)) results = readResults(resultsPath);
  });

  afterAll(async () => {
    await api.close();
    await gh.close();
  });

  it('exits 0 and sets the outputs', () => {
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.outputs.passed).toBe('true');
    expect(realpathSync(run.outputs.report!)).toBe(realpathSync(path.join(repo.dir, 'deploysim-report', 'report.json')));
    expect(run.outputs['failed-categories']).toBe('');
    expect(run.outputs['comment-url']).toMatch(/^https:\/\/github\.com\/octo-org\/gate-demo\/pull\/7#issuecomment-\d+$/);
    expect(workflowCommands(run.stdout, 'error')).toEqual([]);
  });

  it('writes report.json with the numbers the corpus implies', () => {
    const byId = new Map(corpus.map((l) => [l.id, l]));
    expect(report.schema).toBe('deploysim.report/v1');
    expect(report.passed).toBe(true);
    expect(report.verified).toBe(true);
    expect(report.demo).toBe(false);
    expect(report.candidate.model).toBe(CANDIDATE_MODEL);
    expect(report.grader.model).toBe('grader-model');
    expect(report.sample).toMatchObject({ corpus_records: 400, requested: 200, replayed: 200, graded: 200, errors: 0, excluded_no_consent: 5 });

    // The sample, as results.jsonl lists it: 200 distinct consenting corpus records.
    expect(results).toHaveLength(200);
    expect(new Set(results.map((r) => r.id)).size).toBe(200);
    for (const r of results) {
      const line = byId.get(r.id);
      expect(line, `results.jsonl id ${r.id} is not in the corpus`).toBeDefined();
      expect(line!.consent).not.toBe(false);
      expect(r.error).toBeNull();
      expect(r.flagged).toEqual(expectedFlags(line!));
    }
    // Count the flagged records of the sample ourselves.
    for (const c of report.categories) {
      const k = results.filter((r) => expectedFlags(byId.get(r.id)!).includes(c.id)).length;
      expect(c.flagged, c.id).toBe(k);
      expect(c.graded).toBe(200);
      expect(c.rate_per_100k).toBeCloseTo((1e5 * k) / 200, 2);
      expect(c.ci_low_per_100k).toBeLessThanOrEqual(c.rate_per_100k);
      expect(c.ci_high_per_100k).toBeGreaterThanOrEqual(c.rate_per_100k);
      expect(c.verdict).toBe('pass');
    }
    expect(report.categories.find((c) => c.id === 'violent_wrongdoing')!.flagged).toBeGreaterThan(0);
    expect(report.categories.find((c) => c.id === 'self_harm_instructions')!.flagged).toBe(0);
  });

  it('locks against the PR base and hashes every locked file', () => {
    expect(report.registration.path).toBe('deploysim.yml');
    expect(report.registration.lock_ref).toBe(repo.baseSha);
    expect(report.registration.lock_violations).toEqual([]);
    const files = Object.fromEntries(report.registration.files.map((f) => [f.path, f.sha256]));
    expect(files['deploysim.yml']).toBe(sha256(repo.read('deploysim.yml')));
    expect(files['corpus.jsonl']).toBe(sha256(repo.read('corpus.jsonl')));
    expect(files[DEFAULT_WORKFLOW_PATH]).toBe(sha256(repo.read(DEFAULT_WORKFLOW_PATH)));
  });

  it('sends each sampled prefix to the candidate and each completion to the grader', () => {
    const candidate = api.byRole('candidate');
    const grader = api.byRole('grader');
    expect(candidate).toHaveLength(200);
    expect(grader).toHaveLength(200);
    const byQuestion = new Map(corpus.map((l) => [replayPrefix(l.messages).at(-1)!.content, l]));
    const replayed = new Set<string>();
    for (const req of candidate) {
      expect(req.path).toBe('/v1/chat/completions');
      expect(req.headers.authorization).toBe(`Bearer ${key}`);
      expect(req.body).toMatchObject({ model: CANDIDATE_MODEL, temperature: 1, max_tokens: 256 });
      expect(req.body!.response_format).toBeUndefined();
      const last = req.body!.messages!.at(-1)!;
      const line = byQuestion.get(last.content as string);
      expect(line, `candidate got an unknown prefix ending ${JSON.stringify(last)}`).toBeDefined();
      expect(req.body!.messages).toEqual(replayPrefix(line!.messages));
      replayed.add(line!.id);
    }
    expect([...replayed].sort()).toEqual(results.map((r) => r.id).sort());
    for (const req of grader) {
      expect(req.body!.model).toBe('grader-model');
      expect(req.headers.authorization).toBe(`Bearer ${key}`);
    }
  });

  it('posts one sticky comment and writes the same content to the job summary', () => {
    const posted = gh.requests.filter((r) => r.method === 'POST');
    expect(posted).toHaveLength(1);
    expect(posted[0]!.path).toBe(`/repos/${OWNER}/${REPO}/issues/${PR}/comments`);
    expect(posted[0]!.headers.authorization).toMatch(/^(token|bearer) ghs_mockInstallationToken/i);
    const comments = gh.commentsOn(OWNER, REPO, PR);
    expect(comments).toHaveLength(1);
    const [comment] = comments;
    expect(comment!.user.login).toBe(ACTIONS_BOT_LOGIN);
    expect(comment!.body).toContain(MARKER);
    expect(comment!.body).toContain('gate passed');
    expect(comment!.body).toContain(repo.baseSha.slice(0, 12));
    expect(comment!.html_url).toBe(run.outputs['comment-url']);
    expect(comment!.body.length).toBeLessThanOrEqual(65_536);
    expectSameContent(run.summary, comment!.body);
  });

  it('gives the same report.json through the CLI with --lock-ref <base sha>', async () => {
    const cli = await runCli(
      ['run', '--registration', 'deploysim.yml', '--candidate-model', CANDIDATE_MODEL, '--candidate-base-url', api.url, '--lock-ref', repo.baseSha, '--output-dir', 'cli-report', '--quiet'],
      { cwd: repo.dir, env: { DEPLOYSIM_CANDIDATE_API_KEY: key } },
    );
    expect(cli.code, cli.stderr).toBe(0);
    const cliReport = readJson<ReportJson>(path.join(repo.dir, 'cli-report', 'report.json'));
    // The action also locks the workflow that runs it; the CLI has no workflow. Everything else is equal.
    expect(cliReport.registration.files).toEqual(report.registration.files.filter((f) => f.path !== DEFAULT_WORKFLOW_PATH));
    const comparable = (r: ReportJson) => {
      const { created_at: _created, run_url: _runUrl, ...rest } = r;
      return { ...rest, registration: { ...rest.registration, files: [] } };
    };
    expect(comparable(cliReport)).toEqual(comparable(report));
    expect(readResults(path.join(repo.dir, 'cli-report', 'results.jsonl')).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...results].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });
});

describe('a failing gate on a pull_request', () => {
  it('fails, names the category, and updates one sticky comment on re-run (with > 100 comments on the PR)', async () => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    for (let i = 0; i < 130; i++) {
      github.addComment({ owner: OWNER, repo: REPO, issueNumber: PR, body: `LGTM ${i}`, login: i % 2 ? 'alice' : 'renovate[bot]' });
    }
    // Someone else quoting the marker must not capture the sticky comment.
    const mallory = github.addComment({ owner: OWNER, repo: REPO, issueNumber: PR, body: `hijack ${MARKER}`, login: 'mallory' });
    // The bot's sticky comment for another registration is not ours either.
    const other = github.addComment({ owner: OWNER, repo: REPO, issueNumber: PR, body: '<!-- deploysim:other/deploysim.yml -->\nother gate', login: ACTIONS_BOT_LOGIN });
    const noise = github.comments.length;

    const corpus = buildCorpus({ size: 300, flagged: { self_harm_instructions: 90 } });
    const repo = createGateRepo({
      files: gateFiles(
        corpus,
        registrationYaml({
          sample: 150,
          categories: [
            { id: 'self_harm_instructions', prediction: 100 },
            { id: 'hate_harassment', prediction: 1000 },
          ],
        }),
      ),
    });
    const options = {
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk' + '-test-failing-run-222' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    };

    const first = await runAction(options);
    expect(first.code, describeRun(first)).toBe(1);
    expect(first.outputs.passed).toBe('false');
    expect(first.outputs['failed-categories']).toBe('self_harm_instructions');
    expect(workflowCommands(first.stdout, 'error').join('\n')).toContain('self_harm_instructions');
    const report = readJson<ReportJson>(first.outputs.report!);
    expect(report.passed).toBe(false);
    expect(report.categories.map((c) => [c.id, c.verdict])).toEqual([
      ['self_harm_instructions', 'fail'],
      ['hate_harassment', 'pass'],
    ]);
    const byId = new Map(corpus.map((l) => [l.id, l]));
    const results = readResults(path.join(repo.dir, 'deploysim-report', 'results.jsonl'));
    const k = results.filter((r) => expectedFlags(byId.get(r.id)!).includes('self_harm_instructions')).length;
    expect(report.categories[0]!.flagged).toBe(k);
    expect(k).toBeGreaterThan(20);

    expect(github.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    const created = github.comments.at(-1)!;
    expect(created.user.login).toBe(ACTIONS_BOT_LOGIN);
    expect(created.body).toContain(MARKER);
    expect(created.body).toContain('gate failed');
    expect(created.body).toContain('self_harm_instructions');
    expect(first.outputs['comment-url']).toBe(created.html_url);

    const before = github.requests.length;
    const second = await runAction(options);
    expect(second.code, describeRun(second)).toBe(1);
    expect(second.outputs.passed).toBe('false');
    expect(second.outputs['failed-categories']).toBe('self_harm_instructions');
    const secondRequests = github.requests.slice(before);
    // The bot's comment is the 133rd: only a paginated listing finds it.
    const listings = secondRequests.filter((r) => r.method === 'GET' && r.path.endsWith(`/issues/${PR}/comments`));
    expect(listings.map((r) => r.query.page ?? '1')).toEqual(['1', '2']);
    expect(secondRequests.filter((r) => r.method === 'POST')).toHaveLength(0);
    const patches = secondRequests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(1);
    expect(patches[0]!.path).toBe(`/repos/${OWNER}/${REPO}/issues/comments/${created.id}`);
    expect(second.outputs['comment-url']).toBe(created.html_url);

    const ours = github.comments.filter((c) => c.body.includes(MARKER) && c.user.login === ACTIONS_BOT_LOGIN);
    expect(ours).toHaveLength(1);
    expect(github.comments).toHaveLength(noise + 1);
    expect(github.comments.find((c) => c.id === mallory.id)!.body).toBe(`hijack ${MARKER}`);
    expect(github.comments.find((c) => c.id === other.id)!.body).toContain('other gate');
    expectSameContent(second.summary, ours[0]!.body);
  });
});

describe('the pre-registration lock', () => {
  it('fails a PR that edits its own prediction, before any model request, and explains why', async () => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    const corpus = buildCorpus({ size: 50, flagged: { self_harm_instructions: 25 } });
    const locked = registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] });
    const relaxed = locked.replace('prediction_per_100k: 100', 'prediction_per_100k: 90000');
    expect(relaxed).not.toBe(locked);
    const repo = createGateRepo({ files: gateFiles(corpus, locked), headFiles: { 'deploysim.yml': relaxed } });

    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-lock-333333' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs.passed).toBe('false');
    expect(openai.all).toHaveLength(0);

    const report = readJson<ReportJson>(path.join(repo.dir, 'deploysim-report', 'report.json'));
    expect(report.passed).toBe(false);
    expect(report.verified).toBe(false);
    expect(report.registration.lock_ref).toBe(repo.baseSha);
    expect(report.registration.lock_violations.map((v) => v.path)).toEqual(['deploysim.yml']);
    expect(report.sample.replayed).toBe(0);
    expect(readFileSync(path.join(repo.dir, 'deploysim-report', 'results.jsonl'), 'utf8')).toBe('');

    const error = workflowCommands(run.stdout, 'error').join('\n');
    expect(error).toContain('deploysim.yml');
    expect(error).toMatch(/lock/i);

    const comments = github.commentsOn(OWNER, REPO, PR);
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body).toContain(MARKER);
    expect(body).toContain('gate failed');
    expect(body).toContain('deploysim.yml');
    expect(body).toContain(repo.baseSha.slice(0, 12));
    expect(body).toMatch(/committed before the change under test/);
    // The lock was enforced and violated, not skipped.
    expect(body).not.toMatch(/--no-lock|lock skipped/i);
    expectSameContent(run.summary, body);
  });

  it('fails when the corpus changed after the lock ref, naming the corpus', async () => {
    const openai = await startOpenAI();
    const corpus = buildCorpus({ size: 40 });
    const repo = createGateRepo({
      files: gateFiles(corpus, registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] })),
      headFiles: { 'corpus.jsonl': corpusText(corpus.slice(0, 20)) },
    });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-lock-444444', comment: 'false' },
      pullRequest: pullRequestOf(repo, PR),
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(openai.all).toHaveLength(0);
    const report = readJson<ReportJson>(path.join(repo.dir, 'deploysim-report', 'report.json'));
    expect(report.registration.lock_violations.map((v) => v.path)).toEqual(['corpus.jsonl']);
  });

  it('needs lock-ref on workflow_dispatch, and sends nothing to any model', async () => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    const repo = smallGateRepo(100);
    const run = await runAction({
      cwd: repo.dir,
      eventName: 'workflow_dispatch',
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-dispatch-5555' },
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs.passed).toBe('false');
    const error = workflowCommands(run.stdout, 'error').join('\n');
    expect(error).toContain('lock-ref');
    expect(error).toMatch(/nothing was sent to any model/);
    expect(openai.all).toHaveLength(0);
    expect(github.comments).toHaveLength(0);
  });
});

describe('secrets', () => {
  it('aborts on a 401 from the candidate, names candidate-api-key, and never leaks the key', async () => {
    const KEY = 'test-key-DO-NOT-LEAK-12345';
    const openai = await startOpenAI({ echoKeyInErrors: true, faults: (req) => (req.role === 'candidate' ? { type: 'unauthorized' } : undefined) });
    const github = await startGitHub();
    const repo = createGateRepo({ files: gateFiles(buildCorpus({ size: 60, flagged: { self_harm_instructions: 6 } }), registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] })) });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': KEY },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs.passed).toBe('false');
    expect(workflowCommands(run.stdout, 'error').join('\n')).toContain('candidate-api-key');

    // The test is meaningful: the server got the key and echoed it back in its error body.
    expect(openai.byRole('candidate').length).toBeGreaterThan(0);
    expect(openai.byRole('candidate')[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(openai.byRole('grader')).toHaveLength(0);
    // Aborted: a refused key stops the run instead of failing each of the 60 records in turn.
    expect(openai.byRole('candidate').length).toBeLessThan(60);

    // The key is registered with the runner's masker (the runner consumes `::add-mask::` lines)…
    expect(workflowCommands(run.stdout, 'add-mask')).toContain(KEY);
    // …and appears nowhere else.
    const outputDir = path.join(repo.dir, 'deploysim-report');
    const places: Record<string, string> = {
      stdout: run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
      stderr: run.stderr,
      GITHUB_OUTPUT: run.outputFile,
      GITHUB_STEP_SUMMARY: run.summary,
      'report.json': existsSync(path.join(outputDir, 'report.json')) ? readFileSync(path.join(outputDir, 'report.json'), 'utf8') : '',
      'results.jsonl': existsSync(path.join(outputDir, 'results.jsonl')) ? readFileSync(path.join(outputDir, 'results.jsonl'), 'utf8') : '',
      comments: github.comments.map((c) => c.body).join('\n'),
      'GitHub requests': github.requests.map((r) => JSON.stringify(r.body ?? '')).join('\n'),
    };
    for (const [where, text] of Object.entries(places)) expect(text.includes(KEY), `the API key leaked into ${where}`).toBe(false);
  });
});

describe('fork pull requests without secrets', () => {
  const forkRun = async (onMissingSecrets: 'fail' | 'skip') => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    const repo = smallGateRepo(100);
    const run = await runAction({
      cwd: repo.dir,
      // No candidate-api-key: GitHub gives fork PRs no secrets, so the expression is empty.
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'on-missing-secrets': onMissingSecrets },
      pullRequest: pullRequestOf(repo, PR, 'forker/gate-demo'),
      githubApiUrl: github.url,
    });
    return { run, openai, github };
  };

  it('on-missing-secrets: fail → exit 1 pointing to workflow_run', async () => {
    const { run, openai, github } = await forkRun('fail');
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs.passed).toBe('false');
    const error = workflowCommands(run.stdout, 'error').join('\n');
    expect(error).toContain('workflow_run');
    expect(error).toMatch(/fork/i);
    expect(openai.all).toHaveLength(0);
    expect(github.comments).toHaveLength(0);
  });

  it('on-missing-secrets: skip → exit 0 and a summary saying the gate did not run', async () => {
    const { run, openai, github } = await forkRun('skip');
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.outputs.passed ?? '').toBe('');
    expect(run.summary).toMatch(/did not run/);
    expect(run.summary).toContain('workflow_run');
    expect(openai.all).toHaveLength(0);
    expect(github.comments).toHaveLength(0);
  });
});

describe('missing secrets on a run that has them', () => {
  it('a same-repository PR with an empty key fails even with on-missing-secrets: skip: a misnamed secret must not turn the gate off', async () => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    const repo = smallGateRepo(100);
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'on-missing-secrets': 'skip' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs.passed).toBe('false');
    const error = workflowCommands(run.stdout, 'error').join('\n');
    // Only the input that is missing is named: grader-api-key defaults to the candidate's (issue 20).
    expect(error).toContain('The candidate-api-key input is empty. This run is not a fork or Dependabot pull request');
    expect(error).toContain('on-missing-secrets: skip applies only to fork and Dependabot pull requests');
    expect(run.summary).toContain('could not run');
    expect(openai.all).toHaveLength(0);
    // The PR's sticky comment says so too (it must not keep an earlier verdict).
    const [comment] = github.commentsOn(OWNER, REPO, PR);
    expect(comment!.body).toContain('## ❌ deploysim could not run');
    expect(comment!.body).toContain('check that the secret the workflow passes exists');
  });

  it('pull_request_target gives fork PRs the secrets: an empty key there is not skipped', async () => {
    const openai = await startOpenAI();
    const repo = smallGateRepo(100);
    const run = await runAction({
      cwd: repo.dir,
      eventName: 'pull_request_target',
      event: pullRequestPayload(DEFAULT_REPOSITORY, pullRequestOf(repo, PR, 'forker/gate-demo')),
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'on-missing-secrets': 'skip', comment: 'false' },
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(workflowCommands(run.stdout, 'error').join('\n')).toContain('This run is not a fork or Dependabot pull request');
  });
});

describe('outputs and summary', () => {
  it('a bad corpus line is also an error annotation on that line of the file', async () => {
    const lines = corpusText(buildCorpus({ size: 10 })).trimEnd().split('\n');
    lines[3] = '{"id": "broken"';
    const repo = createGateRepo({ files: { 'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] }), 'corpus.jsonl': `${lines.join('\n')}\n` } });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': 'builtin:demo', comment: 'false' },
      pullRequest: pullRequestOf(repo, PR),
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.stdout).toMatch(/^::error file=corpus\.jsonl,line=4::not valid JSON/m);
  });

  it('failed-categories lists inconclusive categories when on_inconclusive is fail (every grade failed)', async () => {
    const openai = await startOpenAI({ faults: (r) => (r.role === 'grader' ? { type: 'server-error' } : undefined) });
    const registration = registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }, { id: 'weapons', prediction: 100 }] });
    const repo = createGateRepo({ files: gateFiles(buildCorpus({ size: 10 }), registration) });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-inconclusive-1', 'max-retries': '0', comment: 'false' },
      pullRequest: pullRequestOf(repo, PR),
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.outputs['failed-categories']).toBe('self_harm_instructions,weapons');
    // Nothing was graded: the table says no rate was observed, not a bold 0.
    expect(run.summary).toMatch(/\| ⚠️ `self_harm_instructions` \| 100 \| n\/a \| /);
  });

  it('a shard posts no PR comment (the merge job posts the gate\'s), even with comment left on', async () => {
    const openai = await startOpenAI();
    const github = await startGitHub();
    const repo = smallGateRepo(5000);
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-shard-1', shard: '1/2' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(github.requests).toHaveLength(0);
    expect(run.outputs['comment-url']).toBe('');
    expect(workflowCommands(run.stdout, 'notice').join('\n')).toContain('Shard 1/2 posts no PR comment');
    expect(run.summary).toContain('deploysim: shard 1/2 passed');
  });

  it('a shard that stops before a verdict posts no PR comment either', async () => {
    const github = await startGitHub();
    const repo = smallGateRepo(5000);
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': 'http://127.0.0.1:9/v1', 'candidate-api-key': 'sk-test-shard-2', 'max-retries': '0', shard: '1/2' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.summary).toContain('could not run');
    expect(github.requests).toHaveLength(0);
  });

  it('a runner without GITHUB_STEP_SUMMARY (act, older GHES) loses the summary, not the verdict', async () => {
    const openai = await startOpenAI();
    const repo = smallGateRepo(5000);
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-nosummary-1', comment: 'false' },
      pullRequest: pullRequestOf(repo, PR),
      env: { GITHUB_STEP_SUMMARY: undefined },
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.outputs.passed).toBe('true');
    expect(workflowCommands(run.stdout, 'warning').join('\n')).toContain('Could not write the job summary');
  });
});

describe('PR comment failures', () => {
  it('a 403 on comment creation leaves the verdict alone and prints a warning', async () => {
    const openai = await startOpenAI();
    const github = await startGitHub({ createCommentStatus: 403 });
    const repo = createGateRepo({ files: gateFiles(buildCorpus({ size: 60 }), registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] })) });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': CANDIDATE_MODEL, 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-readonly-66666' },
      pullRequest: pullRequestOf(repo, PR),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.outputs.passed).toBe('true');
    expect(run.outputs['comment-url']).toBe('');
    expect(github.requests.some((r) => r.method === 'POST' && r.status === 403)).toBe(true);
    expect(github.comments).toHaveLength(0);
    const warnings = workflowCommands(run.stdout, 'warning').join('\n');
    expect(warnings).toContain('403');
    expect(warnings).toMatch(/job summary/);
    expect(run.summary).toContain(MARKER);
    expect(run.summary).toContain('gate passed');
  });
});

describe('the verdict, named', () => {
  it('a failing gate on the demo endpoint: the annotation and the summary name the registration and say DEMO', async () => {
    const quickstart = path.join(ROOT, 'examples', 'quickstart');
    const registration = readFileSync(path.join(quickstart, 'deploysim.yml'), 'utf8').replace('prediction_per_100k: 2000', 'prediction_per_100k: 1');
    const repo = createGateRepo({ files: { 'gates/support.yml': registration.replace('path: corpus.jsonl', 'path: ../corpus.jsonl'), 'corpus.jsonl': readFileSync(path.join(quickstart, 'corpus.jsonl'), 'utf8') } });
    const run = await runAction({
      cwd: repo.dir,
      inputs: { registration: 'gates/support.yml', 'candidate-model': 'demo', 'candidate-base-url': 'builtin:demo', comment: 'false' },
      pullRequest: pullRequestOf(repo, 7),
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(workflowCommands(run.stdout, 'error').join('\n')).toMatch(/^deploysim: gate failed — quickstart \(demo endpoint\) \(gates\/support\.yml\) \[DEMO\]\.\nWorse than predicted: violent_wrongdoing/);
    expect(run.summary).toContain('## ❌ deploysim: gate failed — quickstart (demo endpoint) (`gates/support.yml`) [DEMO]');
  });
});

/**
 * The built CLI (dist/cli.js) as a user runs it: real temp git repositories, real files, and a real
 * local OpenAI-compatible server where a test needs to prove that nothing was sent.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { cleanupTempDirs, createGateRepo, makeTempDir, ROOT, runCli, type GateRepo } from '../support/runAction.js';

const QUICKSTART = path.join(ROOT, 'examples', 'quickstart');

const startOpenAI = closedAfterEach(startMockOpenAI);
afterAll(() => cleanupTempDirs());

/** A repo holding a copy of examples/quickstart, committed (HEAD is the lock ref). */
function quickstartRepo(): GateRepo {
  const files: Record<string, string> = {};
  for (const name of readdirSync(QUICKSTART)) files[name] = readFileSync(path.join(QUICKSTART, name), 'utf8');
  return createGateRepo({ files, workflow: false, headFiles: {} });
}

const runFlags = (baseUrl: string) => ['run', '--registration', 'deploysim.yml', '--candidate-model', 'candidate-under-test', '--candidate-base-url', baseUrl, '--lock-ref', 'HEAD'];

describe('deploysim run', () => {
  it('runs the quickstart on the built-in demo endpoint with the lock verified', async () => {
    const repo = quickstartRepo();
    const result = await runCli(
      ['run', '--registration', 'deploysim.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--lock-ref', 'HEAD', '--output-dir', 'out'],
      { cwd: repo.dir },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('DEMO');
    const report = JSON.parse(readFileSync(path.join(repo.dir, 'out', 'report.json'), 'utf8')) as {
      passed: boolean;
      demo: boolean;
      verified: boolean;
      registration: { lock_ref: string };
      sample: { replayed: number; errors: number };
    };
    expect(report.passed).toBe(true);
    expect(report.demo).toBe(true);
    expect(report.verified).toBe(true);
    expect(report.registration.lock_ref).toBe(repo.git('rev-parse', 'HEAD'));
    // Locking against the commit under test is allowed for a local try, but said to prove little.
    expect(result.stderr).toContain('warning: The lock ref is HEAD: this shows the registration is committed, not that it was committed before the change');
    expect(report.sample).toMatchObject({ replayed: 200, errors: 0 });
    expect(readFileSync(path.join(repo.dir, 'out', 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(200);
  });

  it('runs the quickstart with --no-lock outside any git repository, marked unverified', async () => {
    const dir = makeTempDir('deploysim-nolock-');
    cpSync(QUICKSTART, dir, { recursive: true });
    // An output directory outside the working directory is printed as given, not as ../../…
    const out = makeTempDir('deploysim-nolock-out-');
    const result = await runCli(['run', '--registration', 'deploysim.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--no-lock', '--output-dir', out], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`report: ${path.join(out, 'report.json')}\n`);
    expect(result.stderr).toMatch(/--no-lock/);
    // Loud: a warning before the run, and the verdict line itself says the lock was skipped.
    expect(result.stderr).toMatch(/^warning: --no-lock: the pre-registration lock is SKIPPED/m);
    expect(result.stdout).toMatch(/^deploysim: gate PASSED .*UNVERIFIED: lock skipped/m);
    expect(result.stdout).toMatch(/lock: not verified/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as { demo: boolean; verified: boolean; registration: { lock_ref: string | null } };
    expect(report).toMatchObject({ demo: true, verified: false, registration: { lock_ref: null } });
  });

  it('rejects a bad registration with exit 2, the file and the field path, before any request', async () => {
    const openai = await startOpenAI();
    const repo = createGateRepo({
      files: {
        'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 'twelve' }] }),
        'corpus.jsonl': corpusText(buildCorpus({ size: 10 })),
      },
      workflow: false,
    });
    const result = await runCli(runFlags(openai.url), { cwd: repo.dir, env: { DEPLOYSIM_CANDIDATE_API_KEY: 'sk-test-cli-777777' } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('deploysim.yml');
    expect(result.stderr).toContain('categories[0].prediction_per_100k');
    expect(result.stderr).toMatch(/number/);
    expect(result.stderr).toMatch(/nothing was sent to any model/);
    expect(openai.all).toHaveLength(0);
  });

  it('refuses a run without a key for a non-demo endpoint (exit 2, nothing sent); a placeholder key is enough', async () => {
    const openai = await startOpenAI();
    const repo = quickstartRepo();
    const missing = await runCli(runFlags(openai.url), { cwd: repo.dir });
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(/^deploysim: no candidate key: pass --candidate-api-key or set DEPLOYSIM_CANDIDATE_API_KEY \/ OPENAI_API_KEY/m);
    expect(openai.all).toHaveLength(0);
    const grader = await runCli(['run', '--registration', 'deploysim.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--grader-base-url', openai.url, '--lock-ref', 'HEAD'], { cwd: repo.dir });
    expect(grader.code, grader.stderr).toBe(2);
    expect(grader.stderr).toMatch(/no grader key: pass --grader-api-key or set DEPLOYSIM_GRADER_API_KEY/);
    expect(openai.all).toHaveLength(0);
    const placeholder = await runCli([...runFlags(openai.url), '--candidate-api-key', 'none', '--output-dir', 'out'], { cwd: repo.dir });
    expect(placeholder.code, placeholder.stderr).toBe(0);
    expect(openai.requests.length).toBeGreaterThan(0);
  });

  it.each(['output-dir', 'cache-dir'])('refuses a --%s that is a file (exit 2, nothing sent)', async (flag) => {
    const openai = await startOpenAI();
    const repo = quickstartRepo();
    writeFileSync(path.join(repo.dir, 'taken'), 'a file');
    const result = await runCli([...runFlags(openai.url), '--candidate-api-key', 'none', `--${flag}`, 'taken'], { cwd: repo.dir });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`deploysim: ${flag}: cannot create the directory ${path.join(repo.dir, 'taken')} (a file is in the way); give the path of a directory.`);
    expect(openai.all).toHaveLength(0);
  });

  it('a run that stops early leaves no report from an earlier run in its output directory', async () => {
    const repo = quickstartRepo();
    const passed = await runCli(['run', '--registration', 'deploysim.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--lock-ref', 'HEAD', '--output-dir', 'out'], { cwd: repo.dir });
    expect(passed.code, passed.stderr).toBe(0);
    expect(readdirSync(path.join(repo.dir, 'out')).sort()).toEqual(['comment.md', 'report.json', 'results.jsonl']);
    // Nothing listens on port 9: the run stops at the preflight's first request, before any record or report.
    const stopped = await runCli([...runFlags('http://127.0.0.1:9/v1'), '--candidate-api-key', 'none', '--max-retries', '0', '--output-dir', 'out'], { cwd: repo.dir });
    expect(stopped.code, stopped.stderr).toBe(2);
    expect(stopped.stderr).toContain('Preflight: the candidate did not answer a benign prompt: Cannot reach the candidate endpoint');
    expect(readdirSync(path.join(repo.dir, 'out'))).toEqual([]);
    // A configuration error stops before the registration is read, after the old files are gone.
    const broken = await runCli(['run', '--registration', 'missing.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--lock-ref', 'HEAD', '--output-dir', 'out'], { cwd: repo.dir });
    expect(broken.code, broken.stderr).toBe(2);
    expect(readdirSync(path.join(repo.dir, 'out'))).toEqual([]);
  });

  it('a password in a base URL is a credential: never printed', async () => {
    const repo = quickstartRepo();
    const result = await runCli([...runFlags('http://deploysim:s3cret-url-pass@127.0.0.1:9/v1'), '--candidate-api-key', 'none', '--max-retries', '0', '--verbose'], { cwd: repo.dir });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('Cannot reach the candidate endpoint http://***@127.0.0.1:9/v1');
    expect(result.stdout + result.stderr).not.toContain('s3cret-url-pass');
  });

  it('rejects a bad corpus line with exit 2 and corpus.jsonl:<line>, before any request', async () => {
    const openai = await startOpenAI();
    const lines = corpusText(buildCorpus({ size: 10 })).trimEnd().split('\n');
    lines[2] = '{"id": "broken", "messages": [{"role": "user", "content": "unterminated"}'; // line 3: not JSON
    lines[5] = JSON.stringify({ id: 'no-user', messages: [{ role: 'assistant', content: 'hi' }] }); // line 6: no user turn
    const repo = createGateRepo({
      files: {
        'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100 }] }),
        'corpus.jsonl': `${lines.join('\n')}\n`,
      },
      workflow: false,
    });
    const result = await runCli(runFlags(openai.url), { cwd: repo.dir, env: { DEPLOYSIM_CANDIDATE_API_KEY: 'sk-test-cli-888888' } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('corpus.jsonl:3');
    expect(result.stderr).toContain('corpus.jsonl:6');
    expect(openai.all).toHaveLength(0);
  });
});

describe('help and plan', () => {
  it('--help lists the subcommands and exits 0', async () => {
    const result = await runCli(['--help'], { cwd: ROOT });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('run');
    expect(result.stdout).toContain('plan');
  });

  it('every listed subcommand has --help (exit 0, usage on stdout)', async () => {
    const main = await runCli(['--help'], { cwd: ROOT });
    const commandsBlock = main.stdout.slice(main.stdout.indexOf('Commands:'));
    const commands = [...commandsBlock.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1]!);
    expect(commands).toEqual(expect.arrayContaining(['run', 'plan']));
    for (const command of commands) {
      const result = await runCli([command, '--help'], { cwd: ROOT });
      expect(result.code, `${command} --help: ${result.stderr}`).toBe(0);
      expect(result.stdout, `${command} --help`).toMatch(/usage/i);
      expect(result.stdout, `${command} --help`).toContain(command);
    }
  });

  it('plan --rate-per-100k 100 prints the number of prefixes', async () => {
    const result = await runCli(['plan', '--rate-per-100k', '100'], { cwd: ROOT });
    expect(result.code, result.stderr).toBe(0);
    const n = Number(result.stdout.match(/\d+/)?.[0]);
    // Showing a rate below 1/1000 with zero events needs (1 - 0.001)^n ≤ 0.05, i.e. n ≥ 2995 (one-sided 95%).
    expect(n).toBeGreaterThanOrEqual(2994);
    expect(n).toBeLessThan(4000);
  });

  it('an unknown command exits 2', async () => {
    const result = await runCli(['frobnicate'], { cwd: ROOT });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('frobnicate');
  });
});

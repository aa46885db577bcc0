/**
 * The built action outside a well-behaved runner: inputs the runner did not expand, runner variables
 * that are unusable, and the way @github/local-action starts an action (it imports the entry module
 * and calls its exported run(); https://github.com/github/local-action#action-structure).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { startMockGitHub } from '../support/mockGitHub.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import {
  ACTION_ENTRY,
  cleanEnv,
  cleanupTempDirs,
  createGateRepo,
  describeRun,
  makeTempDir,
  NODE,
  parseCommandFile,
  pullRequestOf,
  ROOT,
  runAction,
  workflowCommands,
  type GateRepo,
} from '../support/runAction.js';

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);
afterAll(() => cleanupTempDirs());

function smallRepo(): GateRepo {
  return createGateRepo({ files: { 'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 5000 }] }), 'corpus.jsonl': corpusText(buildCorpus({ size: 10 })) } });
}

describe('inputs the runner did not expand', () => {
  it('an input still holding ${{ … }} is ignored with a warning naming it; a credential input never has its value quoted', async () => {
    const openai = await startOpenAI();
    const repo = smallRepo();
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': '${{ vars.CANDIDATE_MODEL }}', 'candidate-base-url': openai.url, 'candidate-api-key': '${{ secrets.OPENAI_API_KEY }}', comment: 'false' },
      pullRequest: pullRequestOf(repo, 7),
    });
    expect(run.code, describeRun(run)).toBe(1);
    const warnings = workflowCommands(run.stdout, 'warning');
    expect(warnings).toContain(
      'The candidate-model input still contains a `${{ … }}` expression (`${{ vars.CANDIDATE_MODEL }}`): the runner expands expressions before an action starts, so this one was not (a local run with local-action or act, or a quoted expression). It is ignored, as if candidate-model were not set; give the value itself.',
    );
    const key = warnings.find((w) => w.startsWith('The candidate-api-key input'));
    expect(key).toBe(
      'The candidate-api-key input still contains a `${{ … }}` expression: the runner expands expressions before an action starts, so this one was not (a local run with local-action or act, or a quoted expression). It is ignored, as if candidate-api-key were not set; give the value itself.',
    );
    expect(run.stdout).not.toContain('secrets.OPENAI_API_KEY');
    // Ignored, as if unset: the required input is named, and nothing reached the model.
    expect(workflowCommands(run.stdout, 'error').join('\n')).toContain('`candidate-model` is required');
    expect(openai.all).toHaveLength(0);
  });

  it('github-token left as `${{ github.token }}` (local-action fills in action.yml defaults as written): no GitHub request, the verdict as usual', async () => {
    const github = await startGitHub();
    const repo = smallRepo();
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'demo', 'candidate-base-url': 'builtin:demo', 'github-token': '${{ github.token }}' },
      pullRequest: pullRequestOf(repo, 7),
      githubApiUrl: github.url,
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.outputs.passed).toBe('true');
    const warnings = workflowCommands(run.stdout, 'warning');
    expect(warnings.some((w) => w.startsWith('The github-token input still contains a `${{ … }}` expression: '))).toBe(true);
    expect(warnings).toContain('No github-token: the result is in the job summary only.');
    expect(github.requests).toHaveLength(0);
  });
});

describe("the runner's environment", () => {
  it('GITHUB_OUTPUT naming a missing file is a configuration error naming the variable, before any model request', async () => {
    const openai = await startOpenAI();
    const repo = smallRepo();
    const missing = path.join(makeTempDir('deploysim-runner-'), 'no-such-output');
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'cand', 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-runner-env-1', comment: 'false' },
      pullRequest: pullRequestOf(repo, 7),
      env: { GITHUB_OUTPUT: missing },
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(workflowCommands(run.stdout, 'error').join('\n')).toBe(
      `deploysim configuration error (nothing was sent to any model):\nGITHUB_OUTPUT names ${missing}, which is not a file, so the step's outputs cannot be written. The runner sets this variable; running the action outside GitHub (local-action, act), set it as a runner would or unset it.`,
    );
    expect(openai.all).toHaveLength(0);
    expect(run.summary).toContain('Configuration error (nothing was sent to any model)');
  });

  it('a malformed GITHUB_REPOSITORY and GITHUB_API_URL are named together, and no request is sent anywhere', async () => {
    const openai = await startOpenAI();
    const repo = smallRepo();
    const run = await runAction({
      cwd: repo.dir,
      inputs: { 'candidate-model': 'cand', 'candidate-base-url': openai.url, 'candidate-api-key': 'sk-test-runner-env-2' },
      pullRequest: pullRequestOf(repo, 7),
      env: { GITHUB_REPOSITORY: 'gate-demo', GITHUB_API_URL: 'api.github.com' },
    });
    expect(run.code, describeRun(run)).toBe(1);
    const error = workflowCommands(run.stdout, 'error').join('\n');
    expect(error).toMatch(/^deploysim configuration error \(nothing was sent to any model\):\nThe runner's environment is not usable:/);
    expect(error).toContain('GITHUB_REPOSITORY is "gate-demo", not OWNER/REPO.');
    expect(error).toContain('GITHUB_API_URL is "api.github.com", not an http(s) URL.');
    expect(openai.all).toHaveLength(0);
  });
});

/** KEY=VALUE lines of a dotenv file (comments and blank lines skipped), as local-action loads them. */
function readDotenv(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Za-z_][\w-]*)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

describe('started as @github/local-action starts an action', () => {
  it('importing the entry runs nothing; its exported run() runs the gate once with the inputs of .env.example', async () => {
    // The quickstart at the path .env.example names, committed, so that `lock-ref: HEAD` holds.
    const vars = readDotenv(path.join(ROOT, '.env.example'));
    const registration = vars['INPUT_REGISTRATION']!;
    const repo = createGateRepo({ files: {}, workflow: false, headFiles: {} });
    cpSync(path.join(ROOT, path.dirname(registration)), path.join(repo.dir, path.dirname(registration)), { recursive: true });
    repo.commit('the quickstart');
    const runnerTemp = makeTempDir('deploysim-runner-');
    const outputPath = path.join(runnerTemp, 'github_output');
    writeFileSync(outputPath, '');

    // local-action's order: import the module, check run is a function, await run().
    const harness = path.join(runnerTemp, 'local-action-like.mjs');
    writeFileSync(
      harness,
      [
        `const mod = await import(${JSON.stringify(pathToFileURL(ACTION_ENTRY).href)});`,
        "console.log('imported');",
        "if (typeof mod.run !== 'function') throw new Error('the entry does not export a run() function');",
        'await mod.run();',
        "console.log('run() returned');",
      ].join('\n'),
    );
    const child = spawn(NODE, [harness], { cwd: repo.dir, env: cleanEnv({ ...vars, GITHUB_OUTPUT: outputPath, RUNNER_TEMP: runnerTemp }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const lines = stdout.split('\n');
    // Nothing ran at import: the first thing the action logs comes after the harness's 'imported'.
    expect(lines.indexOf('imported')).toBeLessThan(lines.findIndex((l) => l.startsWith('Plan: ')));
    expect(lines.filter((l) => l.startsWith('Plan: '))).toHaveLength(1);
    expect(lines.at(-2)).toBe('run() returned');
    expect(stdout).toContain('deploysim: gate passed — quickstart (demo endpoint) (examples/quickstart/deploysim.yml) [DEMO]');
    expect(parseCommandFile(readFileSync(outputPath, 'utf8'))).toMatchObject({ passed: 'true', 'comment-url': '' });
    expect(existsSync(path.join(repo.dir, vars['INPUT_OUTPUT-DIR']!, 'report.json'))).toBe(true);
  });
});

/**
 * Runs the built action (`dist/index.js`) and CLI (`dist/cli.js`) as real child processes, the way a
 * GitHub runner and a user's shell do, against real temporary git repositories.
 *
 * The runner contract reproduced here:
 * - every input in action.yml is passed as `INPUT_<NAME>` (name uppercased, spaces → `_`, dashes
 *   kept: `INPUT_CANDIDATE-MODEL`), with action.yml's default when the workflow does not set it;
 * - GITHUB_EVENT_NAME / GITHUB_EVENT_PATH (a webhook payload file), GITHUB_REPOSITORY,
 *   GITHUB_API_URL, GITHUB_WORKFLOW_REF, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY (files), RUNNER_TEMP;
 * - the environment is built from scratch (no OPENAI_API_KEY or proxy settings leak in from the
 *   developer's shell), and git ignores global/system config.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ACTION_ENTRY = path.join(ROOT, 'dist', 'index.js');
export const CLI_ENTRY = path.join(ROOT, 'dist', 'cli.js');
const BUNDLED_NODE = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
/** The action's runtime (action.yml `using: node24`, the `node` devDependency); falls back to the test's own node. */
export const NODE = existsSync(BUNDLED_NODE) ? BUNDLED_NODE : process.execPath;

export const DEFAULT_REPOSITORY = 'octo-org/gate-demo';
export const DEFAULT_WORKFLOW_PATH = '.github/workflows/deploysim.yml';
/** What `${{ github.token }}` expands to in these tests (an installation token, like GITHUB_TOKEN). */
export const FAKE_GITHUB_TOKEN = 'ghs_mockInstallationToken0000000000000000';
const PROCESS_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Temp directories

const tempDirs: string[] = [];

export function makeTempDir(prefix = 'deploysim-e2e-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory made by makeTempDir (call from afterAll). */
export function cleanupTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A minimal, hermetic environment for child processes (git ignores the developer's config). */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: os.tmpdir(),
    TMPDIR: os.tmpdir(),
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    GIT_CONFIG_GLOBAL: os.devNull,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

// ---------------------------------------------------------------------------------------------
// Git repositories

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface GateRepo {
  dir: string;
  /** The "base" commit: registration, corpus and workflow committed (the PR base / lock ref). */
  baseSha: string;
  /** The "head" commit: the change under test. */
  headSha: string;
  git(...args: string[]): string;
  write(rel: string, content: string): void;
  read(rel: string): string;
  /** Stages everything and commits; returns the new HEAD sha. */
  commit(message: string): string;
}

export interface GateRepoOptions {
  /** Files of the base commit (registration, corpus, rubric files…), repo-relative. */
  files: Record<string, string>;
  /** Files written in the head commit. Default: an unrelated code change. */
  headFiles?: Record<string, string>;
  /** The workflow running the gate, committed at base; `false` to leave it out. */
  workflow?: string | false;
  workflowPath?: string;
}

export function workflowYaml(registration = 'deploysim.yml'): string {
  return [
    'name: deploysim',
    'on:',
    '  pull_request:',
    'permissions:',
    '  contents: read',
    '  pull-requests: write',
    'jobs:',
    '  gate:',
    '    runs-on: ubuntu-latest',
    '    steps:',
    '      - uses: actions/checkout@v7',
    '        with:',
    '          fetch-depth: 0',
    '      - uses: ./',
    '        with:',
    `          registration: ${registration}`,
    '          candidate-model: candidate-under-test',
    '          candidate-api-key: ${{ secrets.CANDIDATE_API_KEY }}',
    '',
  ].join('\n');
}

/**
 * A temp git repository with the registration and corpus committed as "base" and a later "head"
 * commit, so the PR base sha is the lock ref and HEAD is the change under test.
 */
export function createGateRepo(options: GateRepoOptions): GateRepo {
  const dir = makeTempDir('deploysim-repo-');
  git(dir, 'init', '--quiet', '-b', 'main');
  for (const [key, value] of [
    ['user.name', 'Deploysim E2E'],
    ['user.email', 'e2e@deploysim.invalid'],
    ['commit.gpgsign', 'false'],
    ['core.autocrlf', 'false'],
  ] as const) {
    git(dir, 'config', key, value);
  }
  const write = (rel: string, content: string) => {
    const abs = path.join(dir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  };
  const commit = (message: string) => {
    git(dir, 'add', '-A');
    git(dir, 'commit', '--quiet', '--allow-empty', '-m', message);
    return git(dir, 'rev-parse', 'HEAD');
  };
  for (const [rel, content] of Object.entries(options.files)) write(rel, content);
  if (options.workflow !== false) write(options.workflowPath ?? DEFAULT_WORKFLOW_PATH, options.workflow ?? workflowYaml());
  const baseSha = commit('base');
  for (const [rel, content] of Object.entries(options.headFiles ?? { 'src/app.txt': 'the change under test\n' })) write(rel, content);
  const headSha = commit('head');
  return {
    dir,
    baseSha,
    headSha,
    git: (...args) => git(dir, ...args),
    write,
    read: (rel) => readFileSync(path.join(dir, rel), 'utf8'),
    commit,
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the safety-net kill fired (the process did not finish in time: 60 s unless the test says). */
  killed: boolean;
}

/** Spawns asynchronously: the mock servers live in this process, so it must not block. */
function runProcess(args: string[], cwd: string, env: NodeJS.ProcessEnv, interrupt?: Interrupt, timeoutMs = PROCESS_TIMEOUT_MS, node = NODE): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const poll = interrupt
      ? setInterval(() => {
          if (!interrupt.when()) return;
          clearInterval(poll);
          child.kill(interrupt.signal);
        }, 20)
      : undefined;
    child.on('exit', () => clearInterval(poll));
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), killed });
    });
  });
}

/** Everything a runner shows for a run, for assertion messages. */
export function describeRun(run: ActionResult): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}\n--- outputs ---\n${run.outputFile}\n--- summary ---\n${run.summary}`;
}

export interface CliOptions {
  cwd: string;
  /** Added to a clean environment (no keys from the developer's shell). */
  env?: Record<string, string | undefined>;
  interrupt?: Interrupt;
}

/**
 * `node dist/cli.js …args` in `cwd`, on the Node the tests run on: users run the CLI on theirs, so CI's
 * pass on the lowest supported Node (npm run test:node22) runs it there. The action has its own (NODE).
 */
export function runCli(args: string[], options: CliOptions): Promise<ProcessResult> {
  return runProcess([CLI_ENTRY, ...args], options.cwd, cleanEnv(options.env), options.interrupt, PROCESS_TIMEOUT_MS, process.execPath);
}

/** action.yml's input defaults, as a runner applies them (`${{ github.token }}` → FAKE_GITHUB_TOKEN). */
export function actionInputDefaults(): Record<string, string> {
  const action = parseYaml(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, { default?: unknown }> };
  const defaults: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) {
    if (spec.default === undefined) continue;
    defaults[name] = String(spec.default).replace(/\$\{\{\s*github\.token\s*\}\}/g, FAKE_GITHUB_TOKEN);
  }
  return defaults;
}

/** `@actions/core` getInput: `INPUT_${name.replace(/ /g, '_').toUpperCase()}` (dashes stay dashes). */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Parses a GITHUB_OUTPUT (or GITHUB_ENV) file: `name<<DELIM\nvalue\nDELIM` blocks and `name=value` lines. */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = line.match(/^([^=]+?)<<(.+)$/);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i += 1; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      if (i >= lines.length) throw new Error(`GITHUB_OUTPUT: no closing delimiter for ${name}`);
      result[name] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`GITHUB_OUTPUT: cannot parse line ${JSON.stringify(line)}`);
    result[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return result;
}

export interface PullRequestInfo {
  number?: number;
  baseSha: string;
  headSha: string;
  /** `owner/repo` the PR comes from; differs from the base repository for fork PRs. */
  headRepo?: string;
}

/** The pull request proposing `repo`'s head commit over its base commit, as most tests run the action on. */
export function pullRequestOf(repo: Pick<GateRepo, 'baseSha' | 'headSha'>, number: number, headRepo?: string): PullRequestInfo {
  return { number, baseSha: repo.baseSha, headSha: repo.headSha, ...(headRepo ? { headRepo } : {}) };
}

export function pullRequestPayload(repository: string, pr: PullRequestInfo) {
  const [owner, name] = repository.split('/') as [string, string];
  const number = pr.number ?? 7;
  const headRepo = pr.headRepo ?? repository;
  const repo = (fullName: string) => {
    const [o, n] = fullName.split('/') as [string, string];
    return { full_name: fullName, name: n, owner: { login: o }, fork: fullName !== repository };
  };
  return {
    action: 'synchronize',
    number,
    pull_request: {
      number,
      state: 'open',
      title: 'Fine-tune the support bot',
      head: { sha: pr.headSha, ref: 'feature', label: `${headRepo.split('/')[0]}:feature`, repo: repo(headRepo) },
      base: { sha: pr.baseSha, ref: 'main', label: `${owner}:main`, repo: repo(repository) },
    },
    repository: { full_name: repository, name, owner: { login: owner } },
    sender: { login: headRepo.split('/')[0] },
  };
}

export interface RunActionOptions {
  /** The checkout (a git repository); the action runs with this cwd (GITHUB_WORKSPACE). */
  cwd: string;
  /** Workflow `with:` values, kebab-case names; merged over action.yml defaults. */
  inputs?: Record<string, string>;
  eventName?: string;
  /** The webhook payload; for pull_request events it is built from `pullRequest` when absent. */
  event?: unknown;
  pullRequest?: PullRequestInfo;
  repository?: string;
  /** GITHUB_API_URL (the mock GitHub). */
  githubApiUrl?: string;
  /** GITHUB_WORKFLOW_REF; default `<repository>/.github/workflows/deploysim.yml@refs/pull/N/merge`; null to unset. */
  workflowRef?: string | null;
  /** Extra environment variables (e.g. OPENAI_API_KEY). */
  env?: Record<string, string | undefined>;
  /** Sends `signal` once `when()` is true (checked every 20 ms), as a runner cancelling the job does. */
  interrupt?: Interrupt;
  /** RUNNER_TEMP (GITHUB_OUTPUT and GITHUB_STEP_SUMMARY live there); a new temp dir by default. */
  runnerTemp?: string;
  /** The safety-net kill, for a test that waits out a deadline on purpose (default 60 s). */
  timeoutMs?: number;
}

export interface Interrupt {
  signal: NodeJS.Signals;
  when: () => boolean;
}

export interface ActionResult extends ProcessResult {
  outputs: Record<string, string>;
  /** GITHUB_OUTPUT's raw text. */
  outputFile: string;
  /** GITHUB_STEP_SUMMARY's text. */
  summary: string;
  runnerTemp: string;
  eventPath: string;
}

/** Runs `node dist/index.js` as a runner would. */
export async function runAction(options: RunActionOptions): Promise<ActionResult> {
  const runnerTemp = options.runnerTemp ?? makeTempDir('deploysim-runner-');
  const repository = options.repository ?? DEFAULT_REPOSITORY;
  const eventName = options.eventName ?? 'pull_request';
  let event = options.event;
  if (event === undefined) {
    if (eventName === 'pull_request' || eventName === 'pull_request_target') {
      if (!options.pullRequest) throw new Error('runAction: a pull_request event needs `pullRequest` or `event`');
      event = pullRequestPayload(repository, options.pullRequest);
    } else {
      event = { repository: { full_name: repository, name: repository.split('/')[1], owner: { login: repository.split('/')[0] } }, sender: { login: 'octocat' } };
    }
  }
  const eventPath = path.join(runnerTemp, 'event.json');
  writeFileSync(eventPath, JSON.stringify(event, null, 2));
  const outputPath = path.join(runnerTemp, 'github_output');
  const summaryPath = path.join(runnerTemp, 'step_summary.md');
  writeFileSync(outputPath, '');
  writeFileSync(summaryPath, '');

  const prNumber = (event as { pull_request?: { number?: number } }).pull_request?.number;
  const ref = prNumber !== undefined ? `refs/pull/${prNumber}/merge` : 'refs/heads/main';
  const workflowRef = options.workflowRef === undefined ? `${repository}/${DEFAULT_WORKFLOW_PATH}@${ref}` : options.workflowRef;

  const inputs = { ...actionInputDefaults(), ...options.inputs };
  const inputEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs)) inputEnv[inputEnvName(name)] = value;

  const env = cleanEnv({
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: repository,
    GITHUB_REPOSITORY_OWNER: repository.split('/')[0],
    GITHUB_API_URL: options.githubApiUrl ?? 'http://127.0.0.1:9',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_GRAPHQL_URL: `${options.githubApiUrl ?? 'http://127.0.0.1:9'}/graphql`,
    GITHUB_WORKFLOW: 'deploysim',
    GITHUB_WORKFLOW_REF: workflowRef ?? undefined,
    GITHUB_REF: ref,
    GITHUB_SHA: options.pullRequest?.headSha,
    GITHUB_ACTOR: 'octocat',
    GITHUB_JOB: 'gate',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '17',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTION: '__self',
    GITHUB_WORKSPACE: options.cwd,
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    RUNNER_TEMP: runnerTemp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...inputEnv,
    ...options.env,
  });
  const result = await runProcess([ACTION_ENTRY], options.cwd, env, options.interrupt, options.timeoutMs);
  const outputFile = readFileSync(outputPath, 'utf8');
  return {
    ...result,
    outputs: parseCommandFile(outputFile),
    outputFile,
    summary: readFileSync(summaryPath, 'utf8'),
    runnerTemp,
    eventPath,
  };
}

/** Lines of workflow-command output (`::error::…`, `::warning::…`) of one kind, with their text. */
export function workflowCommands(stdout: string, command: 'error' | 'warning' | 'notice' | 'add-mask'): string[] {
  const unescape = (s: string) => s.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`::${command}`))
    .map((line) => unescape(line.slice(line.indexOf('::', 2) + 2)));
}

import { readFileSync, statSync } from 'node:fs';
import * as core from '@actions/core';
import { ConfigError, ConfigErrors } from '../common/errors.js';
import { githubClient, type GitHubLimits, type Octokit } from '../github/client.js';

/** The run as GitHub describes it (the event payload and the GITHUB_* variables), read once. */
export interface GitHubContext {
  eventName: string;
  actor: string;
  /** The event's webhook payload ({} when the runner gave none). */
  payload: Record<string, unknown>;
  /** `owner/repo` split; undefined when GITHUB_REPOSITORY is not set. */
  repo?: { owner: string; repo: string };
  sha?: string;
  serverUrl: string;
  apiUrl: string;
  runId?: string;
  workflowRef?: string;
}

export type Annotation = { file: string; startLine: number; startColumn?: number };

/**
 * Everything the action reads from and writes to its runner: inputs, outputs, the log and its
 * annotations, the job summary, the event, and the GitHub API. `githubActionsHost()` is the runner;
 * tests drive the action in-process with a host of their own.
 */
export interface ActionHost {
  cwd: string;
  env: NodeJS.ProcessEnv;
  github: GitHubContext;
  /** An input as the runner passes it ('' when unset). */
  input(name: string): string;
  setSecret(secret: string): void;
  setOutput(name: string, value: string): void;
  info(message: string): void;
  warning(message: string): void;
  notice(message: string): void;
  error(message: string, at?: Annotation): void;
  setFailed(message: string): void;
  /** Appends to the job summary; throws when the runner has none. */
  writeSummary(markdown: string): Promise<void>;
  /** A GitHub API client with these limits, whose every request stops when `signal` aborts (../github/client.ts). */
  octokit(token: string, bounds: { signal: AbortSignal; limits: GitHubLimits }): Promise<Octokit>;
}

/** Where a variable the runner sets comes from, for messages about it. */
const RUNNER_SETS = 'The runner sets this variable; running the action outside GitHub (local-action, act), set it as a runner would or unset it.';

/** What is wrong with the runner's variables the action relies on, one line per variable. */
function runnerEnvironmentProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const repository = env.GITHUB_REPOSITORY;
  if (repository && !/^[^/\s]+\/[^/\s]+$/.test(repository)) problems.push(`GITHUB_REPOSITORY is ${JSON.stringify(repository)}, not OWNER/REPO. ${RUNNER_SETS}`);
  for (const name of ['GITHUB_API_URL', 'GITHUB_SERVER_URL'] as const) {
    const value = env[name];
    if (value && !/^https?:\/\/[^/\s]+/.test(value)) problems.push(`${name} is ${JSON.stringify(value)}, not an http(s) URL. ${RUNNER_SETS}`);
  }
  // @actions/core appends the outputs to this file and throws when it is missing: found out after the
  // models were paid for, the verdict could not be written.
  const output = env.GITHUB_OUTPUT;
  if (output) {
    let isFile = false;
    try {
      isFile = statSync(output).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) problems.push(`GITHUB_OUTPUT names ${output}, which is not a file, so the step's outputs cannot be written. ${RUNNER_SETS}`);
  }
  return problems;
}

/**
 * The GitHub context from the runner's variables. A variable the runner sets that is unusable (an
 * event file that cannot be read, an outputs file that is missing, a malformed repository or URL) is
 * a configuration problem of the runner's environment, named as such (exit 2), before any request.
 */
export function readGitHubContext(env: NodeJS.ProcessEnv): GitHubContext {
  let payload: Record<string, unknown> = {};
  const eventPath = env.GITHUB_EVENT_PATH;
  if (eventPath) {
    try {
      payload = JSON.parse(readFileSync(eventPath, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ConfigError(`GITHUB_EVENT_PATH names ${eventPath}, which cannot be read as the event's JSON (${why}). The runner sets this variable; when running the action outside GitHub, point it at a webhook payload file or unset it.`);
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new ConfigError(`GITHUB_EVENT_PATH names ${eventPath}, which holds JSON but not an object (a webhook payload is one). ${RUNNER_SETS}`);
    }
  }
  const problems = runnerEnvironmentProblems(env);
  if (problems.length === 1) throw new ConfigError(problems[0]!);
  if (problems.length > 1) throw new ConfigErrors(problems, "The runner's environment is not usable:");
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    payload,
    ...(owner && repo ? { repo: { owner, repo } } : {}),
    sha: env.GITHUB_SHA,
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    runId: env.GITHUB_RUN_ID,
    workflowRef: env.GITHUB_WORKFLOW_REF,
  };
}

/** The host on a GitHub runner: @actions/core for the workflow commands, octokit for the API. */
export function githubActionsHost(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ActionHost {
  let github: GitHubContext | undefined;
  return {
    cwd,
    env,
    get github() {
      github ??= readGitHubContext(env);
      return github;
    },
    input: (name) => core.getInput(name),
    setSecret: (secret) => core.setSecret(secret),
    // An outputs file that cannot be written is reported once, as a configuration error (above); the
    // failure that says so must still be set, so a write that fails is a warning, not a crash.
    setOutput: (name, value) => {
      try {
        core.setOutput(name, value);
      } catch (error) {
        core.warning(`Could not set the ${name} output (${(error as Error).message}).`);
      }
    },
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    notice: (message) => core.notice(message),
    error: (message, at) => core.error(message, at),
    setFailed: (message) => core.setFailed(message),
    writeSummary: async (markdown) => {
      try {
        await core.summary.addRaw(markdown).write();
      } finally {
        core.summary.emptyBuffer();
      }
    },
    octokit: (token, bounds) => githubClient(token, { baseUrl: github?.apiUrl ?? env.GITHUB_API_URL ?? 'https://api.github.com', ...bounds }),
  };
}

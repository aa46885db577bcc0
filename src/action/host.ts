import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { ConfigError } from '../common/errors.js';
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
  octokit(token: string, bounds: { signal: AbortSignal; limits: GitHubLimits }): Octokit;
}

/**
 * The GitHub context from the runner's variables. An event file the runner names but that cannot be
 * read is a configuration problem of the runner's environment, named as such (exit 2).
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
  }
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
    setOutput: (name, value) => core.setOutput(name, value),
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
    octokit: (token, bounds) => githubClient(token, { baseUrl: env.GITHUB_API_URL ?? 'https://api.github.com', ...bounds }),
  };
}

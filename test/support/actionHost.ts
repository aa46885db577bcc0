/**
 * An ActionHost that records what the action does (outputs, log lines, annotations, the summary, the
 * failure), so the action runs in-process like the CLI. The GitHub API is real HTTP: octokit against
 * the local mock GitHub server.
 */
import type { ActionHost, Annotation, GitHubContext } from '../../src/action/host.js';
import { githubClient } from '../../src/github/client.js';
import { actionInputDefaults, DEFAULT_REPOSITORY } from './runAction.js';

export interface RecordingHost extends ActionHost {
  outputs: Record<string, string>;
  logs: { level: 'info' | 'warning' | 'notice' | 'error'; message: string; at?: Annotation }[];
  summary: string;
  /** setFailed's message, if the step failed. */
  failed?: string;
  secrets: string[];
}

export interface HostOptions {
  cwd: string;
  inputs: Record<string, string>;
  /** The webhook payload and GITHUB_* facts; the repository defaults to DEFAULT_REPOSITORY. */
  github: Partial<GitHubContext> & { eventName: string };
  /** The mock GitHub's URL. */
  apiUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** The runner has no job summary (act, older GHES). */
  noSummary?: boolean;
}

export function recordingHost(options: HostOptions): RecordingHost {
  const inputs = { ...actionInputDefaults(), ...options.inputs };
  const [owner, repo] = DEFAULT_REPOSITORY.split('/') as [string, string];
  const apiUrl = options.apiUrl ?? 'http://127.0.0.1:9';
  const host: RecordingHost = {
    cwd: options.cwd,
    env: options.env ?? {},
    github: { actor: 'octocat', payload: {}, repo: { owner, repo }, serverUrl: 'https://github.com', apiUrl, runId: '4242', ...options.github },
    outputs: {},
    logs: [],
    summary: '',
    secrets: [],
    input: (name) => inputs[name] ?? '',
    setSecret: (secret) => void host.secrets.push(secret),
    setOutput: (name, value) => void (host.outputs[name] = value),
    info: (message) => void host.logs.push({ level: 'info', message }),
    warning: (message) => void host.logs.push({ level: 'warning', message }),
    notice: (message) => void host.logs.push({ level: 'notice', message }),
    error: (message, at) => void host.logs.push({ level: 'error', message, at }),
    setFailed: (message) => void (host.failed = message),
    writeSummary: async (markdown) => {
      if (options.noSummary) throw new Error('Unable to find environment variable for $GITHUB_STEP_SUMMARY.');
      host.summary += markdown;
    },
    octokit: (token, bounds) => githubClient(token, { baseUrl: apiUrl, ...bounds }),
  };
  return host;
}

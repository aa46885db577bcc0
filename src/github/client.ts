/**
 * The GitHub API client for the sticky comment (the action and `deploysim comment`): every request
 * has a short timeout and bounded retries, and the whole comment has a deadline, so a GitHub API that
 * hangs or fails costs a step about a minute, never the HTTP client's 300 s header timeout per call.
 */
import type { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';

export type Octokit = ReturnType<typeof getOctokit>;

export interface GitHubLimits {
  /** One attempt of one request. */
  requestTimeoutMs: number;
  /** Retries of a request GitHub answered with a 5xx (or 429…) or did not answer (plugin-retry's rules). */
  retries: number;
  /** plugin-retry waits (retry number)² × this before each retry: 1 s, then 4 s. */
  retryBaseMs: number;
  /** Everything the comment needs (who am I, the listing, the create or update), retries included. */
  deadlineMs: number;
}

export const GITHUB_LIMITS: GitHubLimits = { requestTimeoutMs: 30_000, retries: 2, retryBaseMs: 1_000, deadlineMs: 60_000 };

/** A request or the whole comment ran out of time (no HTTP status: GitHub did not answer). */
export class GitHubTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`GitHub did not answer ${what} within ${ms >= 1000 ? Math.round(ms / 1000) : ms / 1000} s`);
    this.name = 'GitHubTimeoutError';
  }
}

/**
 * Aborted when `cancel` is (the run was cancelled) or after the limits' deadline. Every request of a
 * client made with it stops then, and `untilAborted` stops waiting for the calls that made them.
 */
export function githubDeadline(cancel: AbortSignal | undefined, limits: GitHubLimits = GITHUB_LIMITS): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new GitHubTimeoutError('the PR comment', limits.deadlineMs)), limits.deadlineMs);
  timer.unref();
  return cancel ? AbortSignal.any([cancel, controller.signal]) : controller.signal;
}

/**
 * octokit plugin: each attempt gets its own timeout, tied to `signal` (cancel or deadline). Registered
 * before plugin-retry, so it wraps one attempt and a retry gets a fresh timeout. A request stopped by
 * `signal` rethrows the signal's reason, which plugin-retry does not retry.
 *
 * The signal is set on `options` in place: octokit's hooks (before-after-hook) hand every inner layer
 * the options object bound when the request started, not what a wrapper passes on. `options` is that
 * request's own object (octokit merges a new one per call); `options.request` may be shared defaults,
 * so it is replaced, never mutated.
 */
function attemptTimeout(signal: AbortSignal | undefined, timeoutMs: number): OctokitPlugin {
  return (octokit) => {
    octokit.hook.wrap('request', async (request, options) => {
      signal?.throwIfAborted();
      const attempt = new AbortController();
      const timer = setTimeout(() => attempt.abort(new GitHubTimeoutError(`${options.method} ${options.url}`, timeoutMs)), timeoutMs);
      options.request = { ...options.request, signal: signal ? AbortSignal.any([signal, attempt.signal]) : attempt.signal };
      try {
        return await request(options);
      } catch (error) {
        signal?.throwIfAborted();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    });
  };
}

type OctokitPlugin = NonNullable<Parameters<typeof getOctokit>[2]>;

export interface GitHubClientOptions {
  baseUrl: string;
  /** Cancel or deadline for every request (see githubDeadline). */
  signal?: AbortSignal;
  limits?: GitHubLimits;
}

/**
 * @actions/github's octokit (its proxy support included) with a timeout per attempt and plugin-retry's
 * retries. Loaded when first needed: @actions/github reads GITHUB_API_URL when it is loaded and throws
 * on a malformed one, which the action reports as a configuration error first (../action/host.ts).
 */
export async function githubClient(token: string, options: GitHubClientOptions): Promise<Octokit> {
  const limits = options.limits ?? GITHUB_LIMITS;
  const { getOctokit } = await import('@actions/github');
  return getOctokit(
    token,
    // retry.retries, not request.retries: plugin-retry retries every error of a request given request.retries, 4xx included.
    { baseUrl: options.baseUrl, retry: { retries: limits.retries, retryAfterBaseValue: limits.retryBaseMs } },
    attemptTimeout(options.signal, limits.requestTimeoutMs),
    retry,
  );
}

/**
 * Resolves or rejects with `work`, or rejects with the signal's reason as soon as it is aborted (a
 * retry's backoff would otherwise hold a cancelled step for seconds). The abandoned requests are
 * aborted by the same signal.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * What went wrong with a GitHub call, for a log line: the HTTP status and GitHub's message when it
 * answered; otherwise why it did not (timeout, connection refused, DNS…). octokit labels a request
 * that got no answer 500; the missing response tells them apart.
 */
export function describeGitHubError(error: unknown): string {
  const e = error as { status?: number; response?: { status?: number }; message?: string; cause?: unknown };
  const retried = (error as { request?: { request?: { retryCount?: number } } }).request?.request?.retryCount;
  const after = retried ? ` after ${retried + 1} attempts` : '';
  if (e.response && typeof e.status === 'number') return `${e.status}${statusText(e.status)}: ${e.message ?? ''}${after}`.trim();
  // octokit's message is already the innermost cause's (`connect ECONNREFUSED …`, not undici's `fetch failed`).
  const timeout = [error, e.cause].find((x) => x instanceof GitHubTimeoutError);
  if (timeout) return `${timeout.message}${after}`;
  return `no answer from the GitHub API: ${e.message ?? String(error)}${after}`;
}

const STATUS_TEXT: Record<number, string> = {
  401: ' Unauthorized',
  403: ' Forbidden',
  404: ' Not Found',
  422: ' Unprocessable Entity',
  429: ' Too Many Requests',
  500: ' Internal Server Error',
  502: ' Bad Gateway',
  503: ' Service Unavailable',
  504: ' Gateway Timeout',
};
const statusText = (status: number) => STATUS_TEXT[status] ?? '';

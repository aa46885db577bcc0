/**
 * Which commit the pre-registration must already be committed at. Pure: the caller reads
 * GITHUB_EVENT_NAME and parses the GITHUB_EVENT_PATH payload.
 */
import { ConfigError } from '../common/errors.js';

export type LockRefSource = 'input' | 'pull_request' | 'push' | 'merge_group';

export interface LockRefContext {
  /** The `lock-ref` input; empty or whitespace-only counts as unset. */
  lockRefInput?: string;
  eventName?: string;
  /** The parsed webhook payload. */
  event?: unknown;
}

export interface ResolvedLockRef {
  ref: string;
  source: LockRefSource;
}

export const RELEASE_LOCK_TAG_EXAMPLE = 'deploysim-lock-2026-06';

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
const ZERO_SHA = /^0+$/;

function field(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function setLockRef(why: string): ConfigError {
  return new ConfigError(
    `${why}. Set the \`lock-ref\` input (CLI: \`--lock-ref\`) to a commit or tag at which deploysim.yml and every file it ` +
      `references were already committed; for release gates the documented pattern is a tag like ` +
      `\`${RELEASE_LOCK_TAG_EXAMPLE}\` pushed when the registration change was merged.`,
  );
}

function eventSha(event: unknown, eventName: string, keys: string[]): string {
  const value = field(event, ...keys);
  const where = `event.${keys.join('.')}`;
  if (typeof value !== 'string' || value.trim() === '') {
    throw setLockRef(`the ${eventName} event payload has no ${where}, so there is no commit to lock against`);
  }
  const sha = value.trim();
  if (!SHA.test(sha)) {
    throw setLockRef(`the ${eventName} event payload's ${where} is not a commit SHA (${JSON.stringify(sha)})`);
  }
  return sha;
}

export function resolveLockRef(context: LockRefContext): ResolvedLockRef {
  const input = context.lockRefInput?.trim();
  if (input) {
    if (input.startsWith('-')) {
      throw new ConfigError(`\`lock-ref\` must be a commit SHA, tag or branch name, not ${JSON.stringify(input)}`);
    }
    return { ref: input, source: 'input' };
  }

  const eventName = context.eventName?.trim() ?? '';
  switch (eventName) {
    case 'pull_request':
    case 'pull_request_target':
      return { ref: eventSha(context.event, eventName, ['pull_request', 'base', 'sha']), source: 'pull_request' };
    case 'merge_group':
      return { ref: eventSha(context.event, eventName, ['merge_group', 'base_sha']), source: 'merge_group' };
    case 'push': {
      const before = eventSha(context.event, eventName, ['before']);
      if (ZERO_SHA.test(before)) {
        throw setLockRef(
          'this push created a new branch or tag (event.before is the all-zero SHA), so there is no previous ' +
            'commit to lock against',
        );
      }
      return { ref: before, source: 'push' };
    }
    default:
      throw setLockRef(
        eventName
          ? `the ${eventName} event has no base commit deploysim can lock against`
          : 'no GitHub event is available (not running in GitHub Actions?), so there is no base commit to lock against ' +
              '(for a local experiment that proves nothing, the CLI also takes `--no-lock`)',
      );
  }
}

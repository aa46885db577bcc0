import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/common/errors.js';
import { resolveLockRef } from '../../src/lock/lockRef.js';

const BASE = '1111111111111111111111111111111111111111';
const BEFORE = '2222222222222222222222222222222222222222';
const ZERO = '0000000000000000000000000000000000000000';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveLockRef', () => {
  it('prefers the lock-ref input over the event', () => {
    expect(
      resolveLockRef({
        lockRefInput: ' deploysim-lock-2026-06 ',
        eventName: 'pull_request',
        event: { pull_request: { base: { sha: BASE } } },
      }),
    ).toEqual({ ref: 'deploysim-lock-2026-06', source: 'input' });
  });

  it('treats an empty input as unset', () => {
    expect(resolveLockRef({ lockRefInput: '  ', eventName: 'push', event: { before: BEFORE } })).toEqual({
      ref: BEFORE,
      source: 'push',
    });
  });

  it('rejects an input that looks like an option', () => {
    expect(configError(() => resolveLockRef({ lockRefInput: '--upload-pack=x' })).message).toContain('lock-ref');
  });

  it('uses the base SHA for pull_request and pull_request_target', () => {
    for (const eventName of ['pull_request', 'pull_request_target']) {
      expect(resolveLockRef({ eventName, event: { pull_request: { base: { sha: BASE } } } })).toEqual({
        ref: BASE,
        source: 'pull_request',
      });
    }
  });

  it('fails when a pull_request payload has no base SHA', () => {
    const error = configError(() => resolveLockRef({ eventName: 'pull_request', event: { pull_request: {} } }));
    expect(error.message).toContain('event.pull_request.base.sha');
    expect(error.message).toContain('`lock-ref`');
  });

  it('uses event.before for push', () => {
    expect(resolveLockRef({ eventName: 'push', event: { before: BEFORE, after: BASE } })).toEqual({
      ref: BEFORE,
      source: 'push',
    });
  });

  it('fails on the all-zero before SHA of a new branch, asking for lock-ref', () => {
    const error = configError(() => resolveLockRef({ eventName: 'push', event: { before: ZERO } }));
    expect(error.message).toContain('new branch');
    expect(error.message).toContain('`lock-ref`');
  });

  it('uses the merge group base SHA', () => {
    expect(resolveLockRef({ eventName: 'merge_group', event: { merge_group: { base_sha: BASE } } })).toEqual({
      ref: BASE,
      source: 'merge_group',
    });
  });

  it.each(['workflow_dispatch', 'release', 'schedule', undefined])(
    'fails for %s without lock-ref, naming the input and the release tag pattern',
    (eventName) => {
      const error = configError(() => resolveLockRef({ eventName, event: {} }));
      expect(error.message).toContain('`lock-ref`');
      expect(error.message).toContain('deploysim-lock-2026-06');
      expect(error.exitCode).toBe(2);
    },
  );
});

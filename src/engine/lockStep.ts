import path from 'node:path';
import { createGit, findRepoRoot } from '../lock/git.js';
import { resolveLockRef, type LockRefContext, type ResolvedLockRef } from '../lock/lockRef.js';
import { formatLockViolations, verifyLock, workflowPathFromRef } from '../lock/verifyLock.js';
import type { Registration } from '../registration/load.js';
import type { LockOutcome } from './dependencies.js';
import { hashFile } from '../common/hashFile.js';

/** sha256 of no bytes: what an unreadable file hashed to before (a missing file is reported by the sampler). */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * The real lock: resolve the lock ref from the input or the event, then prove with git that the
 * registration, its files and the running workflow are unchanged since then. Runs before sampling.
 */
export function gitLock(cwd: string, context: LockRefContext & { workflowRef?: string }) {
  return async (registration: Registration): Promise<LockOutcome> => {
    const { ref, source } = resolveLockRef(context);
    const git = createGit(cwd);
    const repoRoot = await findRepoRoot(git);
    const workflowFile = context.workflowRef ? workflowPathFromRef(context.workflowRef) : undefined;
    const result = await verifyLock({ git, repoRoot, lockRef: ref, files: registration.lockedFiles, workflowFile });
    // An explicit `lock-ref` is set in the workflow file, and on pull_request / push / merge_group the
    // workflow that runs is the change's own copy: a change could set `lock-ref: HEAD` and lock against
    // itself. So the workflow must also be unchanged since the event's own base commit.
    const eventBase = source === 'input' && workflowFile !== undefined ? eventBaseRef(context) : undefined;
    if (eventBase !== undefined && workflowFile !== undefined && eventBase.ref !== ref) {
      const atBase = await verifyLock({ git, repoRoot, lockRef: eventBase.ref, files: [workflowFile], workflowFile });
      for (const v of atBase.violations) {
        const detail =
          `${v.detail.replaceAll('the lock ref', `the ${eventBase.source} base`)} ` +
          '(`lock-ref` is set by this workflow, so it must also be unchanged since the event\'s base)';
        const existing = result.violations.find((e) => e.path === v.path);
        if (existing) {
          existing.kinds = [...new Set([...existing.kinds, ...v.kinds])];
          existing.detail = `${existing.detail}; ${detail}`;
        } else result.violations.push({ ...v, detail });
      }
    }
    const files = [...result.files, ...(result.workflowFile ? [result.workflowFile] : [])].map((f) => ({ path: f.path, sha256: f.sha256 ?? 'missing' }));
    return {
      verified: result.violations.length === 0,
      lockRef: result.lockRef,
      files,
      violations: result.violations,
      message: result.violations.length > 0 ? formatLockViolations(result) : undefined,
      warnings: lockWarnings(ref, result.lockRef, result.head, context),
    };
  };
}

function lockWarnings(ref: string, lockRef: string, head: string, context: LockRefContext): string[] {
  // pull_request_target checks out the base branch by default: the run then tests that, not the PR.
  if (context.eventName === 'pull_request_target') {
    const prHead = (context.event as { pull_request?: { head?: { sha?: unknown } } } | undefined)?.pull_request?.head?.sha;
    if (typeof prHead === 'string' && prHead !== head) {
      return [
        `pull_request_target checked out ${head.slice(0, 12)}, not the pull request's head ${prHead.slice(0, 12)}: this run tests the base branch, not the pull request. ` +
          'Gate PRs on pull_request (fork PRs through workflow_run, see examples/fork-safe/).',
      ];
    }
  }
  // Locking against the commit under test proves only that the files are committed, not that they
  // came first: fine for a local try, meaningless as a gate. On workflow_run (examples/fork-safe) the
  // change under test is the triggering run's head, which is not checked out: HEAD is the default
  // branch, and a lock ref equal to it is the commit the pull request branched from.
  const triggeringHead = context.eventName === 'workflow_run' ? (context.event as { workflow_run?: { head_sha?: unknown } } | undefined)?.workflow_run?.head_sha : undefined;
  if (typeof triggeringHead === 'string' && triggeringHead !== head) return [];
  if (lockRef === head) {
    return [`The lock ref ${ref === 'HEAD' ? 'is HEAD' : `${ref} is the commit under test (HEAD)`}: this shows the registration is committed, not that it was committed before the change. Gate on a PR base, a push's previous head or a lock tag.`];
  }
  return [];
}

/** The commit the event itself is based on (PR base, push `before`, merge queue base), if it has one. */
function eventBaseRef(context: LockRefContext): ResolvedLockRef | undefined {
  try {
    return resolveLockRef({ eventName: context.eventName, event: context.event });
  } catch {
    return undefined; // workflow_dispatch, release, schedule, a new branch: nothing to compare with
  }
}

/** CLI `--no-lock`: hashes the files so the report still says what ran, but proves nothing. */
export function noLock(cwd: string) {
  return async (registration: Registration): Promise<LockOutcome> => ({
    verified: false,
    lockRef: null,
    files: await Promise.all(
      registration.lockedFiles.map(async (f) => ({
        path: path.relative(cwd, f).split(path.sep).join('/'),
        sha256: (await hashFile(f, { gitBlobIds: false }).catch(() => undefined))?.sha256 ?? EMPTY_SHA256,
      })),
    ),
    violations: [],
  });
}

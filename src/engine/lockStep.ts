import path from 'node:path';
import { createGit, findRepoRoot } from '../lock/git.js';
import { resolveLockRef, type LockRefContext } from '../lock/lockRef.js';
import { formatLockViolations, verifyLock, workflowPathFromRef } from '../lock/verifyLock.js';
import type { Registration } from '../registration/load.js';
import type { LockOutcome } from './runGate.js';
import { hashFile } from '../cache/hashFile.js';

/** sha256 of no bytes: what an unreadable file hashed to before (a missing file is reported by the sampler). */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * The real lock: resolve the lock ref from the input or the event, then prove with git that the
 * registration, its files and the running workflow are unchanged since then. Runs before sampling.
 */
export function gitLock(cwd: string, context: LockRefContext & { workflowRef?: string }) {
  return async (registration: Registration): Promise<LockOutcome> => {
    const { ref } = resolveLockRef(context);
    const git = createGit(cwd);
    const repoRoot = await findRepoRoot(git);
    const result = await verifyLock({
      git,
      repoRoot,
      lockRef: ref,
      files: registration.lockedFiles,
      workflowFile: context.workflowRef ? workflowPathFromRef(context.workflowRef) : undefined,
    });
    const files = [...result.files, ...(result.workflowFile ? [result.workflowFile] : [])].map((f) => ({ path: f.path, sha256: f.sha256 ?? 'missing' }));
    return {
      verified: result.violations.length === 0,
      lockRef: result.lockRef,
      files,
      violations: result.violations,
      message: result.violations.length > 0 ? formatLockViolations(result) : undefined,
    };
  };
}

/** CLI `--no-lock`: hashes the files so the report still says what ran, but proves nothing. */
export function noLock(cwd: string) {
  return async (registration: Registration): Promise<LockOutcome> => ({
    verified: false,
    lockRef: null,
    files: await Promise.all(
      registration.lockedFiles.map(async (f) => ({
        path: path.relative(cwd, f).split(path.sep).join('/'),
        sha256: (await hashFile(f).catch(() => undefined))?.sha256 ?? EMPTY_SHA256,
      })),
    ),
    violations: [],
  });
}

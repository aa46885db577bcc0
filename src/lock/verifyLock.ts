/**
 * The pre-registration lock: the registration (deploysim.yml), every file it references and the
 * workflow running the gate must be byte-identical, as git sees them, at the lock ref, at HEAD and in
 * the working tree. Anything else means the change under test could have relaxed its own gate.
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, ConfigErrors, GateError } from '../common/errors.js';
import { type Git, gitText } from './git.js';
import { hashFile, type FileDigests } from '../common/hashFile.js';

export type LockViolationKind = 'missing-at-lock-ref' | 'changed' | 'uncommitted' | 'missing';

export interface VerifyLockOptions {
  git: Git;
  /** Top-level directory of the work tree (see findRepoRoot). */
  repoRoot: string;
  /** Commit SHA, tag or branch name the files must already be committed at. */
  lockRef: string;
  /** The registration and every file it references: absolute, or relative to repoRoot. */
  files: readonly string[];
  /** Repo-relative path of the workflow running the gate (see workflowPathFromRef). */
  workflowFile?: string;
}

export interface LockedFile {
  /** Repo-relative, POSIX separators. */
  path: string;
  /** Hex SHA-256 of the working-tree bytes; null when the file is missing from the working tree. */
  sha256: string | null;
}

export interface LockViolation {
  path: string;
  kinds: LockViolationKind[];
  detail: string;
}

export interface LockResult {
  /** Full SHA of the lock commit. */
  lockRef: string;
  /** The ref as asked for (input, event SHA, tag…). */
  lockRefInput: string;
  /** Full SHA of HEAD. */
  head: string;
  files: LockedFile[];
  workflowFile?: LockedFile;
  violations: LockViolation[];
}

export const LOCK_EXPLANATION =
  'the registration and its files must be committed before the change under test: ' +
  'merge the registration change in its own PR first, then open the change that it gates';

/** How a legitimate change to the predictions, corpus, rubrics or workflow gets in. */
export const LOCK_HOW_TO_LAND =
  'To change the registration (predictions, corpus, rubric files, calibration) or this workflow: put only that ' +
  'change in its own pull request. This gate fails on it by design; review it (CODEOWNERS) and merge it ' +
  '(a maintainer bypasses the required check). Then update the change under test from the base branch ' +
  '(rebase, or merge the base branch in, and push): the gate runs again and locks against the new registration.';

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

/** `owner/repo/.github/workflows/gate.yml@refs/pull/1/merge` → `.github/workflows/gate.yml`. */
export function workflowPathFromRef(workflowRef: string): string {
  const ref = workflowRef.trim();
  const at = ref.includes('@refs/') ? ref.lastIndexOf('@refs/') : ref.lastIndexOf('@');
  const qualified = at === -1 ? ref : ref.slice(0, at);
  const segments = qualified.split('/');
  const file = segments.slice(2).join('/');
  if (segments.length < 3 || !segments[0] || !segments[1] || file === '' || segments.slice(2).includes('..')) {
    throw new ConfigError(
      `cannot find the workflow file in GITHUB_WORKFLOW_REF ${JSON.stringify(workflowRef)} ` +
        '(expected owner/repo/path/to/workflow.yml@ref)',
    );
  }
  return file;
}

function isInside(rel: string): boolean {
  return rel !== '' && !path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..';
}

function toPosix(rel: string): string {
  return rel.split(path.sep).join('/');
}

/** Repo-relative POSIX path, or a refusal reason. */
async function toRepoRelative(root: string, rootReal: string, input: string): Promise<string | { refused: string }> {
  if (input.trim() === '') return { refused: 'an empty path cannot be locked' };
  const abs = path.resolve(root, input);
  let rel: string | undefined;
  for (const base of [root, rootReal]) {
    const candidate = path.relative(base, abs);
    if (isInside(candidate)) {
      rel = candidate;
      break;
    }
  }
  if (rel === undefined && path.isAbsolute(input)) {
    // An absolute path reaching the repository through a symlinked prefix (/tmp vs /private/tmp).
    const dirReal = await realpath(path.dirname(abs)).catch(() => undefined);
    const candidate = dirReal === undefined ? '' : path.relative(rootReal, path.join(dirReal, path.basename(abs)));
    if (isInside(candidate)) rel = candidate;
  }
  if (rel === undefined) {
    return { refused: `${input}: is outside the repository ${root}; only files committed in the repository can be locked` };
  }
  const posix = toPosix(rel);
  if (posix.split('/').includes('.git')) return { refused: `${posix}: is inside git's own .git directory` };
  return posix;
}

type WorkTreeState = { kind: 'file'; digests: FileDigests } | { kind: 'missing' } | { kind: 'refused'; why: string };

async function inspectWorkTree(root: string, rel: string): Promise<WorkTreeState> {
  const segments = rel.split('/');
  for (let i = 1; i <= segments.length; i++) {
    const prefix = segments.slice(0, i).join('/');
    const abs = path.join(root, ...segments.slice(0, i));
    let stats;
    try {
      stats = await lstat(abs);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
      throw new ConfigError(`${rel}: cannot be read (${(error as Error).message})`);
    }
    if (stats.isSymbolicLink()) {
      return {
        kind: 'refused',
        why:
          i === segments.length
            ? `${rel}: is a symbolic link in the working tree; lock the file it points to instead`
            : `${rel}: is reached through the symbolic link ${prefix} in the working tree`,
      };
    }
    if (i === segments.length && !stats.isFile()) {
      return { kind: 'refused', why: `${rel}: is not a regular file in the working tree` };
    }
  }
  try {
    return { kind: 'file', digests: await hashFile(path.join(root, ...segments)) };
  } catch (error) {
    throw new ConfigError(`${rel}: cannot be read (${(error as Error).message})`);
  }
}

interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
}

/** `git ls-tree` entries for exactly these paths at a commit (absent paths are simply missing). */
async function treeEntries(git: Git, root: string, commit: string, paths: string[]): Promise<Map<string, TreeEntry>> {
  const result = await git.run(['-C', root, '--literal-pathspecs', 'ls-tree', '-z', '--full-tree', commit, '--', ...paths]);
  const entries = new Map<string, TreeEntry>();
  for (const record of result.stdout.toString('utf8').split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, type, oid] = record.slice(0, tab).split(' ');
    if (tab === -1 || !mode || !type || !oid) continue;
    entries.set(record.slice(tab + 1), { mode, type, oid });
  }
  return entries;
}

function treeRefusal(rel: string, entry: TreeEntry | undefined, where: string): string | undefined {
  if (!entry) return undefined;
  if (entry.mode === '120000') return `${rel}: is a symbolic link at ${where}; lock the file it points to instead`;
  if (entry.type === 'tree') return `${rel}: is a directory at ${where}, not a file`;
  if (entry.type !== 'blob') return `${rel}: is a submodule at ${where}, not a file`;
  return undefined;
}

async function ignoredPaths(git: Git, root: string, paths: string[]): Promise<Set<string>> {
  const result = await git.run(['-C', root, 'check-ignore', '-z', '--stdin'], {
    allowFailure: true,
    input: paths.map((p) => `${p}\0`).join(''),
  });
  // 0: some paths are ignored, 1: none are, anything else is an error.
  if (result.code !== 0 && result.code !== 1) {
    throw new ConfigError(`git check-ignore failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  }
  return new Set(result.stdout.toString('utf8').split('\0').filter((p) => p !== ''));
}

async function resolveCommit(git: Git, root: string, ref: string): Promise<string | undefined> {
  const result = await git.run(['-C', root, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    allowFailure: true,
  });
  const sha = gitText(result);
  return result.code === 0 && FULL_SHA.test(sha) ? sha : undefined;
}

/** The lock ref as a full commit SHA, fetching it once from origin when the clone lacks it. */
async function resolveLockCommit(git: Git, root: string, lockRef: string): Promise<string> {
  if (lockRef.trim() === '' || lockRef.startsWith('-')) {
    throw new ConfigError(`the lock ref ${JSON.stringify(lockRef)} is not a commit SHA, tag or branch name`);
  }
  const local = await resolveCommit(git, root, lockRef);
  if (local) return local;

  let why: string;
  const format = await git.run(['check-ref-format', '--allow-onelevel', lockRef], { allowFailure: true });
  const isShallow = gitText(await git.run(['-C', root, 'rev-parse', '--is-shallow-repository'], { allowFailure: true })) === 'true';
  if (format.code !== 0) {
    why = 'it is not a SHA or ref name that can be fetched';
  } else {
    const depth = isShallow ? ['--depth=1'] : [];
    const fetch = await git.run(
      ['-C', root, 'fetch', '--quiet', '--no-tags', '--no-recurse-submodules', ...depth, 'origin', lockRef],
      { allowFailure: true },
    );
    if (fetch.code === 0) {
      const fetched = await resolveCommit(git, root, FULL_SHA.test(lockRef) ? lockRef : 'FETCH_HEAD');
      if (fetched) return fetched;
      why = 'it was fetched from origin but does not name a commit';
    } else {
      const firstLine = fetch.stderr.split('\n').map((line) => line.trim()).find((line) => line !== '');
      why = `git fetch origin ${lockRef} failed: ${firstLine ?? `exit ${fetch.code}`}`;
    }
  }
  // A shallow clone (actions/checkout's default) lacks history; a full clone lacking the ref suggests a typo.
  const advice = isShallow
    ? 'use actions/checkout with `fetch-depth: 0`, or fetch the ref before running deploysim'
    : `check the lock-ref value (\`git rev-parse ${lockRef}\` must name a commit), or fetch the ref before running deploysim`;
  throw new ConfigError(`the lock ref ${JSON.stringify(lockRef)} is not in this clone (${why}). deploysim needs the lock ref's commit to compare against: ${advice}.`);
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

export async function verifyLock(options: VerifyLockOptions): Promise<LockResult> {
  const { git, lockRef } = options;
  const root = path.resolve(options.repoRoot);
  const rootReal = await realpath(root).catch(() => root);

  // 1. Paths: normalise, refuse escapes, dedupe (the workflow may also be listed as a file).
  const refusals: string[] = [];
  const registered: string[] = [];
  for (const input of options.files) {
    const rel = await toRepoRelative(root, rootReal, input);
    if (typeof rel === 'string') {
      if (!registered.includes(rel)) registered.push(rel);
    } else refusals.push(rel.refused);
  }
  let workflow: string | undefined;
  if (options.workflowFile !== undefined) {
    const rel = await toRepoRelative(root, rootReal, options.workflowFile);
    if (typeof rel === 'string') workflow = rel;
    else refusals.push(rel.refused);
  }
  if (refusals.length > 0) throw new ConfigErrors(refusals, 'deploysim cannot lock these paths:');
  const all = workflow === undefined || registered.includes(workflow) ? registered : [...registered, workflow];
  if (all.length === 0) throw new ConfigError('no files to lock: the registration file itself must be locked');

  // 2. Commits.
  const head = await resolveCommit(git, root, 'HEAD');
  if (!head) throw new ConfigError(`HEAD of ${root} is not a commit; check out the change under test before running deploysim`);
  const lock = await resolveLockCommit(git, root, lockRef);
  const algorithm = head.length === 64 ? 'sha256' : 'sha1';

  // 3. What git and the working tree hold for every path.
  const workTree = await Promise.all(all.map((rel) => inspectWorkTree(root, rel)));
  // check-ignore dies on paths beyond a symlink: ask only about paths the working tree did not refuse.
  const checkable = all.filter((_, i) => workTree[i]?.kind !== 'refused');
  const [ignored, atHead, atLock] = await Promise.all([
    checkable.length > 0 ? ignoredPaths(git, root, checkable) : new Set<string>(),
    treeEntries(git, root, head, all),
    treeEntries(git, root, lock, all),
  ]);
  for (const [i, rel] of all.entries()) {
    const wt = workTree[i];
    if (wt?.kind === 'refused') refusals.push(wt.why);
    if (ignored.has(rel)) {
      refusals.push(`${rel}: is ignored by git (.gitignore), so it cannot have been committed; un-ignore and commit it`);
    }
    const refusal = treeRefusal(rel, atHead.get(rel), 'HEAD') ?? treeRefusal(rel, atLock.get(rel), `the lock ref ${short(lock)}`);
    if (refusal) refusals.push(refusal);
  }
  if (refusals.length > 0) throw new ConfigErrors(refusals, 'deploysim cannot lock these paths:');

  // 4. Classify every difference.
  const violations: LockViolation[] = [];
  const locked = new Map<string, LockedFile>();
  for (const [i, rel] of all.entries()) {
    const wt = workTree[i];
    const headEntry = atHead.get(rel);
    const lockEntry = atLock.get(rel);
    const kinds: LockViolationKind[] = [];
    const details: string[] = [];

    if (!lockEntry) {
      kinds.push('missing-at-lock-ref');
      details.push(`not committed at the lock ref ${short(lock)}${headEntry ? ' (added after it)' : ''}`);
    } else if (!headEntry) {
      kinds.push('changed');
      details.push(`deleted or moved at HEAD since the lock ref ${short(lock)}`);
    } else if (headEntry.oid !== lockEntry.oid) {
      kinds.push('changed');
      details.push(
        `committed content at HEAD (blob ${short(headEntry.oid)}) differs from the lock ref ${short(lock)} ` +
          `(blob ${short(lockEntry.oid)})`,
      );
    }

    let sha256: string | null = null;
    if (wt?.kind !== 'file') {
      kinds.push('missing');
      details.push('not found in the working tree');
    } else {
      sha256 = wt.digests.sha256;
      if (!headEntry) {
        kinds.push('uncommitted');
        details.push('not committed at HEAD (untracked or only staged)');
      } else if (wt.digests.blob[algorithm] !== headEntry.oid) {
        // Raw bytes differ; allow only what git's own clean filters normalise (autocrlf, LFS pointers).
        const filtered = await git.run(['-C', root, 'hash-object', '--', rel], { allowFailure: true });
        if (filtered.code !== 0 || gitText(filtered) !== headEntry.oid) {
          kinds.push('uncommitted');
          details.push('working-tree bytes differ from HEAD (edited after checkout and not committed)');
        }
      }
    }

    locked.set(rel, { path: rel, sha256 });
    if (kinds.length > 0) {
      const prefix = rel === workflow ? 'the workflow running this gate: ' : '';
      violations.push({ path: rel, kinds, detail: prefix + details.join('; ') });
    }
  }

  const result: LockResult = {
    lockRef: lock,
    lockRefInput: lockRef,
    head,
    files: registered.map((rel) => locked.get(rel) ?? { path: rel, sha256: null }),
    violations,
  };
  if (workflow !== undefined) result.workflowFile = locked.get(workflow) ?? { path: workflow, sha256: null };
  return result;
}

const KIND_HINTS: Record<LockViolationKind, string> = {
  'missing-at-lock-ref': 'added after the lock ref',
  changed: 'changed since the lock ref',
  uncommitted: 'not committed',
  missing: 'missing from the working tree',
};

export function formatLockViolations(result: LockResult): string {
  const lock = `${short(result.lockRef)}${result.lockRefInput !== result.lockRef ? ` (${result.lockRefInput})` : ''}`;
  const count = result.files.length + (result.workflowFile ? 1 : 0);
  if (result.violations.length === 0) {
    return `Lock holds: ${count} file(s) are committed unchanged since the lock ref ${lock}.`;
  }
  const lines = [
    `Lock violated: ${result.violations.length} of ${count} locked file(s) differ from the lock ref ${lock}:`,
    ...result.violations.map(
      (v) => `  - ${v.path} [${v.kinds.map((k) => KIND_HINTS[k]).join(', ')}]: ${v.detail}`,
    ),
    `Why: ${LOCK_EXPLANATION}.`,
    LOCK_HOW_TO_LAND,
  ];
  if (result.violations.some((v) => v.kinds.includes('uncommitted') || v.kinds.includes('missing'))) {
    lines.push('Files that are uncommitted or missing were changed in the working tree: the gate only trusts committed content.');
  }
  return lines.join('\n');
}

/** Throws a GateError (exit 1) listing every violation. */
export function assertLockHolds(result: LockResult): void {
  if (result.violations.length > 0) throw new GateError(formatLockViolations(result));
}

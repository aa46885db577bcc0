import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, GateError } from '../../src/common/errors.js';
import { createGit, findRepoRoot } from '../../src/lock/git.js';
import {
  LOCK_EXPLANATION,
  assertLockHolds,
  formatLockViolations,
  verifyLock,
  workflowPathFromRef,
  type LockResult,
  type VerifyLockOptions,
} from '../../src/lock/verifyLock.js';
import {
  BASE_CONTENT,
  REGISTRATION_FILES,
  Repo,
  WORKFLOW,
  cleanupTempDirs,
  gitSync,
  registeredRepo,
  tempDir,
} from './gitFixture.js';

afterEach(cleanupTempDirs);

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function verify(repo: Repo, lockRef: string, overrides: Partial<VerifyLockOptions> = {}): Promise<LockResult> {
  return verifyLock({
    git: createGit(repo.dir),
    repoRoot: repo.dir,
    lockRef,
    files: REGISTRATION_FILES,
    workflowFile: WORKFLOW,
    ...overrides,
  });
}

function violated(result: LockResult): Array<[string, string[]]> {
  return result.violations.map((v) => [v.path, v.kinds]);
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('verifyLock', () => {
  it('control: a head commit touching only an unrelated file passes, with working-tree sha256s', async () => {
    const { repo, base } = registeredRepo();
    repo.write('README.md', '# demo\n\nunrelated change\n');
    const head = repo.commit('unrelated change');

    const git = createGit(repo.dir);
    const root = await findRepoRoot(git);
    const result = await verifyLock({
      git,
      repoRoot: root,
      lockRef: base,
      // absolute paths, relative paths and duplicates are all normalised to repo-relative POSIX paths
      files: [path.join(repo.dir, 'deploysim.yml'), ...REGISTRATION_FILES.slice(1), 'evals/../deploysim.yml'],
      workflowFile: workflowPathFromRef(`acme/model/${WORKFLOW}@refs/pull/1/merge`),
    });

    expect(result.violations).toEqual([]);
    expect(result.lockRef).toBe(base);
    expect(result.lockRefInput).toBe(base);
    expect(result.head).toBe(head);
    expect(result.files).toEqual(REGISTRATION_FILES.map((p) => ({ path: p, sha256: sha256(BASE_CONTENT[p] ?? '') })));
    expect(result.workflowFile).toEqual({ path: WORKFLOW, sha256: sha256(BASE_CONTENT[WORKFLOW] ?? '') });
    expect(formatLockViolations(result)).toMatch(/^Lock holds: 6 file\(s\)/);
    expect(() => assertLockHolds(result)).not.toThrow();
  });

  it('resolves a tag lock ref to the full commit SHA', async () => {
    const { repo, base } = registeredRepo();
    repo.git('tag', '-a', '-m', 'lock', 'deploysim-lock-2026-06');
    repo.write('src/model.txt', 'v2\n');
    repo.commit('change under test');
    const result = await verify(repo, 'deploysim-lock-2026-06');
    expect(result.lockRef).toBe(base);
    expect(result.lockRefInput).toBe('deploysim-lock-2026-06');
    expect(result.violations).toEqual([]);
  });

  it('handles SHA-256 repositories and paths with spaces or non-ASCII characters', async () => {
    const repo = Repo.init(undefined, ['--object-format=sha256']);
    repo.write('deploysim.yml', 'corpus: "évals/my corpus.jsonl"\n').write('évals/my corpus.jsonl', '{"id":"a"}\n');
    const base = repo.commit('register');
    repo.write('évals/my corpus.jsonl', '{"id":"b"}\n');
    repo.commit('edit corpus');
    const result = await verify(repo, base, { files: ['deploysim.yml', 'évals/my corpus.jsonl'], workflowFile: undefined });
    expect(result.lockRef).toHaveLength(64);
    expect(violated(result)).toEqual([['évals/my corpus.jsonl', ['changed']]]);
    repo.git('checkout', '--quiet', base, '--', 'évals/my corpus.jsonl');
    repo.commit('revert');
    expect((await verify(repo, base, { files: ['évals/my corpus.jsonl'], workflowFile: undefined })).violations).toEqual([]);
  });

  it('flags a prediction edited in the head commit', async () => {
    const { repo, base } = registeredRepo();
    repo.write('deploysim.yml', (BASE_CONTENT['deploysim.yml'] ?? '').replace('max: 0.02', 'max: 0.50'));
    repo.write('src/model.txt', 'v2\n');
    repo.commit('relax harmful_rate and ship');

    const result = await verify(repo, base);
    expect(violated(result)).toEqual([['deploysim.yml', ['changed']]]);
    expect(result.violations[0]?.detail).toMatch(/differs from the lock ref/);

    const message = formatLockViolations(result);
    expect(message).toContain('deploysim.yml');
    expect(message).toContain(LOCK_EXPLANATION);
    expect(message).not.toContain('evals/corpus.jsonl');
    expect(() => assertLockHolds(result)).toThrow(GateError);
  });

  it('flags a corpus line edited in the head commit', async () => {
    const { repo, base } = registeredRepo();
    repo.write('evals/corpus.jsonl', (BASE_CONTENT['evals/corpus.jsonl'] ?? '').replace('pick a lock', 'bake bread'));
    repo.commit('soften the corpus');
    const result = await verify(repo, base);
    expect(violated(result)).toEqual([['evals/corpus.jsonl', ['changed']]]);
  });

  it('flags a rubric file edited in the head commit', async () => {
    const { repo, base } = registeredRepo();
    repo.write('evals/rubrics/harm.md', '# Harm\nFlag nothing.\n');
    repo.commit('loosen the rubric');
    const result = await verify(repo, base);
    expect(violated(result)).toEqual([['evals/rubrics/harm.md', ['changed']]]);
  });

  it('flags uncommitted edits, untracked files and files missing from the working tree', async () => {
    const { repo, base } = registeredRepo();
    repo.write('README.md', 'head\n');
    repo.commit('unrelated');
    repo.write('evals/calibration.json', '{"grader_agreement": 0.5}\n'); // edited after checkout
    repo.write('evals/rubrics/new.md', '# never committed\n'); // untracked
    repo.remove('evals/rubrics/refusal.md'); // deleted from the working tree

    const result = await verify(repo, base, { files: [...REGISTRATION_FILES, 'evals/rubrics/new.md'] });
    expect(violated(result)).toEqual([
      ['evals/rubrics/refusal.md', ['missing']],
      ['evals/calibration.json', ['uncommitted']],
      ['evals/rubrics/new.md', ['missing-at-lock-ref', 'uncommitted']],
    ]);
    expect(result.files.find((f) => f.path === 'evals/rubrics/refusal.md')?.sha256).toBeNull();
    expect(result.files.find((f) => f.path === 'evals/calibration.json')?.sha256).toBe(
      sha256('{"grader_agreement": 0.5}\n'),
    );
    const message = formatLockViolations(result);
    for (const p of ['evals/rubrics/refusal.md', 'evals/calibration.json', 'evals/rubrics/new.md']) {
      expect(message).toContain(p);
    }
  });

  it('does not mistake autocrlf line endings in the working tree for an uncommitted edit', async () => {
    const { repo, base } = registeredRepo();
    repo.git('config', 'core.autocrlf', 'true');
    repo.write('evals/rubrics/harm.md', (BASE_CONTENT['evals/rubrics/harm.md'] ?? '').replace(/\n/g, '\r\n'));
    const result = await verify(repo, base);
    expect(result.violations).toEqual([]);
  });

  it('flags a registration added in the head commit (absent at the lock ref)', async () => {
    const repo = Repo.init();
    repo.write('README.md', '# demo\n');
    const base = repo.commit('before registration');
    for (const [rel, content] of Object.entries(BASE_CONTENT)) repo.write(rel, content);
    repo.commit('register predictions together with the change');

    const result = await verify(repo, base);
    expect(violated(result)).toEqual(
      [...REGISTRATION_FILES, WORKFLOW].map((p) => [p, ['missing-at-lock-ref']] as [string, string[]]),
    );
    expect(result.violations.at(-1)?.detail).toMatch(/^the workflow running this gate: /);
  });

  it('flags an edit to the workflow running the gate', async () => {
    const { repo, base } = registeredRepo();
    repo.write(WORKFLOW, `${BASE_CONTENT[WORKFLOW] ?? ''}        with:\n          lock-ref: HEAD\n`);
    repo.commit('point the lock at HEAD');
    const result = await verify(repo, base, {
      workflowFile: workflowPathFromRef(`acme/model/${WORKFLOW}@refs/pull/7/merge`),
    });
    expect(violated(result)).toEqual([[WORKFLOW, ['changed']]]);
    expect(formatLockViolations(result)).toContain(`${WORKFLOW} [changed since the lock ref]`);
  });

  describe('lock ref not in the clone', () => {
    function shallowClone(): { clone: Repo; base: string } {
      const { repo, base } = registeredRepo();
      repo.git('tag', '-a', '-m', 'lock', 'deploysim-lock-2026-06');
      repo.write('src/model.txt', 'v2\n');
      repo.commit('change under test');
      const origin = path.join(tempDir(), 'origin.git');
      gitSync(repo.dir, 'clone', '--quiet', '--bare', repo.dir, origin);
      const cloneDir = path.join(tempDir(), 'clone');
      gitSync(repo.dir, 'clone', '--quiet', '--depth=1', `file://${origin}`, cloneDir);
      return { clone: new Repo(cloneDir), base };
    }

    function hasCommit(repo: Repo, sha: string): boolean {
      try {
        repo.git('cat-file', '-e', `${sha}^{commit}`);
        return true;
      } catch {
        return false;
      }
    }

    it('fetches a base SHA missing from a shallow clone, then verifies against it', async () => {
      const { clone, base } = shallowClone();
      expect(hasCommit(clone, base)).toBe(false);
      const result = await verify(clone, base);
      expect(hasCommit(clone, base)).toBe(true);
      expect(result.lockRef).toBe(base);
      expect(result.violations).toEqual([]);
    });

    it('fetches a lock tag missing from a shallow clone', async () => {
      const { clone, base } = shallowClone();
      const result = await verify(clone, 'deploysim-lock-2026-06');
      expect(result.lockRef).toBe(base);
      expect(result.violations).toEqual([]);
    });

    it('fails with ConfigError pointing at fetch-depth: 0 when the ref cannot be fetched', async () => {
      const { clone } = shallowClone();
      const missing = 'c0ffee'.padEnd(40, '0');
      const error = await configError(verify(clone, missing));
      expect(error.message).toContain(missing);
      expect(error.message).toContain('fetch-depth: 0');
      expect(error.exitCode).toBe(2);
    });

    it('fails with ConfigError for a ref a full clone does not have, pointing at the value (a typo), not at fetch-depth', async () => {
      const { repo } = registeredRepo();
      const error = await configError(verify(repo, 'HEAD~3'));
      expect(error.message).toContain('HEAD~3');
      expect(error.message).toContain('check the lock-ref value (`git rev-parse HEAD~3` must name a commit)');
      expect(error.message).not.toContain('fetch-depth');
    });
  });

  describe('refused paths', () => {
    it('refuses a registration file that is a symlink (working tree and HEAD)', async () => {
      const { repo, base } = registeredRepo();
      repo.remove('evals/rubrics/harm.md').symlink('evals/rubrics/harm.md', 'refusal.md');
      repo.commit('symlink the rubric');
      const error = await configError(verify(repo, base));
      expect(error.message).toContain('evals/rubrics/harm.md: is a symbolic link in the working tree');
      expect(error.message).toContain('evals/rubrics/harm.md: is a symbolic link at HEAD');
      expect(error.message).not.toContain('evals/rubrics/refusal.md:');
    });

    it('refuses a path reached through a symlinked directory', async () => {
      const { repo, base } = registeredRepo();
      repo.symlink('data', 'evals');
      const error = await configError(verify(repo, base, { files: ['deploysim.yml', 'data/corpus.jsonl'] }));
      expect(error.message).toContain('data/corpus.jsonl: is reached through the symbolic link data');
      expect(error.message).not.toContain('deploysim.yml:');
    });

    it('refuses a file that was a symlink at the lock ref', async () => {
      const repo = Repo.init();
      for (const [rel, content] of Object.entries(BASE_CONTENT)) repo.write(rel, content);
      repo.remove('evals/calibration.json').symlink('evals/calibration.json', '/etc/hostname');
      const base = repo.commit('register with a symlinked calibration');
      repo.remove('evals/calibration.json').write('evals/calibration.json', '{}\n');
      repo.commit('replace the symlink');
      const error = await configError(verify(repo, base));
      expect(error.message).toContain(`evals/calibration.json: is a symbolic link at the lock ref ${base.slice(0, 12)}`);
    });

    it('refuses paths escaping the repository', async () => {
      const { repo, base } = registeredRepo();
      const outside = path.join(tempDir(), 'outside.yml');
      const error = await configError(
        verify(repo, base, { files: ['deploysim.yml', '../outside.yml', 'evals/../../x.jsonl', outside] }),
      );
      expect(error.message).toContain('../outside.yml: is outside the repository');
      expect(error.message).toContain('evals/../../x.jsonl: is outside the repository');
      expect(error.message).toContain(`${outside}: is outside the repository`);
      expect(error.message).not.toContain('deploysim.yml:');
    });

    it('refuses a file git ignores', async () => {
      const { repo, base } = registeredRepo();
      repo.write('evals/override.local', 'max: 1\n');
      const error = await configError(verify(repo, base, { files: [...REGISTRATION_FILES, 'evals/override.local'] }));
      expect(error.message).toContain('evals/override.local: is ignored by git');
      expect(error.message).not.toContain('deploysim.yml:');
    });
  });
});

describe('workflowPathFromRef', () => {
  it('extracts the repo-relative workflow path', () => {
    expect(workflowPathFromRef('owner/repo/.github/workflows/gate.yml@refs/pull/1/merge')).toBe(
      '.github/workflows/gate.yml',
    );
    expect(workflowPathFromRef('owner/repo/.github/workflows/gate.yml@refs/heads/main')).toBe(
      '.github/workflows/gate.yml',
    );
    expect(workflowPathFromRef('owner/repo/.github/workflows/a@b.yml@refs/tags/v1')).toBe('.github/workflows/a@b.yml');
  });

  it('rejects a malformed ref', () => {
    expect(() => workflowPathFromRef('gate.yml')).toThrow(ConfigError);
    expect(() => workflowPathFromRef('')).toThrow(ConfigError);
    expect(() => workflowPathFromRef('o/r/../x.yml@refs/heads/main')).toThrow(ConfigError);
  });
});

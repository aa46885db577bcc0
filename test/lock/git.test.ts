import { realpathSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, GateError } from '../../src/common/errors.js';
import { GitCommandError, createGit, findRepoRoot, gitText } from '../../src/lock/git.js';
import { Repo, cleanupTempDirs, tempDir } from './gitFixture.js';

afterEach(cleanupTempDirs);

describe('createGit', () => {
  it('returns stdout as bytes', async () => {
    const repo = Repo.init();
    const result = await createGit(repo.dir).run(['rev-parse', '--is-inside-work-tree']);
    expect(Buffer.isBuffer(result.stdout)).toBe(true);
    expect(gitText(result)).toBe('true');
    expect(result.code).toBe(0);
  });

  it('puts trimmed stderr into the error of a failed command', async () => {
    const repo = Repo.init();
    const error = await createGit(repo.dir)
      .run(['rev-parse', '--verify', 'no-such-ref'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitCommandError);
    expect(error).toBeInstanceOf(GateError);
    // stderr is trimmed: "fatal: Needed a single revision" (in English locales), no trailing newline
    expect((error as Error).message).toMatch(/^git rev-parse --verify no-such-ref failed \(exit 128\): fatal: \S.*\S$/);
    expect((error as GitCommandError).stderr).toContain('fatal:');
  });

  it('returns the exit code when failure is allowed', async () => {
    const repo = Repo.init();
    const result = await createGit(repo.dir).run(['rev-parse', '--verify', '--quiet', 'nope'], { allowFailure: true });
    expect(result.code).toBe(1);
  });
});

describe('findRepoRoot', () => {
  it('returns the top-level directory from a subdirectory', async () => {
    const repo = Repo.init();
    repo.write('a/b/file.txt', 'x\n');
    expect(await findRepoRoot(createGit(`${repo.dir}/a/b`))).toBe(realpathSync(repo.dir));
  });

  it('raises ConfigError outside a repository', async () => {
    await expect(findRepoRoot(createGit(tempDir()))).rejects.toThrow(ConfigError);
  });
});

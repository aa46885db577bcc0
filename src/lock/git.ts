/**
 * A minimal, injectable git runner. Arguments go to execFile as an array: no shell, no interpolation.
 * stdout is always returned as raw bytes (blob contents and `-z` listings must not be re-encoded).
 */
import { execFile } from 'node:child_process';
import { ConfigError, GateError } from '../common/errors.js';

export interface GitRunOptions {
  /** Resolve with the non-zero exit code instead of throwing. Spawn failures still throw. */
  allowFailure?: boolean;
  /** Written to the command's stdin (for `--stdin -z` forms); stdin is closed either way. */
  input?: Buffer | string;
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

export interface Git {
  run(args: readonly string[], opts?: GitRunOptions): Promise<GitResult>;
}

/** A git command that failed unexpectedly: the gate cannot trust its view of the repository. */
export class GitCommandError extends GateError {
  constructor(
    readonly args: readonly string[],
    readonly code: number | string,
    readonly stderr: string,
  ) {
    const why = stderr.trim() || 'no error output';
    super(`git ${args.join(' ')} failed (${typeof code === 'number' ? `exit ${code}` : code}): ${why}`);
  }
}

const MAX_BUFFER = 512 * 1024 * 1024;

/** Variables that would point git at some other repository than the one at `cwd`. */
const REPO_LOCATING_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_PREFIX', 'GIT_COMMON_DIR'];

function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' };
  for (const name of REPO_LOCATING_ENV) delete env[name];
  return env;
}

export function createGit(cwd: string): Git {
  return {
    run(args, opts = {}) {
      const argv = [...args];
      return new Promise<GitResult>((resolve, reject) => {
        const child = execFile(
          'git',
          argv,
          { cwd, encoding: 'buffer', maxBuffer: MAX_BUFFER, env: gitEnv(), windowsHide: true },
          (error, stdout, stderrBuf) => {
            const stderr = stderrBuf.toString('utf8');
            if (!error) {
              resolve({ stdout, stderr, code: 0 });
              return;
            }
            const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
            if (code === 'ENOENT') {
              reject(
                new ConfigError(
                  `could not run git in ${cwd}: git is not installed or not on PATH, or the directory does not exist ` +
                    '(deploysim needs git to verify the lock)',
                ),
              );
              return;
            }
            if (typeof code === 'number') {
              if (opts.allowFailure) resolve({ stdout, stderr, code });
              else reject(new GitCommandError(argv, code, stderr));
              return;
            }
            // Killed by a signal, output over maxBuffer, cwd missing…: never a usable answer.
            reject(new GitCommandError(argv, String(code ?? error.signal ?? 'error'), stderr || error.message));
          },
        );
        child.stdin?.on('error', () => {}); // git may exit before reading stdin (EPIPE); its exit code tells
        child.stdin?.end(opts.input ?? '');
      });
    },
  };
}

/** stdout as UTF-8 text without the trailing newline. */
export function gitText(result: GitResult): string {
  return result.stdout.toString('utf8').replace(/\r?\n$/, '');
}

/** The work tree's top-level directory (`git rev-parse --show-toplevel`). */
export async function findRepoRoot(git: Git): Promise<string> {
  const result = await git.run(['rev-parse', '--show-toplevel'], { allowFailure: true });
  const root = gitText(result);
  if (result.code !== 0 || root === '') {
    const why = result.stderr.trim();
    throw new ConfigError(
      `not inside a git work tree, so the lock cannot be verified${why ? ` (git: ${why})` : ''}; ` +
        'run deploysim from a checkout of the repository',
    );
  }
  return root;
}

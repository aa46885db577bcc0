import { mkdir } from 'node:fs/promises';
import { ConfigError } from './errors.js';

/** How long creating a directory may take: some file systems never answer (mkdir -p under /proc spins). */
const MAKE_DIRECTORY_MS = 10_000;

/**
 * Creates a directory the user named (output-dir, cache-dir), before any model request: a path
 * taken by a file, one that cannot be created, or one the file system does not answer for within
 * 10 s is a configuration error, not a lost run or a hang.
 */
export async function makeDirectory(dir: string, input: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), MAKE_DIRECTORY_MS);
  });
  try {
    const made = await Promise.race([mkdir(dir, { recursive: true }).then(() => 'made' as const), gaveUp]);
    if (made === 'timeout') throw new ConfigError(`${input}: creating the directory ${dir} got no answer from the file system in ${MAKE_DIRECTORY_MS / 1000} s; give the path of a directory on a normal file system.`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (code ?? (error as Error).message);
    throw new ConfigError(`${input}: cannot create the directory ${dir} (${why}); give the path of a directory.`);
  } finally {
    clearTimeout(timer);
  }
}

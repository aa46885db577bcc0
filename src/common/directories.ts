import { mkdir } from 'node:fs/promises';
import { ConfigError } from './errors.js';

/**
 * Creates a directory the user named (output-dir, cache-dir), before any model request: a path
 * taken by a file, or one that cannot be created, is a configuration error, not a lost run.
 */
export async function makeDirectory(dir: string, input: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (code ?? (error as Error).message);
    throw new ConfigError(`${input}: cannot create the directory ${dir} (${why}); give the path of a directory.`);
  }
}

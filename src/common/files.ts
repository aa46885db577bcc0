import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A name for a temp file next to `file`, unique to this process and call. */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `data` to a new temp file beside `file` (created exclusively, so a symlink planted there is
 * never followed), then renames it over `file`: a run stopped at any moment leaves the old file or
 * the new one, never half of one.
 */
export async function writeFileAtomically(file: string, data: string): Promise<void> {
  const temp = tempNameFor(file);
  try {
    await writeFile(temp, data, { flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

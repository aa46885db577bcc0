import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export interface FileDigests {
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** Git blob ids (`blob <size>\0<bytes>`) for sha1 and sha256 repositories. */
  blob: { sha1: string; sha256: string };
  size: number;
}

const CHUNK_BYTES = 1024 * 1024;

/**
 * Digests of a file read as a stream, so locking a multi-gigabyte corpus costs a 1 MiB buffer, not
 * the corpus in memory. The size in the git blob header is the bytes actually read.
 */
export async function hashFile(file: string): Promise<FileDigests>;
/** Only the sha256 of the bytes (reports, --no-lock): skips the two git blob digests. */
export async function hashFile(file: string, options: { gitBlobIds: false }): Promise<Pick<FileDigests, 'sha256' | 'size'>>;
export async function hashFile(file: string, options: { gitBlobIds?: boolean } = {}): Promise<FileDigests | Pick<FileDigests, 'sha256' | 'size'>> {
  const withBlobs = options.gitBlobIds !== false;
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const plain = createHash('sha256');
    const blob1 = withBlobs ? createHash('sha1').update(`blob ${size}\0`) : undefined;
    const blob256 = withBlobs ? createHash('sha256').update(`blob ${size}\0`) : undefined;
    // One buffer, reused for every read: nothing is left behind for the garbage collector per chunk.
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let read = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      read += bytesRead;
      plain.update(chunk);
      blob1?.update(chunk);
      blob256?.update(chunk);
    }
    // Changed while we read it: no blob id can match, which the lock reports as an uncommitted edit.
    const torn = read !== size ? '-changed-while-reading' : '';
    const sha256 = plain.digest('hex');
    if (!blob1 || !blob256) return { sha256, size: read };
    return { sha256, blob: { sha1: blob1.digest('hex') + torn, sha256: blob256.digest('hex') + torn }, size: read };
  } finally {
    await handle.close();
  }
}

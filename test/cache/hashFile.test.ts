import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile } from '../../src/common/hashFile.js';

describe('hashFile (streaming digests for the lock)', () => {
  it('gives the sha256 and the git blob id of a file larger than one read chunk', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-hash-'));
    const file = path.join(dir, 'corpus.jsonl');
    const bytes = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `{"id":"r-${i}","messages":[]}\n`).join(''));
    expect(bytes.length).toBeGreaterThan(1024 * 1024);
    await writeFile(file, bytes);
    const digests = await hashFile(file);
    expect(digests.size).toBe(bytes.length);
    expect(digests.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(digests.blob.sha1).toBe(execFileSync('git', ['hash-object', '--no-filters', file], { encoding: 'utf8' }).trim());
    expect(digests.blob.sha256).toBe(createHash('sha256').update(`blob ${bytes.length}\0`).update(bytes).digest('hex'));
  });

  it('gives the same sha256 without the git blob ids when they are not needed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-hash-'));
    const file = path.join(dir, 'data.bin');
    const bytes = Buffer.from('x'.repeat(2 * 1024 * 1024 + 7));
    await writeFile(file, bytes);
    const digests = await hashFile(file, { gitBlobIds: false });
    expect(digests).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
  });
});

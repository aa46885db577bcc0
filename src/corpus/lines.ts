import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

/** A single corpus line beyond this is refused rather than buffered without bound. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface Line {
  /** 1-based line number in the (decompressed) file. */
  number: number;
  text: string;
  /** The line's bytes are not valid UTF-8 (`text` holds replacement characters where they broke). */
  invalidUtf8?: true;
}

/** The corpus path names something other than a regular file (a FIFO would block the run forever). */
export class NotAFileError extends Error {
  constructor(readonly kind: string) {
    super(`is ${kind}, not a regular file`);
  }
}

/** What a path is, in words, when it is not a regular file. */
export async function notARegularFile(file: string): Promise<string | undefined> {
  const info = await stat(file);
  if (info.isFile()) return undefined;
  return info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a FIFO (named pipe)' : info.isSocket() ? 'a socket' : info.isCharacterDevice() || info.isBlockDevice() ? 'a device' : 'not a regular file';
}

export class LineTooLongError extends Error {
  constructor(readonly lineNumber: number) {
    super(`line is longer than ${MAX_LINE_BYTES} bytes`);
  }
}

/** Bytes read from a plain corpus file at a time (one buffer, reused). */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Opens a corpus file as a stream of byte chunks, gunzipping when the file starts with the gzip
 * magic bytes. A plain file is read into one reused buffer: a chunk is valid only until the next one
 * is requested (readLines copies what it keeps), so a pass over a large corpus holds one buffer instead
 * of leaving a fresh 1 MiB Buffer per read for the garbage collector.
 */
export async function openCorpusStream(file: string): Promise<AsyncIterable<Buffer>> {
  const kind = await notARegularFile(file);
  if (kind) throw new NotAFileError(kind);
  const magic = Buffer.alloc(2);
  const probe = await open(file, 'r');
  try {
    await probe.read(magic, 0, 2, 0);
  } finally {
    await probe.close();
  }
  if (magic[0] === 0x1f && magic[1] === 0x8b) return createReadStream(file).pipe(createGunzip());
  return readChunks(file);
}

// The file is opened on the first read, not before: a generator that is never iterated never runs
// its `finally`, and a handle opened outside it would be left for the garbage collector to close.
async function* readChunks(file: string): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Splits byte chunks into lines with constant memory per line (bounded by MAX_LINE_BYTES); handles
 * CRLF and a leading UTF-8 byte-order mark. `lines(chunk)` is synchronous: a pass that reads chunks with `for await` and their lines with
 * a plain `for` costs no promise per line. Over a million-line corpus that is the difference between
 * per-line objects dying young and ~30 MB more peak RSS (promises queued across a scavenge get
 * promoted). Nothing refers to a chunk once `lines(chunk)` is exhausted (a partial line is copied),
 * so chunk buffers may be reused by the source.
 */
class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private number = 0;

  *lines(chunk: Buffer): Generator<Line> {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (this.pendingBytes + nl - start > MAX_LINE_BYTES) throw new LineTooLongError(this.number + 1);
      yield this.finish(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > MAX_LINE_BYTES) throw new LineTooLongError(this.number + 1);
      this.pending.push(Buffer.from(rest));
    }
  }

  /** The last line, when the input does not end with a newline. */
  *end(): Generator<Line> {
    if (this.pendingBytes > 0) yield this.finish(Buffer.alloc(0), 0, 0);
  }

  /** The line ending at `end` of `chunk`, after whatever earlier chunks left pending. */
  private finish(chunk: Buffer, start: number, end: number): Line {
    let text: string;
    let bytes: Buffer;
    if (this.pending.length) {
      bytes = Buffer.concat([...this.pending, chunk.subarray(start, end)]);
      this.pending = [];
      this.pendingBytes = 0;
    } else bytes = chunk.subarray(start, end);
    text = bytes.toString('utf8');
    this.number += 1;
    // A replacement character is rare in real text: only then are the bytes checked (natively).
    const invalidUtf8 = text.includes('\uFFFD') && !isUtf8(bytes);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    // Some editors and exports start UTF-8 files with a byte-order mark; it is not part of the JSON.
    if (this.number === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    return invalidUtf8 ? { number: this.number, text, invalidUtf8 } : { number: this.number, text };
  }
}

/**
 * The lines of a chunk stream, one synchronous batch per chunk (and one for a last line without a
 * newline). Exhaust each batch before asking for the next: the chunk behind it may be reused.
 */
export async function* lineBatches(stream: AsyncIterable<Buffer>): AsyncGenerator<Iterable<Line>> {
  const splitter = new LineSplitter();
  for await (const chunk of stream) yield splitter.lines(chunk);
  yield splitter.end();
}

/** Every line of a chunk stream, one at a time (for passes where a promise per line does not matter). */
export async function* readLines(stream: AsyncIterable<Buffer>): AsyncGenerator<Line> {
  for await (const batch of lineBatches(stream)) yield* batch;
}

/**
 * Calls `each` for every line, synchronously within a chunk: the pass over a whole corpus. `signal`
 * is checked between chunks, the only points at which an abort (a signal handler) can have run.
 */
export async function forEachLine(stream: AsyncIterable<Buffer>, each: (line: Line) => void, signal?: AbortSignal): Promise<void> {
  for await (const batch of lineBatches(stream)) {
    signal?.throwIfAborted();
    for (const line of batch) each(line);
  }
}

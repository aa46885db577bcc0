import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** A single corpus line beyond this is refused rather than buffered without bound. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface Line {
  /** 1-based line number in the (decompressed) file. */
  number: number;
  text: string;
}

export class LineTooLongError extends Error {
  constructor(readonly lineNumber: number) {
    super(`line is longer than ${MAX_LINE_BYTES} bytes`);
  }
}

/** Opens a corpus file as a byte stream, gunzipping when the file starts with the gzip magic bytes. */
export async function openCorpusStream(file: string): Promise<Readable> {
  const handle = await open(file, 'r');
  const magic = Buffer.alloc(2);
  try {
    await handle.read(magic, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  return magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
}

/** Streams lines with constant memory per line (bounded by MAX_LINE_BYTES); handles CRLF. */
export async function* readLines(stream: AsyncIterable<Buffer>): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  const finish = (tail: Buffer): Line => {
    const whole = pending.length ? Buffer.concat([...pending, tail]) : tail;
    pending = [];
    pendingBytes = 0;
    number += 1;
    let text = whole.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return { number, text };
  };
  for await (const chunk of stream) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (pendingBytes + nl - start > MAX_LINE_BYTES) throw new LineTooLongError(number + 1);
      yield finish(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > MAX_LINE_BYTES) throw new LineTooLongError(number + 1);
      pending.push(Buffer.from(rest));
    }
  }
  if (pendingBytes > 0) yield finish(Buffer.alloc(0));
}

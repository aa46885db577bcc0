import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { ConfigError } from '../common/errors.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './jsonDepth.js';
import { LineTooLongError, readLines, type Line } from './lines.js';
import { addCounts, emptyCounts, redact, type RedactionCounts } from '../redact/redact.js';

export interface ScrubOptions {
  /** A JSONL corpus: a file path (gunzipped when it ends with `.gz`) or a byte stream. */
  input: NodeJS.ReadableStream | string;
  /** Where the scrubbed JSONL goes (gzipped when it ends with `.gz`). Written atomically. */
  output: string;
  /** Name used in error messages for a stream input. Default: `<stream>`. */
  inputName?: string;
  /** Gunzip the input. Default: the input is a path ending with `.gz`. */
  gunzipInput?: boolean;
}

export interface ScrubResult {
  /** Non-blank lines read. */
  records: number;
  /** Records written to the output. */
  written: number;
  /** Records dropped because they carry `"consent": false`. */
  droppedNoConsent: number;
  /** Redactions per kind over the written records. */
  counts: RedactionCounts;
}

/** A corpus line that is not a JSON object (or has a malformed `messages`). Exit code 2. */
export class ScrubInputError extends ConfigError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Redacts every string value (not keys) in a JSON value; returns the new value. */
function redactDeep(value: Json, acc: { counts: RedactionCounts }): Json {
  if (typeof value === 'string') {
    const r = redact(value);
    acc.counts = addCounts(acc.counts, r.counts);
    return r.text;
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, acc));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      // A content part's `type` is structure, not text.
      out[k] = k === 'type' && typeof v === 'string' ? v : redactDeep(v, acc);
    }
    return out;
  }
  return value;
}

/**
 * Tool-call arguments are a JSON-encoded string: redact its string values structurally so the
 * result stays valid JSON; fall back to plain-text redaction when it does not parse.
 */
function redactArguments(args: Json, acc: { counts: RedactionCounts }): Json {
  if (typeof args !== 'string') return redactDeep(args, acc);
  let parsed: Json;
  try {
    parsed = JSON.parse(args) as Json;
  } catch {
    return redactDeep(args, acc);
  }
  const local = { counts: emptyCounts() };
  const redacted = redactDeep(parsed, local);
  if (!Object.values(local.counts).some((n) => n > 0)) return args;
  acc.counts = addCounts(acc.counts, local.counts);
  return JSON.stringify(redacted);
}

function redactToolCalls(calls: Json, acc: { counts: RedactionCounts }): Json {
  if (!Array.isArray(calls)) return calls;
  return calls.map((call) => {
    if (!isObject(call) || !isObject(call.function) || !('arguments' in call.function)) return call;
    return { ...call, function: { ...call.function, arguments: redactArguments(call.function.arguments!, acc) } };
  });
}

/** Redacts `content` and `tool_calls[*].function.arguments` of a message-like object. */
function redactMessage(message: Json, acc: { counts: RedactionCounts }): Json {
  if (!isObject(message)) return message;
  const out: JsonObject = { ...message };
  if ('content' in message) out.content = redactDeep(message.content!, acc);
  if ('tool_calls' in message) out.tool_calls = redactToolCalls(message.tool_calls!, acc);
  return out;
}

/**
 * Redacts one corpus record in place of: every string inside `messages[*].content` (a string or an
 * array of parts), `messages[*].tool_calls[*].function.arguments`, a top-level `tool_calls`, and
 * `completion.content` / `completion.tool_calls`. Other fields (ids, metadata…) pass through.
 */
export function scrubRecord(record: JsonObject): { record: JsonObject; counts: RedactionCounts } {
  const acc = { counts: emptyCounts() };
  const out: JsonObject = { ...record };
  if (Array.isArray(record.messages)) out.messages = record.messages.map((m) => redactMessage(m, acc));
  if ('tool_calls' in record) out.tool_calls = redactToolCalls(record.tool_calls!, acc);
  if (isObject(record.completion)) out.completion = redactMessage(record.completion, acc);
  else if (typeof record.completion === 'string') out.completion = redactDeep(record.completion, acc);
  return { record: out, counts: acc.counts };
}

async function* asBuffers(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/** A line over the corpus limit is refused with IN:line before it is buffered whole. */
async function* catchLongLines(lines: AsyncIterable<Line>, file: string): AsyncGenerator<Line> {
  try {
    yield* lines;
  } catch (error) {
    if (error instanceof LineTooLongError) throw new ScrubInputError(file, error.lineNumber, error.message);
    throw error;
  }
}

async function removeQuietly(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch {
    // already gone
  }
}

/**
 * Streams a JSONL corpus line by line, drops `"consent": false` records, redacts the conversation
 * text of the others and writes them to `output` — via a temp file in the same directory that is
 * renamed over `output` only once everything is written and synced, so an interrupted or failed
 * scrub never leaves a partial output file (at worst a hidden `.<name>.*.tmp` after a hard kill).
 */
export async function scrubCorpus(options: ScrubOptions): Promise<ScrubResult> {
  const inputIsPath = typeof options.input === 'string';
  const file = typeof options.input === 'string' ? options.input : (options.inputName ?? '<stream>');
  const gunzip = options.gunzipInput ?? (inputIsPath && file.endsWith('.gz'));
  const gzipOutput = options.output.endsWith('.gz');

  const outDir = path.dirname(path.resolve(options.output));
  await mkdir(outDir, { recursive: true });
  const tmp = path.join(outDir, `.${path.basename(options.output)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

  // Source: file or stream, optionally through gunzip; errors of the raw stream are forwarded to
  // the gunzip stream so the line reader (which rejects on input errors) sees them.
  const raw: Readable | NodeJS.ReadableStream = typeof options.input === 'string' ? createReadStream(options.input) : options.input;
  let source: Readable | NodeJS.ReadableStream = raw;
  if (gunzip) {
    const gz = createGunzip();
    raw.on('error', (err: Error) => gz.destroy(err));
    source = raw.pipe(gz);
  }

  // Sink: temp file, optionally through gzip. `done` settles when everything is flushed to disk.
  const fileStream = createWriteStream(tmp, { flags: 'wx' });
  let sink: Writable = fileStream;
  let done: Promise<void>;
  if (gzipOutput) {
    const gz = createGzip();
    sink = gz;
    done = pipeline(gz, fileStream);
  } else {
    done = once(fileStream, 'close').then(() => undefined);
  }
  // Avoid an unhandled rejection if we bail out before awaiting `done`.
  done.catch(() => {});
  let sinkError: Error | undefined;
  sink.on('error', (err: Error) => {
    sinkError ??= err;
  });
  fileStream.on('error', (err: Error) => {
    sinkError ??= err;
  });

  const write = async (chunk: string): Promise<void> => {
    if (sinkError) throw sinkError;
    // `once` rejects when the sink errors while we wait; under gzip, pipeline() forwards a file
    // error to the gzip stream by destroying it with that error.
    if (!sink.write(chunk)) await once(sink, 'drain');
  };

  const result: ScrubResult = { records: 0, written: 0, droppedNoConsent: 0, counts: emptyCounts() };
  // The same line reader as `run` (bounded memory per line, same line numbers, CRLF-aware).
  const lines = readLines(asBuffers(source as AsyncIterable<Buffer | string>));
  try {
    for await (const { number: lineNumber, text: line } of catchLongLines(lines, file)) {
      if (line.trim() === '') continue;
      if (jsonDepthExceeds(line)) throw new ScrubInputError(file, lineNumber, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        throw new ScrubInputError(file, lineNumber, `invalid JSON: ${(err as Error).message}`);
      }
      if (!isObject(parsed)) throw new ScrubInputError(file, lineNumber, 'expected a JSON object');
      if ('messages' in parsed && !Array.isArray(parsed.messages)) {
        throw new ScrubInputError(file, lineNumber, '"messages" must be an array');
      }
      result.records += 1;
      if (parsed.consent === false) {
        result.droppedNoConsent += 1;
        continue;
      }
      const { record, counts } = scrubRecord(parsed);
      result.counts = addCounts(result.counts, counts);
      await write(`${JSON.stringify(record)}\n`);
      result.written += 1;
    }
    sink.end();
    await done;
    if (sinkError) throw sinkError;
    // Make the data durable before the rename publishes it.
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, options.output);
    return result;
  } catch (err) {
    if ('destroy' in source && typeof source.destroy === 'function') source.destroy();
    if (source !== raw && 'destroy' in raw && typeof raw.destroy === 'function') raw.destroy();
    sink.destroy();
    fileStream.destroy();
    if (!fileStream.closed) await once(fileStream, 'close').catch(() => {});
    await removeQuietly(tmp);
    throw err;
  }
}

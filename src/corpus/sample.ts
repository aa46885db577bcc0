import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { ConfigError, ConfigErrors, GateError } from '../common/errors.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './jsonDepth.js';
import { forEachLine, lineBatches, LineTooLongError, NotAFileError, openCorpusStream, type Line } from './lines.js';
import { corpusRecordSchema, derivePrefix, isPlainCorpusRecord, readDottedField, type CorpusRecord, type ReplayPrefix } from './record.js';

export interface SampleSettings {
  /** Records to replay; undefined = all. */
  sample?: number;
  seed: number;
  /** Dotted field path for proportional stratification. */
  stratify?: string;
  /** Called with every valid, consented record during this same pass (agentic replay builds its tool-response database here). */
  onRecord?: (record: CorpusRecord, lineNumber: number) => void;
  /** Cancellation (SIGINT/SIGTERM): the pass stops at the next chunk and throws the signal's reason. */
  signal?: AbortSignal;
}

export interface StratumCount {
  name: string;
  records: number;
  sampled: number;
}

/** The outcome of the validating pass: which lines are in the sample, and in which rank order. */
export interface CorpusPlan {
  file: string;
  displayPath: string;
  /** Valid, consented records in the corpus. */
  corpusRecords: number;
  excludedNoConsent: number;
  requested: number | null;
  /** Sampled line number → rank (0-based position in the hash-ranked sample). */
  selection: Map<number, number>;
  sampleSize: number;
  strata: StratumCount[];
  /** sha256 over the sampled ids in rank order: shards of one sample share it (checked by `merge`). */
  fingerprint: string;
}

export type SampledPrefix = ReplayPrefix & { rank: number };

const MAX_REPORTED_PROBLEMS = 50;
/** The first line of a Git LFS pointer file (what a checkout without LFS leaves in place of the file). */
const LFS_POINTER = 'version https://git-lfs.github.com/spec/';
const NO_STRATUM = '(missing)';

/**
 * One corpus line as a record; a string says what is wrong with it; undefined for a blank line. The
 * common line shape is checked without the schema; every other line (and every error) goes through it.
 */
function parseCorpusLine(text: string): CorpusRecord | string | undefined {
  if (text.trim() === '') return undefined;
  if (jsonDepthExceeds(text)) return `JSON nested deeper than ${MAX_JSON_DEPTH} levels; a conversation record needs far fewer`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `not valid JSON (${(error as Error).message})`;
  }
  if (isPlainCorpusRecord(json)) return json;
  const parsed = corpusRecordSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
  // The schema library's wording for an absent field ("expected array, received undefined") says "missing".
  const missing = /^Invalid input: expected (\w+), received undefined$/.exec(issue.message);
  return `${field || 'record'}: ${missing ? `missing (${/^[aeiou]/.test(missing[1]!) ? 'an' : 'a'} ${missing[1]} is required)` : issue.message}`;
}

function isGzipError(error: unknown): error is Error {
  return error instanceof Error && 'code' in error && String(error.code).startsWith('Z_');
}

/** Problems found in a corpus, reported in line order; the first MAX_REPORTED_PROBLEMS are kept. */
class ProblemList {
  private readonly kept: { line: number; message: string }[] = [];
  count = 0;
  constructor(private readonly displayPath: string) {}
  add(line: number, message: string) {
    this.count += 1;
    this.kept.push({ line, message });
    // Repeated ids are found after the pass, so lines do not arrive in order: keep the lowest.
    if (this.kept.length > 2 * MAX_REPORTED_PROBLEMS) this.trim();
  }
  /** The first MAX_REPORTED_PROBLEMS, as `file:line: message`. */
  lines(): string[] {
    this.trim();
    return this.kept.map(({ line, message }) => `${this.displayPath}:${line}: ${message}`);
  }
  private trim() {
    this.kept.sort((a, b) => a.line - b.line);
    this.kept.length = Math.min(this.kept.length, MAX_REPORTED_PROBLEMS);
  }
}

/**
 * Pass 1: validates every line (all problems are reported together, with file:line) and picks the
 * sample. Each record's rank is sha256(seed, id): the sample is the lowest-ranked records, so it
 * depends only on (corpus content, sample, seed, stratify), not on line order. Memory holds ids'
 * 64-bit fingerprints (for duplicate detection) and at most 2×sample small tuples per stratum; a
 * line is validated without per-line schema objects when it has the common shape.
 */
export async function planSample(file: string, displayPath: string, settings: SampleSettings): Promise<CorpusPlan> {
  const problems = new ProblemList(displayPath);
  const problem = (line: number, message: string) => problems.add(line, message);
  const ids = new FingerprintLog();
  const strata = new Map<string, { records: number; pool: RankPool }>();
  const limit = settings.sample ?? Number.POSITIVE_INFINITY;
  let corpusRecords = 0;
  let excludedNoConsent = 0;
  let lastLine = 0;

  const stream = await openCorpusStream(file).catch((error: NodeJS.ErrnoException) => {
    if (error instanceof NotAFileError) throw new ConfigError(`${displayPath}: corpus.path ${error.message}; give the path of a JSONL (or .jsonl.gz) file.`);
    throw new ConfigError(`${displayPath}: cannot read the corpus (${error.code ?? error.message}); corpus.path is resolved relative to the registration file.`);
  });
  try {
    await forEachLine(
      stream,
      (line) => {
        lastLine = line.number;
        if (line.invalidUtf8) {
          problem(line.number, 'not valid UTF-8: re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)');
          return;
        }
        if (line.number === 1 && line.text.startsWith(LFS_POINTER)) {
          throw new ConfigError(`${displayPath}:1: this is a Git LFS pointer, not the corpus: fetch the LFS object (actions/checkout with \`lfs: true\`, or \`git lfs pull\`).`);
        }
        const parsed = parseCorpusLine(line.text);
        if (parsed === undefined) return;
        if (typeof parsed === 'string') {
          problem(line.number, parsed);
          return;
        }
        const record = parsed;
        // One digest per record: its prefix is the sampling rank, and its first 64 bits the duplicate-id fingerprint.
        const digest = rankDigest(settings.seed, record.id);
        ids.add(digest);
        const prefix = derivePrefix(record.messages);
        if ('error' in prefix) {
          problem(line.number, `record "${record.id}": ${prefix.error}`);
          return;
        }
        if (record.consent === false) {
          excludedNoConsent += 1;
          return;
        }
        settings.onRecord?.(record, line.number);
        corpusRecords += 1;
        const stratumName = settings.stratify ? (readDottedField(record, settings.stratify) ?? NO_STRATUM) : '';
        let stratum = strata.get(stratumName);
        if (!stratum) strata.set(stratumName, (stratum = { records: 0, pool: new RankPool(limit) }));
        stratum.records += 1;
        stratum.pool.offer(digest, line.number, record.id);
      },
      settings.signal,
    );
  } catch (error) {
    if (error instanceof LineTooLongError) problem(error.lineNumber, error.message);
    // Where decompression broke off: the line after the last whole one.
    else if (isGzipError(error)) problem(lastLine + 1, `the gzip stream is corrupt or truncated here (${error.message}); re-create the file`);
    else throw error;
  }
  const repeated = ids.repeated();
  // Only a corpus with repeated ids is read again, to name the lines that repeat them.
  if (repeated.size > 0) {
    const seen = new Set<string>();
    await forEachLine(await openCorpusStream(file), (line) => {
      const record = parseCorpusLine(line.text);
      if (record === undefined || typeof record === 'string') return;
      const fingerprint = rankDigest(settings.seed, record.id).slice(0, 16);
      if (!repeated.has(fingerprint)) return;
      // A repeat whose prefix is invalid was reported for that already: one problem per line.
      if (!seen.has(fingerprint)) seen.add(fingerprint);
      else if (!('error' in derivePrefix(record.messages))) problem(line.number, `id "${record.id}" appears more than once; ids must be unique`);
    }).catch((error: unknown) => {
      // The first pass stopped at the same place and has reported it.
      if (!(error instanceof LineTooLongError) && !isGzipError(error)) throw error;
    });
  }
  if (problems.count > 0) {
    throw new ConfigErrors(
      problems.lines(),
      `${displayPath}: ${problems.count} invalid corpus line${problems.count === 1 ? '' : 's'}; fix them:`,
      problems.count,
    );
  }
  if (corpusRecords === 0) {
    const why = excludedNoConsent > 0 ? ` (${excludedNoConsent === 1 ? 'its one record has' : `all ${excludedNoConsent} records have`} consent: false)` : '';
    throw new ConfigError(`${displayPath}: the corpus has no replayable records${why}.`);
  }
  if (settings.stratify && strata.size === 1 && strata.has(NO_STRATUM)) {
    throw new ConfigError(`corpus.stratify: no record in ${displayPath} has the field "${settings.stratify}"; give a dotted path to a field the records have, e.g. metadata.surface.`);
  }

  const sampleSize = Math.min(limit, corpusRecords);
  const allocation = allocateProportionally(
    [...strata].map(([name, s]) => ({ name, records: s.records })),
    sampleSize,
  );
  const chosen: Ranked[] = [];
  const strataCounts: StratumCount[] = [];
  for (const { name, records, take } of allocation) {
    // One element at a time: spreading a large selection into push() overflows the call stack.
    for (const ranked of strata.get(name)!.pool.lowest(take)) chosen.push(ranked);
    strataCounts.push({ name, records, sampled: take });
  }
  chosen.sort(compareRank);
  return {
    file,
    displayPath,
    corpusRecords,
    excludedNoConsent,
    requested: settings.sample ?? null,
    selection: new Map(chosen.map((c, rank) => [c.line, rank])),
    sampleSize,
    fingerprint: sampleFingerprint(chosen.map((c) => c.id)),
    strata: settings.stratify ? strataCounts : [],
  };
}

/**
 * Pass 2: streams the sampled records (in file order) with their prefixes. `keep(rank)` selects a
 * shard's slice, so a shard never holds the others' records in memory.
 */
export async function* readSample(plan: CorpusPlan, stratify: string | undefined, keep: (rank: number) => boolean = () => true): AsyncGenerator<SampledPrefix> {
  const sampled = (line: Line): SampledPrefix | undefined => {
    const rank = plan.selection.get(line.number);
    if (rank === undefined || !keep(rank)) return undefined;
    // Pass 1 validated this line: anything else now means the file changed under the run, with requests
    // possibly sent already (so a gate failure, not a configuration error).
    const changed = () => new GateError(`${plan.displayPath}:${line.number}: the corpus changed during the run; re-run with the file unchanged`);
    let record: CorpusRecord;
    try {
      record = corpusRecordSchema.parse(JSON.parse(line.text));
    } catch {
      throw changed();
    }
    const prefix = derivePrefix(record.messages);
    if ('error' in prefix) throw changed();
    return {
      rank,
      id: record.id,
      messages: prefix.messages,
      tools: record.tools,
      original: record.messages,
      stratum: stratify ? (readDottedField(record, stratify) ?? NO_STRATUM) : undefined,
    };
  };
  // Lines are scanned synchronously within a chunk; only sampled ones cost a yield (see LineSplitter).
  for await (const batch of lineBatches(await openCorpusStream(plan.file))) {
    for (const line of batch) {
      const prefix = sampled(line);
      if (prefix) yield prefix;
    }
  }
}

/** sha256 over the sampled ids in rank order (newline-separated, JSON-quoted so no id can forge a boundary). */
export function sampleFingerprint(idsInRankOrder: string[]): string {
  const hash = createHash('sha256');
  for (const id of idsInRankOrder) hash.update(`${JSON.stringify(id)}\n`);
  return hash.digest('hex');
}

/**
 * One-shot hex digest. `crypto.hash` (Node ≥ 20.12) allocates no Hash object: over a million-line
 * corpus the per-line Hash objects' native memory alone was ~70 MB of peak RSS.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const RANK_KEY_HEX = 32;

/** sha256(seed, id) in hex: the first 32 hex digits are the rank key, the first 16 the id fingerprint. */
function rankDigest(seed: number, id: string): string {
  const data = `deploysim-sample\0${seed}\0${id}`;
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

export function rankKey(seed: number, id: string): string {
  return rankDigest(seed, id).slice(0, RANK_KEY_HEX);
}

/** Largest-remainder (Hamilton) proportional allocation; ties broken by stratum name for determinism. */
export function allocateProportionally(strata: { name: string; records: number }[], total: number): { name: string; records: number; take: number }[] {
  const sum = strata.reduce((a, s) => a + s.records, 0);
  const rows = strata
    .map((s) => {
      const exact = sum === 0 ? 0 : (s.records * total) / sum;
      return { ...s, take: Math.min(s.records, Math.floor(exact)), remainder: exact - Math.floor(exact) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  let left = total - rows.reduce((a, r) => a + r.take, 0);
  const byRemainder = [...rows].sort((a, b) => b.remainder - a.remainder || a.name.localeCompare(b.name));
  while (left > 0) {
    let progressed = false;
    for (const r of byRemainder) {
      if (left === 0) break;
      if (r.take < r.records) {
        r.take += 1;
        left -= 1;
        progressed = true;
      }
    }
    if (!progressed) break;
  }
  return rows.map(({ name, records, take }) => ({ name, records, take }));
}

/**
 * A record's rank key — the first 128 bits (32 hex digits) of its digest — as three exact numbers
 * (hex digits 0–12, 13–25 and 26–31; each below 2^53, so exact). Compared as a tuple they order
 * records exactly as the 32-digit hex string does.
 */
interface Ranked {
  k1: number;
  k2: number;
  k3: number;
  line: number;
  id: string;
}

function compareRank(a: Ranked, b: Ranked): number {
  return a.k1 - b.k1 || a.k2 - b.k2 || a.k3 - b.k3;
}

/**
 * Keeps the `limit` lowest keys seen, using at most max(1024, 2×limit) entries (sort-and-trim when full). Once
 * `limit` keys are kept, a key at or above the highest of them can never be among the lowest and is
 * not stored: over N records only about limit×ln(N/limit) are, not N. Entries live in typed arrays
 * (ids aside), not objects: objects that outlive a few young-generation collections are promoted, and
 * a steady trickle of promotions through a million-line pass cost ~25 MB of peak RSS.
 */
class RankPool {
  private k1 = new Float64Array(0);
  private k2 = new Float64Array(0);
  private k3 = new Float64Array(0);
  private lines = new Float64Array(0);
  private ids: string[] = [];
  private size = 0;
  private ceiling: Ranked | undefined;
  constructor(private readonly limit: number) {}
  offer(hexDigest: string, line: number, id: string) {
    const k1 = parseInt(hexDigest.slice(0, 13), 16);
    // Most records lose on the first 52 bits alone: no more parsing for them.
    const ceiling = this.ceiling;
    if (ceiling !== undefined && k1 > ceiling.k1) return;
    const k2 = parseInt(hexDigest.slice(13, 26), 16);
    const k3 = parseInt(hexDigest.slice(26, RANK_KEY_HEX), 16);
    if (ceiling !== undefined && (k1 - ceiling.k1 || k2 - ceiling.k2 || k3 - ceiling.k3) >= 0) return;
    if (this.size === this.k1.length) {
      // Full: with a finite limit, drop all but the lowest `limit` first (it leaves room, and may
      // show this key cannot be among them); else grow. Never write past the end of the arrays.
      if (this.size > this.limit) {
        this.trim();
        const top = this.ceiling!;
        if ((k1 - top.k1 || k2 - top.k2 || k3 - top.k3) >= 0) return;
      } else {
        this.reserve(Math.min(Math.max(1024, 2 * this.size), Number.isFinite(this.limit) ? Math.max(1024, 2 * this.limit) : Number.MAX_SAFE_INTEGER));
      }
    }
    const i = this.size++;
    this.k1[i] = k1;
    this.k2[i] = k2;
    this.k3[i] = k3;
    this.lines[i] = line;
    this.ids[i] = id;
  }
  lowest(n: number): Ranked[] {
    this.trim();
    return Array.from({ length: Math.min(n, this.size) }, (_, i) => this.at(i));
  }
  private at(i: number): Ranked {
    return { k1: this.k1[i]!, k2: this.k2[i]!, k3: this.k3[i]!, line: this.lines[i]!, id: this.ids[i]! };
  }
  private reserve(capacity: number) {
    const grow = (old: Float64Array) => {
      const next = new Float64Array(capacity);
      next.set(old.subarray(0, this.size));
      return next;
    };
    this.k1 = grow(this.k1);
    this.k2 = grow(this.k2);
    this.k3 = grow(this.k3);
    this.lines = grow(this.lines);
  }
  /** Sorts the entries by key and keeps the lowest `limit`. */
  private trim() {
    const { k1, k2, k3, lines, ids } = this;
    const order = Array.from({ length: this.size }, (_, i) => i).sort((a, b) => k1[a]! - k1[b]! || k2[a]! - k2[b]! || k3[a]! - k3[b]!);
    const keep = Number.isFinite(this.limit) ? Math.min(order.length, this.limit) : order.length;
    const pick = (from: Float64Array) => {
      const next = new Float64Array(from.length);
      for (let j = 0; j < keep; j++) next[j] = from[order[j]!]!;
      return next;
    };
    this.k1 = pick(k1);
    this.k2 = pick(k2);
    this.k3 = pick(k3);
    this.lines = pick(lines);
    this.ids = Array.from({ length: keep }, (_, j) => ids[order[j]!]!);
    this.size = keep;
    if (keep === this.limit) this.ceiling = this.at(keep - 1);
  }
}

/** 64-bit fingerprints per 512 KiB chunk of the log. */
const LOG_CHUNK_RECORDS = 65_536;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Every record's 64-bit id fingerprint (the first 16 hex digits of its rank digest, a function of the
 * id within one pass), appended to typed-array chunks: 8 bytes per record and no hash table (a table
 * kept at most half full, with its copy while growing, peaked at 24 MiB on a million records).
 * Repeats are found once the pass is over, by sorting all of them natively as unsigned 64-bit integers.
 */
class FingerprintLog {
  private chunks: Uint32Array<ArrayBuffer>[] = [];
  private current = new Uint32Array(2 * LOG_CHUNK_RECORDS);
  private used = 0;
  private count = 0;
  add(hexDigest: string) {
    if (this.used === this.current.length) {
      this.chunks.push(this.current);
      this.current = new Uint32Array(2 * LOG_CHUNK_RECORDS);
      this.used = 0;
    }
    const hi = parseInt(hexDigest.slice(0, 8), 16);
    const lo = parseInt(hexDigest.slice(8, 16), 16);
    // Word order such that the BigUint64Array view below reads hi·2³² + lo.
    this.current[this.used++] = LITTLE_ENDIAN ? lo : hi;
    this.current[this.used++] = LITTLE_ENDIAN ? hi : lo;
    this.count += 1;
  }
  /** The fingerprints that occur more than once, as 16 hex digits; the log is emptied. */
  repeated(): Set<string> {
    const all = new BigUint64Array(this.count);
    const words = new Uint32Array(all.buffer);
    let at = 0;
    for (const chunk of this.chunks.splice(0)) {
      words.set(chunk, at);
      at += chunk.length;
    }
    words.set(this.current.subarray(0, this.used), at);
    this.current = new Uint32Array(2 * LOG_CHUNK_RECORDS);
    this.used = 0;
    this.count = 0;
    all.sort();
    const repeated = new Set<string>();
    // Compared word by word: reading all[i] would make a BigInt per record.
    for (let i = 2; i < words.length; i += 2) {
      if (words[i] === words[i - 2] && words[i + 1] === words[i - 1]) repeated.add(all[i / 2]!.toString(16).padStart(16, '0'));
    }
    return repeated;
  }
}

import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { ConfigError, ConfigErrors } from '../errors.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './jsonDepth.js';
import { LineTooLongError, openCorpusStream, readLines } from './lines.js';
import { corpusRecordSchema, derivePrefix, isPlainCorpusRecord, readDottedField, type CorpusRecord, type ReplayPrefix } from './record.js';

export interface SampleSettings {
  /** Records to replay; undefined = all. */
  sample?: number;
  seed: number;
  /** Dotted field path for proportional stratification. */
  stratify?: string;
  /** Called with every valid, consented record during this same pass (agentic replay builds its tool-response database here). */
  onRecord?: (record: CorpusRecord, lineNumber: number) => void;
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
const NO_STRATUM = '(missing)';

/**
 * Pass 1: validates every line (all problems are reported together, with file:line) and picks the
 * sample. Each record's rank is sha256(seed, id): the sample is the lowest-ranked records, so it
 * depends only on (corpus content, sample, seed, stratify), not on line order. Memory holds ids'
 * 64-bit fingerprints (for duplicate detection) and at most 2×sample small tuples per stratum; a
 * line is validated without per-line schema objects when it has the common shape.
 */
export async function planSample(file: string, displayPath: string, settings: SampleSettings): Promise<CorpusPlan> {
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (line: number, message: string) => {
    problemCount += 1;
    if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${displayPath}:${line}: ${message}`);
  };
  const ids = new FingerprintSet();
  const strata = new Map<string, { records: number; pool: RankPool }>();
  const limit = settings.sample ?? Number.POSITIVE_INFINITY;
  let corpusRecords = 0;
  let excludedNoConsent = 0;

  const stream = await openCorpusStream(file).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`${displayPath}: cannot read the corpus (${error.code ?? error.message}); corpus.path is resolved relative to the registration file.`);
  });
  try {
    for await (const line of readLines(stream)) {
      if (line.text.trim() === '') continue;
      if (jsonDepthExceeds(line.text)) {
        problem(line.number, `JSON nested deeper than ${MAX_JSON_DEPTH} levels; a conversation record needs far fewer`);
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(line.text);
      } catch (error) {
        problem(line.number, `not valid JSON (${(error as Error).message})`);
        continue;
      }
      // The common line is checked without the schema; every other line (and every error) goes through it.
      let record: CorpusRecord;
      if (isPlainCorpusRecord(json)) record = json;
      else {
        const parsed = corpusRecordSchema.safeParse(json);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const field = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
          problem(line.number, `${field || 'record'}: ${issue.message}`);
          continue;
        }
        record = parsed.data;
      }
      // One digest per record: its prefix is the sampling rank, and its first 64 bits the duplicate-id fingerprint.
      const digest = rankDigest(settings.seed, record.id);
      if (!ids.add(digest)) {
        problem(line.number, `id "${record.id}" appears more than once; ids must be unique`);
        continue;
      }
      const prefix = derivePrefix(record.messages);
      if ('error' in prefix) {
        problem(line.number, `record "${record.id}": ${prefix.error}`);
        continue;
      }
      if (record.consent === false) {
        excludedNoConsent += 1;
        continue;
      }
      settings.onRecord?.(record, line.number);
      corpusRecords += 1;
      const stratumName = settings.stratify ? (readDottedField(record, settings.stratify) ?? NO_STRATUM) : '';
      let stratum = strata.get(stratumName);
      if (!stratum) strata.set(stratumName, (stratum = { records: 0, pool: new RankPool(limit) }));
      stratum.records += 1;
      stratum.pool.offer(digest.slice(0, RANK_KEY_HEX), line.number, record.id);
    }
  } catch (error) {
    if (error instanceof LineTooLongError) problem(error.lineNumber, error.message);
    else if (error instanceof Error && 'code' in error && String(error.code).startsWith('Z_')) {
      problem(0, `the gzip stream is corrupt (${error.message})`);
    } else throw error;
  } finally {
    ids.release();
  }
  if (problemCount > 0) {
    throw new ConfigErrors(
      problemCount > problems.length ? [...problems, `… ${problemCount - problems.length} more problems not shown`] : problems,
      `${displayPath}: ${problemCount} invalid corpus line${problemCount === 1 ? '' : 's'}; fix them (nothing was sent to any model):`,
    );
  }
  if (corpusRecords === 0) throw new ConfigError(`${displayPath}: the corpus has no replayable records.`);

  const sampleSize = Math.min(limit, corpusRecords);
  const allocation = allocateProportionally(
    [...strata].map(([name, s]) => ({ name, records: s.records })),
    sampleSize,
  );
  const chosen: { key: string; line: number; id: string }[] = [];
  const strataCounts: StratumCount[] = [];
  for (const { name, records, take } of allocation) {
    chosen.push(...strata.get(name)!.pool.lowest(take));
    strataCounts.push({ name, records, sampled: take });
  }
  chosen.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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
  const stream = await openCorpusStream(plan.file);
  for await (const line of readLines(stream)) {
    const rank = plan.selection.get(line.number);
    if (rank === undefined || !keep(rank)) continue;
    const record = corpusRecordSchema.parse(JSON.parse(line.text));
    const prefix = derivePrefix(record.messages);
    if ('error' in prefix) throw new ConfigError(`${plan.displayPath}:${line.number}: the corpus changed during the run`);
    yield {
      rank,
      id: record.id,
      messages: prefix.messages,
      tools: record.tools,
      original: record.messages,
      stratum: stratify ? (readDottedField(record, stratify) ?? NO_STRATUM) : undefined,
    };
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
 * Keeps the `limit` lowest keys seen, using at most 2×limit entries (sort-and-trim when full). Once
 * `limit` keys are kept, a key at or above the highest of them can never be among the lowest and is
 * not stored: over N records only about limit×ln(N/limit) are, not N (fewer sorts, less garbage).
 */
class RankPool {
  private items: { key: string; line: number; id: string }[] = [];
  private ceiling: string | undefined;
  constructor(private readonly limit: number) {}
  offer(key: string, line: number, id: string) {
    if (this.ceiling !== undefined && key >= this.ceiling) return;
    this.items.push({ key, line, id });
    if (this.items.length >= 2 * this.limit && this.items.length > 1024) this.trim();
  }
  lowest(n: number) {
    this.trim();
    return this.items.slice(0, n);
  }
  private trim() {
    this.items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (Number.isFinite(this.limit)) this.items.length = Math.min(this.items.length, this.limit);
    if (this.items.length === this.limit) this.ceiling = this.items[this.limit - 1]!.key;
  }
}

/**
 * A set of 64-bit id fingerprints (the first 16 hex digits of the record's rank digest, which is a
 * function of the id within one pass) in open-addressed typed arrays: ~16 bytes per record instead of
 * a JS string per id, so duplicate detection stays cheap on million-line corpora.
 */
class FingerprintSet {
  private hi = new Uint32Array(1 << 16);
  private lo = new Uint32Array(1 << 16);
  private size = 0;
  add(hexDigest: string): boolean {
    // `| 1`: never 0, which marks an empty slot. `>>> 0`: `|` gives a signed int32, which never equals
    // the unsigned value the Uint32Array gives back (half of all repeated ids once went unnoticed).
    const h = (parseInt(hexDigest.slice(0, 8), 16) | 1) >>> 0;
    const l = parseInt(hexDigest.slice(8, 16), 16);
    if ((this.size + 1) * 2 > this.hi.length) this.grow();
    const mask = this.hi.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      if (this.hi[i] === 0) {
        this.hi[i] = h;
        this.lo[i] = l;
        this.size += 1;
        return true;
      }
      if (this.hi[i] === h && this.lo[i] === l) return false;
    }
  }
  private grow() {
    const { hi, lo } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(lo.length * 2);
    const mask = this.hi.length - 1;
    for (let j = 0; j < hi.length; j++) {
      if (hi[j] === 0) continue;
      let i = lo[j]! & mask;
      while (this.hi[i] !== 0) i = (i + 1) & mask;
      this.hi[i] = hi[j]!;
      this.lo[i] = lo[j]!;
    }
    releaseNow(hi, lo);
  }
  /** Frees the table: the pass is over. */
  release() {
    releaseNow(this.hi, this.lo);
    this.size = 0;
  }
}

/**
 * Gives typed arrays' memory back at the next young-generation GC instead of the next full GC (a
 * million-record fingerprint table is 16 MiB, and it would otherwise sit next to the replay's memory):
 * their buffers are transferred into a clone that nothing keeps, which detaches them.
 */
function releaseNow(...arrays: Uint32Array<ArrayBuffer>[]) {
  for (const array of arrays) structuredClone(array.buffer, { transfer: [array.buffer] });
}

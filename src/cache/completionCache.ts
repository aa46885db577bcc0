import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { AnswerStore } from '../models/gateway.js';

/** Bumped when the key derivation or the entry format changes: old entries are then simply not found. */
export const CACHE_FORMAT = 'deploysim.cache/v1';

/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, `undefined` members dropped (as
 * JSON.stringify does). Two requests that mean the same thing get the same text, whatever the key
 * order their builder happened to use.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The content address of one chat completion: sha256 over the canonical JSON of the endpoint's role and
 * base URL and the whole request (model, generation settings, messages, tools, response format). For a
 * grader request the messages hold the rubric and the completion under review, so a grade is keyed by
 * grader model, rubric and completion. The API key is never part of it.
 */
export function cacheKey(role: string, baseUrl: string, params: ChatCompletionCreateParamsNonStreaming): string {
  return createHash('sha256')
    .update(canonicalJson({ format: CACHE_FORMAT, role, baseUrl, request: params }))
    .digest('hex');
}

interface Entry {
  format: typeof CACHE_FORMAT;
  key: string;
  role: string;
  model: string;
  completion: ChatCompletion;
}

/**
 * A content-addressed on-disk cache of chat completions: `<dir>/<key[0..2]>/<key>.json`, one file per
 * answered request. Entries are written to a temp file in the same directory and renamed into place,
 * so a killed run leaves either a whole entry or none. An unreadable or corrupt entry is a miss and
 * is overwritten by the next answer. Safe to share between shards and concurrent runs (last write wins,
 * and every writer writes the same content for the same key up to the model's sampling).
 */
export class CompletionCache implements AnswerStore {
  hits = 0;
  misses = 0;
  writes = 0;

  constructor(readonly dir: string) {}

  keyOf(role: string, baseUrl: string, params: ChatCompletionCreateParamsNonStreaming): string {
    return cacheKey(role, baseUrl, params);
  }

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<ChatCompletion | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(key), 'utf8');
    } catch {
      this.misses += 1;
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as Partial<Entry>;
      if (entry.format === CACHE_FORMAT && entry.key === key && entry.completion && typeof entry.completion === 'object') {
        this.hits += 1;
        return entry.completion;
      }
    } catch {
      // a torn or hand-edited entry: treated as absent, replaced on the next write
    }
    this.misses += 1;
    return undefined;
  }

  /** Writes under way; awaited by `settled` so a cancelled run exits with none half-done. */
  private readonly pending = new Set<Promise<void>>();

  async put(key: string, role: string, model: string, completion: ChatCompletion): Promise<void> {
    const write = this.write(key, role, model, completion);
    this.pending.add(write);
    try {
      await write;
    } finally {
      this.pending.delete(write);
    }
  }

  /** Resolves once every write started so far has finished or failed. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async write(key: string, role: string, model: string, completion: ChatCompletion): Promise<void> {
    const file = this.file(key);
    await mkdir(path.dirname(file), { recursive: true });
    const entry: Entry = { format: CACHE_FORMAT, key, role, model, completion };
    const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(entry)}\n`);
      await rename(temp, file);
      this.writes += 1;
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }
}

import type { ChatMessage, ChatTool, CorpusRecord } from './record.js';

/** What a recorded `tool` message carried, kept exactly as the corpus had it. */
export type ToolContent = Extract<ChatMessage, { role: 'tool' }>['content'];

/** One recorded call of a tool and the response the corpus logged for it. */
export interface RecordedCall {
  name: string;
  /** The call's `arguments` string as logged. */
  arguments: string;
  content: ToolContent;
}

/** A recorded call with where it sits in its trajectory (for leave-one-out realism tests). */
export interface LocatedCall extends RecordedCall {
  /** Index of the assistant turn that made the call. */
  callTurn: number;
  /** Index of the `tool` message that answered it. */
  responseTurn: number;
}

export interface ToolDatabaseLimits {
  /** Distinct (tool, canonical arguments) keys kept. */
  maxEntries: number;
  /** UTF-8 bytes of keys + responses kept (the rest of the corpus pass does not grow memory). */
  maxBytes: number;
  /** Example responses kept per tool for the simulator prompt. */
  examplesPerTool: number;
  /** Tools for which examples are kept (guards against corpora with unbounded tool names). */
  maxTools: number;
}

/** Defaults: 50,000 entries or 64 MiB, whichever comes first; 5 examples for each of at most 1,000 tools. */
export const DEFAULT_TOOL_DB_LIMITS: ToolDatabaseLimits = { maxEntries: 50_000, maxBytes: 64 * 1024 * 1024, examplesPerTool: 5, maxTools: 1_000 };

export interface ToolDatabaseStats {
  /** Corpus records (consented, valid) that declare a non-empty `tools` array. */
  records_with_tools: number;
  /** Tool responses seen in the corpus (a call followed by its `tool` message). */
  responses_seen: number;
  /** Distinct (tool, canonical arguments) keys kept. */
  entries: number;
  bytes: number;
  /** True when a cap was reached: later responses were not stored (first-seen responses win). */
  capped: boolean;
  /** Responses not stored because a cap was reached. */
  dropped: number;
  /** Same key, different recorded content: the first one seen is kept. */
  conflicts: number;
  limits: ToolDatabaseLimits;
}

/**
 * JSON with object keys sorted at every level (arrays keep their order), so `{"b":1,"a":2}` and
 * `{"a":2, "b":1}` are the same call. Arguments that are not JSON are compared as raw strings.
 */
export function canonicalArguments(args: string): string {
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    return `raw:${args}`;
  }
  return canonicalJson(value);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function toolKey(name: string, args: string): string {
  return `${name}\0${canonicalArguments(args)}`;
}

function contentBytes(content: ToolContent): number {
  return Buffer.byteLength(typeof content === 'string' ? content : JSON.stringify(content));
}

/**
 * Pairs each `tool` message with the call it answers. Ids may repeat within a trajectory (τ-bench
 * does this), so a response is paired with the latest call carrying its id that is still unanswered.
 */
export function recordedCalls(messages: ChatMessage[]): LocatedCall[] {
  const pending = new Map<string, { name: string; arguments: string; turn: number }[]>();
  const out: LocatedCall[] = [];
  messages.forEach((m, turn) => {
    if (m.role === 'assistant') {
      for (const call of m.tool_calls ?? []) {
        const list = pending.get(call.id) ?? [];
        list.push({ name: call.function.name, arguments: call.function.arguments, turn });
        pending.set(call.id, list);
      }
    } else if (m.role === 'tool') {
      const call = pending.get(m.tool_call_id)?.pop();
      if (call) out.push({ name: call.name, arguments: call.arguments, content: m.content, callTurn: call.turn, responseTurn: turn });
    }
  });
  return out;
}

/**
 * Exact-match database of recorded tool responses, filled during the corpus pass that plans the
 * sample (`planSample`'s `onRecord` hook), so the corpus is still read once for planning. Memory is
 * capped (entries and bytes; see DEFAULT_TOOL_DB_LIMITS); when a cap is hit, later responses are not
 * stored and the stats say so. First-seen wins, so the database is a pure function of the file.
 */
export class ToolResponseDatabase {
  private readonly responses = new Map<string, ToolContent>();
  private readonly examplesByTool = new Map<string, { key: string; call: RecordedCall }[]>();
  private bytes = 0;
  private recordsWithTools = 0;
  private responsesSeen = 0;
  private dropped = 0;
  private conflicts = 0;

  constructor(readonly limits: ToolDatabaseLimits = DEFAULT_TOOL_DB_LIMITS) {}

  /** Adds every (call, response) pair of a corpus record. */
  addRecord(record: Pick<CorpusRecord, 'messages' | 'tools'>): void {
    if (record.tools && record.tools.length > 0) this.recordsWithTools += 1;
    for (const call of recordedCalls(record.messages)) this.add(call);
  }

  add(call: RecordedCall): void {
    this.responsesSeen += 1;
    const key = toolKey(call.name, call.arguments);
    const existing = this.responses.get(key);
    if (existing !== undefined) {
      if (JSON.stringify(existing) !== JSON.stringify(call.content)) this.conflicts += 1;
      return;
    }
    const size = Buffer.byteLength(key) + contentBytes(call.content);
    if (this.responses.size >= this.limits.maxEntries || this.bytes + size > this.limits.maxBytes) {
      this.dropped += 1;
      return;
    }
    this.responses.set(key, call.content);
    this.bytes += size;
    let examples = this.examplesByTool.get(call.name);
    if (!examples) {
      if (this.examplesByTool.size >= this.limits.maxTools) return;
      this.examplesByTool.set(call.name, (examples = []));
    }
    if (examples.length < this.limits.examplesPerTool) examples.push({ key, call });
  }

  /** The recorded response for exactly this tool name and (canonical) arguments. */
  lookup(name: string, args: string): ToolContent | undefined {
    return this.responses.get(toolKey(name, args));
  }

  /**
   * Recorded responses of a tool, to show the simulator. `exclude` leaves one call out (its key
   * and any example with the same content), for realism tests that must not show the answer.
   */
  examples(name: string, exclude?: RecordedCall): RecordedCall[] {
    const list = this.examplesByTool.get(name) ?? [];
    if (!exclude) return list.map((e) => e.call);
    const key = toolKey(exclude.name, exclude.arguments);
    const content = JSON.stringify(exclude.content);
    return list.filter((e) => e.key !== key && JSON.stringify(e.call.content) !== content).map((e) => e.call);
  }

  get stats(): ToolDatabaseStats {
    return {
      records_with_tools: this.recordsWithTools,
      responses_seen: this.responsesSeen,
      entries: this.responses.size,
      bytes: this.bytes,
      capped: this.dropped > 0,
      dropped: this.dropped,
      conflicts: this.conflicts,
      limits: this.limits,
    };
  }
}

/** The declared schema of a tool in a record's `tools`, if any. */
export function toolSchemaOf(tools: ChatTool[] | undefined, name: string): ChatTool | undefined {
  return tools?.find((t) => t.function.name === name);
}

import { z } from 'zod';

const textPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
const contentSchema = z.union([z.string(), z.null(), z.array(z.union([textPart, z.object({ type: z.string() }).loose()]))]);

const toolCallSchema = z
  .object({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).loose(),
  })
  .loose();

/** One Chat Completions message, as the official `openai` client sends it. */
export const messageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: contentSchema, name: z.string().optional() }).loose(),
  z.object({ role: z.literal('developer'), content: contentSchema, name: z.string().optional() }).loose(),
  z.object({ role: z.literal('user'), content: contentSchema, name: z.string().optional() }).loose(),
  z
    .object({
      role: z.literal('assistant'),
      content: contentSchema.optional(),
      tool_calls: z.array(toolCallSchema).optional(),
      name: z.string().optional(),
    })
    .loose(),
  z.object({ role: z.literal('tool'), content: contentSchema, tool_call_id: z.string().min(1), name: z.string().optional() }).loose(),
]);

export const toolSchema = z
  .object({
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }).loose(),
  })
  .loose();

/** A corpus line. Extra top-level fields (labels, reference completions…) are allowed and ignored. */
export const corpusRecordSchema = z
  .object({
    id: z.string().min(1),
    messages: z.array(messageSchema).min(1),
    tools: z.array(toolSchema).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    consent: z.boolean().optional(),
  })
  .loose();

/**
 * A cheap check for the common corpus line, used by the corpus pass before `corpusRecordSchema`
 * (whose per-line cost dominated planning a million-line corpus). It accepts only records the schema
 * accepts *and* would return unchanged: an id; system/developer/user/assistant messages whose content
 * is a string or null, without tool calls; no `tools`; optional plain `metadata` and boolean
 * `consent`; no own `__proto__` key where the schema copies objects. Anything else (including every
 * invalid line) goes through the schema, so its error messages and field paths are unchanged.
 */
export function isPlainCorpusRecord(value: unknown): value is CorpusRecord {
  if (!isPlainObject(value)) return false;
  const { id, messages, metadata, consent } = value;
  if (typeof id !== 'string' || id.length === 0) return false;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  for (const m of messages as unknown[]) {
    if (!isPlainObject(m) || m.tool_calls !== undefined) return false;
    if (m.name !== undefined && typeof m.name !== 'string') return false;
    const content = m.content;
    const textOrNull = typeof content === 'string' || content === null;
    if (m.role === 'assistant') {
      if (content !== undefined && !textOrNull) return false;
    } else if (m.role === 'user' || m.role === 'system' || m.role === 'developer') {
      if (!textOrNull) return false;
    } else return false;
  }
  if (value.tools !== undefined) return false;
  if (metadata !== undefined && !isPlainObject(metadata)) return false;
  return consent === undefined || typeof consent === 'boolean';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Object.hasOwn(value, '__proto__');
}

export type ChatMessage = z.infer<typeof messageSchema>;
export type ChatTool = z.infer<typeof toolSchema>;
export type CorpusRecord = z.infer<typeof corpusRecordSchema>;

/** What is replayed: the conversation up to (excluding) the turn the candidate must write. */
export interface ReplayPrefix {
  id: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  /** The logged trajectory in full; agentic replay shows it to the tool simulator as context. */
  original: ChatMessage[];
  stratum?: string;
}

/**
 * SPEC: the prefix is `messages` up to and excluding the last assistant turn and anything after it;
 * a conversation that already ends with a user turn is a prefix as it is.
 * Returns an error string when no user turn remains.
 */
export function derivePrefix(messages: ChatMessage[]): { messages: ChatMessage[] } | { error: string } {
  let cut = messages.length;
  if (messages[messages.length - 1]?.role !== 'user') {
    const lastAssistant = messages.findLastIndex((m) => m.role === 'assistant');
    if (lastAssistant >= 0) cut = lastAssistant;
  }
  const prefix = messages.slice(0, cut);
  if (!prefix.some((m) => m.role === 'user')) {
    return { error: 'the replay prefix has no user turn (nothing for the candidate to answer)' };
  }
  return { messages: prefix };
}

/** Reads a dotted field path (e.g. `metadata.surface`) from a record; non-scalars become JSON. */
export function readDottedField(record: unknown, dotted: string): string | undefined {
  let value: unknown = record;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

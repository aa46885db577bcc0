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
  const problem = invalidForChatCompletions(prefix);
  return problem ? { error: problem } : { messages: prefix };
}

const isEmpty = (content: unknown) => content === null || content === undefined || (Array.isArray(content) && content.length === 0);

/**
 * What the Chat Completions API would refuse in a prefix, found before anything is sent (a 400 per
 * record would otherwise spend the error budget): a system, developer or user turn with no content
 * (null or []); an assistant turn with neither content nor tool calls; a tool call left without its
 * tool reply before the next turn; a tool reply to no call of the assistant turn before it.
 */
export function invalidForChatCompletions(prefix: ChatMessage[]): string | undefined {
  let open = new Set<string>();
  for (let i = 0; i < prefix.length; i++) {
    const m = prefix[i]!;
    const at = `messages[${i}] (${m.role})`;
    if (m.role === 'tool') {
      if (!open.delete(m.tool_call_id)) return `${at}: tool reply to "${m.tool_call_id}", which no tool call of the assistant turn before it has (the API refuses an orphan tool message)`;
      continue;
    }
    if (open.size > 0) return `messages[${i - 1}]: the tool call${open.size === 1 ? '' : 's'} ${[...open].map((id) => `"${id}"`).join(', ')} ha${open.size === 1 ? 's' : 've'} no tool reply before ${at} (the API refuses a tool call without its result)`;
    if (m.role === 'assistant') {
      const calls = m.tool_calls ?? [];
      if (isEmpty(m.content) && calls.length === 0) return `${at}: no content and no tool calls (the API refuses an empty assistant turn)`;
      open = new Set(calls.map((c) => c.id));
    } else if (isEmpty(m.content)) {
      return `${at}: content is ${m.content === null || m.content === undefined ? 'null' : 'an empty list'} (the API refuses a ${m.role} turn without content)`;
    }
  }
  if (open.size > 0) return `the last assistant turn's tool call${open.size === 1 ? '' : 's'} ${[...open].map((id) => `"${id}"`).join(', ')} ha${open.size === 1 ? 's' : 've'} no tool reply (the API refuses a tool call without its result)`;
  return undefined;
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

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

import { createHash } from 'node:crypto';

/**
 * The built-in demo endpoint (`builtin:demo`): a deterministic in-process model, so the quickstart runs
 * with no key and no network through the same client and code path as a real endpoint. Each feature
 * answers its own requests with a responder kept next to its prompt; the composition root chains them
 * into one provider (../runtime/demoProvider.ts). Everything it writes is labelled "[DEMO]".
 */
export const DEMO_ENDPOINT = 'builtin:demo';

/** What the demo candidate writes when it "complies unsafely"; the demo grader flags exactly such replies. */
export const DEMO_UNSAFE_MARKER = '(demo: simulated unsafe compliance)';

/** The parts of a Chat Completions request the demo responders read (the body as sent, untyped). */
export interface DemoRequest {
  model?: string;
  messages?: { role: string; content?: unknown; tool_calls?: { type?: string; function?: { name?: string; arguments?: string } }[] }[];
  tools?: unknown[];
  response_format?: { type?: string; json_schema?: { name?: string; schema?: unknown } };
}

export interface DemoToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A responder's answer: the reply's text, or one tool call. */
export type DemoReply = { content: string } | { toolCall: DemoToolCall };

/** Answers the requests of one feature; undefined for anyone else's. */
export type DemoResponder = (request: DemoRequest) => DemoReply | undefined;

/** A number in [0, 1) from text, the same on every machine. */
export function demoUnit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}

/** The text of a message `content` (a string, or the text parts of an array). */
export function demoTextOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String(p.text) : '')).join('');
  return '';
}

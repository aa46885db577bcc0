import { createHash } from 'node:crypto';
import { demoAuditContent } from '../audit/demo.js';
import { demoRealismContent } from '../realism/demo.js';
import { demoSimulatorContent, demoToolCall } from '../replay/demo.js';
import { TRANSCRIPT_CLOSE, TRANSCRIPT_OPEN } from '../grade/prompt.js';

/**
 * The built-in demo endpoint (`builtin:demo`): a deterministic in-process model reached through the
 * official client's `fetch` hook, so the quickstart exercises the same code path as a real endpoint
 * with no key and no network. Everything it writes starts with "[DEMO]".
 */
export const DEMO_UNSAFE_MARKER = '(demo: simulated unsafe compliance)';
/** Share of prefixes the demo candidate "complies" with unsafely. */
const DEMO_UNSAFE_SHARE = 0.03;

function unit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String(p.text) : '')).join('');
  return '';
}

interface DemoRequest {
  model?: string;
  messages?: { role: string; content?: unknown }[];
  response_format?: { type?: string; json_schema?: { schema?: { properties?: { verdicts?: { items?: { properties?: { category?: { enum?: string[] } } } } } } } };
}

function candidateReply(request: DemoRequest): string {
  const lastUser = [...(request.messages ?? [])].reverse().find((m) => m.role === 'user');
  const prompt = textOf(lastUser?.content);
  if (unit(`candidate\0${prompt}`) < DEMO_UNSAFE_SHARE) {
    return `[DEMO] Sure, here is exactly what you asked for ${DEMO_UNSAFE_MARKER}.`;
  }
  return '[DEMO] I can\'t help with that, but I can point you to safer information on the topic.';
}

function graderReply(request: DemoRequest): string {
  const categories = request.response_format?.json_schema?.schema?.properties?.verdicts?.items?.properties?.category?.enum ?? [];
  const prompt = textOf(request.messages?.at(-1)?.content);
  // The instructions name the markers too; the quoted block is the one on lines of their own.
  const start = prompt.lastIndexOf(`${TRANSCRIPT_OPEN}\n`);
  const end = prompt.lastIndexOf(`\n${TRANSCRIPT_CLOSE}`);
  const transcript = start >= 0 && end > start ? (JSON.parse(prompt.slice(start + TRANSCRIPT_OPEN.length, end)) as { reply: { content?: unknown }[] }) : { reply: [] };
  const reply = transcript.reply.map((m) => textOf(m.content)).join('\n');
  const unsafe = reply.includes(DEMO_UNSAFE_MARKER);
  // An unsafe demo reply is flagged in exactly one category, picked deterministically.
  const ranked = [...categories].sort((a, b) => unit(`${reply}\0${a}`) - unit(`${reply}\0${b}`));
  const flaggedCategory = unsafe ? ranked[0] : undefined;
  return JSON.stringify({
    verdicts: categories.map((category) => ({
      category,
      flagged: category === flaggedCategory,
      evidence: category === flaggedCategory ? '[DEMO] reply complies with the request' : '[DEMO] nothing to flag',
    })),
  });
}

export const demoFetch: typeof fetch = async (_input, init) => {
  const request = JSON.parse(String(init?.body ?? '{}')) as DemoRequest;
  const content =
    demoAuditContent(request) ??
    demoRealismContent(request) ??
    demoSimulatorContent(request) ??
    (request.response_format?.type === 'json_schema' ? graderReply(request) : undefined);
  const toolCall = content === undefined ? demoToolCall(request) : undefined;
  const message = toolCall
    ? { role: 'assistant', content: null, refusal: null, tool_calls: [toolCall] }
    : { role: 'assistant', content: content ?? candidateReply(request), refusal: null };
  const body = {
    id: `demo-${createHash('sha256').update(JSON.stringify(message)).digest('hex').slice(0, 12)}`,
    object: 'chat.completion',
    created: 0,
    model: request.model ?? 'demo',
    choices: [{ index: 0, message, finish_reason: toolCall ? 'tool_calls' : 'stop', logprobs: null }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
};

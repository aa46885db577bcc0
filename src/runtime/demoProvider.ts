import { createHash } from 'node:crypto';
import { auditorDemo } from '../audit/demo.js';
import type { DemoReply, DemoRequest, DemoResponder } from '../common/demo.js';
import { graderDemo } from '../grade/demo.js';
import type { Transport } from '../models/gateway.js';
import { discriminatorDemo } from '../realism/demo.js';
import { candidateDemo, simulatorDemo } from '../replay/demo.js';

/**
 * The built-in demo endpoint as an ordinary provider: each feature's responder answers its own
 * requests (recognised by their schema name or system prompt), the candidate answers the rest. It is
 * reached through the official client's `fetch` hook, so the quickstart runs the real code path.
 */
const RESPONDERS: DemoResponder[] = [auditorDemo, discriminatorDemo, simulatorDemo, graderDemo, candidateDemo];

function replyTo(request: DemoRequest): DemoReply {
  for (const responder of RESPONDERS) {
    const reply = responder(request);
    if (reply) return reply;
  }
  // candidateDemo answers every request; this is only for the type checker.
  throw new Error('no demo responder answered');
}

const demoFetch: typeof fetch = async (_input, init) => {
  const request = JSON.parse(String(init?.body ?? '{}')) as DemoRequest;
  const reply = replyTo(request);
  const message =
    'toolCall' in reply
      ? { role: 'assistant', content: null, refusal: null, tool_calls: [reply.toolCall] }
      : { role: 'assistant', content: reply.content, refusal: null };
  const body = {
    id: `demo-${createHash('sha256').update(JSON.stringify(message)).digest('hex').slice(0, 12)}`,
    object: 'chat.completion',
    created: 0,
    model: request.model ?? 'demo',
    choices: [{ index: 0, message, finish_reason: 'toolCall' in reply ? 'tool_calls' : 'stop', logprobs: null }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
};

/** The transport of `builtin:demo`: no network, a placeholder base URL the client needs. */
export const DEMO_TRANSPORT: Transport = { baseURL: 'http://deploysim-demo.invalid/v1', fetch: demoFetch };

/**
 * A real local OpenAI Chat Completions server (node:http on 127.0.0.1, port 0) for end-to-end tests.
 *
 * It answers `POST /v1/chat/completions` in the exact shape the official `openai` client parses.
 * A request is a *grader* request when `response_format.type === 'json_schema'`, otherwise a
 * *candidate* request.
 *
 * Default behaviour (deterministic, so tests can compute the expected report themselves):
 * - candidate: if the last user message contains `[[flag:<category_id>]]` tokens, the reply contains
 *   `UNSAFE:<category_id>` for each; otherwise it is a refusal text;
 * - grader: flags category X iff the quoted transcript's `reply` contains `UNSAFE:X`, and answers
 *   `{"verdicts":[{category, flagged, evidence}]}` for every category the request asks about.
 *
 * The gate's preflight probes (they carry "deploysim preflight") are recorded apart, in `probes`, and
 * answered by the defaults, unaffected by `faults` and the handlers: the handlers describe how the
 * endpoint treats the corpus. A test of the preflight itself sets `probes: 'handled'`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { closeServer, listenOnLoopback } from './closeServer.js';

export type MockRole = 'candidate' | 'grader';

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** The query string's parameters. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when the body was not JSON). */
  body: ChatRequestBody | undefined;
  rawBody: string;
  role: MockRole;
  /** 1 for the first request with this exact body (and role), 2 for its first retry, … */
  attempt: number;
  /** One of the gate's preflight probes. */
  probe: boolean;
}

/** The fields of a Chat Completions request the mock looks at (the body is kept whole). */
export interface ChatRequestBody {
  model?: string;
  messages?: { role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string }[];
  tools?: unknown[];
  response_format?: {
    type?: string;
    json_schema?: { name?: string; strict?: boolean; schema?: unknown };
  };
  [key: string]: unknown;
}

/** A hand-written HTTP answer: sent as is (a non-string body is JSON-encoded). */
export interface RawResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** What a candidate handler may return: reply text, an assistant message, or a raw HTTP answer. */
export type CandidateAnswer = string | { content?: string | null; tool_calls?: ToolCall[]; finish_reason?: string } | RawResponse;

export interface Verdict {
  category: string;
  flagged: boolean;
  evidence: string;
}

/** What a grader handler may return: the answer's `content` verbatim, a verdicts object, or a raw HTTP answer. */
export type GraderAnswer = string | { verdicts: Verdict[] } | RawResponse;

/** Injected failures. `attempt` (1-based) counts requests with an identical body, so "fail the first try" is easy. */
export type Fault =
  /** 429 with `retry-after` (seconds) and/or `retry-after-ms` headers. */
  | { type: 'rate-limit'; retryAfterSeconds?: number; retryAfterMs?: number }
  /** 500 with an OpenAI-shaped error body. */
  | { type: 'server-error' }
  /** 401 "Incorrect API key provided: <the bearer token>" — echoes the key, like a careless server. */
  | { type: 'unauthorized' }
  /** Any status with an OpenAI-shaped error body (or `body` verbatim). */
  | { type: 'status'; status: number; message?: string; body?: unknown; headers?: Record<string, string> }
  /** Answer after `ms` milliseconds; without `ms` never answer (the socket stays open until close()). */
  | { type: 'hang'; ms?: number }
  /** 200 whose message content is not JSON (meaningful for grader requests). */
  | { type: 'bad-json'; content?: string }
  /** Destroy the socket without answering. */
  | { type: 'disconnect' };

export interface MockOpenAIOptions {
  candidate?: (body: ChatRequestBody, request: RecordedRequest) => CandidateAnswer | Promise<CandidateAnswer>;
  grader?: (body: ChatRequestBody, request: RecordedRequest) => GraderAnswer | Promise<GraderAnswer>;
  faults?: (request: RecordedRequest, attempt: number) => Fault | undefined;
  /** When set, requests whose `Authorization: Bearer` token differs get a 401. */
  apiKey?: string;
  /**
   * Built-in secret-echo behaviour: every error answer (fault, 401, 4xx/5xx) carries the request's
   * full bearer token in its message, so tests can prove deploysim scrubs what servers echo.
   */
  echoKeyInErrors?: boolean;
  /** Fixed delay before every answer (ms). */
  latencyMs?: number;
  /** Serve HTTPS with this PEM key and certificate (for https:// base URLs) instead of HTTP. */
  tls?: { key: string; cert: string };
  /** `handled`: the handlers and faults answer the preflight probes too (default: the defaults do). */
  probes?: 'default' | 'handled';
}

export interface MockOpenAI {
  /** Base URL to give the client, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  /** Every request but the preflight probes. */
  requests: RecordedRequest[];
  /** The preflight probes. */
  probes: RecordedRequest[];
  /** Every request, probes included, in arrival order. */
  all: RecordedRequest[];
  /** Requests of one role (probes excluded). */
  byRole(role: MockRole): RecordedRequest[];
  close(): Promise<void>;
}

export const FLAG_TOKEN = /\[\[flag:([a-z0-9_]+)\]\]/g;
export const REFUSAL_TEXT = "I can't help with that, but I'm happy to help with something else.";
export const TRANSCRIPT_OPEN = '<<<DEPLOYSIM_TRANSCRIPT\n';
export const TRANSCRIPT_CLOSE = '\nDEPLOYSIM_TRANSCRIPT>>>';

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String((p as { text: unknown }).text) : '')).join('');
  }
  return '';
}

/** Category ids a `[[flag:x]]` text asks for, in order, without duplicates. */
export function flagTokens(text: string): string[] {
  return [...new Set([...text.matchAll(FLAG_TOKEN)].map((m) => m[1]!))];
}

/** The default candidate: deterministic from the last user message. */
export function defaultCandidateReply(body: ChatRequestBody): string {
  const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  const ids = flagTokens(textOf(lastUser?.content));
  if (ids.length === 0) return REFUSAL_TEXT;
  return `Sure, here is how. ${ids.map((id) => `UNSAFE:${id}`).join(' ')}`;
}

export interface GraderRequestView {
  /** The `enum` of category ids the response schema allows: the categories asked. */
  categories: string[];
  context: { role: string; content?: unknown }[];
  reply: { role: string; content?: unknown; tool_calls?: unknown[] }[];
  /** The reply turns' text (content and tool-call arguments), joined. */
  replyText: string;
}

/** Reads what deploysim's grader prompt asks: the category enum and the quoted transcript. */
export function parseGraderRequest(body: ChatRequestBody): GraderRequestView {
  const schema = body.response_format?.json_schema?.schema as
    | { properties?: { verdicts?: { items?: { properties?: { category?: { enum?: unknown } } } } } }
    | undefined;
  const categories = schema?.properties?.verdicts?.items?.properties?.category?.enum;
  if (!Array.isArray(categories)) throw new Error('grader request has no category enum in response_format.json_schema');
  const prompt = (body.messages ?? []).map((m) => textOf(m.content)).join('\n');
  const start = prompt.lastIndexOf(TRANSCRIPT_OPEN);
  const end = prompt.lastIndexOf(TRANSCRIPT_CLOSE);
  if (start < 0 || end < start) throw new Error('grader request has no quoted transcript');
  const transcript = JSON.parse(prompt.slice(start + TRANSCRIPT_OPEN.length, end)) as Pick<GraderRequestView, 'context' | 'reply'>;
  const replyText = transcript.reply
    .map((m) => [textOf(m.content), ...(m.tool_calls ?? []).map((c) => JSON.stringify(c))].join('\n'))
    .join('\n');
  return { categories: categories.map(String), context: transcript.context, reply: transcript.reply, replyText };
}

/** The default grader: flags X iff the reply contains `UNSAFE:X`, one verdict per asked category. */
export function defaultGraderVerdicts(body: ChatRequestBody): { verdicts: Verdict[] } {
  const view = parseGraderRequest(body);
  return {
    verdicts: view.categories.map((category) => {
      const flagged = view.replyText.includes(`UNSAFE:${category}`);
      return { category, flagged, evidence: flagged ? `reply contains UNSAFE:${category}` : 'nothing to flag' };
    }),
  };
}

function isRaw(value: unknown): value is RawResponse {
  return typeof value === 'object' && value !== null && typeof (value as RawResponse).status === 'number';
}

function bearer(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization ?? '';
  return auth.replace(/^Bearer\s+/i, '');
}

function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

let completionCounter = 0;

function completion(model: string, message: Record<string, unknown>, finishReason: string) {
  completionCounter += 1;
  const content = typeof message.content === 'string' ? message.content : '';
  const promptTokens = 12;
  const completionTokens = Math.max(1, Math.ceil(content.length / 4));
  return {
    id: `chatcmpl-mock${String(completionCounter).padStart(6, '0')}`,
    object: 'chat.completion',
    created: 1_750_000_000,
    model,
    choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    system_fingerprint: 'fp_mock',
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed || res.writableEnded) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-request-id': `req_mock_${completionCounter}`,
    ...headers,
  });
  res.end(text);
}

export async function startMockOpenAI(options: MockOpenAIOptions = {}): Promise<MockOpenAI> {
  const requests: RecordedRequest[] = [];
  const probes: RecordedRequest[] = [];
  const all: RecordedRequest[] = [];
  const attempts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let body: ChatRequestBody | undefined;
    try {
      body = rawBody ? (JSON.parse(rawBody) as ChatRequestBody) : undefined;
    } catch {
      body = undefined;
    }
    const role: MockRole = body?.response_format?.type === 'json_schema' ? 'grader' : 'candidate';
    const attemptKey = `${role}\0${rawBody}`;
    const attempt = (attempts.get(attemptKey) ?? 0) + 1;
    attempts.set(attemptKey, attempt);
    const probe = rawBody.includes('deploysim preflight');
    const recorded: RecordedRequest = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body, rawBody, role, attempt, probe };
    (probe ? probes : requests).push(recorded);
    all.push(recorded);
    // The probes meet the default endpoint unless the test is about the preflight.
    const handlers = probe && options.probes !== 'handled' ? {} : { candidate: options.candidate, grader: options.grader, faults: options.faults };

    const key = bearer(req.headers);
    const echo = options.echoKeyInErrors ? ` (request key: ${key})` : '';
    const fail = (status: number, message: string, type: string, code: string | null = null, headers: Record<string, string> = {}) =>
      send(res, status, errorBody(`${message}${echo}`, type, code), headers);

    if (options.latencyMs) await delay(options.latencyMs);

    if (req.method !== 'POST' || !url.pathname.endsWith('/chat/completions')) {
      fail(404, `Unknown request URL: ${req.method} ${url.pathname}.`, 'invalid_request_error', 'unknown_url');
      return;
    }
    if (options.apiKey !== undefined && key !== options.apiKey) {
      fail(401, `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key');
      return;
    }
    if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
      fail(400, "We could not parse the JSON body of your request, or it lacks 'model' or 'messages'.", 'invalid_request_error');
      return;
    }

    const fault = handlers.faults?.(recorded, attempt);
    if (fault) {
      switch (fault.type) {
        case 'rate-limit': {
          const headers: Record<string, string> = {};
          if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
          if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
          fail(429, 'Rate limit reached for requests.', 'requests', 'rate_limit_exceeded', headers);
          return;
        }
        case 'server-error':
          fail(500, 'The server had an error while processing your request. Sorry about that!', 'server_error');
          return;
        case 'unauthorized':
          send(res, 401, errorBody(`Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'));
          return;
        case 'status':
          if (fault.body !== undefined) send(res, fault.status, fault.body, fault.headers);
          else fail(fault.status, fault.message ?? `Injected status ${fault.status}.`, fault.status >= 500 ? 'server_error' : 'invalid_request_error', null, fault.headers);
          return;
        case 'hang':
          if (fault.ms === undefined) return; // never answer; close() destroys the socket
          await delay(fault.ms);
          break;
        case 'bad-json':
          send(res, 200, completion(body.model, { role: 'assistant', content: fault.content ?? 'Sure! {verdicts: not json', refusal: null }, 'stop'));
          return;
        case 'disconnect':
          req.socket.destroy();
          return;
      }
    }

    if (role === 'grader') {
      const answer = handlers.grader ? await handlers.grader(body, recorded) : defaultGraderVerdicts(body);
      if (isRaw(answer)) {
        send(res, answer.status, answer.body ?? '', answer.headers);
        return;
      }
      const content = typeof answer === 'string' ? answer : JSON.stringify(answer);
      send(res, 200, completion(body.model, { role: 'assistant', content, refusal: null }, 'stop'));
      return;
    }

    const answer = handlers.candidate ? await handlers.candidate(body, recorded) : defaultCandidateReply(body);
    if (isRaw(answer)) {
      send(res, answer.status, answer.body ?? '', answer.headers);
      return;
    }
    if (typeof answer === 'string') {
      send(res, 200, completion(body.model, { role: 'assistant', content: answer, refusal: null }, 'stop'));
      return;
    }
    const toolCalls = answer.tool_calls && answer.tool_calls.length > 0 ? answer.tool_calls : undefined;
    const message = { role: 'assistant', content: answer.content ?? null, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) };
    send(res, 200, completion(body.model, message, answer.finish_reason ?? (toolCalls ? 'tool_calls' : 'stop')));
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      send(res, 500, errorBody(`mock OpenAI handler threw: ${(error as Error).message}`, 'server_error'));
    });
  };
  const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
  const port = await listenOnLoopback(server);

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/v1`,
    requests,
    probes,
    all,
    byRole: (role) => requests.filter((r) => r.role === role),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await closeServer(server);
    },
  };
}

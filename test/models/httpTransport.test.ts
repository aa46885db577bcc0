import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getEventListeners, getMaxListeners } from 'node:events';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { EndpointRefusedError } from '../../src/common/errors.js';
import { ModelGateway } from '../../src/models/gateway.js';
import { agentsSupportProxyEnv, createHttpFetch, proxyVariablesSet } from '../../src/models/httpTransport.js';
import { SecretRegistry } from '../../src/common/secrets.js';
import { closeServer, listenOnLoopback } from '../support/closeServer.js';
import { closedAfterEach } from '../support/perTest.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real local server; `handle` answers each request after its body has arrived. */
async function startServer(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => closeServer(server),
  };
}

const serve = closedAfterEach(startServer);

const completion = (content: string) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop' }] });

describe('node:http transport for the openai client', () => {
  it('sends the method, headers and body as given and hands back status, headers, body and url', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(201, 'Made', [['content-type', 'application/json'], ['x-multi', 'a'], ['x-multi', 'b']]);
      res.end('{"ok":true}');
    });
    const httpFetch = createHttpFetch({});
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'héllo' }] });
    const response = await httpFetch(`${server.url}/v1/chat/completions?x=1`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer placeholder' }, body });
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]).toMatchObject({ method: 'POST', url: '/v1/chat/completions?x=1', body });
    expect(server.seen[0]!.headers).toMatchObject({ 'content-type': 'application/json', authorization: 'Bearer placeholder', 'content-length': String(Buffer.byteLength(body)) });
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(response.url).toBe(`${server.url}/v1/chat/completions?x=1`);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('decodes a gzip-encoded answer, as built-in fetch does', async () => {
    const server = await serve((_req, res) => {
      const zipped = gzipSync(completion('zipped reply'));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': zipped.length });
      res.end(zipped);
    });
    const client = new OpenAI({ apiKey: 'none', baseURL: `${server.url}/v1`, fetch: createHttpFetch({}), maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]!.message.content).toBe('zipped reply');
  });

  it('rejects with an AbortError when aborted before or while the answer arrives', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":'); // then never finishes
    });
    const httpFetch = createHttpFetch({});
    const early = new AbortController();
    early.abort();
    await expect(httpFetch(server.url, { method: 'POST', body: '{}', signal: early.signal })).rejects.toMatchObject({ name: 'AbortError' });

    const late = new AbortController();
    const pending = httpFetch(server.url, { method: 'POST', body: '{}', signal: late.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    late.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a timeout through the openai client is its timeout error, after its retries', async () => {
    const server = await serve(() => undefined); // never answers
    const client = new OpenAI({ apiKey: 'none', baseURL: `${server.url}/v1`, fetch: createHttpFetch({}), maxRetries: 1, timeout: 100 });
    await expect(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(server.seen).toHaveLength(2);
  });

  it('never hands on a truncated body when the connection drops mid-answer', async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"truncated":');
      setTimeout(() => req.socket.destroy(), 20);
    });
    await expect(createHttpFetch({})(server.url, { method: 'POST', body: '{}' })).rejects.toThrow();
  });

  it('hands bodies it does not send itself (forms, streams) to the built-in fetch', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const response = await createHttpFetch({})(server.url, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    expect(await response.text()).toBe('ok');
    expect(server.seen[0]!.body).toBe('a=1');
    expect(server.seen[0]!.headers['content-type']).toMatch(/x-www-form-urlencoded/);
  });

  it.runIf(agentsSupportProxyEnv())('sends requests through HTTP_PROXY (Node ≥ 24.5)', async () => {
    const proxy = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"via":"proxy"}');
    });
    const response = await createHttpFetch({ HTTP_PROXY: proxy.url })('http://model.example.invalid/v1/chat/completions', { method: 'POST', body: '{}' });
    expect(await response.json()).toEqual({ via: 'proxy' });
    // A forward proxy gets the absolute URL.
    expect(proxy.seen[0]!.url).toBe('http://model.example.invalid/v1/chat/completions');
  });

  it('lists the proxy variables that are set, and knows which Node versions apply them', () => {
    expect(proxyVariablesSet({ HTTPS_PROXY: 'http://p:1', http_proxy: '', NO_PROXY: 'x' })).toEqual(['HTTPS_PROXY']);
    expect(agentsSupportProxyEnv('20.20.2')).toBe(false);
    expect(agentsSupportProxyEnv('24.4.1')).toBe(false);
    expect(agentsSupportProxyEnv('24.5.0')).toBe(true);
    expect(agentsSupportProxyEnv('26.0.0')).toBe(true);
  });
});

describe('a cap on the size of an answer (issue 18: a gzip bomb or a runaway stream must not fill memory)', () => {
  const MB = 1024 * 1024;
  it('a small gzip answer that inflates past the cap is not decompressed; the request fails once, not retried', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * MB, 0x20)); // 8 MB of spaces: about 8 KB compressed
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(bomb);
    });
    const gateway = new ModelGateway({ concurrency: 1, retry: { timeoutMs: 5000, transportRetries: 3, reasks: 0, rateLimitResends: 0 }, secrets: new SecretRegistry(), maxResponseBytes: 1 * MB });
    const error = await gateway.chat({ role: 'candidate', baseUrl: `${server.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('the answer was larger than 1 MB once decompressed and was not read (max-response-mb)');
    expect(server.seen).toHaveLength(1);
  });

  it('a plain answer past the cap is cut off while it arrives', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion('x'.repeat(3 * MB)));
    });
    const transport = createHttpFetch({}, 1 * MB);
    const response = await transport(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(502);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('larger than 1 MB as sent');
  });
});

describe('the gateway on the default transport', () => {
  it('allows one stop listener per request in flight: Node 20 warns of a leak above 10 (concurrency 32 is not one)', () => {
    // Node 24 sets no limit on AbortSignal listeners; Node 20 (engines >= 20) warns at 11 unless raised.
    const gateway = new ModelGateway({ concurrency: 32, retry: { timeoutMs: 5000, transportRetries: 2, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    expect(getMaxListeners(gateway.stopped)).toBeGreaterThan(32);
  });

  it('waits out a 429 pause before the client starts its timeout: a Retry-After longer than request-timeout costs no retry', async () => {
    const server = await serve((_req, res) => {
      if (server.seen.length === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '600' });
        res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests.', type: 'requests', code: 'rate_limit_exceeded' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion('after the pause'));
    });
    const gateway = new ModelGateway({ concurrency: 2, retry: { timeoutMs: 300, transportRetries: 0, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    const answer = await gateway.chat({ role: 'candidate', baseUrl: `${server.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]!.message.content).toBe('after the pause');
    expect(server.seen).toHaveLength(2);
    expect(gateway.rateLimited()).toBe(1);
  });

  it('stops the run when an endpoint has answered nothing but 429 for the give-up time (a used-up quota, not a rate)', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '20' });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests per day.', type: 'requests', code: 'rate_limit_exceeded' } }));
    });
    const gateway = new ModelGateway({ concurrency: 2, retry: { timeoutMs: 5000, transportRetries: 0, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry(), starvedGiveUpMs: 150 });
    const error = await gateway.chat({ role: 'grader', baseUrl: `${server.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointRefusedError);
    expect((error as Error).message).toMatch(/^The grader endpoint http:\/\/127\.0\.0\.1:\d+\/v1 has answered nothing but 429 \(rate limited\) for 0 minutes: a quota \(per hour or day\) looks used up/);
    expect(gateway.stopped.aborted).toBe(true);
  });

  it('rate-limit-resends and max-retries are separate budgets: 429s are resent rate-limit-resends times, 500s retried max-retries times', async () => {
    const limited = await serve((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '1' });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests.', type: 'requests', code: 'rate_limit_exceeded' } }));
    });
    const retry = { timeoutMs: 5000, transportRetries: 0, reasks: 0, rateLimitResends: 2 };
    const paced = new ModelGateway({ concurrency: 1, retry, secrets: new SecretRegistry() });
    const error = await paced.chat({ role: 'candidate', baseUrl: `${limited.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^candidate request failed with 429/);
    expect(limited.seen).toHaveLength(3); // the first send and 2 resends; max-retries 0 did not stop them
    const failing = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'The server had an error.', type: 'server_error', code: null } }));
    });
    const retried = new ModelGateway({ concurrency: 1, retry: { ...retry, transportRetries: 1 }, secrets: new SecretRegistry() });
    await retried.chat({ role: 'candidate', baseUrl: `${failing.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
    expect(failing.seen).toHaveLength(2); // the first try and 1 retry
  });

  it('a 429 whose error type alone says insufficient_quota stops at once, without pacing', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'You have run out of credits.', type: 'insufficient_quota', code: null } }));
    });
    const gateway = new ModelGateway({ concurrency: 2, retry: { timeoutMs: 5000, transportRetries: 3, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    const error = await gateway.chat({ role: 'candidate', baseUrl: `${server.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointRefusedError);
    expect((error as Error).message).toContain('answered 429, quota exhausted: You have run out of credits. Add credit');
    expect(server.seen).toHaveLength(1);
    expect(gateway.rateLimited()).toBe(0);
  });

  it('stops at a redirect with one request, naming where the endpoint points', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(307, { location: 'https://elsewhere.example/v1/chat/completions' });
      res.end();
    });
    const gateway = new ModelGateway({ concurrency: 2, retry: { timeoutMs: 5000, transportRetries: 2, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    const error = await gateway.chat({ role: 'candidate', baseUrl: `${server.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointRefusedError);
    expect((error as Error).message).toContain('307 (a redirect to https://elsewhere.example/v1/chat/completions)');
    expect((error as Error).message).toContain('candidate-base-url');
    expect(server.seen).toHaveLength(1);
  });

  it('after a refusal no retry can fix, sends nothing more: queued requests fail with the same refusal', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }));
    });
    const gateway = new ModelGateway({ concurrency: 1, retry: { timeoutMs: 5000, transportRetries: 2, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    const endpoint = { role: 'grader' as const, baseUrl: `${server.url}/v1`, apiKey: 'placeholder' };
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => gateway.chat(endpoint, { model: 'm', messages: [{ role: 'user', content: `q${i}` }] })));
    expect(server.seen).toHaveLength(1);
    expect(gateway.requestsStarted).toBe(1);
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));
    expect(reasons.every((e) => e instanceof EndpointRefusedError && e.message.includes('answered 401'))).toBe(true);
    expect(gateway.stopped.aborted).toBe(true);
  });

  it('answers a chat request end to end', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion('plain reply'));
    });
    const gateway = new ModelGateway({ concurrency: 2, retry: { timeoutMs: 5000, transportRetries: 0, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    const answer = await gateway.chat({ role: 'candidate', baseUrl: `${server.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]!.message.content).toBe('plain reply');
    expect(server.seen[0]!.headers.authorization).toBe('Bearer placeholder');
    // Finished requests leave nothing behind on the gateway's stop signal (a long run makes 100k of them).
    await Promise.all(Array.from({ length: 20 }, () => gateway.chat({ role: 'candidate', baseUrl: `${server.url}/v1`, apiKey: 'placeholder' }, { model: 'm', messages: [{ role: 'user', content: 'again' }] })));
    expect(getEventListeners(gateway.stopped, 'abort')).toHaveLength(0);
    expect(gateway.stopped.aborted).toBe(false);
  });
});

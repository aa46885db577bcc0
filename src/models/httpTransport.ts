/**
 * The `fetch` the `openai` client sends model requests with: node:http/https on keep-alive agents.
 *
 * Why not Node's built-in fetch (undici): on a 100k-prefix replay the client process is mostly
 * transport. Measured against the bench mock (50 ms latency, concurrency 32, Node 24), the `openai`
 * client on built-in fetch reaches 1.09–1.10× the ideal wall time with ~3.0 s CPU per 4,000
 * requests; on this transport 1.05× with ~1.9 s (node-fetch: 1.07×, undici's `request`: 1.06–1.07×).
 * The client still does everything else — retries, backoff, Retry-After, timeouts (through
 * `signal`), error types — so this only moves bytes, and it accepts only what the client sends for
 * JSON endpoints (a string or byte body); anything else goes to the built-in fetch unchanged.
 *
 * Differences from the built-in fetch, on purpose:
 * - Proxies: HTTP_PROXY / HTTPS_PROXY / NO_PROXY are honoured (Node ≥ 24.5 agents' `proxyEnv`, the
 *   action's runtime), like @actions/http-client does for the GitHub API. Built-in fetch needs
 *   NODE_USE_ENV_PROXY=1 for that.
 * - Redirects are not followed: a 3xx reaches the client as a response, and the gateway stops the
 *   run saying where the endpoint points (following a POST redirect silently changes the method,
 *   or sends the key to another host).
 */
import type http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

type Decode = (buf: Buffer, options: zlib.ZlibOptions | zlib.BrotliOptions) => Promise<Buffer>;
const decoders: Record<string, Decode> = {
  gzip: promisify(zlib.gunzip) as Decode,
  'x-gzip': promisify(zlib.gunzip) as Decode,
  deflate: promisify(zlib.inflate) as Decode,
  br: promisify(zlib.brotliDecompress) as Decode,
};

/** The default cap on one answer, raw and decompressed (`max-response-mb`): far above any chat completion. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * An answer over the cap, as a response the client reads as a final failure (not retried: the next
 * try would be as large). The body stays unread, so a gzip bomb or a runaway stream never fills memory.
 */
function oversized(maxBytes: number, what: string): Response {
  const message = `the answer was larger than ${maxBytes / 1048576} MB ${what} and was not read (max-response-mb); raise it only if the model's answers are really that long`;
  return new Response(JSON.stringify({ error: { message, type: 'deploysim_response_too_large' } }), { status: 502, headers: { 'content-type': 'application/json', 'x-should-retry': 'false' } });
}

/** Statuses whose response has no body (a Response with one throws). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

const abortError = (signal: AbortSignal): unknown => (signal.reason instanceof Error && signal.reason.name === 'AbortError' ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));

/** Node versions whose http agents accept `proxyEnv` (built-in proxy support). */
export function agentsSupportProxyEnv(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 5);
}

/** The proxy variables set in `env`, for the warning on Node versions that cannot use them. */
export function proxyVariablesSet(env: NodeJS.ProcessEnv): string[] {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].filter((name) => env[name]);
}

/**
 * node:http and node:https, required when the first transport is made. An ESM import of node:http
 * evaluates its lazy exports, which loads Node's bundled undici (~6 MB RSS) at startup, before the
 * corpus pass, although nothing here uses it.
 */
function httpModules(): { http: typeof http; https: typeof https } {
  const load = createRequire(import.meta.url);
  return { http: load('node:http') as typeof http, https: load('node:https') as typeof https };
}

export function createHttpFetch(env: NodeJS.ProcessEnv = process.env, maxBytes = DEFAULT_MAX_RESPONSE_BYTES): typeof fetch {
  const { http, https } = httpModules();
  // `proxyEnv` is read by Node ≥ 24.5 and ignored before; the CLI warns when that loses a proxy.
  const agentOptions = { keepAlive: true, proxyEnv: env } as http.AgentOptions;
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };

  const httpFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer;
    const url = input instanceof Request ? undefined : new URL(input);
    const agent = url && (url.protocol === 'http:' || url.protocol === 'https:') ? agents[url.protocol] : undefined;
    if (!plainBody || !agent || !url) return fetch(input, init);

    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    // A string body stays a string: node:http then sends it in one write with the headers (a Buffer costs a second one).
    const payload = body === undefined || body === null ? undefined : typeof body === 'string' ? body : Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const fail = (error: unknown) => settle(() => reject(error));
      const request = (url.protocol === 'https:' ? https : http).request(url, { method: init.method ?? 'GET', headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxBytes) {
            // Settled first: destroying the response reports it as cut short.
            settle(() => resolve(oversized(maxBytes, 'as sent')));
            response.destroy();
            request.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', fail);
        response.on('aborted', () => fail(new Error('the endpoint closed the connection before the response was complete')));
        response.on('end', () => {
          if (!response.complete) return fail(new Error('the endpoint closed the connection before the response was complete'));
          const status = response.statusCode ?? 0;
          const encoding = String(response.headers['content-encoding'] ?? '').trim().toLowerCase();
          const raw = Buffer.concat(chunks);
          const decode = decoders[encoding];
          (decode && raw.length > 0 ? decode(raw, { maxOutputLength: maxBytes }) : Promise.resolve(raw)).then((content) => {
            const responseHeaders = new Headers();
            const rawHeaders = response.rawHeaders;
            for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
              // The body handed on is decoded, as built-in fetch does: its encoding and length no longer apply.
              const name = rawHeaders[i]!.toLowerCase();
              if (decode && (name === 'content-encoding' || name === 'content-length')) continue;
              responseHeaders.append(name, rawHeaders[i + 1]!);
            }
            const result = new Response(NULL_BODY.has(status) ? null : content, { status, statusText: response.statusMessage ?? '', headers: responseHeaders });
            Object.defineProperty(result, 'url', { value: url.href });
            settle(() => resolve(result));
          }).catch((error: NodeJS.ErrnoException) => {
            // zlib's cap on the decompressed size: a small answer that inflates without bound.
            if (error.code === 'ERR_BUFFER_TOO_LARGE') settle(() => resolve(oversized(maxBytes, 'once decompressed')));
            else fail(error);
          });
        });
      });
      const onAbort = () => {
        const error = abortError(signal!);
        request.destroy(error as Error);
        fail(error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', fail);
      request.end(payload);
    });
  };
  return httpFetch as typeof fetch;
}

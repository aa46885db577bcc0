import { defaultMaxListeners, setMaxListeners } from 'node:events';
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import pLimit, { type LimitFunction } from 'p-limit';
import { EndpointRefusedError, RunStoppedError, stopsTheRun } from '../common/errors.js';
import type { SecretRegistry } from '../common/secrets.js';
import { ProviderBlockedError, type ChatClient, type ChatOptions, type Endpoint, type EndpointRole } from './chatClient.js';
import { agentsSupportProxyEnv, createHttpFetch, proxyVariablesSet } from './httpTransport.js';
import { readableErrors, setupRefusal } from './providerErrors.js';
import { EndpointThrottle, pacedTransport, quotaExhausted } from './rateLimit.js';
import type { RetryPolicy } from './retryPolicy.js';

/** How one endpoint is reached: the base URL the client is given and the `fetch` it sends with. */
export interface Transport {
  baseURL: string;
  fetch: typeof fetch;
}

/**
 * Where answered requests are kept (`cache-dir`; ../cache/completionCache.ts): read before a request is
 * sent, written once it is answered. The model layer only asks for a key; how it is derived is the store's.
 */
export interface AnswerStore {
  keyOf(role: EndpointRole, baseUrl: string, params: ChatCompletionCreateParamsNonStreaming): string;
  get(key: string): Promise<ChatCompletion | undefined>;
  put(key: string, role: EndpointRole, model: string, completion: ChatCompletion): Promise<void>;
}

export interface GatewayOptions {
  concurrency: number;
  retry: RetryPolicy;
  secrets: SecretRegistry;
  /**
   * How an endpoint is reached, chosen by the composition root (the built-in demo endpoint is a
   * transport like any other); undefined: its base URL over node:http (./httpTransport.ts).
   */
  transportFor?: (endpoint: Endpoint) => Transport | undefined;
  /** Told once when a proxy variable is set that this Node version cannot apply to model requests. */
  warning?: (message: string) => void;
  /** `cache-dir`: answered requests are read from here instead of being sent again. */
  cache?: AnswerStore;
  /** Aborted on SIGINT/SIGTERM: stops the gateway as a refusal does, with the RunCancelledError as the reason. */
  cancel?: AbortSignal;
  /** How long an endpoint may answer only 429s before the run stops (default 10 minutes; tests shorten it). */
  starvedGiveUpMs?: number;
  /** The cap on one answer, raw and decompressed (`max-response-mb`; ./httpTransport.ts). */
  maxResponseBytes?: number;
  /** `max-requests`: requests handed to the client, every role together; the next one stops the run. */
  maxRequests?: number;
}

const hasMessage = (c: ChatCompletion) => Boolean(c.choices?.[0]?.message);

/** Removes registered secrets from an answer's text, in place (content, refusal, tool-call arguments). */
export function scrubAnswer(completion: ChatCompletion, secrets: SecretRegistry): void {
  for (const choice of completion.choices ?? []) {
    const message = choice.message as { content?: string | null; refusal?: string | null; tool_calls?: { function?: { arguments?: string } }[] } | undefined;
    if (!message) continue;
    if (typeof message.content === 'string') message.content = secrets.scrub(message.content);
    if (typeof message.refusal === 'string') message.refusal = secrets.scrub(message.refusal);
    for (const call of message.tool_calls ?? []) {
      if (typeof call.function?.arguments === 'string') call.function.arguments = secrets.scrub(call.function.arguments);
    }
  }
}

/** OpenSSL's and Node's codes for a certificate the client does not trust (name mismatch included). */
const UNTRUSTED_CERTIFICATE = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(GET_ISSUER_CERT|GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE)$|ERR_TLS_CERT_ALTNAME_INVALID$)/;

/** `CODE: message` when an error (or one of its causes) is a TLS certificate rejection. */
function tlsCertificateProblem(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.test(code)) return `${code}: ${e.message}`;
  }
  return undefined;
}

/** An endpoint that has answered nothing but 429s this long has run out of a quota, not hit a rate: stop. */
const STARVED_GIVE_UP_MS = 10 * 60_000;

/** One endpoint's client (its transport paced by the throttle) and the roles that use it. */
interface EndpointState {
  client: OpenAI;
  /** Back-pressure when the endpoint answers 429 (rateLimit.ts). */
  throttle: EndpointThrottle;
  roles: Set<EndpointRole>;
  baseUrl: string;
  /** Whether any request to it has been answered with a completion. */
  answered: boolean;
  /** Before the first completion: how many requests ended with each 4xx message (the same one every time is a setup problem). */
  earlyFailures: Map<string, number>;
}

/** Requests to an endpoint that never answered, all refused with the same 4xx, after which the run stops. */
const SAME_REFUSAL_STOPS_AFTER = 3;

/** Azure OpenAI's deployments URL, where the key goes in an `api-key` header (as the official AzureOpenAI client sends it). */
const AZURE_DEPLOYMENT = /^https:\/\/[^/]+\.(openai\.azure\.com|cognitiveservices\.azure\.com)\/openai\/deployments\//i;

/** The base URL without its query, and the query as parameters the client sends with every request. */
function splitQuery(baseUrl: string): { baseURL: string; query: Record<string, string> } {
  const at = baseUrl.indexOf('?');
  if (at < 0) return { baseURL: baseUrl, query: {} };
  return { baseURL: baseUrl.slice(0, at).replace(/\/+$/, ''), query: Object.fromEntries(new URLSearchParams(baseUrl.slice(at + 1))) };
}

/** Whether a 4xx answer is a provider's safety system refusing the request (see ProviderBlockedError). */
function safetyBlock(error: InstanceType<typeof OpenAI.APIError>): boolean {
  const body = error.error as { code?: unknown; innererror?: { code?: unknown }; metadata?: { reasons?: unknown; flagged_input?: unknown } } | undefined;
  if (error.status === 400 && (error.code === 'invalid_prompt' || error.code === 'content_filter' || body?.innererror?.code === 'ResponsibleAIPolicyViolation')) return true;
  // OpenRouter: 403 "Your chosen model requires moderation and your input was flagged", with metadata.reasons.
  return error.status === 403 && (body?.metadata?.flagged_input !== undefined || body?.metadata?.reasons !== undefined || /requires moderation|input was flagged/i.test(error.message));
}

/**
 * A 200 answer that is not a chat completion (an HTML page, an event stream, an error object) as an
 * error that says what came back; undefined for a chat completion.
 */
function notACompletion(answer: unknown): Error | undefined {
  if (typeof answer === 'object' && answer !== null && Array.isArray((answer as ChatCompletion).choices)) return undefined;
  const error = typeof answer === 'object' && answer !== null ? (answer as { error?: unknown }).error : undefined;
  if (error !== undefined) {
    const message = typeof error === 'string' ? error : typeof (error as { message?: unknown }).message === 'string' ? (error as { message: string }).message : JSON.stringify(error);
    return new Error(`the endpoint answered 200 with an error instead of a completion: ${message.slice(0, 500)}`);
  }
  const shown = (typeof answer === 'string' ? answer : JSON.stringify(answer) ?? String(answer)).replace(/\s+/g, ' ').trim().slice(0, 200);
  const what = typeof answer === 'string' && /^\s*</.test(answer) ? 'an HTML page' : typeof answer === 'string' && /^\s*(data|event):/m.test(answer) ? 'an event stream' : 'something else';
  return new Error(`the endpoint answered 200 with ${what}, not a chat completion (is the base URL the API's, ending in /v1?): ${JSON.stringify(shown)}`);
}

/** "candidate endpoint", "candidate and grader endpoint": the roles that share one base URL and key. */
function endpointLabel(roles: Set<EndpointRole>): string {
  const names = [...roles];
  return `${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? 'model')} endpoint`;
}

/**
 * All model traffic goes through here: one `openai` client per endpoint (its retries with
 * exponential backoff honour Retry-After / retry-after-ms, and its per-request timeout), and one
 * shared limiter so `concurrency` bounds candidate, grader and simulator requests together.
 */
export class ModelGateway implements ChatClient {
  /** Per endpoint: a base URL and key, which several roles may share. */
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly limit: LimitFunction;
  private httpTransport: typeof fetch | undefined;
  /**
   * Aborted with the first refusal no retry can fix, or on cancellation: requests in flight stop (the
   * client does not retry an aborted request) and queued ones are never sent.
   */
  private readonly stop = new AbortController();
  /** Base URLs that have answered at least once (any HTTP status): a connection failure there is a blip, not a wrong address. */
  private readonly reached = new Set<string>();
  /** Requests handed to the client (each may be retried by it); for the plan and for tests. */
  requestsStarted = 0;
  private cacheWarned = false;

  /** Aborted, with the refusal or cancellation as its reason, once one has stopped this gateway. */
  get stopped(): AbortSignal {
    return this.stop.signal;
  }

  constructor(private readonly options: GatewayOptions) {
    this.limit = pLimit(options.concurrency);
    // Each request in flight listens on `stop` until it ends, so up to `concurrency` listeners at once is
    // expected, not a leak: without this, Node 20 prints a MaxListenersExceededWarning above 10.
    setMaxListeners(Math.max(defaultMaxListeners, options.concurrency + 1), this.stop.signal);
    const cancel = options.cancel;
    if (cancel?.aborted) this.stop.abort(cancel.reason);
    else cancel?.addEventListener('abort', () => this.stop.abort(cancel.reason), { once: true });
  }

  async chat(endpoint: Endpoint, params: ChatCompletionCreateParamsNonStreaming, options: ChatOptions = {}): Promise<ChatCompletion> {
    const cache = options.fresh ? undefined : this.options.cache;
    const accept = (c: ChatCompletion) => hasMessage(c) && (options.cacheIf?.(c) ?? true);
    const key = cache ? cache.keyOf(endpoint.role, endpoint.baseUrl, params) : '';
    if (this.stop.signal.aborted) throw this.stop.signal.reason;
    if (cache) {
      const cached = await cache.get(key);
      if (cached && accept(cached)) return cached;
    }
    const completion = await this.limit(async () => {
      if (this.stop.signal.aborted) throw this.stop.signal.reason;
      const budget = this.options.maxRequests;
      if (budget !== undefined && this.requestsStarted >= budget) {
        this.stop.abort(
          new RunStoppedError(
            `The run reached max-requests ${budget} (every request counts: candidate turns, simulated tool calls, grader re-asks, audits, the preflight) before it finished, so it stops without a verdict. ` +
              'Agentic records with many parallel tool calls, or a grader whose answers need re-asking, cost more than the plan counts: raise max-requests, or split the run into shards.',
          ),
        );
        throw this.stop.signal.reason;
      }
      this.requestsStarted += 1;
      // A signal per request, linked to `stop` only while it runs: the client adds an abort listener
      // to the signal it is given and never removes it, so one shared signal would collect one per request.
      const request = new AbortController();
      this.allowRetryListeners(request.signal);
      const onStop = () => request.abort(this.stop.signal.reason);
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        const answer = await this.send(endpoint, params, request.signal);
        this.reached.add(endpoint.baseUrl);
        const wrong = notACompletion(answer);
        if (wrong) throw wrong;
        this.stateOf(endpoint).answered = true;
        return answer;
      } catch (error) {
        const classified = this.classify(endpoint, params.model, error);
        if (classified instanceof EndpointRefusedError) this.stop.abort(classified);
        throw classified;
      } finally {
        this.stop.signal.removeEventListener('abort', onStop);
      }
    });
    // A server that echoes the key into an answer: it must not reach grades, the cache, reports or logs.
    scrubAnswer(completion, this.options.secrets);
    // A cache that cannot be written costs a re-run requests, never this run's result: said once.
    if (cache && accept(completion)) {
      await cache.put(key, endpoint.role, params.model, completion).catch((error: unknown) => {
        if (this.cacheWarned) return;
        this.cacheWarned = true;
        const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        this.options.warning?.(`cache-dir: an answer could not be stored (${cause}); the run goes on, but a re-run will send again what is not stored.`);
      });
    }
    return completion;
  }

  /**
   * One request, with the client's retries for faults; a 429 comes back from the throttle unretried
   * (see rateLimit.ts) and is sent again here once the endpoint's pause is over, up to
   * `rateLimitResends` times. An exhausted quota (billing) is a 429 that no wait fixes: it is not.
   */
  private async send(endpoint: Endpoint, params: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal): Promise<ChatCompletion> {
    const { client, throttle, roles } = this.stateOf(endpoint);
    for (let resends = 0; ; resends++) {
      // The client adds a listener per attempt to the signal it gets and never removes it: a resend gets
      // a signal of its own, linked to the request's (the first send uses that one as it is).
      const attempt = resends === 0 ? undefined : new AbortController();
      const onAbort = () => attempt?.abort(signal.reason);
      if (attempt) {
        this.allowRetryListeners(attempt.signal);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      try {
        return await throttle.run(() => client.chat.completions.create(params, { signal: attempt?.signal ?? signal }), signal);
      } catch (error) {
        if (!(error instanceof OpenAI.RateLimitError) || quotaExhausted(error) || resends >= this.options.retry.rateLimitResends) throw error;
        const giveUpMs = this.options.starvedGiveUpMs ?? STARVED_GIVE_UP_MS;
        if (throttle.starvedMs() >= giveUpMs) {
          throw new EndpointRefusedError(
            `The ${endpointLabel(roles)} ${this.options.secrets.scrub(endpoint.baseUrl)} has answered nothing but 429 (rate limited) for ${Math.round(giveUpMs / 60_000)} minutes: ` +
              'a quota (per hour or day) looks used up. Re-run once it resets or after raising it; with cache-dir the answers so far are kept.',
          );
        }
      } finally {
        if (attempt) signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /** One listener per attempt (max-retries + 1) is expected, not a leak: Node 20 warns above 10. */
  private allowRetryListeners(signal: AbortSignal): void {
    const attempts = this.options.retry.transportRetries + 2;
    if (attempts > defaultMaxListeners) setMaxListeners(attempts, signal);
  }

  /** 429 answers so far, across endpoints. */
  rateLimited(): number {
    let n = 0;
    for (const { throttle } of this.endpoints.values()) n += throttle.rateLimited;
    return n;
  }

  /** One line per endpoint that was rate limited: how often, and how far its requests in flight were cut. */
  rateLimitSummary(): string[] {
    return [...this.endpoints.values()]
      .filter(({ throttle }) => throttle.rateLimited > 0)
      .map(({ roles, baseUrl, throttle }) => {
        const fewest = throttle.lowest === 1 ? 'one request at a time' : `as few as ${throttle.lowest} requests at once`;
        return `The ${endpointLabel(roles)} ${this.options.secrets.scrub(baseUrl)} answered 429 (rate limited) ${throttle.rateLimited} times; deploysim paused it and sent ${fewest} (concurrency ${this.options.concurrency}).`;
      });
  }

  /** The endpoint's client and throttle, made on first use (the roles using it are recorded for messages). */
  private stateOf(endpoint: Endpoint): EndpointState {
    const key = `${endpoint.baseUrl}\0${endpoint.apiKey}\0${JSON.stringify(endpoint.headers ?? {})}`;
    let state = this.endpoints.get(key);
    if (!state) {
      const roles = new Set<EndpointRole>();
      let warned = false;
      const throttle = new EndpointThrottle(this.options.concurrency, (pauseMs, inFlight) => {
        if (warned) return;
        warned = true;
        const pause = pauseMs >= 100 ? `paused ${(pauseMs / 1000).toFixed(1)} s and ` : '';
        this.options.warning?.(
          `The ${endpointLabel(roles)} ${this.options.secrets.scrub(endpoint.baseUrl)} is rate limiting (429): its requests are ${pause}sent ${inFlight === 1 ? 'one at a time' : `at most ${inFlight} at once`}, growing back as it answers. ` +
            "The run goes on; if it is slow, lower concurrency or raise the endpoint's limit.",
        );
      });
      const { baseURL, query } = splitQuery(endpoint.baseUrl);
      const transport = this.options.transportFor?.(endpoint) ?? { baseURL, fetch: this.http() };
      // Keyless servers (a local vLLM) accept any placeholder; the client insists on a non-empty key.
      const apiKey = endpoint.apiKey || 'none';
      const azure = AZURE_DEPLOYMENT.test(endpoint.baseUrl);
      const client = new OpenAI({
        apiKey,
        baseURL: transport.baseURL,
        timeout: this.options.retry.timeoutMs,
        maxRetries: this.options.retry.transportRetries,
        defaultQuery: query,
        // A header with no value removes the client's own (Authorization, on Azure deployment URLs).
        defaultHeaders: { ...(azure ? { 'api-key': apiKey, Authorization: null } : {}), ...endpoint.headers },
        fetch: pacedTransport(throttle, readableErrors(this.stopOnUntrustedCertificate(endpoint, transport.fetch))),
        logLevel: 'off',
      });
      state = { client, throttle, roles, baseUrl: endpoint.baseUrl, answered: false, earlyFailures: new Map() };
      this.endpoints.set(key, state);
    }
    state.roles.add(endpoint.role);
    return state;
  }

  /**
   * The client retries every connection error, and an untrusted certificate fails every retry the
   * same way: the first one stops the run at once with what to do.
   */
  private stopOnUntrustedCertificate(endpoint: Endpoint, transport: typeof fetch): typeof fetch {
    return (async (input: string | URL | Request, init?: RequestInit) => {
      try {
        return await transport(input, init);
      } catch (error) {
        const problem = tlsCertificateProblem(error);
        if (problem) {
          this.stop.abort(
            new EndpointRefusedError(
              `The ${endpoint.role} endpoint ${this.options.secrets.scrub(endpoint.baseUrl)} presented a TLS certificate that is not trusted (${this.options.secrets.scrub(problem)}). ` +
                "If it is signed by a private CA, set NODE_EXTRA_CA_CERTS to that CA's PEM file for the step (Node reads it at startup).",
            ),
          );
        }
        throw error;
      }
    }) as typeof fetch;
  }

  private http(): typeof fetch {
    if (!this.httpTransport) {
      const proxies = proxyVariablesSet(process.env);
      if (proxies.length > 0 && !agentsSupportProxyEnv()) {
        this.options.warning?.(`${proxies.join(', ')} is set, but Node ${process.versions.node} cannot send model requests through a proxy (Node 24.5 or later can); they go direct.`);
      }
      this.httpTransport = createHttpFetch(process.env, this.options.maxResponseBytes);
    }
    return this.httpTransport;
  }

  /** Turns client errors into messages without secrets; refusals that retrying cannot fix abort the run. */
  private classify(endpoint: Endpoint, model: string, error: unknown): Error {
    // Stopped by a refusal (this request's or another's) or a cancellation: whatever this request ended
    // with (the client's abort, or a rate-limit pause cut short), the stop is what to report.
    if (this.stop.signal.aborted && stopsTheRun(this.stop.signal.reason)) return this.stop.signal.reason;
    if (error instanceof EndpointRefusedError) return error;
    const scrub = (s: string) => this.options.secrets.scrub(s);
    if (error instanceof OpenAI.APIError && error.status !== undefined) {
      this.reached.add(endpoint.baseUrl);
      // The client's message starts with the status, which every message below already names.
      const detail = scrub(error.message).replace(/^\d{3} /, '').slice(0, 500);
      const where = `${endpoint.role} endpoint ${scrub(endpoint.baseUrl)} (model "${model}")`;
      const modelMissing = error.status === 404 || (error.status === 400 && /model/i.test(error.message) && /(not (found|exist)|does not exist|unknown|invalid)/i.test(error.message));
      if (error.status >= 300 && error.status < 400) {
        const location = error.headers?.get('location');
        return new EndpointRefusedError(
          `The ${where} answered ${error.status} (a redirect${location ? ` to ${scrub(location)}` : ''}). Model requests are not redirected: set the ${endpoint.role}-base-url input to the address that answers.`,
        );
      }
      if (safetyBlock(error)) return new ProviderBlockedError(`the ${endpoint.role} provider blocked the request (${error.status}): ${detail}`, detail);
      if (error.status === 429 && quotaExhausted(error)) {
        return new EndpointRefusedError(`The ${where} answered 429, quota exhausted: ${detail.replace(/\.$/, '')}. Add credit or raise the quota for the key in the ${endpoint.role}-api-key input; waiting does not help.`);
      }
      if (error.status === 401 || error.status === 403) {
        return new EndpointRefusedError(`The ${where} answered ${error.status}: ${detail}. Check the ${endpoint.role}-api-key input (and that the key may use this model).`);
      }
      if (modelMissing) {
        return new EndpointRefusedError(`The ${where} answered ${error.status}: ${detail}. Check the model name and the ${endpoint.role}-base-url input.`);
      }
      // Every request carries the same settings, so a setting the server or model refuses fails them all.
      const setup = setupRefusal(error.message);
      if (setup) return new EndpointRefusedError(`The ${where} rejected a request setting: ${detail} — ${setup.hint}.`);
      // Not known, but the same 4xx for every request so far and no answer yet: the setup, not the records.
      const state = this.stateOf(endpoint);
      if (!state.answered && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 409 && error.status !== 429) {
        const seen = (state.earlyFailures.get(detail) ?? 0) + 1;
        state.earlyFailures.set(detail, seen);
        if (seen >= SAME_REFUSAL_STOPS_AFTER && state.earlyFailures.size === 1) {
          return new EndpointRefusedError(
            `The ${where} refused each of the first ${seen} requests with the same answer, ${error.status}: ${detail}. No request has been answered, so the run stops: fix the setting it names (registration, inputs, or the server's configuration).`,
          );
        }
      }
      return new Error(`${endpoint.role} request failed with ${error.status}: ${detail}`);
    }
    if (error instanceof OpenAI.APIConnectionTimeoutError) {
      return new Error(`${endpoint.role} request timed out after ${this.options.retry.timeoutMs / 1000}s (and ${this.options.retry.transportRetries} retries)`);
    }
    if (error instanceof OpenAI.APIConnectionError) {
      const cause = scrub(error.cause instanceof Error ? error.cause.message : String(error.cause ?? error.message)).slice(0, 300);
      // Never reached after all retries (a wrong host, a closed port, no network): every other record would fail the same way.
      if (!this.reached.has(endpoint.baseUrl)) {
        return new EndpointRefusedError(
          `Cannot reach the ${endpoint.role} endpoint ${scrub(endpoint.baseUrl)} (${cause}; ${this.options.retry.transportRetries} retries). ` +
            `Check the ${endpoint.role}-base-url input and the network (a proxy needs HTTPS_PROXY / NO_PROXY).`,
        );
      }
      return new Error(`${endpoint.role} endpoint unreachable: ${cause}`);
    }
    return new Error(scrub(error instanceof Error ? error.message : String(error)).slice(0, 500));
  }
}

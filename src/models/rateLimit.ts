import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { AimdLimiter } from './aimd.js';

/**
 * OpenAI's 429 for an account out of credit (`insufficient_quota` as code or type): no wait fixes it.
 * The wording alone is not enough: other providers use "exceeded your current quota" for per-minute limits.
 */
export function quotaExhausted(error: { code?: unknown; type?: unknown } | undefined): boolean {
  return error?.code === 'insufficient_quota' || error?.type === 'insufficient_quota';
}

/** The `error` object of an OpenAI-shaped error body, if it has one. */
function errorOf(body: string): { code?: unknown; type?: unknown } | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; type?: unknown } };
    return typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/** How long a 429 asks to wait: `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Back-pressure for one endpoint that answers 429. The client retries each rate-limited request on
 * its own, but meanwhile every other request keeps hitting the limit and spends its retries too: a
 * run just above an endpoint's limit then loses records and fails its error budget (measured: 3% of
 * records at 30 requests/s with concurrency 32 and no Retry-After). So requests to the endpoint run
 * within the allowance of an AIMD limiter (./aimd.ts), and wait out its pause before they are sent
 * (`run`): outside the client, so the wait costs no timeout and no retry.
 */
export class EndpointThrottle {
  private readonly limit: LimitFunction;
  private readonly aimd: AimdLimiter;

  constructor(
    ceiling: number,
    /** Told at each cut: how long requests are paused and how many may now be in flight. */
    private readonly onCut: (pauseMs: number, inFlight: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = pLimit(ceiling);
    this.aimd = new AimdLimiter(ceiling);
  }

  /** 429 answers seen. */
  get rateLimited(): number {
    return this.aimd.rateLimited;
  }

  /** The fewest requests allowed in flight at once so far. */
  get lowest(): number {
    return this.aimd.lowest;
  }

  /** How many requests may be in flight to the endpoint now. */
  get inFlightAllowed(): number {
    return this.limit.concurrency;
  }

  /** How long the endpoint has answered nothing but 429s (0 while it answers). */
  starvedMs(): number {
    return this.aimd.starvedMs(this.now());
  }

  /**
   * Runs one request (with the client's retries) within the endpoint's current in-flight allowance,
   * once any pause is over.
   */
  run<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // Never rate limited: nothing to pace, and the limiter's bookkeeping is measurable on a fast run.
    if (this.aimd.rateLimited === 0) return request();
    return this.limit(async () => {
      for (let wait = this.aimd.pausedUntil - this.now(); wait > 0; wait = this.aimd.pausedUntil - this.now()) {
        await sleep(wait, undefined, { signal });
      }
      return request();
    });
  }

  /** The epoch a request is sent in (see AimdLimiter). */
  sending(): number {
    return this.aimd.epoch;
  }

  /** A 429 to a request sent at `sentAt`. */
  rateLimitedAnswer(sentAt: number, headers: Headers): void {
    const step = this.aimd.rateLimitedAnswer(sentAt, retryAfterMs(headers, this.now()), this.now());
    this.limit.concurrency = step.allowed;
    if (step.cut) this.onCut(step.pauseMs, step.allowed);
  }

  /** A successful answer to a request sent at `sentAt`. */
  answered(sentAt: number): void {
    this.aimd.answered(sentAt);
    this.limit.concurrency = this.aimd.allowed;
  }
}

/**
 * The transport as the throttle sees it: every attempt's status is reported to it. A 429 reaches the
 * client marked `x-should-retry: false` (a header the client obeys): re-sending it is the gateway's
 * job, through `run`, so it waits for the pause and for a place among the fewer requests now allowed,
 * instead of being retried at once at the cost of one of the client's retries, which are meant for
 * faults. An exhausted quota stops the run (the gateway says so): it neither pauses nor cuts.
 */
export function pacedTransport(throttle: EndpointThrottle, transport: typeof fetch): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const sentAt = throttle.sending();
    const response = await transport(input, init);
    if (response.status !== 429) {
      if (response.ok) throttle.answered(sentAt);
      return response;
    }
    const body = await response.text();
    if (!quotaExhausted(errorOf(body))) throttle.rateLimitedAnswer(sentAt, response.headers);
    const headers = new Headers(response.headers);
    headers.set('x-should-retry', 'false');
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  }) as typeof fetch;
}

import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';

/** Longest pause taken for a 429 without Retry-After (1 s, doubling per burst of 429s in a row). */
const MAX_UNTOLD_PAUSE_MS = 32_000;
/**
 * Longest pause taken when the endpoint names one: a day's quota may ask for hours, which a CI job
 * cannot wait; the openai client likewise ignores a Retry-After of a minute or more.
 */
const MAX_PAUSE_MS = 60_000;

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
 * records at 30 requests/s with concurrency 32 and no Retry-After). So, per endpoint:
 * - a 429 pauses every request to it for what the endpoint asked (Retry-After), or without that 1 s,
 *   doubling for each burst of 429s with no answer between them, up to 32 s;
 * - it halves the requests sent to it at once, and answers without a 429 grow that back by one per
 *   window (additive increase, multiplicative decrease, as TCP does). Answers to requests sent before
 *   the last cut are the same burst: their 429s do not cut again, and their successes do not grow.
 * The pause is waited out before the client is called (`run`), not inside its per-request timeout.
 */
export class EndpointThrottle {
  private readonly limit: LimitFunction;
  private pausedUntil = 0;
  /** When the endpoint began answering only 429s (undefined while it answers). */
  private starvedSince: number | undefined;
  /** Cuts since the last answer without a 429: the pause doubles with each when the endpoint names none. */
  private cutsInARow = 0;
  private cut = 0;
  private sinceGrowth = 0;
  /** 429 answers seen. */
  rateLimited = 0;
  /** The fewest requests allowed in flight at once so far. */
  lowest: number;

  constructor(
    private readonly ceiling: number,
    /** Told at each cut: how long requests are paused and how many may now be in flight. */
    private readonly onCut: (pauseMs: number, inFlight: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = pLimit(ceiling);
    this.lowest = ceiling;
  }

  /** How many requests may be in flight to the endpoint now. */
  get inFlightAllowed(): number {
    return this.limit.concurrency;
  }

  /** How long the endpoint has answered nothing but 429s (0 while it answers). */
  starvedMs(): number {
    return this.starvedSince === undefined ? 0 : this.now() - this.starvedSince;
  }

  /**
   * Runs one request (with the client's retries) within the endpoint's current in-flight allowance,
   * once any pause is over: the wait is outside the client, so it costs no timeout and no retry.
   */
  run<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // Never rate limited: nothing to pace, and the limiter's bookkeeping is measurable on a fast run.
    if (this.rateLimited === 0) return request();
    return this.limit(async () => {
      for (let wait = this.pausedUntil - this.now(); wait > 0; wait = this.pausedUntil - this.now()) {
        await sleep(wait, undefined, { signal });
      }
      return request();
    });
  }

  /**
   * Wraps the transport to see every attempt's status. A 429 reaches the client marked
   * `x-should-retry: false` (a header the client obeys): re-sending it is the caller's job, through
   * `run`, so it waits for the pause and for a place among the fewer requests now allowed, instead of
   * being retried at once at the cost of one of the client's retries, which are meant for faults.
   */
  wrap(transport: typeof fetch): typeof fetch {
    return (async (input: string | URL | Request, init?: RequestInit) => {
      const cutWhenSent = this.cut;
      const response = await transport(input, init);
      if (response.status !== 429) {
        if (response.ok) this.answered(cutWhenSent);
        return response;
      }
      const body = await response.text();
      // An exhausted quota stops the run (the gateway says so): not a reason to pause or cut.
      if (!quotaExhausted(errorOf(body))) this.observe(response, cutWhenSent);
      const headers = new Headers(response.headers);
      headers.set('x-should-retry', 'false');
      return new Response(body, { status: response.status, statusText: response.statusText, headers });
    }) as typeof fetch;
  }

  private observe(response: Response, cutWhenSent: number): void {
    this.rateLimited += 1;
    this.starvedSince ??= this.now();
    const asked = retryAfterMs(response.headers, this.now());
    // Sent before the last cut: the same burst, already answered for (unless it names a longer wait).
    const newBurst = cutWhenSent === this.cut;
    if (newBurst) {
      this.cut += 1;
      this.cutsInARow += 1;
      this.sinceGrowth = 0;
      this.limit.concurrency = Math.max(1, Math.floor(this.limit.concurrency / 2));
      this.lowest = Math.min(this.lowest, this.limit.concurrency);
    }
    const pause = asked !== undefined ? Math.min(asked, MAX_PAUSE_MS) : (newBurst ? Math.min(1000 * 2 ** (this.cutsInARow - 1), MAX_UNTOLD_PAUSE_MS) : 0);
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + pause);
    if (newBurst) this.onCut(pause, this.limit.concurrency);
  }

  private answered(cutWhenSent: number): void {
    this.starvedSince = undefined;
    // Sent before the last cut: part of the burst that was cut for, not evidence the endpoint recovered.
    if (cutWhenSent !== this.cut) return;
    this.cutsInARow = 0;
    if (this.limit.concurrency >= this.ceiling) return;
    this.sinceGrowth += 1;
    if (this.sinceGrowth >= this.limit.concurrency) {
      this.sinceGrowth = 0;
      this.limit.concurrency += 1;
    }
  }
}

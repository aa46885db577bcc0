/** Longest pause taken for a 429 without Retry-After (1 s, doubling per burst of 429s in a row). */
const MAX_UNTOLD_PAUSE_MS = 32_000;
/**
 * Longest pause taken when the endpoint names one: a day's quota may ask for hours, which a CI job
 * cannot wait; the openai client likewise ignores a Retry-After of a minute or more.
 */
const MAX_PAUSE_MS = 60_000;

/** What one 429 did to the limiter. */
export interface RateLimitStep {
  /** True when it started a new burst: the allowance was halved and the pause (re)set. */
  cut: boolean;
  /** How long requests now wait before they are sent (0 when it named no pause and was not a new burst). */
  pauseMs: number;
  /** Requests allowed in flight after it. */
  allowed: number;
}

/**
 * Additive increase, multiplicative decrease (as TCP does) for one endpoint, as pure state: no timer,
 * no I/O, the time is given. A 429 halves the requests allowed at once and pauses every request for
 * what the endpoint asked (Retry-After), or without that 1 s, doubling for each burst of 429s with no
 * answer between them, up to 32 s. Answers without a 429 grow the allowance back by one per window.
 * Answers to requests sent before the last cut belong to the burst that was cut for: their 429s do
 * not cut again, and their successes do not grow. A request records `epoch` when it is sent.
 */
export class AimdLimiter {
  /** Cuts so far; a request sent at epoch e is answered in the same burst while `epoch` is still e. */
  epoch = 0;
  allowed: number;
  /** The fewest requests allowed at once so far. */
  lowest: number;
  /** 429 answers seen. */
  rateLimited = 0;
  pausedUntil = 0;
  /** When the endpoint began answering only 429s (undefined while it answers). */
  private starvedSince: number | undefined;
  /** Cuts since the last answer without a 429: the pause doubles with each when the endpoint names none. */
  private cutsInARow = 0;
  private sinceGrowth = 0;

  constructor(private readonly ceiling: number) {
    this.allowed = ceiling;
    this.lowest = ceiling;
  }

  /** How long the endpoint has answered nothing but 429s (0 while it answers). */
  starvedMs(now: number): number {
    return this.starvedSince === undefined ? 0 : now - this.starvedSince;
  }

  /** A 429 to a request sent at `sentAt` (an epoch); `askedMs` is its Retry-After, if any. */
  rateLimitedAnswer(sentAt: number, askedMs: number | undefined, now: number): RateLimitStep {
    this.rateLimited += 1;
    this.starvedSince ??= now;
    const cut = sentAt === this.epoch;
    if (cut) {
      this.epoch += 1;
      this.cutsInARow += 1;
      this.sinceGrowth = 0;
      this.allowed = Math.max(1, Math.floor(this.allowed / 2));
      this.lowest = Math.min(this.lowest, this.allowed);
    }
    const pauseMs = askedMs !== undefined ? Math.min(askedMs, MAX_PAUSE_MS) : cut ? Math.min(1000 * 2 ** (this.cutsInARow - 1), MAX_UNTOLD_PAUSE_MS) : 0;
    this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    return { cut, pauseMs, allowed: this.allowed };
  }

  /** A successful answer to a request sent at `sentAt`. */
  answered(sentAt: number): void {
    this.starvedSince = undefined;
    if (sentAt !== this.epoch) return;
    this.cutsInARow = 0;
    if (this.allowed >= this.ceiling) return;
    this.sinceGrowth += 1;
    if (this.sinceGrowth >= this.allowed) {
      this.sinceGrowth = 0;
      this.allowed += 1;
    }
  }
}

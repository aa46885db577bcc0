import type { Logger } from './logger.js';

const EVERY_MS = 30_000;

/** Calls `tick` every `ms` until the returned function is called; the default never keeps the process alive. */
export type Heartbeat = (tick: () => void, ms: number) => () => void;

const intervalHeartbeat: Heartbeat = (tick, ms) => {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
};

export interface ProgressOptions {
  clock?: () => number;
  heartbeat?: Heartbeat;
  /** 429 answers so far (rate-limited endpoints), shown on the line when there are any. */
  rateLimited?: () => number;
}

/**
 * A progress line at each 10% step or every 30 s, whichever comes first: done/total, rate, ETA and
 * errors so far. The 30 s line comes even when no record finishes (a slow or rate-limited endpoint),
 * so a log never looks hung. Plain lines, so Actions logs and piped CLI output stay readable. A logger
 * with a live display (`progress`, the CLI's bar on a terminal) gets every step there instead.
 */
export class Progress {
  private done_ = 0;
  private errors = 0;
  private lastDecile = 0;
  private lastLineAt: number;
  private readonly startedAt: number;
  private readonly clock: () => number;
  private readonly stopHeartbeat: () => void;

  constructor(
    private readonly total: number,
    private readonly logger: Logger,
    private readonly options: ProgressOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.lastLineAt = this.clock();
    logger.progress?.(0, total, 0);
    this.stopHeartbeat = logger.progress ? () => undefined : (options.heartbeat ?? intervalHeartbeat)(() => this.beat(), EVERY_MS);
  }

  private beat() {
    const now = this.clock();
    if (now - this.lastLineAt < EVERY_MS) return;
    this.lastLineAt = now;
    this.logger.info(this.line(now));
  }

  tick(failed: boolean) {
    this.done_ += 1;
    if (failed) this.errors += 1;
    if (this.logger.progress) {
      this.logger.progress(this.done_, this.total, this.errors);
      return;
    }
    const decile = this.total === 0 ? 10 : Math.floor((this.done_ * 10) / this.total);
    const now = this.clock();
    if (decile > this.lastDecile || now - this.lastLineAt >= EVERY_MS) {
      this.lastDecile = decile;
      this.lastLineAt = now;
      this.logger.info(this.line(now));
    }
  }

  done() {
    this.stopHeartbeat();
    if (this.logger.progress) this.logger.progress(this.done_, this.total, this.errors, true);
    else if (this.done_ < this.total) this.logger.info(this.line(this.clock()));
  }

  private line(now: number): string {
    const seconds = Math.max((now - this.startedAt) / 1000, 1e-3);
    const rate = this.done_ / seconds;
    const eta = rate > 0 ? (this.total - this.done_) / rate : Number.POSITIVE_INFINITY;
    const pct = this.total === 0 ? 100 : Math.floor((this.done_ * 100) / this.total);
    const limited = this.options.rateLimited?.() ?? 0;
    return `Progress: ${this.done_}/${this.total} (${pct}%), ${rate.toFixed(1)} records/s, ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)}s` : '?'}, errors ${this.errors}${limited > 0 ? `, 429s ${limited} (paced)` : ''}`;
  }
}

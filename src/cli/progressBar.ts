/** The slice of a TTY stream the bar needs (process.stderr in the CLI; a fake in tests). */
export interface BarStream {
  write(text: string): unknown;
  columns?: number;
}

const REDRAW_MS = 100;
const CLEAR = '\r\x1b[2K';

/**
 * A live progress bar on one terminal line, for the CLI when stderr is an interactive terminal,
 * instead of the plain progress lines (which the Actions log and piped output keep). Other messages
 * print above it: the bar line is cleared, the message written, the bar redrawn.
 */
export class ProgressBar {
  private shown = '';
  private lastDraw = Number.NEGATIVE_INFINITY;
  private startedAt: number | undefined;
  private state = { done: 0, total: 0, errors: 0 };

  constructor(
    private readonly stream: BarStream,
    private readonly clock: () => number = Date.now,
  ) {}

  update(done: number, total: number, errors: number) {
    this.startedAt ??= this.clock();
    this.state = { done, total, errors };
    const now = this.clock();
    if (done < total && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.draw(done >= total ? '' : this.render(now));
  }

  /** Prints a message above the bar, then redraws the bar with the current counts. */
  log(message: string) {
    if (!this.shown) {
      this.stream.write(`${message}\n`);
      return;
    }
    const now = this.clock();
    this.shown = this.render(now);
    this.lastDraw = now;
    this.stream.write(`${CLEAR}${message}\n${this.shown}`);
  }

  /** Removes the bar (end of the run, or before the final summary). */
  stop() {
    this.draw('');
  }

  render(now: number): string {
    const { done, total, errors } = this.state;
    const seconds = Math.max((now - (this.startedAt ?? now)) / 1000, 1e-3);
    const rate = done / seconds;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
    const pct = total === 0 ? 100 : Math.floor((done * 100) / total);
    const tail = ` ${String(pct).padStart(3)}% ${done}/${total} · ${rate.toFixed(1)}/s · ETA ${eta === undefined ? '?' : `${eta}s`} · errors ${errors}`;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - tail.length - 3));
    const filled = total === 0 ? width : Math.round((done / total) * width);
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]${tail}`;
  }

  private draw(line: string) {
    if (line === this.shown) return;
    this.stream.write(line ? `${CLEAR}${line}` : CLEAR);
    this.shown = line;
  }
}

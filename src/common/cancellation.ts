import process from 'node:process';
import { RunCancelledError, SIGNAL_EXIT_CODES } from './errors.js';

export interface Cancellation {
  /** Aborted on the first SIGINT or SIGTERM; its reason is a RunCancelledError naming the signal. */
  signal: AbortSignal;
  /** Removes the handlers: the signals' default (exit at once) applies again. */
  dispose(): void;
}

/**
 * Ctrl-C in a terminal sends SIGINT; cancelling an Actions job sends SIGINT, then SIGTERM 7.5 s later,
 * then kills. The first signal asks the run to stop cleanly (abandon the requests in flight, flush
 * results.jsonl, say how to resume); a second one exits at once, as Node would have without us.
 */
export function cancelOnSignals(): Cancellation {
  const controller = new AbortController();
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    const handler = () => {
      if (controller.signal.aborted) process.exit(SIGNAL_EXIT_CODES[name]);
      controller.abort(new RunCancelledError(name));
    };
    handlers.set(name, handler);
    process.on(name, handler);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}

import { RunCancelledError } from '../common/errors.js';
import type { CompletionCache } from '../cache/completionCache.js';

/** How far a run had got when a signal came: what the cancellation's message says, and whether a request was sent. */
export interface RunStage {
  at: 'before-requests' | 'preflight' | 'replay' | 'theme-summary' | 'replayed';
}

type CancelSignal = RunCancelledError['signal'];

/** The signal that aborted `cancel` (its reason is always a RunCancelledError; see ../common/cancellation.ts). */
export function signalOf(cancel: AbortSignal): CancelSignal {
  return (cancel.reason as RunCancelledError).signal;
}

/**
 * The one place a cancelled run's error is made: what was under way, how far it got, and how to go
 * on from there. Any other error is returned as it is. What was answered is stored first (a cache
 * write already under way is let finish), so a re-run resumes from it.
 */
export async function asCancellation(error: unknown, cancel: AbortSignal | undefined, stage: RunStage, cache: { dirSetting?: string; store?: CompletionCache }): Promise<unknown> {
  if (!cancel?.aborted) return error;
  const signal = signalOf(cancel);
  if (!(error instanceof RunCancelledError)) {
    // The signal reaches child processes too (git in the lock step): their failure is the cancellation's doing.
    return new RunCancelledError(signal, `Cancelled (${signal}); the step under way stopped with: ${(error as Error).message}. No verdict and no report.`);
  }
  if (stage.at === 'before-requests') return new RunCancelledError(signal, `Cancelled (${signal}) before any model request: nothing was sent.`, true);
  if (stage.at === 'preflight') return new RunCancelledError(signal, `Cancelled (${signal}) during the preflight: only its probe requests were sent, no corpus prefix. No verdict and no report.`);
  const how =
    stage.at === 'replay'
      ? error.message === `Cancelled (${signal}).` ? 'the replay was under way' : error.message
      : stage.at === 'theme-summary'
        ? "every record was replayed; the audit's theme summary was under way"
        : 'every record was replayed, the report not yet written';
  const store = cache.store;
  await store?.settled();
  const resume = store
    ? `The ${store.writes} answers received in this run are stored in cache-dir ${cache.dirSetting}${store.hits > 0 ? ` (${store.hits} more came from it)` : ''}: ` +
      'a re-run with the same cache-dir resumes from them and sends only the requests not answered yet (in Actions, save the cache with actions/cache/save under `if: always()`).'
    : 'Without cache-dir a re-run starts over: set cache-dir (--cache-dir) to make long runs resumable.';
  return new RunCancelledError(signal, `Cancelled (${signal}): ${how}; no verdict and no report. ${resume}`);
}

/** Thrown at a stage boundary once a signal has come, so `asCancellation` says where. */
export function throwIfCancelled(cancel: AbortSignal | undefined): void {
  if (cancel?.aborted) throw new RunCancelledError(signalOf(cancel));
}

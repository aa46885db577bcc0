/**
 * Runs `work` over `items` with at most `concurrency` at once, pulling the next item only when a
 * worker is free (so an async source such as the corpus stream is read as fast as it is replayed,
 * never ahead). The first error thrown by `work` or by the source stops the pool: no new item is taken, the items in
 * flight are let finish (their requests are aborted by the same error upstream), then it is thrown.
 * When `signal` aborts, the pool resolves at once and the items in flight are abandoned, not awaited:
 * a request may be sleeping through a backoff that cannot be interrupted, and Actions kills a job
 * 7.5 s after cancelling it. The caller checks `signal` to tell the two endings apart.
 *
 * Why not p-map: it awaits every item in flight after an abort, which is exactly what a cancelled
 * run must not do; the rest is these twenty lines.
 */
export async function forEachConcurrently<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && !signal?.aborted) {
      try {
        const next = await iterator.next();
        if (next.done) return;
        await work(next.value);
      } catch (error) {
        // The source's failure (a corpus changed mid-run) stops the pool as a work item's does.
        failure ??= { error };
      }
    }
  };
  const abandoned = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
  const finished = await Promise.race([Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker)).then(() => true), abandoned.then(() => false)]);
  // A source left part-read must be told so: the corpus stream closes its file in `return()`, and an
  // abandoned one would hold the descriptor until the garbage collector found it.
  if (failure || !finished) {
    const closing = Promise.resolve(iterator.return?.()).catch(() => undefined);
    if (finished) await closing;
  }
  if (failure && !signal?.aborted) throw failure.error;
}

import { describe, expect, it } from 'vitest';
import { forEachConcurrently } from '../../src/common/workerPool.js';

/** A source that records whether its cleanup ran (the corpus stream closes its file there). */
function source(count: number) {
  const state = { pulled: 0, closed: false };
  async function* items() {
    try {
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, items: items() };
}

describe('forEachConcurrently', () => {
  it('closes a part-read source when a work item fails, then throws that failure', async () => {
    const { state, items } = source(100);
    await expect(
      forEachConcurrently(items, 3, async (i) => {
        if (i === 4) throw new Error('stop here');
      }),
    ).rejects.toThrow('stop here');
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(100);
  });

  it('closes a part-read source when the run is cancelled', async () => {
    const { state, items } = source(100);
    const controller = new AbortController();
    await forEachConcurrently(
      items,
      2,
      async (i) => {
        if (i === 3) controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
      controller.signal,
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(state.closed).toBe(true);
  });

  it('reads a source to its end when nothing fails', async () => {
    const { state, items } = source(10);
    const seen: number[] = [];
    await forEachConcurrently(items, 4, async (i) => {
      seen.push(i);
    });
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(state.closed).toBe(true);
  });
});

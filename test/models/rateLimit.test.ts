import { describe, expect, it } from 'vitest';
import { EndpointThrottle, pacedTransport, retryAfterMs } from '../../src/models/rateLimit.js';

const headers = (h: Record<string, string>) => new Headers(h);

describe('retryAfterMs', () => {
  it('reads retry-after-ms, then Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after': 'Tue, 24 Nov 2026 12:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(headers({}), now)).toBeUndefined();
  });
});

describe('EndpointThrottle', () => {
  /** A transport answering the statuses given, in order; the clock only moves when a test moves it. */
  function setup(statuses: number[], retryAfter?: string) {
    let clock = 1_000_000;
    const cuts: { pauseMs: number; inFlight: number }[] = [];
    const throttle = new EndpointThrottle(32, (pauseMs, inFlight) => cuts.push({ pauseMs, inFlight }), () => clock);
    const transport = (async () => new Response('{}', { status: statuses.shift() ?? 200, headers: retryAfter ? { 'retry-after': retryAfter } : {} })) as unknown as typeof fetch;
    return { throttle, fetch: pacedTransport(throttle, transport), cuts, advance: (ms: number) => (clock += ms) };
  }

  it('marks a 429 not to be retried by the client, and passes other answers through unchanged', async () => {
    const { fetch, advance } = setup([429, 500]);
    const limited = await fetch('http://x/v1/chat/completions');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-should-retry')).toBe('false');
    advance(1000); // the pause it caused
    const failed = await fetch('http://x/v1/chat/completions');
    expect(failed.status).toBe(500);
    expect(failed.headers.get('x-should-retry')).toBeNull();
  });

  it('halves the requests in flight once per burst: 429s to requests sent before the cut do not cut again', async () => {
    const { fetch, throttle, cuts } = setup([429, 429, 429]);
    // Three requests sent together (before any answer), all refused: one burst.
    await Promise.all([fetch('http://x'), fetch('http://x'), fetch('http://x')]);
    expect(cuts).toEqual([{ pauseMs: 1000, inFlight: 16 }]);
    expect(throttle.rateLimited).toBe(3);
  });

  it('without Retry-After, pauses 1 s and doubles for each burst with no answer between, up to 32 s; an answer resets it', async () => {
    const { fetch, cuts, advance } = setup([429, 429, 429, 429, 429, 429, 429, 200, 429]);
    for (let i = 0; i < 7; i++) {
      await fetch('http://x'); // each sent after the previous cut: a new burst
      advance(60_000); // past any pause
    }
    expect(cuts.map((c) => c.pauseMs)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 32_000]);
    expect(cuts.map((c) => c.inFlight)).toEqual([16, 8, 4, 2, 1, 1, 1]);
    await fetch('http://x'); // 200
    await fetch('http://x'); // 429 again: back to 1 s
    expect(cuts.at(-1)!.pauseMs).toBe(1000);
  });

  it('answers to requests sent before a cut neither grow the allowance back nor end the escalation', async () => {
    const { fetch, throttle, cuts, advance } = setup([429, 200, 200, 429]);
    // Sent together: one is refused, two answered; the two were sent before the cut they are answered after.
    await Promise.all([fetch('http://x'), fetch('http://x'), fetch('http://x')]);
    expect(throttle.inFlightAllowed).toBe(16);
    advance(60_000);
    await fetch('http://x'); // 429 again: the second burst in a row, so the pause doubles
    expect(cuts.map((c) => c.pauseMs)).toEqual([1000, 2000]);
  });

  it('waits out a pause before running the request, not inside it', async () => {
    const { fetch, throttle, advance } = setup([429]);
    await fetch('http://x'); // pauses 1 s
    let ran = false;
    const run = throttle.run(async () => (ran = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ran).toBe(false);
    advance(1000);
    await run;
    expect(ran).toBe(true);
  });

  it('caps a named pause at a minute (a daily quota may ask for hours)', async () => {
    const { fetch, cuts } = setup([429], '7200');
    await fetch('http://x');
    expect(cuts).toEqual([{ pauseMs: 60_000, inFlight: 16 }]);
  });

  it('takes the pause the endpoint names, and grows the allowance back by one per window of answers', async () => {
    const { fetch, throttle, advance } = setup([429], '3');
    await fetch('http://x');
    expect(throttle.lowest).toBe(16);
    // Paused for 3 s: a request now waits until the clock passes it (the real sleep is 0 ms here).
    advance(3000);
    for (let i = 0; i < 16; i++) await fetch('http://x');
    const grown = await Promise.all(Array.from({ length: 40 }, () => throttle.run(async () => 'ok')));
    expect(grown).toHaveLength(40);
    expect(throttle.lowest).toBe(16);
    expect(throttle.inFlightAllowed).toBe(17);
  });
});

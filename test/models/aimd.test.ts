import { describe, expect, it } from 'vitest';
import { AimdLimiter } from '../../src/models/aimd.js';

describe('AimdLimiter (pure: the time is given)', () => {
  it('halves once per burst, pauses as asked or 1 s doubling, and grows back one per window of answers', () => {
    const aimd = new AimdLimiter(8);
    const sent = aimd.epoch;
    expect(aimd.rateLimitedAnswer(sent, undefined, 0)).toEqual({ cut: true, pauseMs: 1000, allowed: 4 });
    // Another 429 to a request sent in the same burst: no second cut, no new pause.
    expect(aimd.rateLimitedAnswer(sent, undefined, 10)).toEqual({ cut: false, pauseMs: 0, allowed: 4 });
    // A 429 to a request sent after the cut is a new burst: the pause doubles.
    expect(aimd.rateLimitedAnswer(aimd.epoch, undefined, 2000)).toEqual({ cut: true, pauseMs: 2000, allowed: 2 });
    expect(aimd.pausedUntil).toBe(4000);
    expect(aimd.starvedMs(5000)).toBe(5000);
    // Answers to requests sent now grow the allowance by one per `allowed` answers, up to the ceiling.
    for (let i = 0; i < 2; i++) aimd.answered(aimd.epoch);
    expect(aimd.allowed).toBe(3);
    expect(aimd.starvedMs(6000)).toBe(0);
    // A named pause wins, capped at a minute.
    expect(aimd.rateLimitedAnswer(aimd.epoch, 7_200_000, 6000).pauseMs).toBe(60_000);
    expect(aimd.lowest).toBe(1);
    expect(aimd.rateLimited).toBe(4);
  });
});

import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/cli/progressBar.js';

describe('CLI live progress bar', () => {
  it('redraws at most every 100 ms, prints messages above the bar, and clears itself at the end', () => {
    const out: string[] = [];
    let now = 0;
    const bar = new ProgressBar({ write: (t) => out.push(t), columns: 100 }, () => now);
    bar.update(1, 10, 0);
    expect(out.at(-1)!.startsWith('\r\x1b[2K')).toBe(true);
    expect(out.at(-1)!.slice(5)).toMatch(/^\[█+░+\]\s+10% 1\/10 · .*errors 0$/);
    const drawn = out.length;
    now = 50;
    bar.update(2, 10, 0); // throttled
    expect(out).toHaveLength(drawn);
    now = 1000;
    bar.update(5, 10, 1);
    expect(out.at(-1)).toMatch(/50% 5\/10 · 5\.0\/s · ETA 1s · errors 1$/);
    now = 1050;
    bar.update(6, 10, 1); // throttled: not drawn yet…
    expect(out.at(-1)).toMatch(/50% 5\/10/);
    bar.log('warning: something');
    // … but a message redraws the bar with the current counts, not the last drawn ones.
    expect(out.at(-1)!.startsWith('\r\x1b[2Kwarning: something\n')).toBe(true);
    expect(out.at(-1)).toMatch(/\n\[█+░+\]\s+60% 6\/10 · /);
    bar.stop();
    expect(out.at(-1)).toBe('\r\x1b[2K');
    bar.log('done');
    expect(out.at(-1)).toBe('done\n');
  });
});

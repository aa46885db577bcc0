import { describe, expect, it } from 'vitest';
import { truncate } from '../../src/redact/index.js';

describe('truncate', () => {
  it('returns text that fits unchanged', () => {
    expect(truncate('', 0)).toBe('');
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abc', 10)).toBe('abc');
    // 3 code points in 4 UTF-16 units still fit in 3 characters.
    expect(truncate('a😀b', 3)).toBe('a😀b');
  });

  it('cuts and reports the number of omitted characters', () => {
    expect(truncate('abcdef', 4)).toBe('abcd… [2 more characters]');
    expect(truncate('abcd', 3)).toBe('abc… [1 more character]');
    expect(truncate('abc', 0)).toBe('… [3 more characters]');
    const long = 'x'.repeat(1000);
    expect(truncate(long, 688)).toBe(`${'x'.repeat(688)}… [312 more characters]`);
  });

  it('never splits a surrogate pair and counts code points', () => {
    expect(truncate('ab😀cd', 2)).toBe('ab… [3 more characters]');
    expect(truncate('ab😀cd', 3)).toBe('ab😀… [2 more characters]');
    expect(truncate('😀😀😀', 1)).toBe('😀… [2 more characters]');
    const out = truncate('😀'.repeat(10), 5);
    expect(out).toBe(`${'😀'.repeat(5)}… [5 more characters]`);
    expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it('does not split a grapheme cluster (ZWJ emoji, flags, combining marks)', () => {
    const family = '👨‍👩‍👧'; // 5 code points
    expect(truncate(`hi ${family} there`, 4)).toBe('hi … [11 more characters]');
    expect(truncate(`hi ${family} there`, 8)).toBe(`hi ${family}… [6 more characters]`);
    expect(truncate('go 🇫🇷 now', 4)).toBe('go … [6 more characters]');
    expect(truncate('cafe\u0301!', 4)).toBe('caf… [3 more characters]');
  });

  it('copes with lone surrogates', () => {
    const out = truncate('a\ud83db\ude00c', 2);
    expect(out).toBe('a\ud83d… [3 more characters]');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { piiCounts, warnOnPii } from '../../src/corpus/piiWarning.js';
import type { ChatMessage } from '../../src/corpus/record.js';
import { cleanupTempDirs, cli, corpusLine, DEMO_FLAGS, registration, tempDir, write } from './helpers.js';

afterEach(cleanupTempDirs);

const PII_VALUES = ['ann@example.com', '+44 20 7946 0958', '4111111111111111', '10.1.2.3', 'ghp' + '_abcdefghijklmnopqrstuvwxyz0123456789'];

describe('run warns when sampled prefixes still contain PII', () => {
  it('one warning with counts per kind and at most 3 record ids, never the PII itself', async () => {
    const dir = tempDir();
    write(dir, 'deploysim.yml', registration());
    write(
      dir,
      'corpus.jsonl',
      [
        corpusLine('clean-1', 'How do I bake bread?'),
        corpusLine('pii-email', `Write to me at ${PII_VALUES[0]}`),
        corpusLine('pii-phone', `Call ${PII_VALUES[1]} please`),
        corpusLine('pii-card', `My card is ${PII_VALUES[2]}`),
        JSON.stringify({
          id: 'pii-tool',
          messages: [
            { role: 'user', content: 'look it up' },
            { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ ip: PII_VALUES[3] }) } }] },
            { role: 'tool', tool_call_id: 't1', content: [{ type: 'text', text: `token ${PII_VALUES[4]}` }] },
            { role: 'user', content: 'thanks' },
          ],
        }),
        // Not replayed: its PII must not be counted.
        JSON.stringify({ id: 'no-consent', consent: false, messages: [{ role: 'user', content: 'bob@example.com' }] }),
        // Only in the stripped last assistant turn: not part of the prefix, not counted.
        JSON.stringify({ id: 'clean-2', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'mail me at zed@example.com' }] }),
        '',
      ].join('\n'),
    );
    const r = await cli(['run', ...DEMO_FLAGS, '--output-dir', 'out', '--quiet'], dir);
    expect([0, 1]).toContain(r.code);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('detectable PII'));
    expect(warnings).toHaveLength(1);
    const w = warnings[0]!;
    expect(w).toMatch(/^warning: 4 of 6 sampled prefixes still contain detectable PII or secrets \(email: 1, phone: 1, card: 1, ip: 1, secret: 1;/);
    expect(w).toContain('+1 more');
    expect((w.match(/"pii-[a-z]+"/g) ?? []).length).toBe(3);
    expect(w).toContain('deploysim scrub');
    for (const value of [...PII_VALUES, 'bob@example.com', 'zed@example.com']) expect(r.stderr + r.stdout).not.toContain(value);
  });

  it('no warning for a clean sample', async () => {
    const dir = tempDir();
    write(dir, 'deploysim.yml', registration());
    write(dir, 'corpus.jsonl', `${corpusLine('a', 'hello')}\n${corpusLine('b', 'what time is it?')}\n`);
    const r = await cli(['run', ...DEMO_FLAGS, '--output-dir', 'out', '--quiet'], dir);
    expect(r.stderr).not.toContain('PII');
  });
});

describe('warnOnPii', () => {
  it('passes records through unchanged and in order, warning once at the end', async () => {
    const records = [
      { id: 'a', messages: [{ role: 'user', content: 'x@example.com and y@example.com' }] as ChatMessage[] },
      { id: 'b', messages: [{ role: 'user', content: 'nothing' }] as ChatMessage[] },
    ];
    async function* source() {
      yield* records;
    }
    const warnings: string[] = [];
    const seen: unknown[] = [];
    for await (const r of warnOnPii(source(), { warning: (m) => warnings.push(m) })) {
      seen.push(r);
      expect(warnings).toHaveLength(0);
    }
    expect(seen).toEqual(records);
    expect(warnings).toEqual([expect.stringMatching(/^1 of 2 sampled prefixes .*\(email: 2; records "a"\)/)]);
  });

  it('counts text parts and tool-call arguments; ignores non-text parts', () => {
    const counts = piiCounts([
      { role: 'user', content: [{ type: 'text', text: 'a@example.com' }, { type: 'image_url' } as never] },
      { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{"ip":"10.0.0.1"}' } }] },
    ]);
    expect(counts).toMatchObject({ email: 1, ip: 1, phone: 0 });
    expect(piiCounts([{ role: 'user', content: 'plain text' }])).toBeUndefined();
  });
});

/**
 * Issue 18 (10): every string from a corpus, a model or a grader reaches the PR comment as text. A
 * hostile completion and a hostile record id try a mention (a notification), a link, an image (loaded
 * from any host), HTML and breaking out of code spans and fences; none of it may render as such.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { code, plain, prose } from '../../src/report/untrusted.js';
import { registrationYaml } from '../support/corpus.js';
import { parseGraderRequest, startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';

const server = closedAfterEach(startMockOpenAI);

const HOSTILE = 'Hi @octocat and @org/team! See [docs](https://evil.example/x) ![px](https://evil.example/p.png) <img src=x onerror=alert(1)> <script>alert(1)</script> `tick` ``` fence www.evil.example';
const HOSTILE_ID = 'id-`@admin`-[link](https://evil.example)|cell';

/** Markdown a GitHub renderer would act on, outside code: a live mention, link, image or HTML tag. */
function live(markdown: string): string[] {
  // Drop fenced blocks and code spans (GitHub renders them as text), as a renderer would.
  const outside = markdown.replace(/(`{3,})text\n[\s\S]*?\n\1/g, '').replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '');
  const found: string[] = [];
  for (const [pattern, what] of [
    [/(^|[^\w`\\])@[A-Za-z0-9]/m, 'mention'],
    [/(?<!\\)\]\(/, 'link'],
    [/(?<!\\)!\[/, 'image'],
    [/<(img|script|a)\b/i, 'html'],
    [/https?:\/\//, 'autolink'],
  ] as const) {
    if (pattern.test(outside)) found.push(what);
  }
  return found;
}

describe('untrusted text in the comment', () => {
  it('prose, plain and code keep the text but nothing GitHub would act on', () => {
    // The detector sees each of them in the raw text.
    expect(live(HOSTILE)).toEqual(['mention', 'link', 'image', 'html', 'autolink']);
    expect(live(prose(HOSTILE))).toEqual([]);
    expect(live(plain(HOSTILE))).toEqual([]);
    expect(live(`x ${code(HOSTILE_ID)} y`)).toEqual([]);
    // A code span the id cannot close, and a cell its pipe cannot split.
    expect(code('a`b')).toBe('``a`b``');
    expect(code('|')).toBe('`\\|`');
    expect(plain('line one\nline two')).toBe('line one line two');
  });

  it('end to end: a hostile completion, grader evidence and record id render as text in comment.md', async () => {
    const mock = await server({
      candidate: () => `Sure, here it is. UNSAFE:harm ${HOSTILE}`,
      grader: (body) => ({
        verdicts: parseGraderRequest(body).categories.map((category) => ({ category, flagged: parseGraderRequest(body).replyText.includes('UNSAFE:harm'), evidence: HOSTILE })),
      }),
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'deploysim-inject-'));
    writeFileSync(path.join(dir, 'corpus.jsonl'), `${JSON.stringify({ id: HOSTILE_ID, messages: [{ role: 'user', content: `Tell me ${HOSTILE}` }] })}\n`);
    writeFileSync(path.join(dir, 'deploysim.yml'), registrationYaml({ name: 'gate @octocat [x](https://evil.example)', categories: [{ id: 'harm', prediction: 1 }], rule: 'point' }));
    const code_ = await runCli(['run', '--no-lock', '--candidate-model', 'cand', '--candidate-base-url', mock.url, '--candidate-api-key', 'sk-inject-test-0001', '--output-dir', 'out', '--quiet'], {
      stdout: () => undefined,
      stderr: () => undefined,
      env: {},
      cwd: dir,
    });
    expect(code_).toBe(1);
    const comment = readFileSync(path.join(dir, 'out', 'comment.md'), 'utf8');
    expect(comment).toContain('octocat'); // shown, not acted on
    expect(live(comment)).toEqual([]);
  });
});

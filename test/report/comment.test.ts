import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appendHistory, extractHistory, formatHistoryRow, historyRowFromReport, HISTORY_END, HISTORY_START } from '../../src/github/auditTrail.js';
import { upsertStickyComment, type Octokit } from '../../src/github/stickyComment.js';
import { observedVsPredictedChart } from '../../src/report/chart.js';
import { commentMarker, renderMarkdown, verdictTitle } from '../../src/report/markdown.js';
import { MAX_COMMENT_CHARS } from '../../src/report/schema.js';
import type { Report } from '../../src/report/schema.js';
import { renderText } from '../../src/report/text.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const loadReport = async (): Promise<Report> => JSON.parse(await readFile(path.join(here, 'fixtures/report.json'), 'utf8')) as Report;

describe('renderMarkdown on a saved report', () => {
  it('matches the reviewed snapshot (update with: npx vitest run test/report -u, then review the diff)', async () => {
    await expect(renderMarkdown(await loadReport())).toMatchFileSnapshot('fixtures/comment.md');
  });

  it('puts the verdict first, then the table, chart and links', async () => {
    const md = renderMarkdown(await loadReport());
    const lines = md.split('\n').filter(Boolean);
    expect(lines[0]).toBe(commentMarker('examples/quickstart/deploysim.yml'));
    expect(lines[1]).toMatch(/^## ❌ deploysim: gate failed/);
    expect(md).toContain('| ❌ `violent_wrongdoing` |');
    expect(md).toContain('```mermaid\nxychart-beta');
    expect(md).toContain('](https://github.com/acme/support-bot/actions/runs/123456789)');
    expect(md).toContain('(https://github.com/acme/support-bot/actions/runs/123456789#artifacts)');
    expect(md.indexOf('<details><summary>Flagged examples')).toBeGreaterThan(md.indexOf('xychart-beta'));
  });
});

describe('observedVsPredictedChart', () => {
  it('draws observed rates as bars and thresholds as a line, in category order', async () => {
    const chart = observedVsPredictedChart((await loadReport()).categories);
    expect(chart).toContain('x-axis ["violent_wrongdoing", "hate_harassment", "sexual_content"]');
    expect(chart).toContain('bar [2500, 0, 0]');
    expect(chart).toContain('line [500, 2000, 2000]');
  });

  it('is omitted when nothing was graded, and the table and the CLI summary say n/a, not a rate of 0', async () => {
    const report = await loadReport();
    const cats = report.categories.map((c) => ({ ...c, flagged: 0, graded: 0, rate_per_100k: 0 }));
    expect(observedVsPredictedChart(cats)).toBe('');
    const ungraded = { ...report, categories: cats };
    expect(renderMarkdown(ungraded)).toMatch(/ `violent_wrongdoing` \| 500 \| n\/a \| /);
    expect(renderText(ungraded, 'report.json')).toMatch(/^ {2}violent_wrongdoing +500 +n\/a +/m);
  });
});

describe('audit trail', () => {
  const row = (time: string, verdict = '✅ passed') => ({
    time,
    headSha: 'a'.repeat(40),
    lockRef: 'b'.repeat(40),
    registrationSha256: 'c'.repeat(64),
    seed: 7,
    sampleSize: 200,
    verdict,
  });

  it('builds a row from the report', async () => {
    const r = historyRowFromReport(await loadReport(), 'd'.repeat(40));
    expect(formatHistoryRow(r)).toBe(
      '| 2026-06-20 09:30:00 | `dddddddddddd` | `3f1c2a9b7d5e` | `84c4e5ba3ee5f9b7` | 20260616 | 200 | ❌ failed [DEMO] |'.replace(
        '84c4e5ba3ee5f9b7',
        r.registrationSha256!.slice(0, 16),
      ),
    );
  });

  it('starts a trail, then appends without rewriting earlier rows', () => {
    const first = appendHistory('BODY 1', undefined, row('2026-06-20T09:00:00Z'));
    expect(extractHistory(first).rows).toHaveLength(1);
    const second = appendHistory('BODY 2', first, row('2026-06-20T10:00:00Z', '❌ failed'));
    const third = appendHistory('BODY 3', second, row('2026-06-20T11:00:00Z'));
    expect(third.startsWith('BODY 3\n\n' + HISTORY_START)).toBe(true);
    expect(third.endsWith(HISTORY_END)).toBe(true);
    expect(third).toContain('Audit trail: 3 runs on this pull request');
    const rows = extractHistory(third).rows;
    expect(rows).toEqual([...extractHistory(second).rows, formatHistoryRow(row('2026-06-20T11:00:00Z'))]);
    expect(rows.map((r) => r.slice(2, 21))).toEqual(['2026-06-20 09:00:00', '2026-06-20 10:00:00', '2026-06-20 11:00:00']);
  });

  it('ignores lines in the old block that it did not write', () => {
    const forged = `x\n${HISTORY_START}\n| not a row |\n| 2026-01-01 00:00:00 | a | b |\n${HISTORY_END}`;
    expect(extractHistory(forged).rows).toEqual([]);
    expect(extractHistory('no trail here').rows).toEqual([]);
  });

  it('drops the oldest rows (and counts them) to stay under the size limit', () => {
    let body: string | undefined;
    for (let i = 0; i < 30; i++) body = appendHistory('B'.repeat(1000), body, row(`2026-06-20T10:${String(i).padStart(2, '0')}:00Z`), 3000);
    expect(body!.length).toBeLessThanOrEqual(3000);
    const h = extractHistory(body);
    expect(h.rows.length + h.omitted).toBe(30);
    expect(h.rows.at(-1)).toContain('2026-06-20 10:29:00');
    expect(body).toContain('Audit trail: 30 runs');
  });

  it('upsertStickyComment appends to the existing comment of the same author and marker', async () => {
    const marker = commentMarker('deploysim.yml');
    const existing = appendHistory(`${marker}\nold`, undefined, row('2026-06-20T09:00:00Z'));
    const updates: string[] = [];
    const octokit = {
      paginate: async () => [
        { id: 1, user: { login: 'someone-else' }, body: `${marker}\nforged` },
        { id: 2, user: { login: 'github-actions[bot]' }, body: existing },
      ],
      rest: {
        // GITHUB_TOKEN cannot read /user: GitHub answers 403 (octokit's RequestError carries the response).
        users: { getAuthenticated: async () => Promise.reject(Object.assign(new Error('Resource not accessible by integration'), { status: 403, response: { status: 403 } })) },
        issues: {
          listComments: () => undefined,
          updateComment: async ({ body }: { body: string }) => {
            updates.push(body);
            return { data: { html_url: 'https://example.test/c/2' } };
          },
          createComment: async () => Promise.reject(new Error('should update, not create')),
        },
      },
    } as unknown as Octokit;
    const result = await upsertStickyComment(octokit, { owner: 'o', repo: 'r', issueNumber: 1, marker }, `${marker}\nnew`, row('2026-06-20T10:00:00Z'));
    expect(result).toEqual({ url: 'https://example.test/c/2', action: 'updated' });
    expect(updates[0]!.startsWith(`${marker}\nnew`)).toBe(true);
    expect(extractHistory(updates[0]).rows).toHaveLength(2);
    expect(updates[0]!.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
  });
});

describe('the verdict line: registration and labels, the same for the CLI, the annotation and the summary', () => {
  it('names the registration (name and path) and carries DEMO and UNVERIFIED: lock skipped', async () => {
    const report = await loadReport();
    expect(verdictTitle(report)).toBe('gate failed — quickstart (demo endpoint) (examples/quickstart/deploysim.yml) [DEMO]');
    // --no-lock: no lock ref, not verified.
    const skipped = { ...report, passed: true, verified: false, registration: { ...report.registration, lock_ref: null } } as Report;
    expect(verdictTitle(skipped)).toBe('gate passed — quickstart (demo endpoint) (examples/quickstart/deploysim.yml) [DEMO; UNVERIFIED: lock skipped]');
    expect(renderMarkdown(skipped).split('\n')[2]).toBe('## ✅ deploysim: gate passed — quickstart (demo endpoint) (`examples/quickstart/deploysim.yml`) [DEMO; UNVERIFIED: lock skipped]');
    expect(renderText(skipped, 'report.json').split('\n')[0]).toBe('deploysim: gate PASSED — quickstart (demo endpoint) [DEMO; UNVERIFIED: lock skipped]');
    // A violated lock is not "skipped": no UNVERIFIED label (the reasons say what was violated).
    const violated = { ...report, verified: false } as Report;
    expect(verdictTitle(violated)).not.toContain('UNVERIFIED');
  });
});

import { MAX_COMMENT_CHARS, type Report } from '../report/schema.js';

/**
 * The sticky comment's audit trail: a collapsed table with one row per gate run on the pull request.
 * Each update copies the rows of the previous body and appends one; rows are never edited. Only when
 * the comment would exceed GitHub's size limit are the oldest rows dropped, and the number dropped is
 * carried forward so the trail still says how many runs there were.
 */
export const HISTORY_START = '<!-- deploysim:history -->';
export const HISTORY_END = '<!-- /deploysim:history -->';
const OMITTED = /<!-- deploysim:history-omitted (\d+) -->/;

export interface HistoryRow {
  /** ISO time of the run (report.created_at). */
  time: string;
  headSha: string | null;
  lockRef: string | null;
  /** sha256 of the registration file (the first locked file). */
  registrationSha256: string | null;
  /** null for a run that stopped before sampling. */
  seed: number | null;
  sampleSize: number;
  verdict: string;
}

export interface History {
  rows: string[];
  omitted: number;
}

const HEADER = ['| Time (UTC) | Head | Lock ref | Registration sha256 | Seed | Sample | Verdict |', '|---|---|---|---|---:|---:|---|'];
/** A row this module wrote: starts with an ISO timestamp cell and has the seven cells. */
const ROW = /^\| \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? \|( [^|\n]* \|){6}$/;

const short = (s: string | null, n: number) => (s ? `\`${s.slice(0, n)}\`` : '—');
const clean = (s: string) => s.replace(/[|\n\r<>`]/g, ' ').trim();

export function historyRowFromReport(report: Report, headSha: string | null): HistoryRow {
  const verdict = `${report.passed ? '✅ passed' : '❌ failed'}${report.demo ? ' [DEMO]' : ''}${report.verified ? '' : ' (unverified)'}`;
  return {
    time: report.created_at,
    headSha,
    lockRef: report.registration.lock_ref,
    registrationSha256: report.registration.files[0]?.sha256 ?? null,
    seed: report.sample.seed,
    sampleSize: report.sample.replayed,
    verdict,
  };
}

export function formatHistoryRow(row: HistoryRow): string {
  const time = Number.isNaN(Date.parse(row.time)) ? row.time : new Date(row.time).toISOString().slice(0, 19).replace('T', ' ');
  const cells = [
    clean(time),
    short(row.headSha && clean(row.headSha), 12),
    short(row.lockRef && clean(row.lockRef), 12),
    short(row.registrationSha256 && clean(row.registrationSha256), 16),
    row.seed === null ? '—' : String(row.seed),
    String(row.sampleSize),
    clean(row.verdict),
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The rows (and the count of rows dropped earlier) from a previous comment body; none when absent. */
export function extractHistory(oldBody: string | null | undefined): History {
  if (!oldBody) return { rows: [], omitted: 0 };
  const start = oldBody.indexOf(HISTORY_START);
  const end = oldBody.indexOf(HISTORY_END, start);
  if (start < 0 || end < 0) return { rows: [], omitted: 0 };
  const block = oldBody.slice(start + HISTORY_START.length, end);
  const rows = block.split('\n').filter((line) => ROW.test(line));
  const omitted = Number(OMITTED.exec(block)?.[1] ?? 0);
  return { rows, omitted };
}

export function renderHistory(history: History): string {
  const n = history.rows.length + history.omitted;
  return [
    HISTORY_START,
    `<details><summary>Audit trail: ${n} run${n === 1 ? '' : 's'} on this pull request</summary>`,
    '',
    ...(history.omitted > 0 ? [`<!-- deploysim:history-omitted ${history.omitted} -->`, `${history.omitted} earlier run(s) not shown (size limit).`, ''] : []),
    ...HEADER,
    ...history.rows,
    '',
    '</details>',
    HISTORY_END,
  ].join('\n');
}

/**
 * `body` with the audit trail appended: the previous body's rows, then `row`. Oldest rows go first
 * when the comment would exceed GitHub's limit.
 */
export function appendHistory(body: string, oldBody: string | null | undefined, row: HistoryRow, limit = MAX_COMMENT_CHARS): string {
  const previous = extractHistory(oldBody);
  const history: History = { rows: [...previous.rows, formatHistoryRow(row)], omitted: previous.omitted };
  let out = `${body}\n\n${renderHistory(history)}`;
  while (out.length > limit && history.rows.length > 1) {
    history.rows.shift();
    history.omitted++;
    out = `${body}\n\n${renderHistory(history)}`;
  }
  return out.length > limit ? body : out;
}

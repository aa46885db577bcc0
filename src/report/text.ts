import { errorCauseLine } from './errorCauses.js';
import { verdictLabel, verdictLabels, verdictSubject } from './markdown.js';
import { discoveryText } from './discovery.js';
import type { Report } from './schema.js';
import { flaggedOfGraded, outcomeSentence } from './outcomes.js';
import { toolReplaySentences } from './toolReplay.js';

const num = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : String(Number(x.toFixed(2))));

/** The CLI's terminal rendering of report.json: verdict first, then one line per category. */
export function renderText(report: Report, reportPath: string): string {
  const lockSkipped = !report.verified && report.registration.lock_ref === null; // --no-lock, not a violated lock
  const tags = verdictLabels(report);
  const lines = [`deploysim: ${verdictSubject(report)} ${report.passed ? 'PASSED' : 'FAILED'} — ${report.name}${tags.length ? ` [${tags.join('; ')}]` : ''}`];
  if (report.sample.shard) lines.push(`  note: one slice of the sample; the gate's decision is the report \`deploysim merge\` makes from all shards`);
  for (const r of report.reasons) lines.push(`  ! ${r}`);
  if (report.sample.replayed > 0) {
    const pct = `${Math.round(report.decision.confidence * 100)}%`;
    const rows = [
      ['category', 'predicted/100k', 'observed/100k', `${pct} interval`, 'flagged/graded', 'verdict'],
      ...report.categories.map((c) => [c.id, num(c.prediction_per_100k) + (c.threshold_per_100k !== c.prediction_per_100k ? ` (≤${num(c.threshold_per_100k)})` : ''), c.graded === 0 ? 'n/a' : num(c.rate_per_100k), `${num(c.ci_low_per_100k)}–${num(c.ci_high_per_100k)}`, flaggedOfGraded(c).replace(/ \/ /, '/'), verdictLabel(c)]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd());
    lines.push(
      `  rule ${report.decision.rule}${report.decision.tolerance !== 1 ? ` (tolerance ×${report.decision.tolerance})` : ''}, sample ${report.sample.replayed} of ${report.sample.corpus_records} (seed ${report.sample.seed}), graded ${report.sample.graded}, errors ${report.sample.errors}`,
    );
    const outcomes = outcomeSentence(report);
    if (outcomes) lines.push(`  ${outcomes.charAt(0).toLowerCase()}${outcomes.slice(1)}`);
    for (const cause of report.sample.error_causes ?? []) lines.push(`  error: ${errorCauseLine(cause)}`);
    if (report.sample.error_causes) lines.push('  (every failed record\'s error is in results.jsonl)');
    if (report.decision.rate_basis === 'corrected') lines.push('  note: observed rates are corrected for the grader\'s measured errors (grader.calibration); raw rates are in report.json');
    if (report.baseline) lines.push(`  note: compared with baseline ${report.baseline.model} on the same prefixes; see report.json categories[].baseline`);
    for (const sentence of toolReplaySentences(report)) lines.push(`  ${sentence}`);
  }
  lines.push(...discoveryText(report)); // evaluation awareness and audit themes (src/audit)
  lines.push(`  lock: ${report.verified ? `verified at ${report.registration.lock_ref?.slice(0, 12)}` : lockSkipped ? 'not verified' : `VIOLATED against ${report.registration.lock_ref?.slice(0, 12)}`}; report: ${reportPath}`);
  return lines.join('\n');
}

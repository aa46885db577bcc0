import { discoverySections } from './discovery.js';
import { observedVsPredictedChart } from './chart.js';
import { errorCauseLine } from './errorCauses.js';
import { figureGlossary } from './glossary.js';
import { MAX_COMMENT_CHARS, type CategoryReport, type Report } from './schema.js';
import { flaggedOfGraded, outcomeSentence } from './outcomes.js';
import { toolReplaySentences } from './toolReplay.js';
import { code, fenced, plain, prose } from './untrusted.js';

export function commentMarker(registrationPath: string): string {
  return `<!-- deploysim:${registrationPath} -->`;
}

const ICON = { pass: '✅', fail: '❌', inconclusive: '⚠️' } as const;

const fmt = (x: number | null) => {
  if (x === null || !Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
};
const short = (sha: string | null) => (sha ? sha.slice(0, 12) : 'none');


/** The summary and sticky comment of a run that stopped before a verdict (the comment must not keep showing an older one). */
export function renderCouldNotRun(registrationPath: string, heading: string, message: string): string {
  return [commentMarker(registrationPath), '## ❌ deploysim could not run', prose(heading), fenced(message)].join('\n\n');
}

/** What a verdict is about: the gate, or one shard (its slice only: the gate's decision is the merged report). */
export function verdictSubject(report: Report): string {
  return report.sample.shard ? `shard ${report.sample.shard}` : 'gate';
}

/** DEMO (the built-in demo endpoint) and UNVERIFIED (the lock was skipped, not violated): the labels every verdict line carries. */
export function verdictLabels(report: Report): string[] {
  const lockSkipped = !report.verified && report.registration.lock_ref === null;
  return [report.demo ? 'DEMO' : '', lockSkipped ? 'UNVERIFIED: lock skipped' : ''].filter(Boolean);
}

/**
 * The verdict and what it is about, e.g. `gate failed — support-bot gate (deploysim.yml) [DEMO]`: the
 * registration's name and path (two registrations in one job must be told apart) and its labels.
 */
export function verdictTitle(report: Report, path = report.registration.path): string {
  const labels = verdictLabels(report);
  return `${verdictSubject(report)} ${report.passed ? 'passed' : 'failed'} — ${report.name} (${path})${labels.length ? ` [${labels.join('; ')}]` : ''}`;
}

/** Passed, yet observed above its prediction: worth a reviewer's look even though the gate allows it. */
export function aboveButNotSignificant(c: CategoryReport): boolean {
  return c.verdict === 'pass' && c.rate_per_100k > c.threshold_per_100k;
}

/** The verdict as shown to people: a pass above its prediction says so. */
export function verdictLabel(c: CategoryReport): string {
  return aboveButNotSignificant(c) ? 'pass (above prediction, not significant)' : c.verdict;
}

function categoryRow(c: CategoryReport): string {
  const cells = [
    `${aboveButNotSignificant(c) ? '⚠️' : ICON[c.verdict]} \`${c.id}\``,
    fmt(c.prediction_per_100k) + (c.threshold_per_100k !== c.prediction_per_100k ? ` (≤ ${fmt(c.threshold_per_100k)})` : ''),
    // Nothing graded: no rate was observed (not a rate of 0).
    c.graded === 0 ? 'n/a' : `**${fmt(c.rate_per_100k)}**`,
    `${fmt(c.ci_low_per_100k)} – ${fmt(c.ci_high_per_100k)}`,
    flaggedOfGraded(c),
    fmt(c.detectable_rate_per_100k),
    verdictLabel(c),
  ];
  return `| ${cells.join(' | ')} |`;
}

function examplesSection(c: CategoryReport): string {
  if (c.examples.length === 0) return '';
  const items = c.examples
    .map(
      (e, i) =>
        `**${i + 1}. ${code(e.id)}** — grader: ${plain(e.evidence)}\n\nPrompt (last user turn):\n${fenced(e.prompt)}\nReply:\n${fenced(e.reply)}`,
    )
    .join('\n\n');
  return `<details><summary>Flagged examples for <code>${c.id}</code> (${c.examples.length} of ${c.flagged}, redacted)</summary>\n\n${items}\n\n</details>`;
}

/**
 * Renders the PR comment / job summary from report.json alone. Verdict first, then the table, then
 * the lock and sample, then collapsed examples for failing categories. Never over 65,536 characters:
 * examples are dropped first, then the body is cut with a note.
 */
export function renderMarkdown(report: Report, options: { includeExamples?: boolean } = {}): string {
  const pct = `${Math.round(report.decision.confidence * 100)}%`;
  // Unverified because the lock was skipped (--no-lock: no lock ref), not because it was violated.
  const lockSkipped = !report.verified && report.registration.lock_ref === null;
  const labels = verdictLabels(report);
  // The name and path come from the registration, which a pull request can change: untrusted text.
  const headline = `## ${report.passed ? '✅' : '❌'} deploysim: ${verdictSubject(report)} ${report.passed ? 'passed' : 'failed'} — ${plain(report.name)} (${code(report.registration.path)})${labels.length ? ` [${labels.join('; ')}]` : ''}`;
  const parts: string[] = [commentMarker(report.registration.path), headline];
  if (report.sample.shard) parts.push(`> **SHARD ${report.sample.shard}**: one slice of the sample; the gate's decision is the report \`deploysim merge\` makes from all shards.`);
  if (report.demo) parts.push('> **DEMO**: the built-in demo endpoint produced these numbers. They say nothing about any real model.');
  if (lockSkipped) parts.push('> **UNVERIFIED**: the pre-registration lock was skipped (`--no-lock`); this is not a pre-registered verdict.');
  // A multi-line reason (the lock's list of files, then why and what to do) keeps its lines: unindented
  // lines become paragraphs of the same item instead of running into the last nested bullet.
  if (report.reasons.length > 0) parts.push(report.reasons.map((r) => `- ${prose(r).replace(/\n(?=\S)/g, '\n\n  ')}`).join('\n'));

  const ran = report.sample.replayed > 0;
  if (ran) {
    parts.push(
      [
        `| Category | Predicted /100k | Observed /100k | ${pct} interval | Flagged / graded | Detectable ≥ /100k | Verdict |`,
        '|---|---:|---:|---:|---:|---:|---|',
        ...report.categories.map(categoryRow),
      ].join('\n'),
    );
    const failing = report.categories.filter((c) => c.verdict !== 'pass' || aboveButNotSignificant(c));
    if (failing.length > 0) parts.push(failing.map((c) => `- ${code(c.id)}: ${prose(c.explanation)}`).join('\n'));
    const chart = observedVsPredictedChart(report.categories);
    if (chart) parts.push(chart);
    parts.push(
      `Rule \`${report.decision.rule}\` at ${pct} confidence (interval: ${report.decision.interval_method}), tolerance ×${report.decision.tolerance}. ` +
        `Sample: ${report.sample.replayed} of ${report.sample.corpus_records} corpus records replayed (seed ${report.sample.seed}` +
        `${report.sample.stratify ? `, stratified by \`${report.sample.stratify}\`` : ''}${report.sample.shard ? `, shard ${report.sample.shard}` : ''}), ` +
        `${report.sample.graded} graded, ${report.sample.errors} errors. "Detectable" is the smallest true rate this sample would catch above the threshold with 80% power. ` +
        `Candidate ${code(report.candidate.model)}, grader ${code(report.grader.model)} (${report.grader.calibrated ? 'calibrated' : 'not calibrated'}).`,
    );
    const outcomes = outcomeSentence(report);
    if (outcomes) parts.push(plain(outcomes));
    const causes = report.sample.error_causes;
    if (causes) parts.push(`Most frequent errors (every failed record's error is in \`results.jsonl\`):\n${fenced(causes.map(errorCauseLine).join('\n'))}`);
    // Agentic records: recorded vs simulated tool calls, truncations; and simulator realism when given.
    parts.push(...toolReplaySentences(report).map((s) => prose(s).replace(/\s*\n\s*/g, ' ')));
    parts.push(figureGlossary(report));
  }
  // Evaluation awareness and "Behaviours outside the taxonomy" (src/audit; bounded in size there).
  parts.push(...discoverySections(report));
  parts.push(
    [
      `<details><summary>Pre-registration lock: ${report.verified ? `verified at \`${short(report.registration.lock_ref)}\`` : lockSkipped ? 'not verified' : `VIOLATED against \`${short(report.registration.lock_ref)}\``}</summary>`,
      '',
      '| File | sha256 |',
      '|---|---|',
      ...report.registration.files.map((f) => `| ${code(f.path)} | ${code(f.sha256.slice(0, 16))} |`),
      '',
      '</details>',
    ].join('\n'),
  );
  const footer = `<sub>deploysim · ${report.schema}${report.run_url ? ` · [workflow run](${report.run_url}) · [report artifact](${report.run_url}#artifacts)` : ''}</sub>`;

  const examples = options.includeExamples === false ? [] : report.categories.filter((c) => c.verdict !== 'pass').map(examplesSection).filter(Boolean);
  const assemble = (ex: string[]) => [...parts, ...ex, footer].join('\n\n');
  let body = assemble(examples);
  while (body.length > MAX_COMMENT_CHARS && examples.length > 0) {
    examples.pop();
    body = assemble(examples);
  }
  if (body.length > MAX_COMMENT_CHARS) {
    const note = '\n\n… (cut to fit GitHub\'s comment limit; see report.json in the run artifact)';
    body = body.slice(0, MAX_COMMENT_CHARS - note.length) + note;
  }
  return body;
}

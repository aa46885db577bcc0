import type { Report } from './schema.js';

const n = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 2 });
const pct = (x: number) => (x === 0 ? '0%' : `${(x * 100).toFixed(x < 0.001 ? 2 : 1)}%`);
const pText = (p: number | undefined) => (p === undefined ? 'n/a' : p < 0.0001 ? '< 0.0001' : p.toPrecision(2));

/**
 * "How to read these numbers": one plain sentence per figure of the comment, written for a release manager,
 * followed by each category's test statistics (p-values; raw vs corrected rate when the grader is calibrated).
 * Reads report.json only.
 */
export function figureGlossary(report: Report): string {
  const d = report.decision;
  const conf = `${Math.round(d.confidence * 100)}%`;
  const tested = report.categories.filter((c) => c.graded > 0).length;
  const holm = d.rule === 'confident' && d.multiplicity === 'holm';
  const corrected = d.rate_basis === 'corrected';
  // Reports written before p-values existed (saved report.json files) get the sentences without the table.
  const hasP = report.categories.some((c) => c.p_value !== undefined);
  const sentences = [
    `**Predicted**: the rate the team committed to before this change, in flagged replies per 100,000${d.tolerance !== 1 ? `; the gate allows ×${d.tolerance} of it (the threshold)` : ''}.`,
    `**Observed**: out of every 100,000 replies the candidate wrote to real conversation openings, how many the grader flagged${corrected ? ', corrected for the grader\'s measured mistakes' : ''}.`,
    `**${conf} interval**: the range the true rate very likely lies in, given how many replies were checked; more replies make it narrower.`,
    `**Flagged / graded**: the raw counts behind the rate.`,
    `**Detectable**: the smallest true rate this sample would catch above the threshold 8 times out of 10; a problem smaller than that can pass unnoticed, so replay more prefixes (\`deploysim plan\`) if it is above what you care about.`,
    d.rule === 'confident'
      ? holm
        ? `**Verdict**: a category fails only when its rate is confidently above the threshold; because ${tested} categories are tested at once, the bar is raised (Holm) so that, if every prediction were right, a false alarm on any of them happens at most ${pct((1 - d.confidence) / 2)} of the time.`
        : `**Verdict**: a category fails only when even the low end of its interval is above the threshold; each category is judged on its own, so with many categories an occasional false alarm is expected.`
      : d.rule === 'regression'
        ? `**Verdict**: a category fails only when the candidate is significantly worse than the baseline model on the same conversations${d.multiplicity === 'holm' ? ` (Holm over ${tested} categories)` : ''} and its rate is above the threshold.`
        : d.rule === 'strict'
        ? `**Verdict**: a category passes only when the whole interval is at or below the threshold; when the sample is too small to show that, it is inconclusive.`
        : `**Verdict**: a category fails when its observed rate is above the threshold, however small the sample.`,
    hasP &&
      `**p-value**: how surprising this many flags would be if the true rate were exactly at the threshold (small = very likely above it)${holm ? '; the adjusted p-value accounts for testing all categories together and is what the verdict uses' : ''}.`,
    report.grader.calibrated
      ? `**Calibrated grader**: the grader's false alarms and misses were measured against human labels, and each rate was corrected for them (Rogan–Gladen); its interval (the "delta" method) is wider because it also carries the uncertainty of that measurement.`
      : `**Grader not calibrated**: the grader was not checked against human labels here, so the rates include its unknown mistakes.`,
    report.baseline &&
      `**Baseline**: the same conversations were also answered by the current model \`${report.baseline.model}\` and graded the same way; "difference" is how many more (or fewer) of every 100,000 replies the candidate has flagged, "N vs M discordant" counts the conversations where only the candidate's reply was flagged and where only the current model's was (the only ones that differ, and all the test looks at), "ratio" is candidate ÷ current, and the McNemar p-value says how likely a difference this big is by chance when both models are equally safe${d.rule === 'regression' ? `; "worse p" is how likely the candidate would look this much worse by chance if it were no worse${d.multiplicity === 'holm' ? ', adjusted for testing all categories together (Holm)' : ''}, and is what the verdict uses` : ''}.`,
    `**Errors**: ${report.sample.errors} of ${report.sample.replayed} sampled conversations could not be replayed or graded; above ${pct(d.max_error_rate)} the gate fails rather than guess.`,
    (report.sample.unresolved ?? 0) > 0 &&
      `**Without a verdict**: ${report.sample.unresolved} conversations got no verdict because the provider blocked or filtered them, the reply was cut off, or the grader could not answer. They are not assumed harmless: each category must pass even if all of them were flagged, and fails if it fails with none of them flagged; in between it is inconclusive.`,
  ];
  const columns = ['Category', 'p-value', 'Adjusted p'];
  if (corrected) columns.push('Observed (raw) /100k', 'Corrected /100k', 'Grader false alarms / misses');
  if (report.baseline) columns.push('Baseline /100k', 'Difference /100k', 'Ratio', 'McNemar p');
  const regression = Boolean(report.baseline) && d.rule === 'regression';
  if (regression) columns.push('Worse p');
  const header = `| ${columns.join(' | ')} |\n|---|${columns.slice(1).map(() => '---:').join('|')}|`;
  const rows = report.categories.map((c) => {
    const cells = [`\`${c.id}\``, pText(c.p_value), pText(c.adjusted_p_value)];
    if (corrected) {
      cells.push(
        c.observed_raw ? n(c.observed_raw.rate_per_100k) : 'n/a',
        c.corrected ? `${n(c.corrected.estimate_per_100k)} (${n(c.corrected.low_per_100k)} – ${n(c.corrected.high_per_100k)})` : 'n/a',
        c.corrected ? `${pct(c.corrected.grader.fpr)} / ${pct(c.corrected.grader.fnr)}` : 'n/a',
      );
    }
    if (report.baseline) {
      const b = c.baseline;
      cells.push(
        b ? n(b.rate_per_100k) : 'n/a',
        b ? `${b.difference_per_100k > 0 ? '+' : ''}${n(b.difference_per_100k)} (${b.candidate_only} vs ${b.baseline_only} discordant)` : 'n/a',
        b ? (b.ratio === null ? 'n/a' : `×${n(b.ratio)}`) : 'n/a',
        b ? pText(b.mcnemar_p_value) : 'n/a',
      );
      if (regression) cells.push(b ? pText(b.adjusted_p_value_worse) : 'n/a');
    }
    return `| ${cells.join(' | ')} |`;
  });
  return [
    '<details><summary>How to read these numbers</summary>',
    '',
    ...sentences.filter((s): s is string => typeof s === 'string').map((s) => `- ${s}`),
    '',
    ...(hasP || corrected || report.baseline ? [header, ...rows, ''] : []),
    '</details>',
  ].join('\n');
}

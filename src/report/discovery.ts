import type { AuditReport, AuditTheme, EvaluationAwarenessReport } from './schema.js';
import { code, fenced, plain } from './untrusted.js';

/** The audit section's own budget inside the 65,536-character comment: examples are dropped first. */
export const MAX_DISCOVERY_CHARS = 16_000;

const SEVERITY_ICON = { low: '🟡', medium: '🟠', high: '🔴' } as const;

const fmt = (x: number) => (!Number.isFinite(x) ? 'n/a' : x === 0 ? '0' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));


function themeRow(t: AuditTheme): string {
  return `| ${SEVERITY_ICON[t.severity]} ${plain(t.theme)} | ${t.severity} | ${t.count} | **${fmt(t.rate_per_100k)}** | ${fmt(t.ci_low_per_100k)} – ${fmt(t.ci_high_per_100k)} | ${t.gating ? '❌ fails gate' : 'informs'} |`;
}

function themeExamples(t: AuditTheme): string {
  if (t.examples.length === 0) return '';
  const items = t.examples
    .map((e, i) => `**${i + 1}. ${code(e.id)}** — ${plain(e.label)}: ${plain(e.evidence)}\n\nPrompt (last user turn):\n${fenced(e.prompt)}\nReply:\n${fenced(e.reply)}`)
    .join('\n\n');
  return `<details><summary>${plain(t.theme)}: ${plain(t.description)} (${t.examples.length} of ${t.count}, redacted)</summary>\n\n${items}\n\n</details>`;
}

export function awarenessSection(a: EvaluationAwarenessReport): string {
  const line =
    `**Evaluation awareness** (\`${a.category_id}\`): ${fmt(a.rate_per_100k)} per 100k (${a.flagged} of ${a.graded}; ` +
    `${Math.round(a.ci.confidence * 100)}% interval ${fmt(a.ci.low_per_100k)} – ${fmt(a.ci.high_per_100k)}), warning above ${fmt(a.warn_above_per_100k)}.`;
  return a.warning ? `> ⚠️ **The corpus may not look like deployment.** ${plain(a.warning)}\n\n${line}` : line;
}

/** "Behaviours outside the taxonomy": the audit's themes, then their collapsed examples (bounded). */
export function auditSection(a: AuditReport): string {
  const head = [
    '### Behaviours outside the taxonomy',
    `Auditor ${code(a.model)} read ${a.audited} graded completions${a.sample !== null ? ` (the ${a.sample} lowest-ranked)` : ''}` +
      `${a.errors > 0 ? `, ${a.errors} audit errors` : ''}: ${a.findings} findings outside the registered categories` +
      `${a.in_taxonomy_dropped > 0 ? ` (${a.in_taxonomy_dropped} more named a registered category and are counted there, not here)` : ''}. ` +
      (a.gated ? `Themes of severity ${a.fail_on} or above fail the gate.` : 'Informational: `audit.fail_on` is not set, so themes do not fail the gate.') +
      (a.summary_errors > 0 ? ` ${a.summary_errors} theme-summary call(s) failed; those findings are grouped by label.` : '') +
      (a.findings_over_cap > 0 ? ` ${a.findings_over_cap} findings past the memory cap were not kept; counts are lower bounds.` : '') +
      (a.merged_shards ? ` Merged from ${a.merged_shards} shards: each shard grouped its own findings; themes are joined here by name.` : ''),
  ];
  if (a.themes.length === 0) return [...head, 'No behaviour outside the taxonomy was reported.'].join('\n\n');
  const table = [
    '| Theme | Severity | Completions | Rate /100k | Interval | Gate |',
    '|---|---|---:|---:|---:|---|',
    ...a.themes.map(themeRow),
  ].join('\n');
  const parts = [...head, table];
  let used = parts.join('\n\n').length;
  for (const t of a.themes) {
    const ex = themeExamples(t);
    if (!ex || used + ex.length + 2 > MAX_DISCOVERY_CHARS) continue;
    parts.push(ex);
    used += ex.length + 2;
  }
  return parts.join('\n\n');
}

/** Sections for the PR comment / job summary; empty when neither the audit nor the metric ran. */
export function discoverySections(report: { audit?: AuditReport; evaluation_awareness?: EvaluationAwarenessReport }): string[] {
  const out: string[] = [];
  if (report.evaluation_awareness) out.push(awarenessSection(report.evaluation_awareness));
  if (report.audit) out.push(auditSection(report.audit));
  return out;
}

/** Terminal lines for the CLI (renderText): the awareness rate and warning, then one line per theme. */
export function discoveryText(report: { audit?: AuditReport; evaluation_awareness?: EvaluationAwarenessReport }): string[] {
  const lines: string[] = [];
  const a = report.evaluation_awareness;
  if (a) {
    lines.push(`  evaluation awareness (${a.category_id}): ${fmt(a.rate_per_100k)}/100k (${a.flagged}/${a.graded}), interval ${fmt(a.ci.low_per_100k)}–${fmt(a.ci.high_per_100k)}`);
    if (a.warning) lines.push(`  ! ${a.warning}`);
  }
  const audit = report.audit;
  if (audit) {
    lines.push(
      `  audit: ${audit.audited} audited, ${audit.errors} errors, ${audit.findings} findings outside the taxonomy in ${audit.themes.length} themes` +
        (audit.gated ? ` (fail_on ${audit.fail_on}: ${audit.failed_themes.length} failing)` : ' (informational)'),
    );
    for (const t of audit.themes) lines.push(`    ${t.gating ? 'x' : '-'} [${t.severity}] ${t.theme}: ${t.count} completions, ${fmt(t.rate_per_100k)}/100k`);
  }
  return lines;
}

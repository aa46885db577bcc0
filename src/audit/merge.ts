import { normaliseLabel } from './auditor.js';
import { evaluationAwareness, EXAMPLES_PER_THEME, scoreThemes, type CategoryTally, type ThemeCounts } from './run.js';
import { severityRank, type Severity } from '../report/schema.js';
import { OTHER_THEME } from './themes.js';
import type { AuditReport, EvaluationAwarenessReport } from '../report/schema.js';

interface ShardDiscovery {
  audit?: AuditReport;
  evaluation_awareness?: EvaluationAwarenessReport;
}

export interface MergedDiscovery {
  passed: boolean;
  reasons: string[];
  /** Set explicitly (possibly to undefined) so a merged report never keeps one shard's audit. */
  audit: AuditReport | undefined;
  evaluation_awareness: EvaluationAwarenessReport | undefined;
}

const maxOf = (a: Severity, b: Severity): Severity => (severityRank(b) > severityRank(a) ? b : a);

/**
 * `deploysim merge`: evaluation awareness is recomputed from the merged category counts; shard audits
 * are joined without another model call: totals are summed and themes of the same (normalised) name
 * are combined (counts and findings summed, highest severity, lowest-ranked examples), then rates and
 * `fail_on` gating are recomputed over all audited completions. Each shard summarised its own findings,
 * so one behaviour may appear under two names; the report says `merged_shards`.
 */
export function mergeDiscovery(
  shards: ShardDiscovery[],
  merged: { passed: boolean; reasons: string[]; categories: CategoryTally[]; decision: { confidence: number; max_error_rate: number } },
): MergedDiscovery {
  const out: MergedDiscovery = { passed: merged.passed, reasons: merged.reasons, audit: undefined, evaluation_awareness: undefined };
  const ea = shards.find((s) => s.evaluation_awareness)?.evaluation_awareness;
  if (ea) {
    out.evaluation_awareness = evaluationAwareness(
      merged.categories,
      { eval_awareness_category: ea.category_id, eval_awareness_warn_per_100k: ea.warn_above_per_100k },
      merged.decision.confidence,
    );
  }
  const audits = shards.map((s) => s.audit).filter((a): a is AuditReport => a !== undefined);
  if (audits.length === 0) return out;
  const first = audits[0]!;
  const sum = (f: (a: AuditReport) => number) => audits.reduce((n, a) => n + f(a), 0);
  const themes = new Map<string, ThemeCounts>();
  for (const a of audits) {
    for (const t of a.themes) {
      const key = normaliseLabel(t.theme) || OTHER_THEME;
      const prev = themes.get(key);
      if (!prev) {
        themes.set(key, { theme: t.theme, description: t.description, severity: t.severity, summary_severity: t.summary_severity, count: t.count, findings: t.findings, examples: [...t.examples] });
        continue;
      }
      prev.severity = maxOf(prev.severity, t.severity);
      prev.summary_severity = prev.summary_severity && t.summary_severity ? maxOf(prev.summary_severity, t.summary_severity) : (prev.summary_severity ?? t.summary_severity);
      prev.count += t.count;
      prev.findings += t.findings;
      prev.examples = [...prev.examples, ...t.examples].sort((x, y) => x.rank - y.rank).slice(0, EXAMPLES_PER_THEME);
    }
  }
  const audited = sum((a) => a.audited);
  const errors = sum((a) => a.errors);
  const scored = scoreThemes([...themes.values()], {
    audited,
    errors,
    failOn: first.fail_on,
    failMinCount: first.fail_min_count,
    confidence: merged.decision.confidence,
    maxErrorRate: merged.decision.max_error_rate,
  });
  out.audit = {
    ...first,
    audited,
    errors,
    findings: sum((a) => a.findings),
    in_taxonomy_dropped: sum((a) => a.in_taxonomy_dropped),
    findings_over_cap: sum((a) => a.findings_over_cap),
    summary_errors: sum((a) => a.summary_errors),
    failed_themes: scored.themes.filter((t) => t.gating).map((t) => t.theme),
    themes: scored.themes,
    interval_method: scored.intervalMethod,
    merged_shards: audits.length,
  };
  if (scored.reasons.length > 0) {
    out.passed = false;
    out.reasons = [...merged.reasons, ...scored.reasons];
  }
  return out;
}

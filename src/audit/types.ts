import type { Severity } from './schema.js';

/** A redacted, truncated example of a finding (same redaction as flagged examples). */
export interface AuditExample {
  id: string;
  /** Position in the hash-ranked sample; the lowest-ranked completions are shown. */
  rank: number;
  /** The auditor's short label for this finding. */
  label: string;
  /** The last user turn, redacted and truncated. */
  prompt: string;
  /** The candidate's reply, redacted and truncated. */
  reply: string;
  /** The auditor's evidence quote, redacted and truncated. */
  evidence: string;
}

export interface AuditTheme {
  theme: string;
  description: string;
  /** The highest severity the auditor gave any finding in the theme (what `fail_on` compares). */
  severity: Severity;
  /** The summariser's own grade of the theme (informational; null for the "other" theme or a fallback). */
  summary_severity: Severity | null;
  /** Audited completions with at least one finding in this theme. */
  count: number;
  /** Findings in this theme (a completion can have several). */
  findings: number;
  /** 1e5 · count / audited. */
  rate_per_100k: number;
  ci_low_per_100k: number;
  ci_high_per_100k: number;
  /** Up to 3, lowest rank first. */
  examples: AuditExample[];
  /** True when this theme's severity is at or above `fail_on` (and count ≥ fail_min_count). */
  gating: boolean;
}

/** `report.audit` — present when the registration has an enabled `audit:` section. */
export interface AuditReport {
  model: string;
  /** The configured `audit.sample` (null = every graded completion). */
  sample: number | null;
  /** Completions the auditor answered for (after retries). */
  audited: number;
  /** Completions whose audit failed after retries (not counted in `audited`). */
  errors: number;
  /** Novel findings kept (after dropping in-taxonomy ones). */
  findings: number;
  /** Findings dropped because their label or category_id named a registered category. */
  in_taxonomy_dropped: number;
  /** Findings past the memory cap (the lowest-ranked ones are kept); counts are then lower bounds. */
  findings_over_cap: number;
  /** Theme-summariser calls that failed after retries (their findings were grouped by label instead). */
  summary_errors: number;
  max_themes: number;
  fail_on: 'none' | Severity;
  fail_min_count: number;
  /** True when `fail_on` is not `none`: themes (and the audit error budget) can fail the gate. */
  gated: boolean;
  /** Names of themes that failed the gate. */
  failed_themes: string[];
  /** Severity first, then count; the "other" theme (unassigned findings) last. */
  themes: AuditTheme[];
  interval_method: string;
  /** Set by `deploysim merge`: shard audits joined by theme name (each shard summarised its own findings). */
  merged_shards?: number;
}

/** `report.evaluation_awareness` — present when the evaluation-awareness category is registered. */
export interface EvaluationAwarenessReport {
  category_id: string;
  flagged: number;
  graded: number;
  rate_per_100k: number;
  ci: { low_per_100k: number; high_per_100k: number; confidence: number };
  warn_above_per_100k: number;
  /** Set when the rate is above `warn_above_per_100k`: the corpus does not look like deployment to the model. */
  warning?: string;
}

/**
 * report.json and results.jsonl, as types: the single source every rendering (comment, summary, CLI
 * output) reads, and the vocabulary shared by the features that fill them in. Imports no feature.
 */
import type { CategoryDecision } from '../decision/decide.js';

export const REPORT_SCHEMA = 'deploysim.report/v1';

/** The PR comment (and the job summary) is never longer than this: GitHub refuses a longer comment body. */
export const MAX_COMMENT_CHARS = 65_536;

export const SEVERITIES = ['low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity (low 1 … high 3) so "severity >= fail_on" is a number comparison. */
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s) + 1;

/** One distinct record error (results.jsonl `error`, PII redacted and cut short) and how many records hit it. */
export interface ErrorCause {
  message: string;
  records: number;
}

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

/**
 * `report.realism`: a `deploysim realism` measurement (realism.json, the `realism` input) carried into
 * the gate's report and comment. Informational: it never changes the verdict. The gate checks that it
 * was measured on the same corpus (sha256) and with the simulator model this run uses.
 */
export interface RealismSummary {
  /** The realism.json path as given. */
  path: string;
  created_at: string;
  simulator_model: string;
  discriminator_model: string;
  judged: number;
  simulated_wins: number;
  /** Share of pairs where the discriminator took the simulated response for the real one (0.5 = indistinguishable). */
  win_rate: number | null;
  ci_low: number | null;
  ci_high: number | null;
  confidence: number;
  interval_method: string | null;
  errors: number;
  tools: { name: string; judged: number; win_rate: number | null; ci_low: number | null; ci_high: number | null }[];
  /** The realism.json's corpus hash equals this run's corpus (null: the file has no hash). */
  corpus_matches: boolean | null;
  /** Measured with this run's `simulator-model` (null: this run has no simulator-model). */
  simulator_matches: boolean | null;
}

/**
 * One record's audit in results.jsonl: its novel findings (redacted labels; themes are only known at
 * the end of the run) and how many findings named a registered category, or the audit's error.
 */
export type RecordAudit = { findings: { label: string; severity: Severity }[]; in_taxonomy_dropped: number } | { error: string };

export interface LockedFile {
  path: string;
  sha256: string;
}

export interface FlaggedExample {
  id: string;
  /** Position in the hash-ranked sample; the lowest-ranked flagged records are shown. */
  rank: number;
  /** The last user turn, redacted and truncated. */
  prompt: string;
  /** The candidate's reply (with any tool calls), redacted and truncated. */
  reply: string;
  evidence: string;
}

/** A preflight probe: what was sent before the first corpus prefix, and how it ended. */
export interface PreflightProbe {
  /** `candidate` (a benign prompt), `grader: known-harmful` / `grader: known-benign` (fixed transcripts), `baseline`. */
  probe: string;
  /** `answered`, or the outcome that stopped the run. */
  outcome: string;
  /** Categories the grader flagged (grader probes). */
  flagged?: string[];
}

export interface CategoryReport extends CategoryDecision {
  /** Smallest true rate this sample detects above its threshold (power 80%, one-sided at `confidence`). */
  detectable_rate_per_100k: number;
  examples: FlaggedExample[];
}

/** report.json — the single source every rendering (comment, summary, CLI output) reads. */
export interface Report {
  schema: typeof REPORT_SCHEMA;
  passed: boolean;
  /** False when the lock was skipped (CLI --no-lock): the verdict is then not a pre-registered one. */
  verified: boolean;
  demo: boolean;
  name: string;
  created_at: string;
  reasons: string[];
  registration: {
    path: string;
    lock_ref: string | null;
    files: LockedFile[];
    lock_violations: { path: string; kinds: string[]; detail: string }[];
  };
  /** `endpoint_sha256`: the first 16 hex digits of sha256 of the base URL (credentials removed), so shards of one run can be told to share it. */
  candidate: { model: string; endpoint_sha256?: string };
  /** Present when a baseline model replayed the same prefixes (`baseline-model`). */
  baseline?: { model: string };
  grader: { model: string; calibrated: boolean; mode: 'combined' | 'per-category'; endpoint_sha256?: string };
  decision: {
    /** `regression`: fail only if significantly worse than the baseline model (McNemar) and above the threshold. */
    rule: 'point' | 'confident' | 'strict' | 'regression';
    confidence: number;
    tolerance: number;
    max_error_rate: number;
    on_inconclusive: 'fail' | 'pass';
    /** Under `confident`: `holm` fails a category only if its Holm-adjusted p-value ≤ (1 − confidence)/2. */
    multiplicity?: 'holm' | 'none';
    interval_method: string;
    /** Which rate each category's `rate_per_100k` (and the verdict) is: `corrected` for grader error, or `observed`. */
    rate_basis?: 'observed' | 'corrected';
    /** What a provider's block or filter counted as: `unresolved` (bounded) or `safe` (graded, not flagged). */
    provider_filter?: 'unresolved' | 'safe';
  };
  sample: {
    corpus_records: number;
    requested: number | null;
    replayed: number;
    graded: number;
    errors: number;
    excluded_no_consent: number;
    seed: number;
    stratify: string | null;
    shard: string | null;
    /** Records in the whole sample (all shards); a shard replays about sample_size / n of them. */
    sample_size?: number;
    /** sha256 over the sampled ids in rank order: shards of one sample share it (`deploysim merge` checks). */
    fingerprint?: string;
    /** The most frequent errors among `errors` (present when there are any); every one is in results.jsonl. */
    error_causes?: ErrorCause[];
    /** How every sampled record ended; they add up to `replayed`. */
    outcomes?: Record<RecordOutcome, number>;
    /** Records without a verdict that the decision bounds (blocked, filtered and truncated, unless decision.provider_filter is safe for the first two; grader unresolved). */
    unresolved?: number;
  };
  categories: CategoryReport[];
  /** Open-ended audit for behaviours outside the taxonomy (registration `audit:`); see docs/discovery.md. */
  audit?: AuditReport;
  /** Evaluation-awareness rate, when an `evaluation_awareness` category (or `audit.eval_awareness_category`) is registered. */
  evaluation_awareness?: EvaluationAwarenessReport;
  /** Agentic replay, when the corpus has records that declare `tools` (per-record detail is in results.jsonl). */
  agentic?: {
    records_with_tools: number;
    simulator_model: string | null;
    /** Distinct recorded (tool, canonical arguments) responses indexed for exact matches. */
    tool_responses_indexed: number;
    tool_db_bytes: number;
    /** The database hit its cap (entries or bytes): `tool_db_dropped` recorded responses were not indexed. */
    tool_db_capped: boolean;
    tool_db_dropped: number;
    tool_calls_recorded: number;
    tool_calls_simulated: number;
    /** Records cut at `candidate.max_steps` before a final answer. */
    truncated: number;
  };
  /** A `deploysim realism` measurement of the tool simulator, when the `realism` input names its realism.json (informational). */
  realism?: RealismSummary;
  /** The probes sent before the first corpus prefix (SPEC "Preflight"); `requests` counts them with retries and re-asks. */
  preflight?: { requests: number; probes: PreflightProbe[] };
  run_url?: string;
}

/**
 * How a sampled record ended (SPEC "Record outcomes"): graded (a candidate's refusal is an answer, and
 * graded); the candidate's provider blocked the prompt; a content filter removed the reply; the token
 * limit was spent before anything visible; the grader could not answer (blocked, refused, no valid
 * verdict after the re-asks); or a transport error.
 */
export const RECORD_OUTCOMES = ['graded', 'candidate_blocked', 'candidate_filtered', 'candidate_truncated', 'grader_unresolved', 'error'] as const;
export type RecordOutcome = (typeof RECORD_OUTCOMES)[number];

/** One line of results.jsonl per sampled record. */
export interface ResultLine {
  id: string;
  rank: number;
  outcome: RecordOutcome;
  /** Categories flagged (graded records only). */
  flagged: string[];
  /** Why the record failed (`error` and `grader_unresolved`; both count against max_error_rate), else null. */
  error: string | null;
  /** Why a candidate gave no answer (candidate_blocked / _filtered / _truncated): the provider's words. */
  detail?: string;
  truncated: boolean;
  /** Agentic records only: how each tool call the candidate made was answered, in call order. */
  tool_calls?: { name: string; source: 'recorded' | 'simulated' }[];
  /** With a baseline model: the categories its reply to the same prefix was flagged for. */
  baseline_flagged?: string[];
  /** Registration `audit:`, records in the audited subsample: novel findings (label, severity) or the audit's error. */
  audit?: RecordAudit;
}

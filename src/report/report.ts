import type { AuditReport, EvaluationAwarenessReport } from '../audit/types.js';
import type { RecordAudit } from '../audit/run.js';
import type { CategoryDecision } from '../decision/decide.js';
import type { RealismSummary } from '../realism/inReport.js';
import type { ErrorCause } from './errorCauses.js';

export const REPORT_SCHEMA = 'deploysim.report/v1';

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
  candidate: { model: string };
  /** Present when a baseline model replayed the same prefixes (`baseline-model`). */
  baseline?: { model: string };
  grader: { model: string; calibrated: boolean; mode: 'combined' | 'per-category' };
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
  run_url?: string;
}

/** One line of results.jsonl per sampled record. */
export interface ResultLine {
  id: string;
  rank: number;
  flagged: string[];
  error: string | null;
  truncated: boolean;
  /** Agentic records only: how each tool call the candidate made was answered, in call order. */
  tool_calls?: { name: string; source: 'recorded' | 'simulated' }[];
  /** With a baseline model: the categories its reply to the same prefix was flagged for. */
  baseline_flagged?: string[];
  /** Registration `audit:`, records in the audited subsample: novel findings (label, severity) or the audit's error. */
  audit?: RecordAudit;
}

import type { CategoryDecision } from '../decision/decide.js';

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
  grader: { model: string; calibrated: boolean; mode: 'combined' | 'per-category' };
  decision: {
    rule: 'point' | 'confident' | 'strict';
    confidence: number;
    tolerance: number;
    max_error_rate: number;
    on_inconclusive: 'fail' | 'pass';
    interval_method: string;
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
  };
  categories: CategoryReport[];
  run_url?: string;
}

/** One line of results.jsonl per sampled record. */
export interface ResultLine {
  id: string;
  rank: number;
  flagged: string[];
  error: string | null;
  truncated: boolean;
}

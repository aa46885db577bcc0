import { createHash } from 'node:crypto';
import { maskUrlCredentials } from '../common/secrets.js';
import type { CorpusPlan } from '../corpus/sample.js';
import type { ToolDatabaseStats } from '../corpus/toolResponses.js';
import type { CategoryCounts, GateDecision } from '../decision/decide.js';
import type { GraderErrorCounts } from '../stats/correctedTest.js';
import type { Registration } from '../registration/load.js';
import { errorCausesOf } from '../report/errorCauses.js';
import { REPORT_SCHEMA, type CategoryReport, type RealismSummary, type Report } from '../report/schema.js';
import type { LockOutcome } from './dependencies.js';
import { usesDemo, type Settings } from './settings.js';
import type { Tally } from './tally.js';

/** Which endpoint answered, without saying where: a digest of the base URL with any user:password removed. */
function endpointDigest(baseUrl: string): string {
  return createHash('sha256').update(maskUrlCredentials(baseUrl)).digest('hex').slice(0, 16);
}

/**
 * report.json before anything is replayed: what was asked and what the lock proved. A run the lock
 * stops is reported as this with the lock's reason; every other run fills it in with `finalReport`.
 */
export function baseReport(settings: Settings, registration: Registration, lock: LockOutcome, createdAt: Date, runUrl?: string): Report {
  const cfg = registration.config;
  return {
    schema: REPORT_SCHEMA,
    passed: false,
    verified: lock.verified,
    demo: usesDemo(settings),
    name: cfg.name,
    created_at: createdAt.toISOString(),
    reasons: [],
    registration: { path: registration.displayPath, lock_ref: lock.lockRef, files: lock.files, lock_violations: lock.violations },
    candidate: { model: settings.candidate.model, endpoint_sha256: endpointDigest(settings.candidate.baseUrl) },
    grader: { model: cfg.grader.model, calibrated: false, mode: cfg.grader.mode, endpoint_sha256: endpointDigest(settings.grader.baseUrl) },
    decision: { ...cfg.decision, interval_method: '' },
    sample: {
      corpus_records: 0,
      requested: cfg.corpus.sample ?? null,
      replayed: 0,
      graded: 0,
      errors: 0,
      excluded_no_consent: 0,
      seed: cfg.corpus.seed,
      stratify: cfg.corpus.stratify ?? null,
      shard: settings.shard ? `${settings.shard.index}/${settings.shard.count}` : null,
    },
    categories: registration.categories.map((c) => ({
      id: c.id,
      prediction_per_100k: c.prediction_per_100k,
      threshold_per_100k: c.prediction_per_100k * cfg.decision.tolerance,
      flagged: 0,
      graded: 0,
      rate_per_100k: 0,
      ci_low_per_100k: 0,
      ci_high_per_100k: 100_000,
      verdict: 'inconclusive' as const,
      explanation: 'Not run.',
      detectable_rate_per_100k: Number.POSITIVE_INFINITY,
      examples: [],
    })),
    ...(runUrl ? { run_url: runUrl } : {}),
  };
}

export interface ReplayFacts {
  plan: Pick<CorpusPlan, 'corpusRecords' | 'requested' | 'excludedNoConsent' | 'sampleSize' | 'fingerprint'>;
  tally: Tally;
  decision: GateDecision;
  calibrated: boolean;
  tools: ToolDatabaseStats;
  realism?: RealismSummary;
  preflight?: Report['preflight'];
}

/**
 * What the decision counts per category: flagged of graded, and the records without a verdict it must
 * bound. `providerFilter: safe` counts the provider's blocks and filters as graded, harmless replies.
 */
export function categoryCounts(
  categories: readonly { id: string; prediction_per_100k: number }[],
  tally: Tally,
  providerFilter: 'unresolved' | 'safe',
  calibrationOf: (id: string) => GraderErrorCounts | undefined,
  withBaseline: boolean,
): CategoryCounts[] {
  return categories.map((c) => ({
    id: c.id,
    prediction_per_100k: c.prediction_per_100k,
    flagged: tally.flagged.get(c.id) ?? 0,
    graded: tally.gradedFor(providerFilter),
    unresolved: tally.unresolved(providerFilter),
    calibration: calibrationOf(c.id),
    baseline: withBaseline ? (tally.pairs.get(c.id) ?? { flagged: 0, candidateOnly: 0, baselineOnly: 0 }) : undefined,
  }));
}

/** report.json of a replayed run (pure): the base, the tally's counts and the decision's verdicts. */
export function finalReport(base: Report, settings: Settings, facts: ReplayFacts): Report {
  const { plan, tally, decision } = facts;
  const categories: CategoryReport[] = decision.categories.map((c) => ({
    ...c,
    // Computed by decideGate: accounts for Holm's family size and for grader calibration.
    detectable_rate_per_100k: c.detectable_rate_per_100k ?? Number.POSITIVE_INFINITY,
    examples: tally.examples.get(c.id) ?? [],
  }));
  return {
    ...base,
    passed: decision.passed,
    reasons: decision.reasons,
    grader: { ...base.grader, calibrated: facts.calibrated },
    ...(settings.baseline ? { baseline: { model: settings.baseline.model } } : {}),
    decision: { ...base.decision, interval_method: decision.intervalMethod, rate_basis: decision.rateBasis },
    sample: {
      ...base.sample,
      corpus_records: plan.corpusRecords,
      requested: plan.requested,
      replayed: tally.replayed,
      graded: tally.graded,
      errors: tally.errors,
      excluded_no_consent: plan.excludedNoConsent,
      sample_size: plan.sampleSize,
      fingerprint: plan.fingerprint,
      ...errorCausesOf(tally.errorCauses),
      outcomes: { ...tally.outcomes },
      unresolved: tally.unresolved(base.decision.provider_filter ?? 'unresolved'),
    },
    categories,
    ...agenticSummary(facts.tools, settings, tally),
    ...(facts.realism ? { realism: facts.realism } : {}),
    ...(facts.preflight ? { preflight: facts.preflight } : {}),
  };
}

function agenticSummary(stats: ToolDatabaseStats, settings: Settings, tally: Tally): Pick<Report, 'agentic'> {
  if (stats.records_with_tools === 0) return {};
  return {
    agentic: {
      records_with_tools: stats.records_with_tools,
      simulator_model: settings.simulator.model ?? null,
      tool_responses_indexed: stats.entries,
      tool_db_bytes: stats.bytes,
      tool_db_capped: stats.capped,
      tool_db_dropped: stats.dropped,
      tool_calls_recorded: tally.toolCalls.recorded,
      tool_calls_simulated: tally.toolCalls.simulated,
      truncated: tally.truncated,
    },
  };
}

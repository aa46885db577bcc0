import { ConfigError } from '../common/errors.js';
import type { CorpusPlan } from '../corpus/sample.js';
import type { ToolDatabaseStats } from '../corpus/toolResponses.js';
import type { RegistrationFile } from '../registration/schema.js';
import type { Settings } from './settings.js';

/** How many records this run replays and how many requests that takes, before any is sent. Pure. */
export interface RunPlan {
  /** Records this run (or this shard) replays. */
  toReplay: number;
  /** Whether a record of the sample (by rank) is this shard's. */
  inShard: (rank: number) => boolean;
  /** Requests the plan expects, before retries; an upper bound when agentic records may take extra turns. */
  expectedRequests: number;
  /** The plan as one log line. */
  summary: string;
}

/** Audit requests for `toReplay` records: one per audited completion plus the theme summary. */
export function plannedAuditRequests(audit: RegistrationFile['audit'], toReplay: number, shards = 1): number {
  if (!audit || !audit.enabled || toReplay === 0) return 0;
  const audited = audit.sample === undefined ? toReplay : Math.min(toReplay, Math.ceil(audit.sample / shards));
  return audited + 1;
}

/**
 * The shard's slice of the sample and the requests it needs. A shard past the sample's end is a
 * configuration error (exit 2) raised here, before any request.
 */
export function planRun(
  sample: Pick<CorpusPlan, 'sampleSize' | 'corpusRecords' | 'excludedNoConsent'>,
  tools: Pick<ToolDatabaseStats, 'records_with_tools'>,
  cfg: Pick<RegistrationFile, 'grader' | 'candidate' | 'audit'> & { categories: readonly unknown[] },
  settings: Pick<Settings, 'shard' | 'baseline'>,
): RunPlan {
  const shard = settings.shard;
  if (shard && shard.index > sample.sampleSize) {
    throw new ConfigError(`shard ${shard.index}/${shard.count} has no records: the sample has ${sample.sampleSize}, so only shards 1–${sample.sampleSize} have any. Use at most ${sample.sampleSize} shards.`);
  }
  const toReplay = shard ? Math.floor((sample.sampleSize - shard.index) / shard.count) + 1 : sample.sampleSize;
  const graderCalls = cfg.grader.mode === 'combined' ? 1 : cfg.categories.length;
  // Agentic records may take up to max_steps candidate turns, each with at least one simulated tool call
  // but the last; the budget check uses that upper bound for the expected share of agentic records.
  const agenticRecords = Math.ceil((toReplay * tools.records_with_tools) / sample.corpusRecords);
  const extraAgentic = agenticRecords * (cfg.candidate.max_steps - 1) * 2;
  const auditRequests = plannedAuditRequests(cfg.audit, toReplay, shard?.count ?? 1);
  // The preflight: a probe to the candidate (and the baseline), and two transcripts to the grader.
  const preflightRequests = (settings.baseline ? 2 : 1) + 2 * graderCalls;
  const expectedRequests = (toReplay * (1 + graderCalls) + extraAgentic) * (settings.baseline ? 2 : 1) + auditRequests + preflightRequests;
  const summary =
    `Plan: ${sample.corpusRecords} corpus records (${sample.excludedNoConsent} excluded without consent), sample ${sample.sampleSize}` +
    `${shard ? `, shard ${shard.index}/${shard.count} replays ${toReplay}` : ''}; ` +
    `${extraAgentic > 0 ? 'up to' : 'about'} ${expectedRequests} model requests (1 candidate + ${graderCalls} grader per record` +
    `${extraAgentic > 0 ? `, up to ${cfg.candidate.max_steps} candidate turns and ${cfg.candidate.max_steps - 1} simulated tool calls for ~${agenticRecords} agentic records` : ''}` +
    `${settings.baseline ? ', twice with the baseline' : ''}${auditRequests > 0 ? `; ${auditRequests} audit requests including the theme summary` : ''}; ${preflightRequests} preflight probes; before retries).`;
  return { toReplay, inShard: (rank) => !shard || rank % shard.count === shard.index - 1, expectedRequests, summary };
}

/** A plan over `max-requests` is refused before any request (exit 2). */
export function checkRequestBudget(plan: RunPlan, maxRequests: number | undefined): void {
  if (maxRequests !== undefined && plan.expectedRequests > maxRequests) {
    throw new ConfigError(
      `The plan needs about ${plan.expectedRequests} requests, more than max-requests ${maxRequests} (answers already in cache-dir count too: the plan is made before the cache is read). ` +
        'Split the run into shards (shard: i/n) or raise max-requests; corpus.sample is part of the pre-registered registration.',
    );
  }
}

/**
 * Agentic records need tool responses: a corpus that declares tools without a simulator-model is a
 * config error up front (exit 2, nothing sent), because otherwise every call without a recorded
 * response would surface mid-run as a record error, spend the error budget and fail the gate late.
 * Returns what to log about the agentic replay (nothing when no record declares tools).
 */
export function agenticSetup(stats: ToolDatabaseStats, simulatorModel: string | undefined): { info?: string; warning?: string } {
  if (stats.records_with_tools === 0) return {};
  if (!simulatorModel) {
    throw new ConfigError(
      `${stats.records_with_tools} corpus records declare \`tools\`, so the candidate may call tools that have no recorded response, ` +
        'but no `simulator-model` is set to simulate them. Set simulator-model (and simulator-base-url / simulator-api-key if it is not the grader\'s endpoint), ' +
        'or remove `tools` from the records to replay them single-turn.',
    );
  }
  return {
    info:
      `Agentic replay: ${stats.records_with_tools} records declare tools; ${stats.entries} recorded tool responses indexed ` +
      `(${stats.responses_seen} seen, ${(stats.bytes / 1048576).toFixed(1)} MiB); unmatched calls go to simulator ${simulatorModel}. ` +
      'Each agentic record takes up to max_steps candidate requests plus one simulator request per unmatched tool call (parallel calls can add more than the plan counts).',
    ...(stats.capped
      ? {
          warning:
            `The tool-response database is capped at ${stats.limits.maxEntries} entries / ${stats.limits.maxBytes / 1048576} MiB: ` +
            `${stats.dropped} recorded responses were not indexed; calls matching them are simulated instead.`,
        }
      : {}),
  };
}

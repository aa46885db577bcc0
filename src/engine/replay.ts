import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { AuditRun } from '../audit/run.js';
import { RunCancelledError, stopsTheRun } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { Progress } from '../common/progress.js';
import type { SecretRegistry } from '../common/secrets.js';
import { forEachConcurrently } from '../common/workerPool.js';
import type { SampledPrefix } from '../corpus/sample.js';
import type { Grader } from '../grade/grader.js';
import type { ConversationDriver } from '../replay/driver.js';
import type { FlaggedExample } from '../report/schema.js';
import { excerptOf } from '../transcript/excerpt.js';
import { Tally, type FinishedRecord } from './tally.js';

/** Who a record goes through: the candidate (and its tools), the grader, optionally the baseline and the auditor. */
export interface ReplayParticipants {
  driver: ConversationDriver;
  grader: Grader;
  /** With `baseline-model`: a record counts as graded only when the baseline's reply was graded too (paired). */
  baseline?: ConversationDriver;
  /** Audits graded completions for behaviours outside the taxonomy (its own errors never fail the record). */
  audit?: AuditRun;
}

export interface ReplayInput {
  records: AsyncIterable<SampledPrefix>;
  total: number;
  categoryIds: string[];
  concurrency: number;
  resultsPath: string;
  logger: Logger;
  secrets: SecretRegistry;
  /** 429s so far, for the progress line. */
  rateLimited: () => number;
  cancel?: AbortSignal;
}

/**
 * One sampled record through every participant, as its results.jsonl line. A record's own failure
 * (a transport error, a grader answer that never parsed) is kept as its `error`; a refusal or a
 * cancellation stops the run and is thrown.
 */
async function replayRecord(record: SampledPrefix, who: ReplayParticipants, categoryIds: string[], secrets: SecretRegistry): Promise<FinishedRecord> {
  try {
    const trajectory = await who.driver.drive(record);
    const verdicts = await who.grader.grade(record.messages, trajectory.messages);
    let baselineFlagged: string[] | undefined;
    if (who.baseline) {
      const baseline = await who.baseline.drive(record);
      const baselineVerdicts = await who.grader.grade(record.messages, baseline.messages);
      baselineFlagged = categoryIds.filter((id) => baselineVerdicts.get(id)?.flagged);
    }
    const audited = who.audit ? await who.audit.observe(record, trajectory.messages) : undefined;
    const flagged = categoryIds.filter((id) => verdicts.get(id)?.flagged);
    const examples = new Map<string, FlaggedExample>(flagged.map((id) => [id, excerptOf(record, trajectory.messages, verdicts.get(id)!.evidence, secrets)]));
    return {
      line: {
        id: record.id,
        rank: record.rank,
        flagged,
        error: null,
        truncated: trajectory.truncated,
        ...(trajectory.toolCalls ? { tool_calls: trajectory.toolCalls } : {}),
        ...(baselineFlagged ? { baseline_flagged: baselineFlagged } : {}),
        ...(audited ? { audit: audited } : {}),
      },
      examples,
    };
  } catch (error) {
    if (stopsTheRun(error)) throw error;
    return { line: { id: record.id, rank: record.rank, flagged: [], error: secrets.scrub((error as Error).message), truncated: false } };
  }
}

/**
 * Replays the sampled records, `concurrency` at a time (the gateway bounds requests in flight across
 * all of them), appending each record's line to results.jsonl as it finishes. An endpoint refusal
 * stops every worker and is thrown; a cancellation abandons the records in flight and throws a
 * RunCancelledError saying how far the replay got (results.jsonl keeps the finished records).
 */
export async function replayAll(input: ReplayInput, who: ReplayParticipants): Promise<Tally> {
  const tally = new Tally(input.categoryIds);
  const out = createWriteStream(input.resultsPath, { flags: 'w' });
  const progress = new Progress(input.total, input.logger, { rateLimited: input.rateLimited });
  try {
    await forEachConcurrently(
      input.records,
      input.concurrency,
      async (record) => {
        const finished = await replayRecord(record, who, input.categoryIds, input.secrets);
        // Cancelled meanwhile: the replay has ended without this record (results.jsonl is closed).
        if (input.cancel?.aborted) return;
        tally.add(finished);
        if (!out.write(`${JSON.stringify(finished.line)}\n`)) await once(out, 'drain');
        progress.tick(finished.line.error !== null);
      },
      input.cancel,
    );
  } finally {
    out.end();
    await once(out, 'finish');
    progress.done();
  }
  if (input.cancel?.aborted) {
    throw new RunCancelledError(
      (input.cancel.reason as RunCancelledError).signal,
      tally.replayed === 0 ? `no record of ${input.total} was finished` : `${tally.replayed} of ${input.total} records were replayed (results.jsonl keeps them)`,
    );
  }
  return tally;
}

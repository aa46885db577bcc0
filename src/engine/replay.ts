import type { AuditRun } from '../audit/run.js';
import { RunCancelledError, RunStoppedError, stopsTheRun } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { Progress } from '../common/progress.js';
import type { SecretRegistry } from '../common/secrets.js';
import { forEachConcurrently } from '../common/workerPool.js';
import type { SampledPrefix } from '../corpus/sample.js';
import type { Grader } from '../grade/grader.js';
import type { FlaggedExample, ResultLine } from '../report/schema.js';
import { UnansweredError } from '../models/structured.js';
import { NoAnswerError, type ConversationDriver } from '../replay/driver.js';
import { excerptOf } from '../transcript/excerpt.js';
import { signalOf } from './cancelled.js';
import { ResultsFile } from './outputs.js';
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
  /** decision.max_error_rate, and the records it applies to (the whole sample, every shard together). */
  errorBudget: { maxErrorRate: number; sampleSize: number };
  cancel?: AbortSignal;
}

const GRADER_FAILURE = { blocked: 'blocked', refused: 'refused', filtered: 'filtered', truncated: 'answer cut off', invalid: 'answer invalid' } as const;

/** Records after which a run that is almost all cut off stops (only runs longer than this). */
const EARLY_RECORDS = 20;
const MOSTLY = 0.8;

/**
 * A long run whose first records come back almost all cut off before anything visible is spending its
 * budget on nothing: the token limit is too low for this model. Stops the run, saying so.
 */
function checkEarlyRecords(tally: Tally, total: number): void {
  if (total <= EARLY_RECORDS || tally.replayed !== EARLY_RECORDS) return;
  const cut = tally.outcomes.candidate_truncated;
  if (cut < MOSTLY * EARLY_RECORDS) return;
  throw new RunStoppedError(
    `${cut} of the first ${EARLY_RECORDS} records came back with nothing visible: the candidate reached its token limit first (finish_reason length). ` +
      'The run stops instead of spending the rest of its budget the same way: raise candidate.max_completion_tokens (or max_tokens) in the registration; reasoning models spend tokens on reasoning before they answer.',
  );
}

/**
 * Once more records have failed than `max_error_rate` allows of the whole sample (a shard's failures
 * count against the sample the merge decides on), the gate fails closed whatever the rest gives: the
 * run stops instead of sending the remaining requests.
 */
function checkErrorBudget(tally: Tally, total: number, maxErrorRate: number): void {
  if (tally.errors <= maxErrorRate * total) return;
  throw new ErrorBudgetSpent(
    `The run stopped after ${tally.errors} of the ${tally.replayed} records so far failed (of ${total} in the sample): more than max_error_rate ${maxErrorRate} allows of the whole sample, ` +
      'so the gate fails closed whatever the rest would give, and the remaining requests were not sent.',
  );
}

/** Thrown from a record's work to stop the pool (the records in flight finish and are recorded). */
class ErrorBudgetSpent extends Error {}

/**
 * One sampled record through every participant, as its results.jsonl line. A record's own failure
 * (a transport error, a grader answer that never parsed) is kept as its `error`; a refusal or a
 * cancellation stops the run and is thrown.
 */
async function replayRecord(record: SampledPrefix, who: ReplayParticipants, categoryIds: string[], secrets: SecretRegistry): Promise<FinishedRecord> {
  const line = (fields: Partial<ResultLine> & Pick<ResultLine, 'outcome'>): ResultLine => ({ id: record.id, rank: record.rank, flagged: [], error: null, truncated: false, ...fields });
  try {
    const trajectory = await who.driver.drive(record);
    const verdicts = await who.grader.grade(record.messages, trajectory.messages);
    let baselineFlagged: string[] | undefined;
    if (who.baseline) {
      // The pair counts only when the baseline's reply is graded too: its failure is the record's, as an error.
      try {
        const baseline = await who.baseline.drive(record);
        const baselineVerdicts = await who.grader.grade(record.messages, baseline.messages);
        baselineFlagged = categoryIds.filter((id) => baselineVerdicts.get(id)?.flagged);
      } catch (error) {
        if (stopsTheRun(error)) throw error;
        return { line: line({ outcome: 'error', error: secrets.scrub(`baseline: ${(error as Error).message}`) }) };
      }
    }
    const audited = who.audit ? await who.audit.observe(record, trajectory.messages) : undefined;
    const flagged = categoryIds.filter((id) => verdicts.get(id)?.flagged);
    // Redacted only when the tally keeps it (the lowest-ranked few per category).
    const example = (id: string): FlaggedExample => excerptOf(record, trajectory.messages, verdicts.get(id)!.evidence, secrets);
    return {
      line: line({
        outcome: 'graded',
        flagged,
        truncated: trajectory.truncated,
        ...(trajectory.toolCalls ? { tool_calls: trajectory.toolCalls } : {}),
        ...(baselineFlagged ? { baseline_flagged: baselineFlagged } : {}),
        ...(audited ? { audit: audited } : {}),
      }),
      example,
    };
  } catch (error) {
    if (stopsTheRun(error)) throw error;
    const message = secrets.scrub((error as Error).message);
    if (error instanceof NoAnswerError) return { line: line({ outcome: error.outcome, detail: message }) };
    if (error instanceof UnansweredError) return { line: line({ outcome: 'grader_unresolved', error: error.reason === 'invalid' ? message : `grader ${GRADER_FAILURE[error.reason]}: ${message}` }) };
    return { line: line({ outcome: 'error', error: message }) };
  }
}

/**
 * Replays the sampled records, `concurrency` at a time (the gateway bounds requests in flight across
 * all of them), appending each record's line to results.jsonl as it finishes. An endpoint refusal
 * stops every worker and is thrown; a cancellation abandons the records in flight and throws a
 * RunCancelledError saying how far the replay got (results.jsonl keeps the finished records).
 */
export async function replayAll(input: ReplayInput, who: ReplayParticipants): Promise<{ tally: Tally; stoppedEarly?: string }> {
  const tally = new Tally(input.categoryIds);
  const out = new ResultsFile(input.resultsPath);
  const progress = new Progress(input.total, input.logger, { rateLimited: input.rateLimited });
  let stoppedEarly: string | undefined;
  try {
    await forEachConcurrently(
      input.records,
      input.concurrency,
      async (record) => {
        const finished = await replayRecord(record, who, input.categoryIds, input.secrets);
        // Cancelled meanwhile: the replay has ended without this record (results.jsonl is closed).
        if (input.cancel?.aborted) return;
        // Recorded first: a record that could not be written is not counted.
        await out.write(finished.line);
        tally.add(finished);
        progress.tick(finished.line.error !== null);
        checkEarlyRecords(tally, input.total);
        checkErrorBudget(tally, input.errorBudget.sampleSize, input.errorBudget.maxErrorRate);
      },
      input.cancel,
    ).catch((error: unknown) => {
      if (!(error instanceof ErrorBudgetSpent)) throw error;
      stoppedEarly = error.message;
    });
  } finally {
    progress.done();
    await out.close();
  }
  if (input.cancel?.aborted) {
    throw new RunCancelledError(
      signalOf(input.cancel),
      tally.replayed === 0 ? `no record of ${input.total} was finished` : `${tally.replayed} of ${input.total} records were replayed (results.jsonl keeps them)`,
    );
  }
  return { tally, ...(stoppedEarly ? { stoppedEarly } : {}) };
}

import type { RecordOutcome, Report } from './schema.js';

/** How each outcome is said to a reader (SPEC "Record outcomes"). */
const SAID: Record<RecordOutcome, string> = {
  graded: 'graded',
  candidate_blocked: 'blocked by the provider',
  candidate_filtered: "removed by the provider's filter",
  candidate_truncated: 'cut off with nothing visible',
  grader_unresolved: 'not graded (the grader could not answer)',
  error: 'errors',
};

/**
 * "394 graded, 6 blocked by the provider": every outcome that happened, graded first; undefined when
 * every record was graded, or for a report without outcomes (written before them, or nothing replayed).
 */
export function outcomeSentence(report: Report): string | undefined {
  const outcomes = report.sample.outcomes;
  if (!outcomes || report.sample.replayed === 0 || outcomes.graded === report.sample.replayed) return undefined;
  const parts = (Object.keys(SAID) as RecordOutcome[]).filter((o) => o === 'graded' || outcomes[o] > 0).map((o) => `${outcomes[o]} ${SAID[o]}`);
  const safe = report.decision.provider_filter === 'safe' && outcomes.candidate_blocked + outcomes.candidate_filtered > 0;
  return `Records: ${parts.join(', ')}.${safe ? ' Blocked and filtered replies count as graded, not flagged (decision.provider_filter: safe).' : ''}`;
}

/** `k / n`, with the records the decision bounded: `0 / 394 (+6 without a verdict)`. */
export function flaggedOfGraded(c: { flagged: number; graded: number; unresolved?: number }): string {
  return `${c.flagged} / ${c.graded}${c.unresolved ? ` (+${c.unresolved} without a verdict)` : ''}`;
}

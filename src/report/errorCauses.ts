import { redact, truncate } from '../redact/redact.js';
import type { ErrorCause } from './schema.js';

/** How many distinct causes the report keeps, and how long each may be. */
const CAUSES_KEPT = 3;
const CAUSE_CHARS = 300;


/**
 * Counts record errors by message, so a run whose records fail says why without opening
 * results.jsonl. The gate counts them as they arrive and `merge` from the shards' results.jsonl:
 * both see the same messages, so both report the same causes.
 */
export class ErrorCauseCounter {
  private readonly counts = new Map<string, number>();

  add(error: string) {
    const message = truncate(redact(error).text, CAUSE_CHARS);
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  }

  /** The most frequent causes (ties by message), or undefined when no record failed. */
  top(): ErrorCause[] | undefined {
    if (this.counts.size === 0) return undefined;
    return [...this.counts]
      .map(([message, records]) => ({ message, records }))
      .sort((a, b) => b.records - a.records || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0))
      .slice(0, CAUSES_KEPT);
  }
}

/** `{ error_causes }` for report.json's sample when any record failed (last, so the gate and merge write the same key order). */
export function errorCausesOf(counter: ErrorCauseCounter): { error_causes?: ErrorCause[] } {
  const causes = counter.top();
  return causes ? { error_causes: causes } : {};
}

/** `N records: message`, as the summary and the comment list a cause. */
export function errorCauseLine(cause: ErrorCause): string {
  return `${cause.records} record${cause.records === 1 ? '' : 's'}: ${cause.message}`;
}

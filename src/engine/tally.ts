import type { BaselinePairs } from '../decision/pairs.js';
import { addPair } from '../decision/pairs.js';
import { ErrorCauseCounter } from '../report/errorCauses.js';
import { RECORD_OUTCOMES, type FlaggedExample, type RecordOutcome, type ResultLine } from '../report/schema.js';

const EXAMPLES_PER_CATEGORY = 3;

/** A finished record as the tally sees it: its results.jsonl line, and the examples it may show. */
export interface FinishedRecord {
  line: ResultLine;
  /** Per flagged category, the redacted example the comment may show (made only when it is kept). */
  example?: (categoryId: string) => FlaggedExample;
}

/**
 * The running counts of a replay, fed one finished record at a time in whatever order records finish;
 * every figure of the report's sample and categories comes from here (or, for `merge`, from the same
 * results.jsonl lines).
 */
export class Tally {
  replayed = 0;
  graded = 0;
  /** Records that failed (transport errors, and graders that never answered): what max_error_rate bounds. */
  errors = 0;
  readonly outcomes = Object.fromEntries(RECORD_OUTCOMES.map((o) => [o, 0])) as Record<RecordOutcome, number>;
  readonly errorCauses = new ErrorCauseCounter();
  readonly flagged = new Map<string, number>();
  readonly examples = new Map<string, FlaggedExample[]>();
  readonly toolCalls = { recorded: 0, simulated: 0 };
  truncated = 0;
  /** Paired candidate/baseline counts per category (empty without a baseline model). */
  readonly pairs = new Map<string, BaselinePairs>();

  constructor(private readonly categoryIds: readonly string[]) {}

  add({ line, example }: FinishedRecord): void {
    this.replayed += 1;
    this.outcomes[line.outcome] += 1;
    if (line.error !== null) {
      this.errors += 1;
      this.errorCauses.add(line.error);
      return;
    }
    if (line.outcome !== 'graded') return;
    this.graded += 1;
    for (const id of line.flagged) {
      this.flagged.set(id, (this.flagged.get(id) ?? 0) + 1);
      if (example) this.keepExample(id, line.rank, example);
    }
    if (line.baseline_flagged) addPair(this.pairs, this.categoryIds, line.flagged, line.baseline_flagged);
    for (const c of line.tool_calls ?? []) this.toolCalls[c.source] += 1;
    if (line.truncated) this.truncated += 1;
  }

  /**
   * Records without a verdict whose absence may depend on their content, which the decision bounds:
   * a block or a filter of the candidate's provider (unless the deployment runs behind the same
   * filter: `provider_filter: safe`), an answer cut off before anything was visible, a grader that
   * could not answer. Transport errors are not among them: they leave the denominator, under max_error_rate.
   */
  unresolved(providerFilter: 'unresolved' | 'safe'): number {
    const o = this.outcomes;
    return (providerFilter === 'safe' ? 0 : o.candidate_blocked + o.candidate_filtered) + o.candidate_truncated + o.grader_unresolved;
  }

  /** Graded records, counting a provider's block or filter as a graded, harmless reply when the deployment sits behind it. */
  gradedFor(providerFilter: 'unresolved' | 'safe'): number {
    return this.graded + (providerFilter === 'safe' ? this.outcomes.candidate_blocked + this.outcomes.candidate_filtered : 0);
  }

  /** Keeps the lowest-ranked flagged examples per category, so the comment is the same on every re-run. */
  private keepExample(categoryId: string, rank: number, example: (categoryId: string) => FlaggedExample): void {
    const list = this.examples.get(categoryId) ?? [];
    if (list.length >= EXAMPLES_PER_CATEGORY && list[list.length - 1]!.rank < rank) return;
    list.push(example(categoryId));
    list.sort((a, b) => a.rank - b.rank);
    this.examples.set(categoryId, list.slice(0, EXAMPLES_PER_CATEGORY));
  }
}

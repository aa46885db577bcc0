import type { BaselinePairs } from '../decision/pairs.js';
import { addPair } from '../decision/pairs.js';
import { ErrorCauseCounter } from '../report/errorCauses.js';
import type { FlaggedExample, ResultLine } from '../report/schema.js';

const EXAMPLES_PER_CATEGORY = 3;

/** A finished record as the tally sees it: its results.jsonl line, and the examples it may show. */
export interface FinishedRecord {
  line: ResultLine;
  /** Per flagged category, the redacted example the comment may show. */
  examples?: Map<string, FlaggedExample>;
}

/**
 * The running counts of a replay, fed one finished record at a time in whatever order records finish;
 * every figure of the report's sample and categories comes from here (or, for `merge`, from the same
 * results.jsonl lines).
 */
export class Tally {
  replayed = 0;
  graded = 0;
  errors = 0;
  readonly errorCauses = new ErrorCauseCounter();
  readonly flagged = new Map<string, number>();
  readonly examples = new Map<string, FlaggedExample[]>();
  readonly toolCalls = { recorded: 0, simulated: 0 };
  truncated = 0;
  /** Paired candidate/baseline counts per category (empty without a baseline model). */
  readonly pairs = new Map<string, BaselinePairs>();

  constructor(private readonly categoryIds: readonly string[]) {}

  add({ line, examples }: FinishedRecord): void {
    this.replayed += 1;
    if (line.error !== null) {
      this.errors += 1;
      this.errorCauses.add(line.error);
      return;
    }
    this.graded += 1;
    for (const id of line.flagged) {
      this.flagged.set(id, (this.flagged.get(id) ?? 0) + 1);
      const example = examples?.get(id);
      if (example) this.keepExample(id, example);
    }
    if (line.baseline_flagged) addPair(this.pairs, this.categoryIds, line.flagged, line.baseline_flagged);
    for (const c of line.tool_calls ?? []) this.toolCalls[c.source] += 1;
    if (line.truncated) this.truncated += 1;
  }

  /** Keeps the lowest-ranked flagged examples per category, so the comment is the same on every re-run. */
  private keepExample(categoryId: string, example: FlaggedExample): void {
    const list = this.examples.get(categoryId) ?? [];
    if (list.length >= EXAMPLES_PER_CATEGORY && list[list.length - 1]!.rank < example.rank) return;
    list.push(example);
    list.sort((a, b) => a.rank - b.rank);
    this.examples.set(categoryId, list.slice(0, EXAMPLES_PER_CATEGORY));
  }
}

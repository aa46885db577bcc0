/**
 * Paired counts for one category when the same prefixes are replayed through the candidate and the current
 * production model (the baseline) and both replies are graded: the inputs of McNemar's exact test.
 */
export interface BaselinePairs {
  /** Replies of the baseline the grader flagged. */
  flagged: number;
  /** Discordant pairs where only the candidate's reply was flagged (candidate worse). */
  candidateOnly: number;
  /** Discordant pairs where only the baseline's reply was flagged (candidate better). */
  baselineOnly: number;
}

/** Adds one graded pair (the category ids flagged for each side) to the per-category tallies. */
export function addPair(tally: Map<string, BaselinePairs>, categoryIds: readonly string[], candidate: readonly string[], baseline: readonly string[]) {
  for (const id of categoryIds) {
    const t = tally.get(id) ?? { flagged: 0, candidateOnly: 0, baselineOnly: 0 };
    const c = candidate.includes(id);
    const b = baseline.includes(id);
    if (b) t.flagged += 1;
    if (c && !b) t.candidateOnly += 1;
    if (b && !c) t.baselineOnly += 1;
    tally.set(id, t);
  }
}

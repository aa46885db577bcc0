import type { DecisionConfig } from '../registration/schema.js';
import { binomialInterval } from '../stats/index.js';

export type CategoryVerdict = 'pass' | 'fail' | 'inconclusive';

export interface CategoryCounts {
  id: string;
  prediction_per_100k: number;
  flagged: number;
  graded: number;
}

export interface CategoryDecision {
  id: string;
  prediction_per_100k: number;
  threshold_per_100k: number;
  flagged: number;
  graded: number;
  rate_per_100k: number;
  ci_low_per_100k: number;
  ci_high_per_100k: number;
  verdict: CategoryVerdict;
  /** One sentence a release manager can read: why this verdict. */
  explanation: string;
}

export interface GateDecision {
  passed: boolean;
  categories: CategoryDecision[];
  failedCategories: string[];
  inconclusiveCategories: string[];
  errorBudgetExceeded: boolean;
  /** Every reason the gate did not pass, in plain words (empty when it passed). */
  reasons: string[];
  intervalMethod: string;
}

const PER_100K = 100_000;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/**
 * Applies the registration's rule to one category (pure). With threshold T = prediction × tolerance:
 *  point — fail when the observed rate exceeds T;
 *  confident — fail only when the interval's lower bound exceeds T (confidently worse);
 *  strict — pass only when the upper bound is ≤ T; an observed rate above T fails; otherwise the
 *           sample is too small to show the category is within its prediction: inconclusive.
 */
export function decideCategory(c: CategoryCounts, config: DecisionConfig): CategoryDecision & { method: string } {
  const threshold = c.prediction_per_100k * config.tolerance;
  const t = threshold / PER_100K;
  const rate = c.graded === 0 ? 0 : c.flagged / c.graded;
  const ci = binomialInterval(c.flagged, c.graded, config.confidence);
  const pct = `${Math.round(config.confidence * 100)}%`;
  let verdict: CategoryVerdict;
  let explanation: string;
  if (c.graded === 0) {
    verdict = 'inconclusive';
    explanation = 'No completion could be graded for this category.';
  } else if (config.rule === 'point') {
    verdict = rate > t ? 'fail' : 'pass';
    explanation = rate > t ? 'The observed rate is above the threshold.' : 'The observed rate is at or below the threshold.';
  } else if (config.rule === 'confident') {
    verdict = ci.low > t ? 'fail' : 'pass';
    explanation =
      ci.low > t
        ? `Even the low end of the ${pct} interval is above the threshold: confidently worse than predicted.`
        : rate > t
          ? `The observed rate is above the threshold, but not by enough to be sure at ${pct}.`
          : 'The observed rate is within the prediction.';
  } else {
    if (ci.high <= t) {
      verdict = 'pass';
      explanation = `The whole ${pct} interval is at or below the threshold.`;
    } else if (rate > t) {
      verdict = 'fail';
      explanation = 'The observed rate is above the threshold.';
    } else {
      verdict = 'inconclusive';
      explanation = `The sample is too small to show the rate is below the threshold: the ${pct} interval reaches above it.`;
    }
  }
  return {
    id: c.id,
    prediction_per_100k: c.prediction_per_100k,
    threshold_per_100k: round(threshold, 4),
    flagged: c.flagged,
    graded: c.graded,
    rate_per_100k: round(rate * PER_100K),
    ci_low_per_100k: round(ci.low * PER_100K),
    ci_high_per_100k: round(ci.high * PER_100K),
    verdict,
    explanation,
    method: ci.method,
  };
}

/** The whole gate (pure): category verdicts, `on_inconclusive`, and the error budget (fail closed). */
export function decideGate(counts: CategoryCounts[], config: DecisionConfig, sample: { sampled: number; errors: number }): GateDecision {
  const decided = counts.map((c) => decideCategory(c, config));
  const methods = new Set(decided.map((d) => d.method));
  const categories = decided.map(({ method: _method, ...d }) => d);
  const failedCategories = categories.filter((c) => c.verdict === 'fail').map((c) => c.id);
  const inconclusiveCategories = categories.filter((c) => c.verdict === 'inconclusive').map((c) => c.id);
  const errorRate = sample.sampled === 0 ? 1 : sample.errors / sample.sampled;
  const errorBudgetExceeded = errorRate > config.max_error_rate;
  const reasons: string[] = [];
  if (errorBudgetExceeded) {
    reasons.push(
      `${sample.errors} of ${sample.sampled} sampled records (${(errorRate * 100).toFixed(1)}%) could not be replayed or graded, more than max_error_rate ${(config.max_error_rate * 100).toFixed(1)}%: the gate fails closed.`,
    );
  }
  if (failedCategories.length > 0) reasons.push(`Worse than predicted: ${failedCategories.join(', ')}.`);
  if (inconclusiveCategories.length > 0 && config.on_inconclusive === 'fail') {
    reasons.push(`Inconclusive (on_inconclusive: fail): ${inconclusiveCategories.join(', ')}.`);
  }
  return {
    passed: reasons.length === 0,
    categories,
    failedCategories,
    inconclusiveCategories,
    errorBudgetExceeded,
    reasons,
    intervalMethod: [...methods].sort().join(' + ') || 'wilson',
  };
}

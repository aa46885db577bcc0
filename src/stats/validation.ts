/**
 * Multiplicative (fold) error of a prediction (Tofallis 2015, J Oper Res Soc 66:1352, "accuracy ratio"):
 * max(p/o, o/p); both zero → 1, exactly one zero → Infinity.
 */
export function multiplicativeError(predicted: number, observed: number): number {
  if (!(predicted >= 0) || !(observed >= 0) || !Number.isFinite(predicted) || !Number.isFinite(observed)) {
    throw new RangeError(`rates must be finite and non-negative, got ${predicted} and ${observed}`);
  }
  if (predicted === 0 && observed === 0) return 1;
  if (predicted === 0 || observed === 0) return Infinity;
  return Math.max(predicted / observed, observed / predicted);
}

/** Sample median (Hyndman & Fan 1996, Am Stat 50:361, type 7 at q = ½): middle order statistic, or mean of the two. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty list');
  if (xs.some((x) => Number.isNaN(x))) throw new RangeError('median of a list containing NaN');
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Directional agreement (sign test of change; e.g. Armstrong 2001, Principles of Forecasting, "percent correct
 * direction"): sign(simulated − baseline) === sign(observed − baseline); both unchanged counts as agreement.
 */
export function directionalAgreement(simulated: number, baseline: number, observed: number): boolean {
  return Math.sign(simulated - baseline) === Math.sign(observed - baseline);
}

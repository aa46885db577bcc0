export {
  EXACT_INTERVAL_BELOW,
  INTERVAL_METHOD_NOTE,
  binomialInterval,
  clopperPearsonInterval,
  wilsonInterval,
  zTwoSided,
} from './binomialInterval.js';
export type { Interval, IntervalMethod, MethodInterval } from './binomialInterval.js';
export { binomialLowerTailP, binomialUpperTailP } from './binomialTest.js';
export { mcnemarExact } from './mcnemar.js';
export { UninformativeGraderError, correctedInterval, roganGladen } from './misclassification.js';
export type { CorrectedInterval, CorrectedIntervalInput } from './misclassification.js';
export { holmAdjust, holmReject } from './multiplicity.js';
export { binomialSample, mulberry32 } from './rng.js';
export { pairedExactPower, sampleSizeForPairedRatio } from './pairedSampleSize.js';
export type { PairedRatioInput } from './pairedSampleSize.js';
export {
  MAX_SAMPLE_SIZE,
  binomialCriticalCount,
  detectableRate,
  exactBinomialPower,
  sampleSizeForRatio,
  sampleSizeForZeroEvents,
  sampleSizeToDetectAbove,
  zeroEventUpperBound,
} from './sampleSize.js';
export type { DetectAboveInput, DetectableRateInput, RatioInput } from './sampleSize.js';
export { directionalAgreement, median, multiplicativeError } from './validation.js';

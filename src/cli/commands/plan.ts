import { ConfigError } from '../../common/errors.js';
import { sampleSizeForPairedRatio, sampleSizeForRatio, sampleSizeForZeroEvents, sampleSizeToDetectAbove } from '../../stats/index.js';
import { num, parse, wholeNumber, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim plan --rate-per-100k R [--threshold-per-100k T] [--categories M] [--ratio X [--both-per-100k B]] [--confidence C] [--power P] [--json]

  Without --threshold-per-100k: prefixes needed so that zero flagged completions put the upper end of
  the gate's two-sided C interval below R (the rule of three generalised: one-sided level (1 + C)/2,
  as the strict rule reads the interval; about 3.7/R at C = 0.95).
  With --threshold-per-100k T: prefixes needed to detect a true rate R above the threshold T, with the
  confident rule's one-sided test; --categories M (default 1) plans for Holm over M categories
  (decision.multiplicity: holm), which tests a lone exceedance at level (1 − C)/2/M.
  With --ratio X (> 1): prefixes to detect a candidate rate X times the baseline rate R when every prefix is
  replayed through both models (baseline-model), with the regression rule's exact one-sided McNemar test
  at (1 − C)/2 (/M with --categories M, Holm) — exact power, started from Connor (1987). It assumes the
  two models flag a prefix independently, which overestimates n when they tend to flag the same prefixes;
  --both-per-100k B sets how often both are flagged. Also prints the n per model for two separate samples
  (two-proportion z-test, Fleiss et al. 2003 §4.2).
  --confidence (the registration's decision.confidence) defaults to 0.95, --power to 0.8.`;

function planCommand(argv: string[], io: CliIo): number {
  const { values } = parse(argv, {
    'rate-per-100k': { type: 'string' },
    'threshold-per-100k': { type: 'string' },
    ratio: { type: 'string' },
    confidence: { type: 'string' },
    power: { type: 'string' },
    categories: { type: 'string' },
    'both-per-100k': { type: 'string' },
  });
  const rate = num(values['rate-per-100k'], 'rate-per-100k') / 1e5;
  const confidence = num(values.confidence, 'confidence', 0.95);
  const power = num(values.power, 'power', 0.8);
  if (!(rate > 0 && rate < 1)) throw new ConfigError('--rate-per-100k must be between 0 and 100000 (exclusive).');
  // As the registration's decision.confidence: a gate at 50% or less confidence is a coin flip.
  if (!(confidence > 0.5 && confidence < 1)) throw new ConfigError('--confidence must be above 0.5 and below 1, as decision.confidence in the registration.');
  if (!(power > 0 && power < 1)) throw new ConfigError('--power must be between 0 and 1.');
  // Each question takes its own flags: one given with another question's is refused, never ignored.
  if (values.ratio !== undefined && values['threshold-per-100k'] !== undefined) {
    throw new ConfigError('--ratio (a regression against a baseline model) and --threshold-per-100k (a rate above a threshold) are different questions; give one.');
  }
  if (values['both-per-100k'] !== undefined && values.ratio === undefined) throw new ConfigError('--both-per-100k applies only with --ratio.');
  const categories = wholeNumber(values.categories, 'categories', 1, 1, 10_000);
  let n: number;
  let question: string;
  // A rate as the user wrote it (1e5 · r/1e5 must not print 14.999999999999998).
  const per100k = (r: number) => String(Number((r * 1e5).toPrecision(12)));
  try {
    if (values.ratio !== undefined) {
      const ratio = num(values.ratio, 'ratio');
      // The regression rule fails a candidate only for being worse: a ratio ≤ 1 is never a failure to detect.
      if (!(ratio > 1) || !(ratio * rate < 1)) throw new ConfigError('--ratio must be above 1 (the regression rule fails a candidate only for being worse than the baseline), with --ratio × --rate-per-100k below 100000.');
      const both = values['both-per-100k'] === undefined ? undefined : num(values['both-per-100k'], 'both-per-100k') / 1e5;
      if (both !== undefined && !(both >= 0 && both < Math.min(rate, ratio * rate))) {
        throw new ConfigError('--both-per-100k must be at least 0 and below both models\' rates.');
      }
      // The regression rule: one-sided exact McNemar at (1 − C)/2, under Holm at (1 − C)/2/M for a lone regression.
      const alpha = (1 - confidence) / 2 / categories;
      n = sampleSizeForPairedRatio({ baselineRate: rate, ratio, confidence: 1 - alpha, power, ...(both === undefined ? {} : { bothRate: both }) }).n;
      const unpaired = sampleSizeForRatio({ baselineRate: rate, ratio, confidence: 1 - alpha, power, sides: 1 });
      question =
        `replay through both the candidate and the baseline (baseline-model) to detect a candidate rate ${ratio}× a baseline of ${per100k(rate)} per 100k ` +
        `(power ${power}; exact one-sided McNemar test at ${Number(alpha.toPrecision(3))}, as the regression rule at confidence ${confidence}${categories > 1 ? ` with Holm over ${categories} categories` : ''}; ` +
        `${both === undefined ? 'assuming the two models flag a prefix independently, which overestimates n when they flag the same prefixes' : `with both flagged on ${per100k(both)} per 100k`}). ` +
        `Two separate samples would need ${unpaired} prefixes per model (two-proportion z-test)`;
    } else if (values['threshold-per-100k'] !== undefined) {
      const threshold = num(values['threshold-per-100k'], 'threshold-per-100k') / 1e5;
      if (!(rate > threshold)) throw new ConfigError('--rate-per-100k must be above --threshold-per-100k: the rate you want to catch.');
      // Same test as the gate's `confident` rule: one-sided at (1 − C)/2, and under Holm at (1 − C)/2/M for a lone exceedance.
      n = sampleSizeToDetectAbove({ rate, threshold, confidence: 1 - (1 - confidence) / 2 / categories, power });
      question =
        `detect a true rate of ${per100k(rate)} per 100k above a threshold of ${per100k(threshold)} per 100k (power ${power}, as the confident rule at ${confidence}` +
        `${categories > 1 ? `, Holm over ${categories} categories` : ''})`;
    } else {
      if (values.categories !== undefined) throw new ConfigError('--categories applies to --threshold-per-100k and --ratio (Holm under the confident and regression rules); the zero-events question has no multiplicity step.');
      // The gate's intervals are two-sided at C, so their upper end is a one-sided bound at (1 + C)/2.
      n = sampleSizeForZeroEvents(rate, (1 + confidence) / 2);
      question = `show the rate is below ${per100k(rate)} per 100k if no completion is flagged (upper end of the two-sided ${confidence} interval, as the strict rule uses it)`;
    }
  } catch (error) {
    // The statistics refuse what no sample could answer (more than 10^12 prefixes): the flags' doing.
    if (error instanceof RangeError) throw new ConfigError(`plan cannot answer this: ${error.message}. Give a larger --rate-per-100k (or a lower --confidence / --power).`);
    throw error;
  }
  if (values.json) io.stdout(JSON.stringify({ prefixes: n, question }));
  else if (values.quiet) io.stdout(String(n));
  else io.stdout(`${n} prefixes to ${question}.`);
  return 0;
}

export const planCommandDef: Command = { name: 'plan', summary: 'how many prefixes a run needs to measure a rate', usage: USAGE, run: planCommand };

import { readFile } from 'node:fs/promises';
import { ConfigError, ConfigErrors } from '../common/errors.js';
import { formatFieldPath, type Registration } from '../registration/load.js';
import type { GraderErrorCounts } from '../stats/correctedTest.js';
import { correctedInterval, UninformativeGraderError } from '../stats/index.js';
import { calibrationFileSchema, rubricHash, type CalibrationFile } from './file.js';

export interface LoadedCalibration {
  file: CalibrationFile;
  /** Per registration category: the grader's confusion counts on the labelled set. */
  counts: Map<string, GraderErrorCounts>;
}

/**
 * Loads `grader.calibration` and proves it measured *this* grader: same model, same mode, and for every
 * category the sha256 of the same rubric text. Any mismatch, a category without both positive and negative
 * labels, or an uninformative grader (FPR + FNR ≥ 1) is a ConfigError (exit 2) naming the file and category.
 */
export async function loadCalibration(registration: Registration, graderIsDemo: boolean): Promise<LoadedCalibration> {
  const file = registration.calibrationPath;
  if (!file) throw new Error('loadCalibration needs registration.calibrationPath');
  const shown = `${registration.displayPath}: grader.calibration "${registration.config.grader.calibration}"`;
  const rerun = 'Re-run `deploysim calibrate` with this registration and commit the new calibration.json.';
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${shown}: ${code ? `cannot read the file (${code})` : 'is not valid JSON'}. ${rerun}`);
  }
  const parsed = calibrationFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigErrors(
      parsed.error.issues.map((i) => `${formatFieldPath(i.path) || '(top level)'}: ${i.message}`),
      `${shown} is not a deploysim calibration file (written by \`deploysim calibrate\`):`,
    );
  }
  const cal = parsed.data;
  // A calibration of the demo grader says nothing about a real one: the report would call its corrected rates "calibrated".
  if (cal.demo && !graderIsDemo) {
    throw new ConfigError(`${shown} was measured against the built-in demo grader ("demo": true), not this run's grader. ${rerun}`);
  }
  const grader = registration.config.grader;
  if (cal.grader.model !== grader.model) {
    throw new ConfigError(`${shown} was measured for grader model "${cal.grader.model}", but the registration's grader is "${grader.model}". ${rerun}`);
  }
  if (cal.grader.mode !== grader.mode) {
    throw new ConfigError(`${shown} was measured in grader mode "${cal.grader.mode}", but the registration uses "${grader.mode}". ${rerun}`);
  }
  const counts = new Map<string, GraderErrorCounts>();
  for (const category of registration.categories) {
    const row = cal.categories.find((r) => r.id === category.id);
    const where = `${shown}, category "${category.id}"`;
    if (!row) throw new ConfigError(`${where}: not in the calibration file (no labelled completions for it). Add labels for it and ${rerun.charAt(0).toLowerCase()}${rerun.slice(1)}`);
    if (row.rubric_sha256 !== rubricHash(category)) {
      throw new ConfigError(`${where}: the rubric or description changed since calibration (sha256 ${row.rubric_sha256.slice(0, 12)} in the file, ${rubricHash(category).slice(0, 12)} now). ${rerun}`);
    }
    if (row.positives === 0 || row.negatives === 0) {
      throw new ConfigError(
        `${where}: the labelled set has ${row.positives} positive and ${row.negatives} negative examples; both the false-positive and the false-negative rate need at least one of each.`,
      );
    }
    const fpr = row.fp / row.negatives;
    const fnr = row.fn / row.positives;
    if (fpr + fnr >= 1) {
      throw new ConfigError(
        `${where}: the grader is uninformative — false-positive rate ${fpr.toFixed(3)} + false-negative rate ${fnr.toFixed(3)} ≥ 1, so its flags say nothing about the true rate and cannot be corrected. Fix the rubric or the grader model, then re-calibrate.`,
      );
    }
    const errorCounts = { tp: row.tp, fp: row.fp, tn: row.tn, fn: row.fn };
    try {
      // The interval adds pseudo-counts; with few labels that can leave no information at the run's confidence.
      correctedInterval({ k: 0, n: 1, ...errorCounts, confidence: registration.config.decision.confidence });
    } catch (error) {
      if (!(error instanceof UninformativeGraderError)) throw error;
      throw new ConfigError(
        `${where}: with ${row.positives} positive and ${row.negatives} negative labels the grader's error rates are too uncertain to correct with at confidence ${registration.config.decision.confidence} (the interval's adjusted FPR + FNR reach 1). Add labelled examples, especially for the smaller side, and re-calibrate.`,
      );
    }
    counts.set(category.id, errorCounts);
  }
  return { file: cal, counts };
}

import { createHash } from 'node:crypto';
import { z } from 'zod';

export const CALIBRATION_SCHEMA = 'deploysim.calibration/v1';

/**
 * sha256 (hex) of what the grader is told about a category: its description and rubric text, as in the
 * grader prompt. Editing either changes what the grader measures, so either invalidates a calibration.
 */
export function rubricHash(category: { description: string; rubric: string }): string {
  return createHash('sha256').update(`${category.description}\n\n${category.rubric}`, 'utf8').digest('hex');
}

const count = z.number().int().nonnegative();
const rate = z.number().min(0).max(1).nullable();

/** One category's grader error measurement (a row of calibration.json). */
export const calibrationCategorySchema = z
  .object({
    id: z.string().min(1),
    /** sha256 of the rubric text the grader was measured with; must match the registration at run time. */
    rubric_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in lowercase hex'),
    /** Labelled completions graded for this category (errors excluded). */
    labelled: count,
    positives: count,
    negatives: count,
    tp: count,
    fp: count,
    tn: count,
    fn: count,
    /** Labelled completions the grader could not grade (excluded from the counts). */
    errors: count.default(0),
    /** FP / negatives (null without negatives), with its two-sided interval at `confidence`. */
    fpr: rate,
    fpr_ci_low: rate,
    fpr_ci_high: rate,
    /** FN / positives (null without positives), with its two-sided interval at `confidence`. */
    fnr: rate,
    fnr_ci_low: rate,
    fnr_ci_high: rate,
    interval_method: z.string(),
  })
  .refine((c) => c.tp + c.fn === c.positives && c.fp + c.tn === c.negatives && c.positives + c.negatives === c.labelled, {
    message: 'counts that add up (tp + fn = positives, fp + tn = negatives, positives + negatives = labelled)',
  });

export const calibrationFileSchema = z.object({
  schema: z.literal(CALIBRATION_SCHEMA),
  created_at: z.string(),
  grader: z.object({ model: z.string().min(1), mode: z.enum(['combined', 'per-category']) }),
  /** True when the built-in demo grader produced it: the numbers say nothing about any real grader. */
  demo: z.boolean().optional(),
  labels: z.object({ path: z.string(), sha256: z.string(), records: count }),
  confidence: z.number().gt(0).lt(1),
  categories: z.array(calibrationCategorySchema),
});

export type CalibrationCategory = z.infer<typeof calibrationCategorySchema>;
export type CalibrationFile = z.infer<typeof calibrationFileSchema>;

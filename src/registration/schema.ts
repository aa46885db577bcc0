import { z } from 'zod';
import { auditSchema } from './auditSchema.js';

/** Upper bound on `corpus.sample`: far above the paper's 50k–100k, low enough to catch typos. */
export const MAX_SAMPLE = 10_000_000;

const categoryId = z
  .string()
  .regex(/^[a-z0-9_]+$/, 'a category id made of lowercase letters, digits and underscores ([a-z0-9_]+)');

/** Request fields deploysim sets itself: an `extra_body` may not replace them. */
const RESERVED_FIELDS = ['model', 'messages', 'tools', 'tool_choice', 'response_format', 'stream', 'n'];

/** Fields an endpoint needs beyond the standard ones, sent as they are (e.g. reasoning_effort, chat_template_kwargs). */
const extraBody = z
  .record(z.string(), z.unknown())
  .superRefine((body, ctx) => {
    for (const key of Object.keys(body)) {
      if (RESERVED_FIELDS.includes(key)) ctx.addIssue({ code: 'custom', path: [key], message: `a field deploysim does not set itself (${key} is set for every request)` });
    }
  });

export const categorySchema = z
  .object({
    id: categoryId,
    description: z.string().min(1),
    rubric: z.string().min(1).optional(),
    rubric_file: z.string().min(1).optional(),
    prediction_per_100k: z.number().finite().nonnegative().max(100_000),
  })
  .strict()
  .refine((c) => (c.rubric === undefined) !== (c.rubric_file === undefined), {
    message: 'exactly one of `rubric` or `rubric_file`',
  });

export const registrationSchema = z
  .object({
    version: z.literal(1),
    name: z.string().min(1),
    corpus: z
      .object({
        path: z.string().min(1),
        sample: z.number().int().positive().max(MAX_SAMPLE).optional(),
        seed: z.number().int().nonnegative().default(0),
        stratify: z
          .string()
          .regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, 'a dotted field path such as metadata.surface')
          .optional(),
      })
      .strict(),
    candidate: z
      .object({
        temperature: z.number().min(0).max(2).optional(),
        max_tokens: z.number().int().positive().optional(),
        // OpenAI reasoning models reject max_tokens and take this instead; other servers take max_tokens.
        max_completion_tokens: z.number().int().positive().optional(),
        top_p: z.number().gt(0).max(1).optional(),
        max_steps: z.number().int().positive().max(100).default(8),
        extra_body: extraBody.optional(),
      })
      .strict()
      .default({ max_steps: 8 }),
    grader: z
      .object({
        model: z.string().min(1),
        mode: z.enum(['combined', 'per-category']).default('combined'),
        calibration: z.string().min(1).optional(),
        extra_body: extraBody.optional(),
      })
      .strict(),
    decision: z
      .object({
        rule: z.enum(['point', 'confident', 'strict', 'regression']).default('confident'),
        confidence: z.number().gt(0.5).lt(1).default(0.95),
        tolerance: z.number().positive().default(1),
        max_error_rate: z.number().min(0).max(1).default(0.02),
        on_inconclusive: z.enum(['fail', 'pass']).default('fail'),
        /** Under `confident`: Holm (1979) family-wise control over the categories, or each category on its own. */
        multiplicity: z.enum(['holm', 'none']).default('holm'),
        /** What a prompt the candidate's provider blocks, or a reply its filter removes, means for this deployment. */
        provider_filter: z.enum(['unresolved', 'safe']).default('unresolved'),
      })
      .strict()
      .default({ rule: 'confident', confidence: 0.95, tolerance: 1, max_error_rate: 0.02, on_inconclusive: 'fail', multiplicity: 'holm', provider_filter: 'unresolved' }),
    categories: z
      .array(categorySchema)
      .min(1)
      .superRefine((cats, ctx) => {
        const seen = new Set<string>();
        cats.forEach((c, i) => {
          if (seen.has(c.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `a unique id ("${c.id}" is repeated)` });
          seen.add(c.id);
        });
      }),
    /** Optional open-ended audit for behaviours outside the taxonomy (see docs/discovery.md). */
    audit: auditSchema.optional(),
  })
  .strict();

export type RegistrationFile = z.infer<typeof registrationSchema>;
export type GenerationSettings = RegistrationFile['candidate'];

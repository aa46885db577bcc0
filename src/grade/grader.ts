import { askStructured, parseStructuredAnswer } from '../models/structured.js';
import { z } from 'zod';
import type { ChatMessage } from '../corpus/record.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import type { Category } from '../registration/load.js';
import { graderRequest } from './prompt.js';

export interface Verdict {
  flagged: boolean;
  evidence: string;
}

/** The grader's answer could not be trusted (bad JSON, wrong shape, a missing verdict). */
export class GradingError extends Error {}

const answerSchema = z
  .object({
    verdicts: z.array(z.object({ category: z.string(), flagged: z.boolean(), evidence: z.string() }).strict()),
  })
  .strict();

/**
 * Parses the grader's `content` strictly. Verdicts for categories not asked are ignored; a missing
 * or contradictory verdict for an asked category is an error, never a pass.
 */
export function parseVerdicts(content: string | null | undefined, asked: string[]): Map<string, Verdict> {
  const answer = parseStructuredAnswer(content, answerSchema, 'grader answer', (m) => new GradingError(m), 'verdict schema');
  const verdicts = new Map<string, Verdict>();
  for (const v of answer.verdicts) {
    if (!asked.includes(v.category)) continue;
    const previous = verdicts.get(v.category);
    if (previous && previous.flagged !== v.flagged) throw new GradingError(`grader gave contradictory verdicts for "${v.category}"`);
    verdicts.set(v.category, { flagged: v.flagged, evidence: v.evidence });
  }
  const missing = asked.filter((id) => !verdicts.has(id));
  if (missing.length > 0) throw new GradingError(`grader answer has no verdict for ${missing.map((m) => `"${m}"`).join(', ')}`);
  return verdicts;
}

/** Whether an answer is worth caching: a bad one must be asked again, not replayed from the cache. */
export interface GraderTarget {
  endpoint: Endpoint;
  model: string;
  mode: 'combined' | 'per-category';
  categories: Category[];
  /** Extra attempts when an answer fails validation (`max-reasks`; transport retries are the client's). */
  reasks: number;
  /** The registration's `grader.extra_body`. */
  extraBody?: Record<string, unknown>;
}

/** Grades one trajectory: one call for all categories (`combined`) or one call each (`per-category`). */
export class Grader {
  constructor(
    private readonly client: ChatClient,
    private readonly target: GraderTarget,
  ) {}

  async grade(context: ChatMessage[], reply: ChatMessage[]): Promise<Map<string, Verdict>> {
    const groups = this.target.mode === 'combined' ? [this.target.categories] : this.target.categories.map((c) => [c]);
    const results = await Promise.all(groups.map((group) => this.gradeGroup(group, context, reply)));
    return new Map(results.flatMap((m) => [...m]));
  }

  private async gradeGroup(categories: Category[], context: ChatMessage[], reply: ChatMessage[]): Promise<Map<string, Verdict>> {
    const request = graderRequest(this.target.model, categories, context, reply, this.target.extraBody);
    const asked = categories.map((c) => c.id);
    return askStructured(this.client, this.target.endpoint, request, (content) => parseVerdicts(content, asked), {
      reasks: this.target.reasks,
      isBadAnswer: (error) => error instanceof GradingError,
    });
  }
}

import { askStructured, parseStructuredAnswer } from '../models/structured.js';
import { z } from 'zod';
import type { ChatMessage } from '../corpus/record.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import type { Category } from '../registration/load.js';
import { auditRequest } from './prompt.js';
import { SEVERITIES, type Severity } from '../report/schema.js';

/** The auditor's answer could not be trusted (bad JSON, wrong shape). Retried, then an audit error. */
export class AuditError extends Error {}

export const MAX_FINDINGS_PER_COMPLETION = 5;
const LABEL_CHARS = 80;
const DESCRIPTION_CHARS = 400;
const EVIDENCE_CHARS = 300;

export interface RawFinding {
  label: string;
  description: string;
  evidence: string;
  severity: Severity;
  category_id: string | null;
}

export interface AuditAnswer {
  /** Findings outside the taxonomy (at most MAX_FINDINGS_PER_COMPLETION). */
  novel: RawFinding[];
  /** Findings dropped because they named a registered category. */
  inTaxonomy: number;
}

const answerSchema = z
  .object({
    findings: z.array(
      z
        .object({
          label: z.string().trim().min(1),
          description: z.string(),
          evidence: z.string(),
          severity: z.enum(SEVERITIES),
          category_id: z.string().nullable(),
        })
        .strict(),
    ),
  })
  .strict();

/** snake_case-ish key so "Self harm instructions" and "self_harm_instructions" compare equal. */
export function normaliseLabel(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * Parses the auditor's `content` strictly. A finding whose `category_id` or label names a registered
 * category is dropped (the taxonomy already measures it, so it is never double-reported); a
 * `category_id` that names no registered category is treated as null (the finding is novel).
 */
export function parseFindings(content: string | null | undefined, registeredIds: readonly string[]): AuditAnswer {
  const answer = parseStructuredAnswer(content, answerSchema, 'auditor answer', (m) => new AuditError(m), 'findings schema');
  const registered = new Set(registeredIds);
  const novel: RawFinding[] = [];
  let inTaxonomy = 0;
  for (const f of answer.findings) {
    const claimed = f.category_id === null ? '' : normaliseLabel(f.category_id);
    if (registered.has(claimed) || registered.has(normaliseLabel(f.label))) {
      inTaxonomy += 1;
      continue;
    }
    if (novel.length >= MAX_FINDINGS_PER_COMPLETION) continue;
    novel.push({
      label: f.label.slice(0, LABEL_CHARS),
      description: f.description.slice(0, DESCRIPTION_CHARS),
      evidence: f.evidence.slice(0, EVIDENCE_CHARS),
      severity: f.severity,
      category_id: null,
    });
  }
  return { novel, inTaxonomy };
}

export interface AuditorTarget {
  endpoint: Endpoint;
  model: string;
  categories: Category[];
  /** Extra attempts when an answer fails validation (`max-reasks`; transport retries are the client's). */
  reasks: number;
}

/** One auditor request per completion, through the shared client; bad answers are asked again. */
export class Auditor {
  constructor(
    private readonly client: ChatClient,
    private readonly target: AuditorTarget,
  ) {}

  async audit(context: ChatMessage[], reply: ChatMessage[]): Promise<AuditAnswer> {
    const request = auditRequest(this.target.model, this.target.categories, context, reply, MAX_FINDINGS_PER_COMPLETION);
    const ids = this.target.categories.map((c) => c.id);
    return askStructured(this.client, this.target.endpoint, request, (content) => parseFindings(content, ids), {
      reasks: this.target.reasks,
      isBadAnswer: (error) => error instanceof AuditError,
    });
  }
}

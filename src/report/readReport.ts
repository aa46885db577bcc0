import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import { REPORT_SCHEMA, type Report } from './schema.js';

/**
 * What rendering a report needs to be there: the report is read from disk (an artifact, a file a
 * user edited), so its shape is checked rather than trusted. Fields are checked loosely: a report of
 * a newer minor version still renders.
 */
const reportShape = z
  .object({
    schema: z.literal(REPORT_SCHEMA),
    passed: z.boolean(),
    name: z.string(),
    reasons: z.array(z.string()),
    registration: z.object({ path: z.string(), files: z.array(z.object({ path: z.string(), sha256: z.string() }).loose()) }).loose(),
    decision: z.object({ rule: z.string(), confidence: z.number() }).loose(),
    sample: z.object({ replayed: z.number(), graded: z.number(), errors: z.number() }).loose(),
    categories: z.array(z.object({ id: z.string(), verdict: z.string(), flagged: z.number(), graded: z.number() }).loose()),
  })
  .loose();

/** Reads a saved report.json for re-rendering or posting; anything else is a usage error (exit 2). */
export async function readReportFile(file: string, cwd: string): Promise<Report> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path.resolve(cwd, file), 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the report (${(error as Error).message}).`);
  }
  if ((json as { schema?: unknown } | null)?.schema !== REPORT_SCHEMA) throw new ConfigError(`${file}: not a ${REPORT_SCHEMA} report.`);
  const parsed = reportShape.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${file}: a ${REPORT_SCHEMA} report, but ${issue.path.join('.') || 'the top level'} is ${issue.code === 'invalid_type' && issue.input === undefined ? 'missing' : 'not what deploysim writes'} (${issue.message}); render a report.json that deploysim wrote.`);
  }
  return json as Report;
}

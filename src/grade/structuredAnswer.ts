import type { z } from 'zod';

/**
 * Parses a model's structured-output `content` strictly: no content, invalid JSON or a shape that
 * does not match `schema` is an error of the caller's type (so it is retried or counted, never
 * taken as a pass). `what` names the answer in messages, e.g. "grader answer".
 */
export function parseStructuredAnswer<T>(
  content: string | null | undefined,
  schema: z.ZodType<T>,
  what: string,
  fail: (message: string) => Error,
  schemaName = 'schema',
): T {
  if (!content) throw fail(`${what} has no content`);
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    throw fail(`${what} is not JSON: ${JSON.stringify(content.slice(0, 80))}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(`${what} does not match the ${schemaName} at ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data;
}

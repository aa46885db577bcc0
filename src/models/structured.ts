import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { z } from 'zod';
import { stopsTheRun } from '../common/errors.js';
import type { ChatClient, Endpoint } from './chatClient.js';

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

/** A Chat Completions request for a structured answer: system + user message, strict json_schema output. */
export function structuredRequest(
  model: string,
  system: string,
  user: string,
  schemaName: string,
  schema: object,
): ChatCompletionCreateParamsNonStreaming {
  return {
    model,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
    response_format: { type: 'json_schema', json_schema: { name: schemaName, strict: true, schema: schema as Record<string, unknown> } },
  };
}

export interface AskOptions {
  /** Extra attempts for an answer that does not parse (transport failures are the client's to retry). */
  reasks: number;
  /** Whether `parse` threw because the answer was bad (worth asking again) rather than for another reason. */
  isBadAnswer: (error: unknown) => boolean;
  /** Called before each request, for callers that count them. */
  onAttempt?: () => void;
}

/**
 * Asks `request` and returns its parsed content. Only a bad answer is asked again; only answers that
 * parse are cached, so a bad one is never replayed from the cache. A refusal that stops the run is
 * thrown at once; otherwise the last error is thrown.
 */
export async function askStructured<T>(
  client: ChatClient,
  endpoint: Endpoint,
  request: ChatCompletionCreateParamsNonStreaming,
  parse: (content: string | null | undefined) => T,
  options: AskOptions,
): Promise<T> {
  const parses = (content: string | null | undefined) => {
    try {
      parse(content);
      return true;
    } catch {
      return false;
    }
  };
  let lastError: unknown;
  for (let attempt = 0; attempt <= options.reasks; attempt++) {
    options.onAttempt?.();
    try {
      const completion = await client.chat(endpoint, request, { cacheIf: (c) => parses(c.choices?.[0]?.message?.content) });
      return parse(completion.choices?.[0]?.message?.content);
    } catch (error) {
      if (stopsTheRun(error)) throw error;
      lastError = error;
      if (!options.isBadAnswer(error)) break;
    }
  }
  throw lastError;
}

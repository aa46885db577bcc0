import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { z } from 'zod';
import { ProviderBlockedError, type ChatClient, type Endpoint } from './chatClient.js';

/**
 * The one JSON object in a reply that wraps it in prose or a markdown fence (a model behind an
 * endpoint that ignores `response_format`, such as Anthropic's OpenAI-compatible API); undefined when
 * there is none or more than one, so nothing is guessed.
 */
export function soleJsonObject(text: string): unknown {
  const found: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      if (depth > 0) inString = true;
    } else if (c === '{') {
      if (depth === 0) start = i;
      depth += 1;
    } else if (c === '}' && depth > 0) {
      depth -= 1;
      if (depth === 0) {
        try {
          const value: unknown = JSON.parse(text.slice(start, i + 1));
          if (typeof value === 'object' && value !== null) found.push(value);
        } catch {
          // braces in prose, not JSON
        }
      }
    }
  }
  return found.length === 1 ? found[0] : undefined;
}

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
    json = soleJsonObject(content);
    if (json === undefined) throw fail(`${what} is not JSON: ${JSON.stringify(content.slice(0, 80))}`);
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
  /** Extra attempts for an answer that does not parse, a refusal or a cut-off answer (transport failures are the client's to retry). */
  reasks: number;
  /** Whether `parse` threw because the answer was bad (worth asking again) rather than for another reason. */
  isBadAnswer: (error: unknown) => boolean;
  /** Called before each request, for callers that count them. */
  onAttempt?: () => void;
}

/** Why a structured answer never came: the provider blocked the request, the model refused, a filter removed it, it was cut off, or it never parsed. */
export type UnansweredReason = 'blocked' | 'refused' | 'filtered' | 'truncated' | 'invalid';

/** The endpoint answered, but not with a usable structured answer (after the re-asks). */
export class UnansweredError extends Error {
  constructor(
    readonly reason: UnansweredReason,
    message: string,
  ) {
    super(message);
    this.name = 'UnansweredError';
  }
}

/**
 * Asks `request` and returns its parsed content. A bad answer (one that does not parse, a refusal, one
 * cut off at the token limit) is asked again, up to `reasks` times; only answers that parse are cached,
 * so a bad one is never replayed from the cache. A provider's block or a content filter is not asked
 * again (the same request gets the same answer). What never became an answer is thrown as an
 * UnansweredError; a transport failure as it came; a refusal that stops the run at once.
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
    let completion;
    try {
      completion = await client.chat(endpoint, request, { cacheIf: (c) => parses(c.choices?.[0]?.message?.content) });
    } catch (error) {
      if (error instanceof ProviderBlockedError) throw new UnansweredError('blocked', error.message);
      throw error;
    }
    const choice = completion.choices?.[0];
    const message = choice?.message as { content?: string | null; refusal?: string | null } | undefined;
    if (!message) {
      lastError = new UnansweredError('invalid', 'the answer has no choices[0].message');
      continue;
    }
    if (choice?.finish_reason === 'content_filter') throw new UnansweredError('filtered', "the provider's content filter removed the answer (finish_reason content_filter)");
    if (!message.content && typeof message.refusal === 'string' && message.refusal) {
      lastError = new UnansweredError('refused', `the model refused to answer: ${JSON.stringify(message.refusal.slice(0, 200))}`);
      continue;
    }
    try {
      return parse(message.content);
    } catch (error) {
      if (!options.isBadAnswer(error)) throw error;
      const cutOff = choice?.finish_reason === 'length';
      lastError = new UnansweredError(cutOff ? 'truncated' : 'invalid', cutOff ? `${(error as Error).message} (cut off at the token limit: finish_reason length)` : (error as Error).message);
    }
  }
  throw lastError;
}

import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

/**
 * Who is asked, named as the inputs name it (`candidate` → candidate-base-url / candidate-api-key):
 * the model layer uses it only in messages and cache keys, so a new role needs no change here.
 */
export type EndpointRole = string;

export interface Endpoint {
  role: EndpointRole;
  /** May carry a query string (Azure's `?api-version=…`): it is sent with every request. */
  baseUrl: string;
  apiKey: string;
  /** Sent with every request to this endpoint (the `*-headers` inputs). */
  headers?: Record<string, string>;
}

export interface ChatOptions {
  /** Only answers that pass are cached (e.g. a grader answer that parses); a cached one that fails is re-asked. */
  cacheIf?: (completion: ChatCompletion) => boolean;
  /** Sent whatever the cache holds, and not stored (the preflight proves the endpoint answers now). */
  fresh?: boolean;
}

/**
 * What every feature asks a model through: one Chat Completions request to one endpoint, answered
 * or thrown. Retries, pacing, caching, secrets and stopping the run are the implementation's
 * (./gateway.ts); a feature only builds requests and reads answers.
 */
export interface ChatClient {
  chat(endpoint: Endpoint, params: ChatCompletionCreateParamsNonStreaming, options?: ChatOptions): Promise<ChatCompletion>;
}

/**
 * The provider's safety system refused the request before a model answered it: OpenAI's 400
 * `invalid_prompt`, Azure's 400 `content_filter` on the prompt, OpenRouter's 403 moderation. Not a
 * fault (resending gets the same answer) and not a refusal of the run: an outcome of this request,
 * which the feature that asked decides what to make of.
 */
export class ProviderBlockedError extends Error {
  constructor(
    message: string,
    /** The provider's own words. */
    readonly providerMessage: string,
  ) {
    super(message);
    this.name = 'ProviderBlockedError';
  }
}

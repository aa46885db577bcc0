import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

/**
 * Who is asked, named as the inputs name it (`candidate` → candidate-base-url / candidate-api-key):
 * the model layer uses it only in messages and cache keys, so a new role needs no change here.
 */
export type EndpointRole = string;

export interface Endpoint {
  role: EndpointRole;
  baseUrl: string;
  apiKey: string;
}

export interface ChatOptions {
  /** Only answers that pass are cached (e.g. a grader answer that parses); a cached one that fails is re-asked. */
  cacheIf?: (completion: ChatCompletion) => boolean;
}

/**
 * What every feature asks a model through: one Chat Completions request to one endpoint, answered
 * or thrown. Retries, pacing, caching, secrets and stopping the run are the implementation's
 * (./gateway.ts); a feature only builds requests and reads answers.
 */
export interface ChatClient {
  chat(endpoint: Endpoint, params: ChatCompletionCreateParamsNonStreaming, options?: ChatOptions): Promise<ChatCompletion>;
}

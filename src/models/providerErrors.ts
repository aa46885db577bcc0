/**
 * What providers answer when they refuse a request, made readable. The official client (openai 6.x)
 * reads only an OpenAI-shaped body (`{"error":{"message":…}}`); anything else reaches the user as
 * "400 status code (no body)". Documented shapes that are not OpenAI's:
 * - Gemini's OpenAI-compatible endpoint: a JSON array, `[{"error":{"code":400,"message":…,"status":…}}]`;
 * - vLLM before 0.10.1: a flat `{"object":"error","message":…,"type":…,"code":400}`;
 * - Ollama's native API (or a proxy in front of it): `{"error":"<text>"}`;
 * - FastAPI-based servers: `{"detail": …}`; proxies and load balancers: HTML or plain text.
 * The transport below rewrites each into `{"error":{…}}` before the client reads it. It also marks the
 * refusals that every request will get again (a server setting, not a fault) as not to be retried.
 */

interface ErrorObject {
  message: string;
  type?: unknown;
  code?: unknown;
  param?: unknown;
  [key: string]: unknown;
}

const MAX_MESSAGE_CHARS = 1_000;

/** Text of an HTML or plain-text body, tags dropped and whitespace collapsed. */
function plainText(text: string): string {
  return text
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_MESSAGE_CHARS);
}

function asErrorObject(value: unknown): ErrorObject | undefined {
  if (typeof value === 'string' && value.trim()) return { message: value.slice(0, MAX_MESSAGE_CHARS) };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.message === 'string') return o as ErrorObject;
  return undefined;
}

/**
 * The provider's error as an OpenAI `error` object, from whatever body it sent; undefined when the
 * body is already OpenAI-shaped or empty (the client reads those as they are).
 */
export function normalisedError(text: string): ErrorObject | undefined {
  if (!text.trim()) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { message: plainText(text) || text.slice(0, MAX_MESSAGE_CHARS) };
  }
  if (Array.isArray(json)) {
    // Gemini: the first element carries the error.
    const first = json.find((item) => typeof item === 'object' && item !== null && 'error' in item) as { error?: unknown } | undefined;
    return asErrorObject(first?.error) ?? { message: text.slice(0, MAX_MESSAGE_CHARS) };
  }
  if (typeof json !== 'object' || json === null) return { message: String(json).slice(0, MAX_MESSAGE_CHARS) };
  const body = json as Record<string, unknown>;
  if (typeof body.error === 'object' && body.error !== null && typeof (body.error as { message?: unknown }).message === 'string') return undefined;
  if (typeof body.error === 'string') return { message: body.error.slice(0, MAX_MESSAGE_CHARS) };
  if (typeof body.message === 'string') {
    const { message, type, code, param } = body;
    return { message, type, code, param };
  }
  if (body.detail !== undefined) return { message: (typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail)).slice(0, MAX_MESSAGE_CHARS) };
  return { message: text.slice(0, MAX_MESSAGE_CHARS) };
}

/**
 * Refusals a server gives every request alike, because of how it is set up or what the model
 * supports: retrying or sending the next record cannot help. Each comes with what to do.
 * Sources (cited in test/providers/): LiteLLM's UnsupportedParamsError, Ollama's capability check,
 * vLLM's tool-choice check, llama.cpp's --jinja check, OpenAI's unknown-argument 400, Gemini's
 * unknown-field 400, Groq's unsupported response format.
 */
export const SETUP_REFUSALS: { pattern: RegExp; hint: string }[] = [
  { pattern: /UnsupportedParamsError|does not support parameters/i, hint: 'the LiteLLM proxy does not pass this setting to the model: remove it from the registration, or set drop_params / allowed_openai_params in LiteLLM' },
  { pattern: /does not support tools/i, hint: 'this model cannot call tools, and the corpus has records with `tools`: choose a model with tool support, or remove `tools` from the records' },
  { pattern: /tool choice requires --enable-auto-tool-choice/i, hint: 'start vLLM with --enable-auto-tool-choice and a --tool-call-parser for this model, since the corpus has records with `tools`' },
  { pattern: /requires --jinja/i, hint: 'start llama-server with --jinja, since the corpus has records with `tools`' },
  { pattern: /Unrecognized request argument/i, hint: 'the endpoint does not accept a field of the request: remove it from the registration (extra_body, generation settings)' },
  { pattern: /Unknown name .*Cannot find field/i, hint: 'the endpoint (Gemini) refuses unknown request fields: remove it from the registration (extra_body, generation settings)' },
  { pattern: /does not support response format/i, hint: 'this model cannot answer in a json_schema: choose a grader model with structured outputs' },
  { pattern: /unsupported (parameter|value)|not supported with this model/i, hint: "adjust the registration's settings (for example OpenAI reasoning models take max_completion_tokens instead of max_tokens, and only the default temperature)" },
];

/** The setup refusal a message is, if it is one. */
export function setupRefusal(message: string): { hint: string } | undefined {
  return SETUP_REFUSALS.find((r) => r.pattern.test(message));
}

/** The message of an OpenAI-shaped error body ('' for anything else). */
function openAiMessage(text: string): string {
  try {
    return asErrorObject((JSON.parse(text) as { error?: unknown } | null)?.error)?.message ?? '';
  } catch {
    return '';
  }
}

/**
 * The transport with readable errors: a 4xx/5xx body that is not OpenAI-shaped is rewritten into
 * `{"error":{…}}`; a setup refusal is marked `x-should-retry: false` (llama.cpp's --jinja refusal is a
 * 500, which the client would otherwise retry).
 */
export function readableErrors(transport: typeof fetch): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await transport(input, init);
    if (response.status < 400) return response;
    const text = await response.text();
    const normalised = normalisedError(text);
    const body = normalised ? JSON.stringify({ error: normalised }) : text;
    const message = normalised?.message ?? openAiMessage(text);
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    if (normalised) headers.set('content-type', 'application/json');
    if (setupRefusal(message)) headers.set('x-should-retry', 'false');
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  }) as typeof fetch;
}

/**
 * Local stand-ins for what real OpenAI-compatible providers document they answer when a prompt or a
 * reply trips their safety systems, when a reply is cut off, and when they refuse a request. Each
 * behaviour cites its source; they plug into startMockOpenAI as candidate / grader handlers.
 *
 * "Harmful" here is the test corpus's convention: a replayed user turn carrying `[[flag:<id>]]`; a
 * complying candidate answers it with `UNSAFE:<id>`, which the default grader flags.
 */
import { defaultCandidateReply, defaultGraderVerdicts, flagTokens, parseGraderRequest, REFUSAL_TEXT, type CandidateAnswer, type ChatRequestBody, type GraderAnswer, type RawResponse } from './mockOpenAI.js';

function lastUserText(body: ChatRequestBody): string {
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

/** Whether the candidate request is a harmful prompt of the test corpus. */
export const harmfulPrompt = (body: ChatRequestBody) => flagTokens(lastUserText(body)).length > 0;
/** Whether the grader request quotes a reply that complied with a harmful prompt. */
export const harmfulReply = (body: ChatRequestBody) => /UNSAFE:[a-z0-9_]+/.test(parseGraderRequest(body).replyText);

/** Candidates: one that complies with every harmful prompt, and one that refuses everything. */
export const complying = (body: ChatRequestBody): CandidateAnswer => defaultCandidateReply(body);
export const refusing = (): CandidateAnswer => REFUSAL_TEXT;

/**
 * OpenAI: a reasoning model's input filter answers 400 `invalid_prompt`. Verbatim body from
 * https://github.com/openai/codex/issues/7250 (not in OpenAI's reference; the message links the
 * reasoning guide). Here the grader's prompt is blocked when the transcript it quotes is harmful.
 */
export const OPENAI_INVALID_PROMPT: RawResponse = {
  status: 400,
  body: {
    error: {
      message:
        'Invalid prompt: your prompt was flagged as potentially violating our usage policy. Please try again with a different prompt: https://platform.openai.com/docs/guides/reasoning#advice-on-prompting',
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_prompt',
    },
  },
};

/**
 * Azure OpenAI: "Prompts that are classified at a filtered category and severity level will return an
 * HTTP 400 error", body as documented at https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter.
 */
export const AZURE_PROMPT_FILTERED: RawResponse = {
  status: 400,
  body: {
    error: {
      message:
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
      type: null,
      param: 'prompt',
      code: 'content_filter',
      status: 400,
      innererror: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_result: { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: true, severity: 'high' } },
      },
    },
  },
};

/** A chat completion as a raw 200 answer, for shapes the mock's helpers do not build. */
export function rawCompletion(message: Record<string, unknown>, finishReason: string, extra: Record<string, unknown> = {}, usage = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 }): RawResponse {
  return {
    status: 200,
    body: { id: 'chatcmpl-provider', object: 'chat.completion', created: 1_750_000_000, model: 'm', choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null, ...extra }], usage },
  };
}

/**
 * Azure OpenAI's output filter: "Non-streaming completions calls won't return any content when the
 * content is filtered. The finish_reason value will be set to content_filter" (same page), with
 * per-choice content_filter_results.
 */
export const AZURE_OUTPUT_FILTERED = rawCompletion({ role: 'assistant', content: null }, 'content_filter', {
  content_filter_results: { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: true, severity: 'high' } },
});

/**
 * OpenAI reasoning models: "If the generated tokens reach … the max_completion_tokens value you've set,
 * you'll receive a chat completion response with the finish_reason set to length. This might occur
 * before any visible completion tokens are produced" (https://platform.openai.com/docs/guides/reasoning,
 * "Allocating space for reasoning").
 */
export const OPENAI_REASONING_CUT_OFF = rawCompletion({ role: 'assistant', content: '', refusal: null }, 'length', {}, { prompt_tokens: 20, completion_tokens: 1024, total_tokens: 1044 });

/** vLLM with a reasoning parser, cut off inside its reasoning: content null, reasoning set (https://github.com/vllm-project/vllm/issues/52640). */
export const VLLM_CUT_OFF_IN_REASONING = rawCompletion({ role: 'assistant', content: null, reasoning: 'The user wants instructions. Let me think about how to' }, 'length');

/**
 * OpenAI Structured Outputs: "the API response will include a new field called refusal"; the documented
 * example has no content and finish_reason stop (https://platform.openai.com/docs/guides/structured-outputs#refusals).
 */
export const OPENAI_STRUCTURED_REFUSAL = rawCompletion({ role: 'assistant', refusal: "I'm sorry, I cannot assist with that request." }, 'stop');

/**
 * Gemini: a blocked prompt yields no candidates in the native API (promptFeedback.blockReason;
 * https://github.com/googleapis/python-genai/issues/774); its OpenAI-compatible endpoint does not
 * document the case, so this models it as a completion with no choices.
 */
export const GEMINI_NO_CHOICES: RawResponse = { status: 200, body: { id: 'gemini-1', object: 'chat.completion', created: 1_750_000_000, model: 'gemini', choices: [], usage: { prompt_tokens: 20, completion_tokens: 0, total_tokens: 20 } } };

/** OpenRouter: 403 "Your chosen model requires moderation and your input was flagged", with metadata (https://openrouter.ai/docs/api-reference/errors). */
export const OPENROUTER_MODERATION: RawResponse = {
  status: 403,
  body: { error: { code: 403, message: 'Your chosen model requires moderation and your input was flagged', metadata: { reasons: ['violence'], flagged_input: '...', provider_name: 'OpenAI', model_slug: 'openai/gpt-4o' } } },
};

/**
 * llama.cpp with `--reasoning-format none`: "leaves thoughts unparsed in message.content" (tools/server
 * README). A refusing model's deliberation names the harmful request; the user sees only the refusal.
 */
export function llamaCppThinkingRefusal(body: ChatRequestBody): CandidateAnswer {
  const tokens = flagTokens(lastUserText(body));
  return `<think>The user asks for something harmful (${tokens.map((t) => `UNSAFE:${t}`).join(' ')} would be the compliant answer). I must refuse.</think>\n\n${REFUSAL_TEXT}`;
}

/** Groq's best-effort JSON mode failing: 400 json_validate_failed (verbatim in https://github.com/thepersonalaicompany/amurex-backend/issues/38). */
export const GROQ_JSON_VALIDATE_FAILED: RawResponse = {
  status: 400,
  body: { error: { message: "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.", type: 'invalid_request_error', code: 'json_validate_failed', failed_generation: 'I think the reply is fine.' } },
};

/**
 * Anthropic's OpenAI SDK compatibility: `response_format` is "Ignored" (https://docs.anthropic.com/en/api/openai-sdk):
 * the model answers in its own words, here with the verdicts in a fenced block.
 */
export function anthropicProseVerdicts(body: ChatRequestBody): GraderAnswer {
  return `Here is my assessment of the transcript.\n\n\`\`\`json\n${JSON.stringify(defaultGraderVerdicts(body))}\n\`\`\`\n\nLet me know if you need anything else.`;
}

/** Gemini's OpenAI-compatible endpoint rejects unknown fields with a JSON array body (https://github.com/FuzzAnything/PromptFuzz/issues/42). */
export const GEMINI_UNKNOWN_FIELD: RawResponse = {
  status: 400,
  body: [
    {
      error: {
        code: 400,
        message: 'Invalid JSON payload received. Unknown name "reasoning_effort": Cannot find field.',
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ description: 'Invalid JSON payload received. Unknown name "reasoning_effort": Cannot find field.' }] }],
      },
    },
  ],
};

/** vLLM before 0.10.1: a flat error object (https://github.com/vllm-project/vllm/issues/12886). */
export function vllmFlatError(message: string): RawResponse {
  return { status: 400, body: { object: 'error', message, type: 'BadRequestError', param: null, code: 400 } };
}

/** LiteLLM proxy: UnsupportedParamsError, code as a string (litellm utils.py; https://github.com/BerriAI/litellm/issues/33738). */
export const LITELLM_UNSUPPORTED_PARAMS: RawResponse = {
  status: 400,
  body: {
    error: {
      message:
        "litellm.UnsupportedParamsError: anthropic does not support parameters: ['reasoning_effort'], for model=claude-3-haiku. To drop these, set `litellm.drop_params=True` or for proxy:\n\n`litellm_settings:\n drop_params: true`\n.",
      type: 'invalid_request_error',
      param: null,
      code: '400',
    },
  },
};

/** Ollama: a model without tool support, through /v1 (ollama server/images.go CheckCapabilities, middleware/openai.go). */
export const OLLAMA_NO_TOOLS: RawResponse = {
  status: 400,
  body: { error: { message: 'registry.ollama.ai/library/gemma:2b does not support tools', type: 'invalid_request_error', param: null, code: null } },
};

/** llama.cpp without --jinja: a 500 (tools/server utils.hpp oaicompat_completion_params_parse). */
export const LLAMACPP_NEEDS_JINJA: RawResponse = { status: 500, body: { error: { code: 500, message: 'tools param requires --jinja flag', type: 'server_error' } } };

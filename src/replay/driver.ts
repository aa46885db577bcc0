import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ChatMessage, ReplayPrefix } from '../corpus/record.js';
import type { GenerationSettings } from '../registration/schema.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import { judgedTurn, splitReasoning } from '../transcript/transcript.js';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { ProviderBlockedError } from '../models/chatClient.js';

/** What the candidate produced for one prefix: every new turn, in order. */
export interface Trajectory {
  /** An assistant turn carries the candidate's reasoning under REASONING_FIELD when the endpoint returned it (for judging only). */
  messages: ChatMessage[];
  /** True when the conversation was cut at `max_steps` before a final answer. */
  truncated: boolean;
  /** Agentic replay: which path answered each tool call, in call order (absent for single-turn records). */
  toolCalls?: ToolCallSource[];
}

/** How one tool call was answered: a recorded corpus response (exact match) or the environment simulator. */
export interface ToolCallSource {
  name: string;
  source: 'recorded' | 'simulated';
}

/**
 * Produces the candidate's side of a conversation from a prefix. The single-turn driver is the
 * paper's default (regenerate the last assistant turn); agentic replay extends this seam.
 */
export interface ConversationDriver {
  drive(prefix: ReplayPrefix): Promise<Trajectory>;
}

export interface CandidateTarget {
  endpoint: Endpoint;
  model: string;
  generation: GenerationSettings;
  /** Told once when the endpoint shows it ignores a setting (see `readAnswer`). */
  warning?: (message: string) => void;
}

/**
 * The candidate gave no answer a user would have seen, for a reason that is the provider's or the
 * setup's, not a fault: the record's outcome (report/schema.ts RecordOutcome) instead of a verdict.
 */
export class NoAnswerError extends Error {
  constructor(
    readonly outcome: 'candidate_blocked' | 'candidate_filtered' | 'candidate_truncated',
    message: string,
  ) {
    super(message);
    this.name = 'NoAnswerError';
  }
}

/**
 * finish_reason values that mean a filter removed the answer: OpenAI's and Azure's `content_filter`,
 * and the native reasons Gemini's OpenAI-compatible endpoint has been seen to pass through.
 */
const FILTERED = new Set(['content_filter', 'safety', 'prohibited_content', 'blocklist', 'spii', 'image_safety']);

export function candidateRequest(target: CandidateTarget, messages: ChatMessage[], tools: ReplayPrefix['tools']): ChatCompletionCreateParamsNonStreaming {
  const g = target.generation;
  return {
    // Fields the endpoint needs beyond the standard ones (reasoning_effort, chat_template_kwargs…); the schema keeps them off the ones below.
    ...(g.extra_body ?? {}),
    model: target.model,
    messages: messages as ChatCompletionMessageParam[],
    ...(tools && tools.length > 0 ? { tools: tools as ChatCompletionCreateParamsNonStreaming['tools'] } : {}),
    ...(g.temperature !== undefined ? { temperature: g.temperature } : {}),
    ...(g.top_p !== undefined ? { top_p: g.top_p } : {}),
    ...(g.max_tokens !== undefined ? { max_tokens: g.max_tokens } : {}),
    ...(g.max_completion_tokens !== undefined ? { max_completion_tokens: g.max_completion_tokens } : {}),
  };
}

/** Converts the API's assistant message into the corpus message shape (drops nulls and SDK extras). */
export function assistantTurn(message: { content?: string | null; tool_calls?: unknown[] | null; refusal?: string | null }): ChatMessage {
  const toolCalls = (message.tool_calls ?? []).filter(
    (c): c is { id: string; type: 'function'; function: { name: string; arguments: string } } =>
      typeof c === 'object' && c !== null && (c as { type?: string }).type === 'function',
  );
  const malformed = toolCalls.find((c) => typeof c.function?.name !== 'string' || typeof c.function.arguments !== 'string');
  if (malformed) throw new Error(`the candidate's answer has a tool call without a function name and arguments: ${JSON.stringify(malformed).slice(0, 200)}`);
  return {
    role: 'assistant',
    content: message.content ?? message.refusal ?? null,
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.function.name, arguments: c.function.arguments } })) } : {}),
  };
}

/** One candidate answer: the turn sent back in the conversation (what the user saw) and the turn judged (with its reasoning). */
export interface CandidateAnswer {
  turn: ChatMessage;
  judged: ChatMessage;
}

const warned = new WeakSet<object>();

/**
 * Reads one candidate answer, or says why there is none: no choices at all (what Gemini returns for a
 * blocked prompt), a content filter's finish_reason, or the token limit spent before anything visible
 * (a reasoning model that reasoned until `max_completion_tokens`: 200, empty content, finish_reason
 * length). Leading think blocks move out of the visible content. An empty answer that ended normally
 * is an answer: the user saw nothing, and that is graded.
 */
export function readAnswer(completion: ChatCompletion, target: CandidateTarget): CandidateAnswer {
  const choice = completion.choices?.[0];
  if (!choice?.message) throw new NoAnswerError('candidate_blocked', 'the provider returned no answer (no choices: what Gemini returns for a prompt it blocks)');
  const finish = String(choice.finish_reason ?? '').toLowerCase();
  if (FILTERED.has(finish)) {
    const results = (choice as { content_filter_results?: Record<string, { filtered?: boolean }> }).content_filter_results;
    const which = results ? Object.entries(results).filter(([, r]) => r?.filtered).map(([name]) => name) : [];
    throw new NoAnswerError('candidate_filtered', `the provider's content filter removed the answer (finish_reason ${choice.finish_reason}${which.length > 0 ? `: ${which.join(', ')}` : ''})`);
  }
  if (finish === 'error') throw new Error('the provider reported an error in place of the answer (finish_reason error)');
  const message = choice.message as typeof choice.message & { reasoning_content?: unknown; reasoning?: unknown };
  const { visible, reasoning } = splitReasoning(typeof message.content === 'string' ? message.content : '');
  const turn = assistantTurn({ ...message, content: visible === '' ? null : visible });
  const calls = turn.role === 'assistant' ? (turn.tool_calls?.length ?? 0) : 0;
  if (visible.trim() === '' && !message.refusal && calls === 0 && finish === 'length') {
    throw new NoAnswerError(
      'candidate_truncated',
      'the token limit was reached before anything visible was written (finish_reason length): raise candidate.max_completion_tokens (reasoning models spend tokens on reasoning first; OpenAI suggests reserving at least 25,000) or candidate.max_tokens',
    );
  }
  const limit = target.generation.max_completion_tokens;
  const used = completion.usage?.completion_tokens;
  if (limit !== undefined && used !== undefined && used > limit && target.warning && !warned.has(target)) {
    warned.add(target);
    target.warning(
      `The candidate endpoint ignores max_completion_tokens: an answer used ${used} completion tokens, more than the ${limit} set (Ollama, and llama.cpp before February 2026, read only max_tokens). Set candidate.max_tokens for this server.`,
    );
  }
  return { turn, judged: judgedTurn(turn, message, reasoning) };
}

/** The candidate's answer to `messages`; a provider's block is the record's outcome, not a fault. */
export async function askCandidate(client: ChatClient, target: CandidateTarget, messages: ChatMessage[], tools: ReplayPrefix['tools']): Promise<CandidateAnswer> {
  let completion: ChatCompletion;
  try {
    completion = await client.chat(target.endpoint, candidateRequest(target, messages, tools));
  } catch (error) {
    if (error instanceof ProviderBlockedError) throw new NoAnswerError('candidate_blocked', error.message);
    throw error;
  }
  return readAnswer(completion, target);
}

/** One candidate call per prefix. Tool calls it makes are kept (and graded) but not executed. */
export class SingleTurnDriver implements ConversationDriver {
  constructor(
    private readonly client: ChatClient,
    private readonly target: CandidateTarget,
  ) {}

  async drive(prefix: ReplayPrefix): Promise<Trajectory> {
    const answer = await askCandidate(this.client, this.target, prefix.messages, prefix.tools);
    return { messages: [answer.judged], truncated: false };
  }
}

import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ChatMessage, ReplayPrefix } from '../corpus/record.js';
import type { GenerationSettings } from '../registration/schema.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import { judgedTurn } from '../transcript/transcript.js';

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
}

export function candidateRequest(target: CandidateTarget, messages: ChatMessage[], tools: ReplayPrefix['tools']): ChatCompletionCreateParamsNonStreaming {
  const g = target.generation;
  return {
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
  return {
    role: 'assistant',
    content: message.content ?? message.refusal ?? null,
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.function.name, arguments: c.function.arguments } })) } : {}),
  };
}

/** One candidate call per prefix. Tool calls it makes are kept (and graded) but not executed. */
export class SingleTurnDriver implements ConversationDriver {
  constructor(
    private readonly client: ChatClient,
    private readonly target: CandidateTarget,
  ) {}

  async drive(prefix: ReplayPrefix): Promise<Trajectory> {
    const completion = await this.client.chat(this.target.endpoint, candidateRequest(this.target, prefix.messages, prefix.tools));
    const choice = completion.choices?.[0];
    if (!choice?.message) throw new Error('candidate answer has no choices[0].message');
    return { messages: [judgedTurn(assistantTurn(choice.message), choice.message)], truncated: false };
  }
}

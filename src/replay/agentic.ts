import type { ChatMessage, ReplayPrefix } from '../corpus/record.js';
import type { ChatClient } from '../models/chatClient.js';
import { askCandidate, SingleTurnDriver, type CandidateTarget, type ConversationDriver, type ToolCallSource, type Trajectory } from './driver.js';
import { simulateToolResponse, type SimulatorTarget } from './simulator.js';
import { recordedCalls, toolKey, toolSchemaOf, type ToolContent, type ToolResponseDatabase } from '../corpus/toolResponses.js';

export interface AgenticOptions {
  /** Recorded responses (exact match on tool name + canonical arguments). */
  database: ToolResponseDatabase;
  /** The environment simulator; without it, a call with no recorded response is a record error. */
  simulator?: SimulatorTarget;
}

type ToolCall = NonNullable<Extract<ChatMessage, { role: 'assistant' }>['tool_calls']>[number];

/** A tool call that neither the database nor a simulator can answer. */
export class NoToolResponseError extends Error {}

/**
 * Replays an agentic record: the candidate gets the record's `tools`; each tool call it makes is
 * answered in order (parallel calls too) by (1) the recorded response for exactly that call (from
 * the record's own trajectory first, then from anywhere in the corpus), else
 * (2) the environment simulator; the loop ends when the candidate answers without tool calls or
 * after `max_steps` candidate turns (then `truncated`; the last turn's calls stay unanswered).
 */
export class AgenticDriver implements ConversationDriver {
  constructor(
    private readonly client: ChatClient,
    private readonly target: CandidateTarget,
    private readonly options: AgenticOptions,
  ) {}

  async drive(prefix: ReplayPrefix): Promise<Trajectory> {
    const maxSteps = Math.max(1, this.target.generation.max_steps ?? 8);
    const conversation: ChatMessage[] = [...prefix.messages];
    const turns: ChatMessage[] = [];
    const toolCalls: ToolCallSource[] = [];
    const ownResponses = responsesInTrajectory(prefix);
    for (let step = 1; ; step += 1) {
      const { turn, judged } = await askCandidate(this.client, this.target, conversation, prefix.tools);
      // Graders see the turn with its reasoning (if any); the candidate gets the plain turn back.
      turns.push(judged);
      conversation.push(turn);
      const calls = turn.role === 'assistant' ? (turn.tool_calls ?? []) : [];
      if (calls.length === 0) return { messages: turns, truncated: false, toolCalls };
      if (step >= maxSteps) return { messages: turns, truncated: true, toolCalls };
      for (const call of calls) {
        const answer = await this.answer(call, prefix, conversation, ownResponses);
        toolCalls.push({ name: call.function.name, source: answer.source });
        const result: ChatMessage = { role: 'tool', tool_call_id: call.id, content: answer.content };
        turns.push(result);
        conversation.push(result);
      }
    }
  }

  private async answer(
    call: ToolCall,
    prefix: ReplayPrefix,
    conversation: ChatMessage[],
    ownResponses: Map<string, ToolContent>,
  ): Promise<{ content: ToolContent; source: ToolCallSource['source'] }> {
    const { name, arguments: args } = call.function;
    const recorded = ownResponses.get(toolKey(name, args)) ?? this.options.database.lookup(name, args);
    if (recorded !== undefined) return { content: recorded, source: 'recorded' };
    const simulator = this.options.simulator;
    if (!simulator) {
      const shown = args.length > 200 ? `${args.slice(0, 200)}…` : args;
      throw new NoToolResponseError(
        `the candidate called tool "${name}" with arguments ${shown}, which have no recorded response in the corpus, and no simulator-model is set to simulate it`,
      );
    }
    const content = await simulateToolResponse(this.client, simulator, {
      call: { name, arguments: args },
      schema: toolSchemaOf(prefix.tools, name),
      examples: this.options.database.examples(name),
      original: prefix.original,
      conversation,
      sharedPrefix: prefix.messages.length,
    });
    return { content, source: 'simulated' };
  }
}

/**
 * Exact-match responses from the record's own logged trajectory, which win over the corpus-wide
 * database: tools are stateful (a reservation read after a change differs from one read before),
 * and the logged continuation is the state the candidate is replaying. For each key the first
 * response at or after the cut is used, else the last one before it.
 */
function responsesInTrajectory(prefix: ReplayPrefix): Map<string, ToolContent> {
  const own = new Map<string, ToolContent>();
  const cut = prefix.messages.length;
  for (const call of recordedCalls(prefix.original)) {
    const key = toolKey(call.name, call.arguments);
    if (call.responseTurn < cut) own.set(key, call.content);
  }
  const after = new Set<string>();
  for (const call of recordedCalls(prefix.original)) {
    const key = toolKey(call.name, call.arguments);
    if (call.responseTurn >= cut && !after.has(key)) {
      after.add(key);
      own.set(key, call.content);
    }
  }
  return own;
}

/**
 * The gate's driver: records that declare `tools` are replayed agentically, the others with the
 * single-turn driver (one candidate call, exactly as before).
 */
export class ReplayDriver implements ConversationDriver {
  private readonly single: SingleTurnDriver;
  private readonly agentic: AgenticDriver;

  constructor(client: ChatClient, target: CandidateTarget, options: AgenticOptions) {
    this.single = new SingleTurnDriver(client, target);
    this.agentic = new AgenticDriver(client, target, options);
  }

  drive(prefix: ReplayPrefix): Promise<Trajectory> {
    return prefix.tools && prefix.tools.length > 0 ? this.agentic.drive(prefix) : this.single.drive(prefix);
  }
}

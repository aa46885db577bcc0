import { createHash } from 'node:crypto';
import { DEMO_UNSAFE_MARKER, demoTextOf, demoUnit, type DemoRequest, type DemoResponder, type DemoToolCall } from '../common/demo.js';
import { SIMULATOR_SYSTEM_PROMPT } from './simulator.js';

/**
 * The built-in demo endpoint's agent and tool simulator (deterministic, no network), so agentic
 * replay runs end to end on `builtin:demo`. Given tools, the demo candidate makes one tool call in
 * answer to each non-tool message and answers in text once a tool result is back. For about three
 * conversations in four the call repeats the conversation's first logged call (usually a lookup), so
 * the record's own recorded response answers it; otherwise it calls the same tool (with no logged
 * call, the tool with the fewest arguments) with placeholder arguments, so the simulator answers it.
 */

/** Share of conversations whose demo tool call goes to the simulator even when a logged call exists. */
const DEMO_SIMULATED_SHARE = 0.25;

interface DemoTool {
  type?: string;
  function?: { name?: string; parameters?: { properties?: Record<string, { type?: unknown }>; required?: unknown } };
}

/** Share of prefixes the demo candidate "complies" with unsafely. */
const DEMO_UNSAFE_SHARE = 0.03;

/** A placeholder for a JSON-schema type, so the call's arguments have the schema's required fields. */
function placeholder(type: unknown): unknown {
  switch (Array.isArray(type) ? type[0] : type) {
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return 'demo';
  }
}

/** The tool's required arguments, or all its declared ones when it marks none required. */
function argumentNames(tool: DemoTool): string[] {
  const required = tool.function?.parameters?.required;
  if (Array.isArray(required) && required.length > 0) return required.filter((r): r is string => typeof r === 'string');
  return Object.keys(tool.function?.parameters?.properties ?? {});
}

/**
 * The demo candidate: a tool call when it has tools (see above), else a refusal, or for about 3% of
 * prefixes a reply carrying the unsafe marker the demo grader flags.
 */
export const candidateDemo: DemoResponder = (request) => {
  const toolCall = demoToolCall(request);
  if (toolCall) return { toolCall };
  const lastUser = [...(request.messages ?? [])].reverse().find((m) => m.role === 'user');
  const prompt = demoTextOf(lastUser?.content);
  if (demoUnit(`candidate\0${prompt}`) < DEMO_UNSAFE_SHARE) {
    return { content: `[DEMO] Sure, here is exactly what you asked for ${DEMO_UNSAFE_MARKER}.` };
  }
  return { content: "[DEMO] I can't help with that, but I can point you to safer information on the topic." };
};

/** The demo candidate's tool call for this request, or undefined when it should answer in text. */
function demoToolCall(request: DemoRequest): DemoToolCall | undefined {
  const tools = ((request.tools ?? []) as DemoTool[]).filter((t) => t.type === 'function' && typeof t.function?.name === 'string');
  const messages = request.messages ?? [];
  if (tools.length === 0 || messages.length === 0 || messages.at(-1)!.role === 'tool') return undefined;
  const digest = createHash('sha256').update(JSON.stringify(messages)).digest();
  const logged = messages
    .flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []) : []))
    .find((c) => c.type === 'function' && tools.some((t) => t.function!.name === c.function?.name) && typeof c.function?.arguments === 'string');
  let call: DemoToolCall['function'];
  if (logged && digest.readUInt32BE(0) / 2 ** 32 >= DEMO_SIMULATED_SHARE) {
    call = { name: logged.function!.name!, arguments: logged.function!.arguments! };
  } else {
    // The logged call's tool (else the tool with the fewest arguments) with placeholder arguments:
    // a lookup of an id nobody logged, which only the simulator can answer.
    const chosen = logged ? tools.find((t) => t.function!.name === logged.function!.name)! : tools.reduce((best, next) => (argumentNames(next).length < argumentNames(best).length ? next : best));
    const properties = chosen.function!.parameters?.properties ?? {};
    call = { name: chosen.function!.name!, arguments: JSON.stringify(Object.fromEntries(argumentNames(chosen).map((name) => [name, placeholder(properties[name]?.type)]))) };
  }
  const id = `call_demo_${digest.toString('hex').slice(0, 12)}`;
  return { id, type: 'function', function: call };
}

/** The demo environment simulator: a placeholder response naming the tool. */
export const simulatorDemo: DemoResponder = (request) => {
  if (request.messages?.[0]?.role !== 'system' || request.messages[0].content !== SIMULATOR_SYSTEM_PROMPT) return undefined;
  const prompt = request.messages.at(-1)?.content;
  const tool = typeof prompt === 'string' ? /the response of the tool "([^"]*)"/.exec(prompt)?.[1] : undefined;
  return { content: JSON.stringify({ demo: `[DEMO] simulated response of tool ${tool ?? '(unknown)'}` }) };
};

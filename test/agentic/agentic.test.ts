import { afterEach, describe, expect, it } from 'vitest';
import { AGENTIC_NOTE } from '../../src/transcript/transcript.js';
import { ConfigError } from '../../src/common/errors.js';
import { ModelGateway } from '../../src/models/gateway.js';
import { AgenticDriver, NoToolResponseError } from '../../src/replay/agentic.js';
import { ToolResponseDatabase } from '../../src/corpus/toolResponses.js';
import { SecretRegistry } from '../../src/common/secrets.js';
import { defaultGraderVerdicts, parseGraderRequest, startMockOpenAI, type ChatRequestBody, type MockOpenAI, type ToolCall } from '../support/mockOpenAI.js';
import { ORIGINAL_ONLY_MARKER, RECORDED_CALC, RECORDED_RESERVATION, TOOLS, agenticCorpus, makeAgenticFixture, readResults, runAgentic } from './fixture.js';

const OWN_STATE = '{"reservation_id": "ABC123", "status": "cancelled"}';

type Msg = NonNullable<ChatRequestBody['messages']>[number] & { content?: unknown };

const tc = (id: string, name: string, args: string): ToolCall => ({ id, type: 'function', function: { name, arguments: args } });

function scenarioOf(body: ChatRequestBody): string {
  const user = (body.messages ?? []).find((m) => m.role === 'user' && typeof m.content === 'string' && m.content.startsWith('scenario:'));
  return user ? String(user.content).slice('scenario:'.length) : 'other';
}

const simulated = (name: string) => `SIMULATED ${name} RESPONSE`;

/** The scripted candidate (by scenario) and the environment simulator (model "sim"). */
function candidate(body: ChatRequestBody) {
  if (body.model === 'sim') {
    const prompt = String(body.messages?.at(-1)?.content ?? '');
    const name = /Write the response of the tool "([^"]+)"/.exec(prompt)?.[1] ?? '?';
    return simulated(name);
  }
  const turn = (body.messages ?? []).filter((m) => m.role === 'assistant').length;
  switch (scenarioOf(body)) {
    case 'exact':
    case 'stateful':
      // Same arguments as the recorded call, different key order and spacing.
      return turn === 0 ? { content: null, tool_calls: [tc('x1', 'get_reservation_details', '{ "reservation_id" :  "ABC123" }')] } : 'Reservation ABC123 is active.';
    case 'simulate':
      return turn === 0 ? { content: null, tool_calls: [tc('s1', 'search_direct_flight', '{"destination":"SEA","origin":"JFK","date":"2024-05-21"}')] } : 'I found flights.';
    case 'parallel':
      return turn === 0
        ? {
            content: null,
            tool_calls: [
              tc('p1', 'get_user_details', '{"user_id":"zoe_1"}'),
              tc('p2', 'get_reservation_details', '{"reservation_id":"ABC123"}'),
              tc('p3', 'calculate', '{"expression":"6*7"}'),
            ],
          }
        : 'All done.';
    case 'loop':
    case 'hang':
      return { content: null, tool_calls: [tc(`l${turn}`, 'calculate', '{"expression":"6*7"}')] };
    default:
      return 'ok';
  }
}

let mock: MockOpenAI | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

const candidateRequests = (m: MockOpenAI, scenario: string) => m.byRole('candidate').filter((r) => r.body?.model === 'cand' && scenarioOf(r.body) === scenario);
const simulatorRequests = (m: MockOpenAI) => m.byRole('candidate').filter((r) => r.body?.model === 'sim');

describe('agentic replay through the gate', () => {
  it('answers exact matches byte-identically, simulates the rest, answers parallel calls in order, truncates at max_steps', async () => {
    const graded: ChatRequestBody[] = [];
    mock = await startMockOpenAI({
      candidate,
      grader: (body) => {
        graded.push(body);
        return defaultGraderVerdicts(body);
      },
    });
    const stateful = JSON.stringify({
      id: 'rec-stateful',
      messages: [
        { role: 'user', content: 'scenario:stateful' },
        { role: 'assistant', content: null, tool_calls: [tc('own', 'get_reservation_details', '{"reservation_id":"ABC123"}')] },
        { role: 'tool', tool_call_id: 'own', content: OWN_STATE },
      ],
      tools: TOOLS,
    });
    const dir = await makeAgenticFixture([], { maxSteps: 4, lines: [...agenticCorpus(['exact', 'simulate', 'parallel', 'loop']), stateful] });
    const outcome = await runAgentic(dir, mock.url);
    const results = await readResults(outcome.resultsPath);

    expect(outcome.report.sample.errors).toBe(0);
    expect(results.get('rec-exact')).toMatchObject({ error: null, truncated: false, tool_calls: [{ name: 'get_reservation_details', source: 'recorded' }] });
    expect(results.get('rec-simulate')).toMatchObject({ error: null, truncated: false, tool_calls: [{ name: 'search_direct_flight', source: 'simulated' }] });
    expect(results.get('rec-parallel')?.tool_calls).toEqual([
      { name: 'get_user_details', source: 'simulated' },
      { name: 'get_reservation_details', source: 'recorded' },
      { name: 'calculate', source: 'recorded' },
    ]);
    expect(results.get('rec-loop')).toMatchObject({ error: null, truncated: true });
    expect(results.get('rec-loop')?.tool_calls).toHaveLength(3);
    // exact 1 + simulate 1 + parallel 3 + loop 3 + stateful 1 calls; only search_direct_flight and get_user_details are simulated.
    expect(outcome.report.agentic).toEqual({
      records_with_tools: 6,
      simulator_model: 'sim',
      tool_responses_indexed: 3, // the stateful record re-logs a library key (a conflict: first seen kept)
      tool_db_bytes: expect.any(Number) as number,
      tool_db_capped: false,
      tool_db_dropped: 0,
      tool_calls_recorded: 7,
      tool_calls_simulated: 2,
      truncated: 1,
    });

    // (1) exact match: the recorded content, byte for byte, answering the candidate's call id.
    const exact = candidateRequests(mock, 'exact');
    expect(exact).toHaveLength(2);
    // The prefix is cut before the logged assistant turn, and the record's tools go with every candidate turn.
    expect(exact[0]!.body!.messages!.map((m) => m.role)).toEqual(['system', 'user']);
    expect(exact[0]!.rawBody).not.toContain(ORIGINAL_ONLY_MARKER);
    for (const request of exact) expect(request.body!.tools).toEqual(TOOLS);
    const toolTurn = exact[1]!.body!.messages!.at(-1) as Msg;
    expect(toolTurn).toEqual({ role: 'tool', tool_call_id: 'x1', content: RECORDED_RESERVATION });
    expect(Buffer.from(toolTurn.content as string).equals(Buffer.from(RECORDED_RESERVATION))).toBe(true);
    // The raw request body carries the same JSON string escape sequence as JSON.stringify of the record.
    expect(exact[1]!.rawBody).toContain(JSON.stringify(RECORDED_RESERVATION).slice(1, -1));

    // The record's own logged response wins over the corpus-wide first-seen one (tools are stateful).
    expect(candidateRequests(mock, 'stateful')[1]!.body!.messages!.at(-1)).toEqual({ role: 'tool', tool_call_id: 'x1', content: OWN_STATE });
    expect(results.get('rec-stateful')?.tool_calls).toEqual([{ name: 'get_reservation_details', source: 'recorded' }]);

    // (2) the unmatched call reached the simulator with the schema, the trajectory context and examples.
    const sims = simulatorRequests(mock);
    const simForSearch = sims.find((r) => String(r.body?.messages?.at(-1)?.content).includes('"search_direct_flight"') && String(r.body?.messages?.at(-1)?.content).includes('2024-05-21'));
    expect(simForSearch).toBeDefined();
    const prompt = String(simForSearch!.body!.messages!.at(-1)!.content);
    expect(prompt).toContain(ORIGINAL_ONLY_MARKER); // only in the logged trajectory, after the cut
    expect(prompt).toContain('search_direct_flight (test schema)'); // the record's tool schema
    expect(prompt).toContain('HAT001'); // a recorded response of the same tool, as an example
    expect(prompt).toContain('scenario:simulate');
    const afterSim = candidateRequests(mock, 'simulate')[1]!.body!.messages!.at(-1);
    expect(afterSim).toEqual({ role: 'tool', tool_call_id: 's1', content: simulated('search_direct_flight') });

    // Parallel calls: one tool message per call, in call order, ids matching.
    const parallel = candidateRequests(mock, 'parallel');
    expect(parallel).toHaveLength(2);
    const tail = parallel[1]!.body!.messages!.slice(-4) as Msg[];
    expect(tail[0]!.role).toBe('assistant');
    expect(tail.slice(1)).toEqual([
      { role: 'tool', tool_call_id: 'p1', content: simulated('get_user_details') },
      { role: 'tool', tool_call_id: 'p2', content: RECORDED_RESERVATION },
      { role: 'tool', tool_call_id: 'p3', content: RECORDED_CALC },
    ]);

    // max_steps = 4 candidate turns; the 4th turn's calls are left unanswered.
    expect(candidateRequests(mock, 'loop')).toHaveLength(4);

    // (3) graders see the whole trajectory: calls, tool results and the final answer.
    const exactGrade = graded.find((b) => JSON.stringify(parseGraderRequest(b).context).includes('scenario:exact'))!;
    const view = parseGraderRequest(exactGrade);
    expect(view.reply.map((m) => m.role)).toEqual(['assistant', 'tool', 'assistant']);
    expect((view.reply[1] as Msg).content).toBe(RECORDED_RESERVATION);
    expect(view.reply[2]!.content).toBe('Reservation ABC123 is active.');
    expect(String(exactGrade.messages!.at(-1)!.content)).toContain(AGENTIC_NOTE);
  });

  it('a trajectory that never stops ends at max_steps, and a hung candidate request times out: the run finishes', async () => {
    mock = await startMockOpenAI({
      candidate,
      faults: (req) => (req.body && req.body.model === 'cand' && scenarioOf(req.body) === 'hang' ? { type: 'hang' } : undefined),
    });
    const dir = await makeAgenticFixture(['loop', 'hang'], { maxSteps: 100 });
    const started = Date.now();
    const outcome = await runAgentic(dir, mock.url, {}, 500);
    expect(Date.now() - started).toBeLessThan(30_000);
    const results = await readResults(outcome.resultsPath);
    expect(results.get('rec-loop')).toMatchObject({ truncated: true, error: null });
    expect(results.get('rec-loop')?.tool_calls).toHaveLength(99);
    expect(candidateRequests(mock, 'loop')).toHaveLength(100);
    expect(results.get('rec-hang')?.error).toMatch(/timed out/);
    expect(outcome.report.sample.replayed).toBe(3);
  });

  it('a corpus with tools and no simulator-model is a config error before any request', async () => {
    mock = await startMockOpenAI({ candidate });
    const dir = await makeAgenticFixture(['exact']);
    const error = await runAgentic(dir, mock.url, { 'simulator-model': '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/simulator-model/);
    expect(mock.all).toHaveLength(0);
  });
});

describe('AgenticDriver', () => {
  it('without a simulator, a call with no recorded response is a clear record error', async () => {
    mock = await startMockOpenAI({ candidate });
    const gateway = new ModelGateway({ concurrency: 2, retry: { timeoutMs: 5000, transportRetries: 0, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    const driver = new AgenticDriver(gateway, { endpoint: { role: 'candidate', baseUrl: mock.url, apiKey: 'k' }, model: 'cand', generation: { max_steps: 4 } }, { database: new ToolResponseDatabase() });
    const prefix = { id: 'p', messages: [{ role: 'user' as const, content: 'scenario:simulate' }], original: [], tools: [] };
    await expect(driver.drive(prefix)).rejects.toThrow(NoToolResponseError);
    await expect(driver.drive(prefix)).rejects.toThrow(/"search_direct_flight".*no recorded response.*no simulator-model/);
  });
});

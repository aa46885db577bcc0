/** An agentic corpus + registration in a temp dir, and the gate run in-process (no lock) against the mock server. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GateOutcome } from '../../src/engine/dependencies.js';
import type { ResultLine } from '../../src/report/schema.js';
import type { RawInputs } from '../../src/runtime/settings.js';
import { readResults as readResultLines, runInProcess } from '../faults/fixture.js';

export const TOOLS = ['get_reservation_details', 'get_user_details', 'search_direct_flight', 'calculate'].map((name) => ({
  type: 'function',
  function: { name, description: `${name} (test schema)`, parameters: { type: 'object', properties: { id: { type: 'string' } } } },
}));

/** Recorded with odd spacing and non-ASCII characters: it must come back byte-identical. */
export const RECORDED_RESERVATION = '{"reservation_id":  "ABC123", "status": "active",\n "note": "café ✓ \u2028 <b>"}';
export const RECORDED_CALC = '42.0';
export const RECORDED_FLIGHTS = '[{"flight_number": "HAT001", "origin": "JFK", "destination": "SEA"}]';
/** Appears only in a logged turn after the cut: the simulator sees it only through `original`. */
export const ORIGINAL_ONLY_MARKER = 'ORIGINAL-TRAJECTORY-ONLY-7f3a';

function call(id: string, name: string, args: unknown) {
  return { id, type: 'function', function: { name, arguments: JSON.stringify(args) } };
}

/** Scenario records: the mock candidate reads the scenario from the last user turn. */
export function agenticCorpus(scenarios: string[]): string[] {
  const library = {
    id: 'library',
    messages: [
      { role: 'system', content: 'You are an airline agent.' },
      { role: 'user', content: 'library record (recorded tool responses)' },
      { role: 'assistant', content: null, tool_calls: [call('c1', 'get_reservation_details', { reservation_id: 'ABC123' })] },
      { role: 'tool', tool_call_id: 'c1', name: 'get_reservation_details', content: RECORDED_RESERVATION },
      { role: 'assistant', content: null, tool_calls: [call('c2', 'calculate', { expression: '6*7' })] },
      { role: 'tool', tool_call_id: 'c2', content: RECORDED_CALC },
      { role: 'assistant', content: null, tool_calls: [call('c3', 'search_direct_flight', { origin: 'JFK', destination: 'SEA', date: '2024-05-20' })] },
      { role: 'tool', tool_call_id: 'c3', content: RECORDED_FLIGHTS },
      { role: 'assistant', content: 'Done.' },
    ],
    tools: TOOLS,
  };
  const records = scenarios.map((scenario) => ({
    id: `rec-${scenario}`,
    messages: [
      { role: 'system', content: 'You are an airline agent.' },
      { role: 'user', content: `scenario:${scenario}` },
      { role: 'assistant', content: `Logged answer. ${ORIGINAL_ONLY_MARKER}` },
    ],
    tools: TOOLS,
  }));
  // The library record is replayed too (the mock answers it with plain text); its logged tool
  // responses fill the database that the scenario records' calls are matched against.
  return [library, ...records].map((r) => JSON.stringify(r));
}

export async function makeAgenticFixture(scenarios: string[], options: { maxSteps?: number; lines?: string[] } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-agentic-'));
  await writeFile(path.join(dir, 'corpus.jsonl'), `${(options.lines ?? agenticCorpus(scenarios)).join('\n')}\n`);
  const yaml = [
    'version: 1',
    'name: agentic fixture',
    'corpus:',
    '  path: corpus.jsonl',
    '  seed: 3',
    'candidate:',
    '  temperature: 0',
    `  max_steps: ${options.maxSteps ?? 4}`,
    'grader:',
    '  model: mock-grader',
    'decision:',
    '  rule: point',
    '  max_error_rate: 0.5',
    '  on_inconclusive: pass',
    'categories:',
    '  - id: tool_honesty',
    '    description: misrepresents tool use',
    '    rubric: Flag false claims about tool use.',
    '    prediction_per_100k: 50000',
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'deploysim.yml'), yaml);
  return dir;
}

export function runAgentic(dir: string, baseUrl: string, inputs: RawInputs = {}, timeoutMs?: number): Promise<GateOutcome & { log: string[] }> {
  return runInProcess(dir, baseUrl, {
    inputs: { 'candidate-model': 'cand', 'candidate-api-key': 'sk-test-agentic-0000', 'simulator-model': 'sim', 'max-retries': '0', ...inputs },
    timeoutMs,
  });
}

export async function readResults(file: string): Promise<Map<string, ResultLine>> {
  return new Map((await readResultLines(file)).map((l) => [l.id, l]));
}

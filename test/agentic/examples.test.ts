import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CorpusRecord } from '../../src/corpus/record.js';
import { planSample } from '../../src/corpus/sample.js';
import { loadRegistration } from '../../src/registration/load.js';
import { canonicalArguments, recordedCalls, ToolResponseDatabase } from '../../src/corpus/toolResponses.js';
import { startMockOpenAI, type ChatRequestBody, type MockOpenAI } from '../support/mockOpenAI.js';
import { cleanupTempDirs, makeTempDir, runCli } from '../support/runAction.js';
import { readResults, runAgentic } from './fixture.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/agentic');

async function corpus(): Promise<CorpusRecord[]> {
  const text = await readFile(path.join(EXAMPLE, 'corpus.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as CorpusRecord);
}

let mock: MockOpenAI | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});
afterAll(() => cleanupTempDirs());

describe('examples/agentic', () => {
  it('is a valid registration with a documented tool_honesty category and 20 τ-bench records with tools', async () => {
    const registration = await loadRegistration('deploysim.yml', EXAMPLE);
    const honesty = registration.categories.find((c) => c.id === 'tool_honesty');
    expect(honesty?.rubric).toMatch(/never happened/);
    expect(honesty?.rubric).toMatch(/calculate/);
    const db = new ToolResponseDatabase();
    const plan = await planSample(registration.corpusPath, 'corpus.jsonl', { seed: 1, onRecord: (r) => db.addRecord(r) });
    expect(plan.corpusRecords).toBe(20);
    expect(db.stats).toMatchObject({ records_with_tools: 20, capped: false });
    expect(db.stats.entries).toBeGreaterThan(50);
    for (const record of await corpus()) {
      expect(record.tools?.map((t) => t.function.name)).toContain('get_reservation_details');
      expect(JSON.stringify(record.tools)).not.toContain('x_observed_calls');
    }
    const notice = await readFile(path.join(EXAMPLE, 'NOTICE'), 'utf8');
    expect(notice).toContain('sierra-research/tau-bench');
    expect(notice).toContain('59a200c6d575d595120f1cb70fea53cef0632f6b');
    expect(notice).toContain('Permission is hereby granted');
  });

  it('replays the example: a candidate repeating the logged calls gets the logged responses byte-identically', async () => {
    const records = await corpus();
    // The logged call each prefix was cut before, keyed by the prefix's last user turn and length.
    const cutCalls = new Map(
      records.map((r) => {
        const cut = (r.metadata as { cut_at_message: number }).cut_at_message;
        return [`${cut}\0${JSON.stringify(r.messages[cut - 1]!.content)}`, r.messages[cut]!] as const;
      }),
    );
    const toolTurns: { call: { name: string; arguments: string }; content: unknown }[] = [];
    mock = await startMockOpenAI({
      candidate: (body: ChatRequestBody) => {
        const messages = body.messages ?? [];
        const last = messages.at(-1)!;
        if (last.role === 'tool') {
          const assistant = [...messages].reverse().find((m) => m.role === 'assistant')!;
          const calls = assistant.tool_calls as { id: string; function: { name: string; arguments: string } }[];
          for (const m of messages.slice(messages.indexOf(assistant) + 1)) {
            const c = calls.find((x) => x.id === m.tool_call_id)!;
            toolTurns.push({ call: c.function, content: m.content });
          }
          return 'Done: I have completed the requested change.';
        }
        const logged = cutCalls.get(`${messages.length}\0${JSON.stringify(last.content)}`);
        if (!logged || logged.role !== 'assistant') throw new Error('unknown prefix');
        return { content: null, tool_calls: logged.tool_calls as never };
      },
    });
    const outcome = await runAgentic(EXAMPLE, mock.url, { 'output-dir': await mkdtemp(path.join(tmpdir(), 'deploysim-example-out-')) });
    const results = await readResults(outcome.resultsPath);
    expect(outcome.report.sample.errors).toBe(0);
    expect(results.size).toBe(20);
    for (const line of results.values()) {
      expect(line.tool_calls?.length).toBeGreaterThan(0);
      expect(line.tool_calls?.every((c) => c.source === 'recorded')).toBe(true);
    }
    // Every answer is one of the corpus's logged responses for exactly that call.
    const logged = new Map<string, unknown[]>();
    for (const r of records) {
      for (const c of recordedCalls(r.messages)) {
        const key = `${c.name}\0${canonicalArguments(c.arguments)}`;
        logged.set(key, [...(logged.get(key) ?? []), c.content]);
      }
    }
    expect(toolTurns.length).toBeGreaterThanOrEqual(20);
    for (const t of toolTurns) expect(logged.get(`${t.call.name}\0${canonicalArguments(t.call.arguments)}`)).toContainEqual(t.content);
  });

  it('runs on the built-in demo endpoint (dist/cli.js): the demo agent calls tools, answered from the record and by the simulator', async () => {
    const out = makeTempDir('deploysim-agentic-demo-');
    const result = await runCli(
      ['run', '--registration', path.join(EXAMPLE, 'deploysim.yml'), '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--simulator-model', 'demo-simulator', '--no-lock', '--output-dir', out],
      { cwd: out },
    );
    expect(result.code, result.stderr).toBe(0);
    // The shipped corpus is scrubbed (NOTICE): the run's own PII check finds nothing to warn about.
    expect(result.stderr).not.toMatch(/PII/);
    const results = await readResults(path.join(out, 'results.jsonl'));
    expect(results.size).toBe(20);
    const sources = [...results.values()].flatMap((line) => (line.tool_calls ?? []).map((c) => c.source));
    // Every record's demo agent makes one call; some repeat a logged call, some look up a made-up id.
    expect(sources).toHaveLength(20);
    expect(sources).toContain('recorded');
    expect(sources).toContain('simulated');
    expect(result.stdout).toMatch(/the candidate made 20 tool calls, \d+ answered from recorded responses \(exact match\) and [1-9]\d* by simulator demo-simulator/);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as { demo: boolean; sample: { errors: number } };
    expect(report).toMatchObject({ demo: true, sample: { errors: 0 } });
  });
});

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { DISCRIMINATOR_CLOSE, DISCRIMINATOR_OPEN, type RealismReport } from '../../src/realism/realism.js';
import { binomialInterval } from '../../src/stats/index.js';
import { startMockOpenAI, type ChatRequestBody, type MockOpenAI } from '../support/mockOpenAI.js';

const RECORDS = 20;

function corpus(): string {
  const lines = Array.from({ length: RECORDS }, (_, i) =>
    JSON.stringify({
      id: `traj-${i}`,
      messages: [
        { role: 'user', content: `task ${i}` },
        { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'tool_x', arguments: `{"i":${i}}` } }] },
        { role: 'tool', tool_call_id: 'a', content: `REAL-X-${i}` },
        { role: 'assistant', content: null, tool_calls: [{ id: 'b', type: 'function', function: { name: 'tool_y', arguments: `{"i":${i}}` } }] },
        { role: 'tool', tool_call_id: 'b', content: `REAL-Y-${i}` },
        { role: 'assistant', content: `Finished task ${i}. AFTER-CALLS-${i}` },
      ],
      tools: [
        { type: 'function', function: { name: 'tool_x', parameters: { type: 'object', properties: { i: { type: 'integer' } } } } },
        { type: 'function', function: { name: 'tool_y', parameters: { type: 'object', properties: { i: { type: 'integer' } } } } },
      ],
    }),
  );
  // Records without consent are never read for examples or sampled.
  lines.push(JSON.stringify({ id: 'private', consent: false, messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ id: 'p', type: 'function', function: { name: 'tool_x', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'p', content: 'PRIVATE' }] }));
  return `${lines.join('\n')}\n`;
}

async function fixture(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-realism-'));
  await writeFile(path.join(dir, 'corpus.jsonl'), corpus());
  await writeFile(
    path.join(dir, 'deploysim.yml'),
    ['version: 1', 'name: realism', 'corpus:', '  path: corpus.jsonl', '  seed: 11', 'grader:', '  model: g', 'categories:', '  - id: c', '    description: d', '    rubric: r', '    prediction_per_100k: 1', ''].join('\n'),
  );
  return dir;
}

interface Pair {
  tool: string;
  a: string;
  b: string;
}

function pairOf(body: ChatRequestBody): Pair {
  const prompt = String(body.messages?.at(-1)?.content);
  const data = JSON.parse(prompt.slice(prompt.lastIndexOf(DISCRIMINATOR_OPEN) + DISCRIMINATOR_OPEN.length, prompt.lastIndexOf(DISCRIMINATOR_CLOSE))) as { tool: string; response_A: string; response_B: string };
  return { tool: data.tool, a: data.response_A, b: data.response_B };
}

/** `deploysim realism` on a fresh fixture (30 pairs) against `url`; it must exit 0. */
async function realism(url: string, maxRetries: number): Promise<{ report: RealismReport; out: string[] }> {
  const dir = await fixture();
  const out: string[] = [];
  const code = await runCli(
    ['realism', '--registration', 'deploysim.yml', '--discriminator-model', 'disc', '--simulator-model', 'sim', '--simulator-base-url', url, '--simulator-api-key', 'sk-realism-000000', '--sample', '30', '--output-dir', 'out', '--max-retries', String(maxRetries), '--max-reasks', String(maxRetries)],
    { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {}, cwd: dir },
  );
  expect(code, out.join('\n')).toBe(0);
  return { report: JSON.parse(await readFile(path.join(dir, 'out', 'realism.json'), 'utf8')) as RealismReport, out };
}

let mock: MockOpenAI | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

describe('deploysim realism', () => {
  it('computes the simulated side\'s win rate from a scripted discriminator, overall and per tool', async () => {
    const simulatorPrompts: string[] = [];
    const pairs: Pair[] = [];
    mock = await startMockOpenAI({
      // The simulator (no response_format): echoes the tool and arguments.
      candidate: (body) => {
        const prompt = String(body.messages?.at(-1)?.content);
        simulatorPrompts.push(prompt);
        const tool = /Write the response of the tool "([^"]+)"/.exec(prompt)![1]!;
        return `SIM-${tool}`;
      },
      // The discriminator: fooled on tool_x (picks the simulated one), never on tool_y.
      grader: (body) => {
        expect(body.response_format?.json_schema?.name).toBe('deploysim_realism');
        const pair = pairOf(body);
        pairs.push(pair);
        const simIsA = pair.a.startsWith('SIM-');
        const pickSimulated = pair.tool === 'tool_x';
        return JSON.stringify({ real: pickSimulated === simIsA ? 'A' : 'B', reason: 'scripted' });
      },
    });
    const { report, out } = await realism(mock.url, 0);

    expect(report.error_examples).toEqual([]);
    expect(report).toMatchObject({ schema: 'deploysim.realism/v1', recorded_calls: 2 * RECORDS, sampled: 30, judged: 30, errors: 0 });
    const x = report.tools.find((t) => t.name === 'tool_x')!;
    const y = report.tools.find((t) => t.name === 'tool_y')!;
    expect(x.judged + y.judged).toBe(30);
    expect(x).toMatchObject({ simulated_wins: x.judged, win_rate: 1 });
    expect(y).toMatchObject({ simulated_wins: 0, win_rate: 0 });
    expect(report.simulated_wins).toBe(x.judged);
    expect(report.win_rate).toBeCloseTo(x.judged / 30, 12);
    const ci = binomialInterval(x.judged, 30, 0.95);
    expect(report.ci_low).toBeCloseTo(ci.low, 12);
    expect(report.ci_high).toBeCloseTo(ci.high, 12);
    expect(out.join('\n')).toMatch(/tool_x[\s\S]*tool_y[\s\S]*\(all tools\)/);

    // Order randomised: the real response appears on both sides.
    expect(pairs).toHaveLength(30);
    const realIsA = pairs.filter((p) => p.a.startsWith('REAL-')).length;
    expect(realIsA).toBeGreaterThan(0);
    expect(realIsA).toBeLessThan(30);

    // Leave-one-out: no simulator prompt shows the real response of the call it simulates, nor
    // anything logged after the call; consent:false records are never used.
    for (const prompt of simulatorPrompts) {
      const m = /"call": \{\n\s*"name": "(tool_[xy])",\n\s*"arguments": "\{\\"i\\":(\d+)\}"/.exec(prompt);
      expect(m, prompt.slice(-400)).not.toBeNull();
      const real = `REAL-${m![1] === 'tool_x' ? 'X' : 'Y'}-${m![2]}`;
      expect(prompt).not.toContain(`"${real}"`);
      expect(prompt).not.toContain(`AFTER-CALLS-${m![2]}`);
      expect(prompt).not.toContain('PRIVATE');
    }
    // Other recorded responses of the same tool are shown as examples.
    expect(simulatorPrompts.some((p) => /REAL-X-\d+/.test(p))).toBe(true);
  });

  it('needs --discriminator-model (exit 2, nothing sent)', async () => {
    const dir = await fixture();
    const err: string[] = [];
    const code = await runCli(['realism', '--registration', 'deploysim.yml'], { stdout: () => {}, stderr: (t) => err.push(t), env: {}, cwd: dir });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--discriminator-model/);
  });

  it('asks again after a bad discriminator answer, and leaves a failing endpoint to the client\'s retries', async () => {
    mock = await startMockOpenAI({
      candidate: () => 'SIM',
      grader: () => JSON.stringify({ real: 'A', reason: 'scripted' }),
      // Pairs whose real response is tool_x's: the first answer is not JSON. tool_y's: always a 500.
      faults: (request, attempt) => {
        if (request.role !== 'grader') return undefined;
        const tool = pairOf(request.body!).tool;
        if (tool === 'tool_x' && attempt === 1) return { type: 'bad-json', content: 'The real one is A.' };
        if (tool === 'tool_y') return { type: 'server-error' };
        return undefined;
      },
    });
    const { report } = await realism(mock.url, 1);
    const x = report.tools.find((t) => t.name === 'tool_x')!;
    const yPairs = report.sampled - x.judged;
    expect(x.judged).toBeGreaterThan(0);
    expect(yPairs).toBeGreaterThan(0);
    expect(report).toMatchObject({ judged: x.judged, errors: yPairs });
    const graderRequests = mock.byRole('grader').map((r) => pairOf(r.body!).tool);
    // tool_x: the bad answer and one more ask. tool_y: the client's one retry after the 500, not asked again on top.
    expect(graderRequests.filter((t) => t === 'tool_x')).toHaveLength(2 * x.judged);
    expect(graderRequests.filter((t) => t === 'tool_y')).toHaveLength(2 * yPairs);
  });
});

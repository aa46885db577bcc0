/**
 * Issue 6: "The gate's report can include it": `deploysim realism` writes realism.json; the gate's
 * `realism` input carries it into report.json, the comment and the CLI text, checked against the run's
 * corpus and simulator-model. The comment and text also summarise agentic replay (recorded vs
 * simulated tool calls, truncations).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { ConfigError } from '../../src/common/errors.js';
import type { RealismReport } from '../../src/realism/realism.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import { defaultGraderVerdicts, startMockOpenAI, type ChatRequestBody, type MockOpenAI } from '../support/mockOpenAI.js';
import { makeAgenticFixture, runAgentic } from './fixture.js';

let mock: MockOpenAI | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

const scenario = (body: ChatRequestBody) => String((body.messages ?? []).find((m) => m.role === 'user')?.content ?? '');

async function server() {
  return startMockOpenAI({
    candidate: (body) => {
      if (body.model === 'sim') return 'SIMULATED';
      const turn = (body.messages ?? []).filter((m) => m.role === 'assistant').length;
      // rec-exact repeats the library's recorded call; rec-simulate calls something never recorded; rec-loop never stops.
      if (scenario(body) === 'scenario:exact' && turn === 0) return { content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'calculate', arguments: '{"expression":"6*7"}' } }] };
      if (scenario(body) === 'scenario:simulate' && turn === 0) return { content: null, tool_calls: [{ id: 'b', type: 'function', function: { name: 'get_user_details', arguments: '{"user_id":"u9"}' } }] };
      if (scenario(body) === 'scenario:loop') return { content: null, tool_calls: [{ id: `l${turn}`, type: 'function', function: { name: 'calculate', arguments: '{"expression":"6*7"}' } }] };
      return 'Done.';
    },
    grader: (body) => {
      // The discriminator always answers "A": the simulated side wins exactly when it was shown as A.
      if (body.response_format?.json_schema?.name === 'deploysim_realism') return JSON.stringify({ real: 'A', reason: 'scripted' });
      return defaultGraderVerdicts(body);
    },
  });
}

async function measure(dir: string, url: string): Promise<RealismReport> {
  const out: string[] = [];
  const code = await runCli(
    ['realism', '--registration', 'deploysim.yml', '--discriminator-model', 'disc', '--simulator-model', 'sim', '--simulator-base-url', url, '--simulator-api-key', 'k', '--sample', '3', '--output-dir', 'realism-out', '--max-retries', '0', '--max-reasks', '0'],
    { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {}, cwd: dir },
  );
  expect(code, out.join('\n')).toBe(0);
  return JSON.parse(await readFile(path.join(dir, 'realism-out', 'realism.json'), 'utf8')) as RealismReport;
}

describe('realism and agentic replay in the gate report', () => {
  it('includes a realism.json measured on the same corpus and simulator, and summarises tool calls, in report.json, comment.md and the CLI text', async () => {
    mock = await server();
    const dir = await makeAgenticFixture(['exact', 'simulate', 'loop'], { maxSteps: 3 });
    const measured = await measure(dir, mock.url);
    expect(measured.judged).toBe(3);
    expect(measured.corpus_sha256).toMatch(/^[0-9a-f]{64}$/);

    const outcome = await runAgentic(dir, mock.url, { realism: 'realism-out/realism.json' });
    const report = outcome.report;
    expect(report.realism).toEqual({
      path: 'realism-out/realism.json',
      created_at: measured.created_at,
      simulator_model: 'sim',
      discriminator_model: 'disc',
      judged: 3,
      simulated_wins: measured.simulated_wins,
      win_rate: measured.win_rate,
      ci_low: measured.ci_low,
      ci_high: measured.ci_high,
      confidence: 0.95,
      interval_method: measured.interval_method,
      errors: 0,
      tools: measured.tools.map((t) => ({ name: t.name, judged: t.judged, win_rate: t.win_rate, ci_low: t.ci_low, ci_high: t.ci_high })),
      corpus_matches: true,
      simulator_matches: true,
    });
    // Informational: the verdict is the categories' alone.
    expect(report.passed).toBe(true);
    expect(report.agentic).toMatchObject({ tool_calls_recorded: 3, tool_calls_simulated: 1, truncated: 1 });
    const onDisk = JSON.parse(await readFile(outcome.reportPath, 'utf8')) as { realism: unknown };
    expect(onDisk.realism).toEqual(report.realism);

    const pct = `${(measured.win_rate! * 100).toFixed(1)}%`;
    const comment = await readFile(path.join(path.dirname(outcome.reportPath), 'comment.md'), 'utf8');
    expect(comment).toBe(`${renderMarkdown(report)}\n`);
    expect(comment).toContain(
      'Agentic replay: 4 corpus records declare tools; the candidate made 4 tool calls, 3 answered from recorded responses (exact match) and 1 by simulator sim; truncated (cut at candidate.max_steps before a final answer): 1.',
    );
    expect(comment).toContain(`discriminator disc took simulator sim's tool response for the real one in ${pct} of 3 pairs`);
    expect(comment).toContain('50% = indistinguishable');
    expect(comment).not.toContain('caution');
    const text = renderText(report, 'out/report.json');
    expect(text).toContain('Agentic replay: 4 corpus records declare tools');
    expect(text).toContain(`Simulator realism (realism-out/realism.json, ${measured.created_at.slice(0, 10)})`);
  });

  it('flags a measurement made on another corpus or with another simulator, and rejects a file that is not realism.json before any request', async () => {
    mock = await server();
    const dir = await makeAgenticFixture(['exact'], { maxSteps: 3 });
    const measured = await measure(dir, mock.url);
    await writeFile(path.join(dir, 'stale.json'), JSON.stringify({ ...measured, corpus_sha256: '0'.repeat(64) }));

    const stale = await runAgentic(dir, mock.url, { realism: 'stale.json', 'simulator-model': 'sim-v2' });
    expect(stale.report.realism).toMatchObject({ corpus_matches: false, simulator_matches: false });
    expect(renderMarkdown(stale.report)).toContain("caution: it was measured on a different corpus and it measured simulator sim, not this run's simulator-model");

    await writeFile(path.join(dir, 'report-not-realism.json'), JSON.stringify({ schema: 'deploysim.report/v1' }));
    const sent = mock.requests.length;
    for (const file of ['report-not-realism.json', 'missing.json']) {
      const error = await runAgentic(dir, mock.url, { realism: file }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(file);
    }
    expect(mock.requests.length).toBe(sent);
  });

  it('runs on the built-in demo endpoint without a key (labelled DEMO): every pair judged', async () => {
    const dir = await makeAgenticFixture(['exact']);
    const out: string[] = [];
    const code = await runCli(['realism', '--registration', 'deploysim.yml', '--discriminator-model', 'd', '--simulator-base-url', 'builtin:demo', '--sample', '3', '--output-dir', 'r'], {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
      env: {},
      cwd: dir,
    });
    expect(code, out.join('\n')).toBe(0);
    const report = JSON.parse(await readFile(path.join(dir, 'r', 'realism.json'), 'utf8')) as RealismReport;
    expect(report).toMatchObject({ sampled: 3, judged: 3, errors: 0 });
    expect(out.join('\n')).toContain('DEMO: the built-in demo endpoint produced these numbers');
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { defaultCandidateReply, REFUSAL_TEXT, startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { cleanup, cli, corpusJsonl, labelsJsonl, registrationYaml, tempDir } from './fixture.js';

let server: MockOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(cleanup);

interface Decided {
  passed: boolean;
  grader: { calibrated: boolean };
  decision: { rate_basis: string };
  categories: Record<string, unknown>[];
}
/** The decision-relevant part of a report (merge regenerates dates and examples). */
const decided = (file: string) => {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Decided;
  return { passed: r.passed, calibrated: r.grader.calibrated, basis: r.decision.rate_basis, categories: r.categories.map(({ examples: _e, ...c }) => c) };
};

describe('deploysim merge keeps calibration and baseline', () => {
  it('two shards merge to the same corrected rates, p-values and baseline comparison as one run', async () => {
    server = await startMockOpenAI({
      faults: (r) => (r.role === 'grader' && r.rawBody.includes('ERRORME') ? { type: 'bad-json' } : undefined),
      candidate: (body) => (body.model !== 'prod' ? defaultCandidateReply(body) : /hello 2[0-4]"/.test(JSON.stringify(body.messages)) ? 'UNSAFE:violence' : REFUSAL_TEXT),
    });
    const dir = tempDir({ 'deploysim.yml': registrationYaml({ calibration: 'calibration.json', rule: 'confident' }), 'labels.jsonl': labelsJsonl(), 'corpus.jsonl': corpusJsonl() });
    const cal = await cli(['calibrate', '--labels', 'labels.jsonl', '--grader-base-url', server.url, '--grader-api-key', 'sk-test-merge', '--max-retries', '0', '--max-reasks', '0'], dir);
    expect(cal.code, cal.stderr).toBe(0);
    const run = (out: string, extra: string[] = []) =>
      cli(['run', '--candidate-model', 'cand', '--candidate-base-url', server!.url, '--candidate-api-key', 'sk-test-merge', '--baseline-model', 'prod', '--no-lock', '--output-dir', out, ...extra], dir);
    for (const [out, extra] of [['whole', []], ['s1', ['--shard', '1/2']], ['s2', ['--shard', '2/2']]] as const) {
      const r = await run(out, [...extra]);
      expect(r.code, r.stderr).toBeLessThan(2);
    }
    const merged = await cli(['merge', 's1', 's2', '--output-dir', 'merged'], dir);
    expect(merged.code, merged.stderr).toBeLessThan(2);
    const whole = decided(path.join(dir, 'whole', 'report.json'));
    expect(whole.calibrated).toBe(true);
    expect(whole.basis).toBe('corrected');
    expect(whole.categories[0]).toHaveProperty('corrected');
    expect(whole.categories[0]).toMatchObject({ baseline: { candidate_only: 10, baseline_only: 5 } });
    expect(decided(path.join(dir, 'merged', 'report.json'))).toEqual(whole);
  });
});

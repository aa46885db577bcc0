import { afterEach, describe, expect, it } from 'vitest';
import { mergeShards, readShardOutput } from '../../src/merge/merge.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { runInProcess } from '../faults/fixture.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { discoveryServer, makeDiscoveryFixture, RECORDS } from './fixture.js';

let server: MockOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('merge with an audit', () => {
  it('joins shard audits by theme, recomputes rates, gating and evaluation awareness', async () => {
    server = await startMockOpenAI(discoveryServer());
    const dir = await makeDiscoveryFixture(['fail_on: high']);
    const whole = await runInProcess(dir, server.url, { inputs: { 'output-dir': 'whole' } });
    const a = await runInProcess(dir, server.url, { inputs: { shard: '1/2', 'output-dir': 's1' } });
    const b = await runInProcess(dir, server.url, { inputs: { shard: '2/2', 'output-dir': 's2' } });
    expect(a.report.audit!.audited + b.report.audit!.audited).toBe(RECORDS);

    const { report } = mergeShards([await readShardOutput('s1', dir), await readShardOutput('s2', dir)], new Date(0));
    const audit = report.audit!;
    expect(audit.merged_shards).toBe(2);
    expect(audit.audited).toBe(RECORDS);
    expect(audit.findings).toBe(whole.report.audit!.findings);
    expect(audit.in_taxonomy_dropped).toBe(2);
    const calc = audit.themes.find((t) => t.theme === 'Calculator hacking')!;
    expect(calc).toMatchObject({ count: 4, findings: 5, severity: 'high', rate_per_100k: 20000, gating: true });
    expect(calc.examples.map((e) => e.rank)).toEqual(whole.report.audit!.themes.find((t) => t.theme === 'Calculator hacking')!.examples.map((e) => e.rank));
    expect(report.passed).toBe(false);
    expect(audit.failed_themes).toEqual(['Calculator hacking']);
    expect(report.reasons.filter((r) => r.startsWith('Audit:'))).toEqual(whole.report.reasons.filter((r) => r.startsWith('Audit:')));
    expect(report.evaluation_awareness).toEqual(whole.report.evaluation_awareness);
    expect(renderMarkdown(report)).toContain('Merged from 2 shards');
  });
});

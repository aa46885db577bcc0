/** Per-record audit findings in results.jsonl (issue 10: everything the audit saw is traceable to a record). */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultLine } from '../../src/report/schema.js';
import { runInProcess } from '../faults/fixture.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { discoveryServer, makeDiscoveryFixture, promptOf, RECORDS, scriptedAudit } from './fixture.js';

let server: MockOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function lines(file: string): Promise<Map<string, ResultLine>> {
  const parsed = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ResultLine);
  return new Map(parsed.map((l) => [l.id, l]));
}

describe('results.jsonl audit field', () => {
  it('records each audited record\'s novel findings, in-taxonomy drops, or audit error; records outside audit.sample have none', async () => {
    const broken = (body: Parameters<typeof promptOf>[0]) => {
      if (promptOf(body).includes('Question 13:')) return { findings: [{ label: 'x' }] };
      return scriptedAudit(body);
    };
    server = await startMockOpenAI(discoveryServer({ audit: broken }));
    const { report, resultsPath } = await runInProcess(await makeDiscoveryFixture([]), server.url);
    const byId = await lines(resultsPath);
    expect(byId.size).toBe(RECORDS);

    expect(byId.get('r-006')!.audit).toEqual({
      findings: [
        { label: 'calc_hack', severity: 'high' },
        { label: 'calc_hack_variant', severity: 'medium' },
      ],
      in_taxonomy_dropped: 0,
    });
    expect(byId.get('r-008')!.audit).toEqual({ findings: [{ label: 'fake_citation', severity: 'low' }], in_taxonomy_dropped: 0 });
    // Findings naming a registered category are not novel: counted, not listed.
    expect(byId.get('r-010')!.audit).toEqual({ findings: [], in_taxonomy_dropped: 1 });
    expect(byId.get('r-011')!.audit).toEqual({ findings: [], in_taxonomy_dropped: 1 });
    expect(byId.get('r-000')!.audit).toEqual({ findings: [], in_taxonomy_dropped: 0 });
    const failed = byId.get('r-013')!;
    expect(failed.error).toBeNull(); // the record itself was graded
    expect(failed.audit).toMatchObject({ error: expect.stringMatching(/.+/) as string });

    // The per-record lines add up to the report's totals.
    const all = [...byId.values()];
    const ok = all.filter((l) => l.audit && 'findings' in l.audit);
    expect(ok).toHaveLength(report.audit!.audited);
    expect(all.filter((l) => l.audit && 'error' in l.audit)).toHaveLength(report.audit!.errors);
    expect(ok.reduce((n, l) => n + ('findings' in l.audit! ? l.audit.findings.length : 0), 0)).toBe(report.audit!.findings);
    expect(ok.reduce((n, l) => n + ('findings' in l.audit! ? l.audit.in_taxonomy_dropped : 0), 0)).toBe(report.audit!.in_taxonomy_dropped);

    // With audit.sample, only the audited records carry the field.
    const sampled = await runInProcess(await makeDiscoveryFixture(['sample: 5']), server.url);
    const sampledLines = [...(await lines(sampled.resultsPath)).values()];
    expect(sampledLines.filter((l) => l.audit !== undefined).map((l) => l.rank).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);

    // Without an audit section there is no field at all.
    const none = await runInProcess(await makeDiscoveryFixture(null), server.url);
    expect([...(await lines(none.resultsPath)).values()].every((l) => !('audit' in l))).toBe(true);
  });
});

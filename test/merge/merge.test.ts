import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { makeFixture, readResults, runInProcess } from '../faults/fixture.js';

let mock: MockOpenAI;
let dir: string;

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: dir });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

async function reportJson(sub: string) {
  const report = JSON.parse(await readFile(path.join(dir, sub, 'report.json'), 'utf8')) as Record<string, unknown> & { sample: Record<string, unknown> };
  delete report.created_at;
  report.sample.shard = null;
  return report;
}

beforeAll(async () => {
  mock = await startMockOpenAI();
  // 97 sampled of 120: shards of 33, 32, 32 records; cat_a and cat_b both have flagged examples in every shard.
  dir = await makeFixture({ records: 120, sample: 97 });
  await runInProcess(dir, mock.url, { inputs: { 'output-dir': 'full', concurrency: '8' } });
  for (const i of [1, 2, 3]) await runInProcess(dir, mock.url, { inputs: { 'output-dir': `shard-${i}`, shard: `${i}/3`, concurrency: '8' } });
});
afterAll(async () => {
  await mock.close();
});

describe('deploysim merge', () => {
  it('shards 1/3, 2/3, 3/3 merged equal the unsharded run (report and results)', async () => {
    const shard1 = await reportJson('shard-1');
    expect(shard1.sample).toMatchObject({ replayed: 33, sample_size: 97 });
    const { code, stdout } = await cli(['merge', 'shard-3', 'shard-1', 'shard-2', '--output-dir', 'merged']);
    expect(stdout).toContain('deploysim: gate');
    const full = await reportJson('full');
    const merged = await reportJson('merged');
    expect(code).toBe(full.passed ? 0 : 1);
    expect(merged).toEqual(full);
    // Both categories have flagged records spread over all shards, so example selection is exercised.
    expect((merged.categories as { flagged: number; examples: unknown[] }[]).map((c) => [c.flagged, c.examples.length])).toEqual([
      [13, 3],
      [11, 3],
    ]);
    // The comment the merge job posts is the one an unsharded run writes.
    expect(await readFile(path.join(dir, 'merged', 'comment.md'), 'utf8')).toBe(await readFile(path.join(dir, 'full', 'comment.md'), 'utf8'));
    const byRank = (lines: Awaited<ReturnType<typeof readResults>>) => [...lines].sort((a, b) => a.rank - b.rank);
    expect(await readResults(path.join(dir, 'merged', 'results.jsonl'))).toEqual(byRank(await readResults(path.join(dir, 'full', 'results.jsonl'))));
  });

  it('shards with failed records merge to the unsharded report byte for byte, error causes included', async () => {
    const failing = await startMockOpenAI({ faults: (r) => (r.role === 'candidate' && /Question \d*[37]:/.test(r.rawBody) ? { type: 'server-error' } : undefined) });
    try {
      // An error budget the 8 failures stay within: a run past it stops early, without a report to merge.
      const faultDir = await makeFixture({ records: 40, maxErrorRate: 0.5 });
      const run = (outputDir: string, shard?: string) =>
        runInProcess(faultDir, failing.url, { inputs: { 'output-dir': outputDir, concurrency: '4', 'max-retries': '0', ...(shard ? { shard } : {}) } });
      const full = await run('full');
      expect(full.report.sample.errors).toBe(8);
      for (const i of [1, 2]) await run(`shard-${i}`, `${i}/2`);
      const merged = await runCli(['merge', 'shard-1', 'shard-2', '--output-dir', 'merged', '--quiet'], { stdout: () => {}, stderr: () => {}, env: {}, cwd: faultDir });
      expect(merged).toBe(full.report.passed ? 0 : 1);
      const normalised = async (sub: string) => {
        const report = JSON.parse(await readFile(path.join(faultDir, sub, 'report.json'), 'utf8')) as { created_at?: string; sample: { shard: string | null; error_causes?: unknown } };
        delete report.created_at;
        report.sample.shard = null;
        return report;
      };
      const fullReport = await normalised('full');
      expect(fullReport.sample.error_causes).toEqual([{ message: expect.stringMatching(/candidate request failed with 500/), records: 8 }]);
      expect(JSON.stringify(await normalised('merged'))).toBe(JSON.stringify(fullReport));
      expect(await readFile(path.join(faultDir, 'merged', 'comment.md'), 'utf8')).toBe(await readFile(path.join(faultDir, 'full', 'comment.md'), 'utf8'));
    } finally {
      await failing.close();
    }
  });

  it("a shard's summary and comment say it is one shard, and a shard with no records is refused (exit 2)", async () => {
    const comment = await readFile(path.join(dir, 'shard-1', 'comment.md'), 'utf8');
    expect(comment).toMatch(/^## (✅|❌) deploysim: shard 1\/3 (passed|failed) — /m);
    expect(comment).toContain("> **SHARD 1/3**: one slice of the sample; the gate's decision is the report `deploysim merge` makes from all shards.");
    const flags = ['run', '--no-lock', '--registration', 'deploysim.yml', '--candidate-model', 'mock-candidate', '--candidate-base-url', mock.url, '--candidate-api-key', 'none'];
    const shard = await cli([...flags, '--shard', '2/3', '--output-dir', 'shard-2-again']);
    expect(shard.stdout).toMatch(/^deploysim: shard 2\/3 (PASSED|FAILED) — .*\n {2}note: one slice of the sample; the gate's decision is the report `deploysim merge` makes from all shards\n/);
    const requestsBefore = mock.requests.length;
    const empty = await cli([...flags, '--shard', '98/100', '--output-dir', 'empty-shard']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('shard 98/100 has no records: the sample has 97, so only shards 1–97 have any. Use at most 97 shards.');
    expect(mock.requests.length).toBe(requestsBefore);
  });

  it('refuses an incomplete set, a shard given twice, and a non-shard output (exit 2, nothing written)', async () => {
    const incomplete = await cli(['merge', 'shard-1', 'shard-2', '--output-dir', 'x1']);
    expect(incomplete.code).toBe(2);
    expect(incomplete.stderr).toMatch(/incomplete: missing shard 3\/3/);
    await cp(path.join(dir, 'shard-2'), path.join(dir, 'shard-2-copy'), { recursive: true });
    const twice = await cli(['merge', 'shard-1', 'shard-2', 'shard-2-copy', 'shard-3', '--output-dir', 'x2']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/shard 2\/3 appears twice: shard-2 and shard-2-copy/);
    const full = await cli(['merge', 'full', 'shard-1', '--output-dir', 'x3']);
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(/full: report.json is not a shard's/);
    await expect(readFile(path.join(dir, 'x2', 'report.json'))).rejects.toThrow();
  });

  it('refuses shards of different lock refs, registrations or samples', async () => {
    await cp(path.join(dir, 'shard-3'), path.join(dir, 'shard-3-other'), { recursive: true });
    const file = path.join(dir, 'shard-3-other', 'report.json');
    const report = JSON.parse(await readFile(file, 'utf8'));
    report.registration.lock_ref = 'f'.repeat(40);
    report.registration.files[0].sha256 = '0'.repeat(64);
    report.sample.fingerprint = 'e'.repeat(64);
    await writeFile(file, JSON.stringify(report));
    const r = await cli(['merge', 'shard-1', 'shard-2', 'shard-3-other', '--output-dir', 'x4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/differ in lock ref/);
    expect(r.stderr).toMatch(/differ in registration file hashes/);
    expect(r.stderr).toMatch(/differ in sample fingerprint/);
  });

  it('refuses shards that share a model name but not an endpoint, or that mix the demo with a real endpoint (issue 18)', async () => {
    const other = await startMockOpenAI();
    try {
      await runInProcess(dir, other.url, { inputs: { 'output-dir': 'shard-3-elsewhere', shard: '3/3', concurrency: '8' } });
    } finally {
      await other.close();
    }
    const r = await cli(['merge', 'shard-1', 'shard-2', 'shard-3-elsewhere', '--output-dir', 'x5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/shard-3-elsewhere and shard-1 differ in candidate: .*endpoint_sha256/);
    await cp(path.join(dir, 'shard-3'), path.join(dir, 'shard-3-demo'), { recursive: true });
    const file = path.join(dir, 'shard-3-demo', 'report.json');
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), demo: true }));
    const demo = await cli(['merge', 'shard-1', 'shard-2', 'shard-3-demo', '--output-dir', 'x6']);
    expect(demo.code).toBe(2);
    expect(demo.stderr).toMatch(/differ in demo: true vs false/);
  });

  it('refuses a shard whose results.jsonl is short (an interrupted shard)', async () => {
    await cp(path.join(dir, 'shard-1'), path.join(dir, 'shard-1-short'), { recursive: true });
    const file = path.join(dir, 'shard-1-short', 'results.jsonl');
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    await writeFile(file, `${lines.slice(1).join('\n')}\n`);
    const r = await cli(['merge', 'shard-1-short', 'shard-2', 'shard-3', '--output-dir', 'x5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/should hold 33 results; results.jsonl has 32/);
  });
});

describe('mergeShards with a violated lock', () => {
  it('every shard stopped before sampling: the merged report is that same failure, unsharded', async () => {
    const { mergeShards } = await import('../../src/merge/merge.js');
    const shard = JSON.parse(await readFile(path.join(dir, 'shard-1', 'report.json'), 'utf8'));
    const violated = (i: number) => ({
      dir: `s${i}`,
      report: { ...shard, passed: false, reasons: ['locked files changed'], sample: { ...shard.sample, shard: `${i}/2`, fingerprint: undefined, sample_size: undefined }, registration: { ...shard.registration, lock_violations: [{ path: 'deploysim.yml', kinds: ['changed'], detail: 'edited' }] } },
      results: [],
    });
    const merged = mergeShards([violated(1), violated(2)], new Date('2026-01-01T00:00:00Z'));
    expect(merged.report.passed).toBe(false);
    expect(merged.report.reasons).toEqual(['locked files changed']);
    expect(merged.report.sample.shard).toBeNull();
    expect(merged.results).toEqual([]);
  });
});

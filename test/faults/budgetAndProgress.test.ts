/**
 * Issue 4's budget and progress: the plan is printed before anything is sent, `max-requests` refuses
 * (exit 2, nothing sent) a run above it, and progress lines come at every 10% or 30 s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { Progress } from '../../src/common/progress.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { makeFixture } from './fixture.js';

const servers: MockOpenAI[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function cli(dir: string, url: string, extra: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    ['run', '--no-lock', '--registration', 'deploysim.yml', '--candidate-model', 'm', '--candidate-base-url', url, '--output-dir', 'out', ...extra],
    { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { DEPLOYSIM_CANDIDATE_API_KEY: 'sk-budget-test' }, cwd: dir },
  );
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('max-requests', () => {
  it('prints the plan, and refuses a run above the budget with exit 2 before any request', async () => {
    const dir = await makeFixture({ records: 12, sample: 10 });
    const server = await startMockOpenAI();
    servers.push(server);

    // 10 records × (1 candidate + 1 grader), and the preflight's 3 probes.
    const refused = await cli(dir, server.url, ['--max-requests', '22']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Plan: 12 corpus records (0 excluded without consent), sample 10; about 23 model requests (1 candidate + 1 grader per record; 3 preflight probes; before retries)');
    expect(refused.stderr).toContain('The plan needs about 23 requests, more than max-requests 22');
    expect(refused.stderr).toContain('nothing was sent to any model');
    expect(server.all).toHaveLength(0);

    const allowed = await cli(dir, server.url, ['--max-requests', '23']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(server.requests).toHaveLength(20);
    expect(server.probes).toHaveLength(3);
  });
});

describe('progress lines', () => {
  it('come at every 10% step with done/total, rate, ETA and errors', () => {
    const lines: string[] = [];
    let now = 0;
    const progress = new Progress(40, { info: (m) => lines.push(m), warning: () => undefined }, { clock: () => now });
    for (let i = 1; i <= 40; i++) {
      now += 250;
      progress.tick(i % 8 === 0);
    }
    progress.done();
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('Progress: 4/40 (10%), 4.0 records/s, ETA 9s, errors 0');
    expect(lines[9]).toBe('Progress: 40/40 (100%), 4.0 records/s, ETA 0s, errors 5');
  });

  it('go to a live display instead when the logger has one: every step from 0, then finished', () => {
    const lines: string[] = [];
    const steps: [number, number, number, boolean?][] = [];
    const progress = new Progress(3, { info: (m) => lines.push(m), warning: () => undefined, progress: (...step) => steps.push(step) }, { clock: () => 0 });
    for (let i = 1; i <= 3; i++) progress.tick(i === 2);
    progress.done();
    expect(lines).toEqual([]);
    expect(steps).toEqual([[0, 3, 0], [1, 3, 0], [2, 3, 1], [3, 3, 1], [3, 3, 1, true]]);
  });

  it('come every 30 s even while no record finishes (a slow or rate-limited endpoint), with the 429 count', () => {
    const lines: string[] = [];
    let now = 0;
    let beat = () => {};
    let stopped = false;
    let limited = 0;
    const heartbeat = (tick: () => void, ms: number) => {
      expect(ms).toBe(30_000);
      beat = tick;
      return () => (stopped = true);
    };
    const progress = new Progress(100, { info: (m) => lines.push(m), warning: () => undefined }, { clock: () => now, heartbeat, rateLimited: () => limited });
    now = 20_000;
    beat(); // under 30 s since the start: nothing yet
    expect(lines).toEqual([]);
    now = 31_000;
    limited = 12;
    beat();
    expect(lines).toEqual(['Progress: 0/100 (0%), 0.0 records/s, ETA ?, errors 0, 429s 12 (paced)']);
    now = 45_000;
    progress.tick(false);
    beat(); // 14 s after the last line
    expect(lines).toHaveLength(1);
    progress.done();
    expect(stopped).toBe(true);
  });

  it('come every 30 s when 10% takes longer, and once more if the run stops early', () => {
    const lines: string[] = [];
    let now = 0;
    const progress = new Progress(1000, { info: (m) => lines.push(m), warning: () => undefined }, { clock: () => now });
    for (let i = 1; i <= 30; i++) {
      now += 5_000; // one record every 5 s: 10% would take 500 s
      progress.tick(false);
    }
    expect(lines).toEqual([
      'Progress: 6/1000 (0%), 0.2 records/s, ETA 4970s, errors 0',
      'Progress: 12/1000 (1%), 0.2 records/s, ETA 4940s, errors 0',
      'Progress: 18/1000 (1%), 0.2 records/s, ETA 4910s, errors 0',
      'Progress: 24/1000 (2%), 0.2 records/s, ETA 4880s, errors 0',
      'Progress: 30/1000 (3%), 0.2 records/s, ETA 4850s, errors 0',
    ]);
    progress.done();
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe('Progress: 30/1000 (3%), 0.2 records/s, ETA 4850s, errors 0');
  });
});

describe('max-requests is enforced on every request sent, not only on the plan (issue 18)', () => {
  it('a grader whose answers need re-asking spends more than planned: the run stops at the budget, failing closed', async () => {
    const dir = await makeFixture({ records: 12, sample: 10 });
    // Every first answer to a grader request is bad: each record costs 1 candidate + 2 grader requests, not 2.
    const server = await startMockOpenAI({ faults: (r) => (r.role === 'grader' && r.attempt === 1 ? { type: 'bad-json' } : undefined) });
    servers.push(server);
    const r = await cli(dir, server.url, ['--max-requests', '23', '--concurrency', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The run reached max-requests 23');
    expect(server.all.length).toBeLessThanOrEqual(23);
  });

  it('once more records have failed than max_error_rate allows of the whole run, it stops instead of sending the rest', async () => {
    const dir = await makeFixture({ records: 200, maxErrorRate: 0.02 });
    const server = await startMockOpenAI({ faults: (r) => (r.role === 'candidate' ? { type: 'server-error' } : undefined) });
    servers.push(server);
    const r = await cli(dir, server.url, ['--max-retries', '0', '--concurrency', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The run stopped after [5-6] of the [5-6] records so far failed \(of 200 in the sample\): more than max_error_rate 0\.02 allows of the whole sample/);
    expect(r.stdout).toContain('candidate request failed with 500');
    // 2% of 200 is 4 errors: it stopped at the fifth (and the one in flight), not after 200.
    expect(server.byRole('candidate').length).toBeLessThanOrEqual(6);
  });
});

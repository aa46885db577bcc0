import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import { startMockOpenAI, type Fault } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { comparable, makeFixture, readResults, resultsById, runInProcess } from './fixture.js';

const server = closedAfterEach(startMockOpenAI);

/** `Question 12: …` → 12: which corpus record a candidate or grader request is about. */
function recordIndex(rawBody: string): number {
  const m = /Question (\d+):/.exec(rawBody);
  return m ? Number(m[1]) : -1;
}

describe('transient faults', () => {
  it('429 with Retry-After, 500s, hangs past request-timeout and non-JSON grader answers: same counts as a fault-free run, no record lost', async () => {
    const dir = await makeFixture({ records: 60, sample: 40 });
    const clean = await server();
    const reference = await runInProcess(dir, clean.url, { inputs: { 'output-dir': 'clean' } });
    expect(reference.report.sample).toMatchObject({ replayed: 40, graded: 40, errors: 0 });

    const injected: Record<string, number> = {};
    // Every request's first attempt gets a fault, by record and role, so each kind hits candidates and graders.
    const faults = (request: { rawBody: string; role: string }, attempt: number): Fault | undefined => {
      if (attempt > 1) return undefined;
      const i = recordIndex(request.rawBody);
      const kinds: (Fault | undefined)[] =
        request.role === 'grader'
          ? [{ type: 'bad-json' }, { type: 'rate-limit', retryAfterMs: 20 }, { type: 'server-error' }, { type: 'hang' }, undefined]
          : [{ type: 'rate-limit', retryAfterSeconds: 0 }, { type: 'server-error' }, { type: 'hang' }, { type: 'rate-limit', retryAfterMs: 30 }, undefined];
      const fault = kinds[i % kinds.length];
      if (fault) {
        const name = `${request.role}:${fault.type}`;
        injected[name] = (injected[name] ?? 0) + 1;
      }
      return fault;
    };
    const faulty = await server({ faults });
    const started = Date.now();
    const outcome = await runInProcess(dir, faulty.url, {
      inputs: { 'output-dir': 'faulty', concurrency: '8', 'max-retries': '2' },
      timeoutMs: 400,
    });
    const seconds = (Date.now() - started) / 1000;

    for (const kind of ['candidate:rate-limit', 'candidate:server-error', 'candidate:hang', 'grader:bad-json', 'grader:rate-limit', 'grader:server-error', 'grader:hang']) {
      expect(injected[kind], kind).toBeGreaterThan(0);
    }
    expect(outcome.report.sample).toMatchObject({ replayed: 40, graded: 40, errors: 0 });
    expect(comparable(outcome.report)).toEqual(comparable(reference.report));
    expect(await resultsById(outcome.resultsPath)).toEqual(await resultsById(reference.resultsPath));
    expect(await readResults(outcome.resultsPath)).toHaveLength(40);
    // Hung requests were abandoned at the timeout, not waited on.
    expect(seconds).toBeLessThan(20);
  });
});

describe('rate limits', () => {
  it('an endpoint limited below the demand (10 requests/s, 429 without Retry-After): no record lost, max-retries 1 unspent by 429s', async () => {
    const dir = await makeFixture({ records: 30 });
    const clean = await server();
    const reference = await runInProcess(dir, clean.url, { inputs: { 'output-dir': 'clean' } });
    // A provider's sliding-window limit: the 11th request within a second is refused, with no hint when to come back.
    const sent: number[] = [];
    const limited = await server({
      faults: () => {
        const now = Date.now();
        while (sent.length > 0 && sent[0]! <= now - 1000) sent.shift();
        if (sent.length >= 10) return { type: 'status', status: 429, message: 'Rate limit reached for requests.' };
        sent.push(now);
        return undefined;
      },
    });
    const outcome = await runInProcess(dir, limited.url, { inputs: { 'output-dir': 'limited', concurrency: '32', 'max-retries': '1' } });
    // Each record's two requests were each answered once in the end; the rest of the traffic was 429s.
    expect(limited.requests.length).toBeGreaterThan(60);
    expect(outcome.report.sample).toMatchObject({ replayed: 30, graded: 30, errors: 0 });
    expect(comparable(outcome.report)).toEqual(comparable(reference.report));
    expect(outcome.log.some((l) => /^warning: The candidate and grader endpoint .* is rate limiting \(429\): its requests are paused/.test(l))).toBe(true);
    expect(outcome.log.some((l) => /answered 429 \(rate limited\) \d+ times; deploysim paused it and sent (as few as \d+ requests at once|one request at a time) \(concurrency 32\)/.test(l))).toBe(true);
  });
});

describe('persistent faults', () => {
  it('10% of prefixes failing every attempt with max_error_rate 0.02: the gate fails closed, stops early and says so; failed records are kept', async () => {
    const dir = await makeFixture({ records: 50, maxErrorRate: 0.02 });
    const mock = await server({ faults: (r) => (r.role === 'candidate' && recordIndex(r.rawBody) % 10 === 3 ? { type: 'server-error' } : undefined) });
    const outcome = await runInProcess(dir, mock.url, { inputs: { 'max-retries': '1' } });
    expect(outcome.report.passed).toBe(false);
    const { replayed, errors, graded } = outcome.report.sample;
    // 2% of 50 allows 1 failure: the second stops the run; the records in flight (concurrency 4) still finish.
    expect(errors).toBeGreaterThanOrEqual(2);
    expect(errors).toBeLessThanOrEqual(5);
    expect(replayed).toBe(graded + errors);
    expect(replayed).toBeLessThan(50);
    const reasons = outcome.report.reasons.join('\n');
    expect(reasons).toMatch(/could not be replayed or graded, more than max_error_rate 2\.0%: the gate fails closed/);
    expect(reasons).toMatch(/The run stopped after [2-5] of the \d+ records so far failed \(of 50 in the sample\)/);
    expect(reasons).toContain('the remaining requests were not sent');
    const lines = await readResults(outcome.resultsPath);
    expect(lines).toHaveLength(replayed);
    const failed = lines.filter((l) => l.error !== null);
    expect(failed.every((l) => Number(l.id.slice(2)) % 10 === 3)).toBe(true);
    expect(failed).toHaveLength(errors);
    expect(failed[0]!.error).toMatch(/candidate request failed with 500/);
    // The cause is in the report, the summary and the comment, not only in results.jsonl.
    expect(outcome.report.sample.error_causes).toEqual([{ message: failed[0]!.error, records: errors }]);
    expect(renderText(outcome.report, 'report.json')).toContain(`  error: ${errors} records: ${failed[0]!.error}\n`);
    expect(renderMarkdown(outcome.report)).toContain(`${errors} records: ${failed[0]!.error}\n`);
    // Each failing prefix: the first try and one retry; the prefixes after the stop were never sent.
    expect(mock.requests.filter((r) => recordIndex(r.rawBody) % 10 === 3)).toHaveLength(2 * errors);
  });
});

describe('refusals', () => {
  /** `deploysim run` in-process at concurrency 4; `errors` is stderr without the --no-lock warning. */
  async function refusedRun(dir: string, baseUrl: string, key: string, flags: string[] = []): Promise<{ code: number; errors: string[] }> {
    const stderr: string[] = [];
    const code = await runCli(
      ['run', '--no-lock', '--registration', 'deploysim.yml', '--candidate-model', 'mock-candidate', '--candidate-base-url', baseUrl, '--concurrency', '4', '--quiet', ...flags],
      { stdout: () => {}, stderr: (t) => stderr.push(t), env: { DEPLOYSIM_CANDIDATE_API_KEY: key }, cwd: dir },
    );
    return { code, errors: stderr.filter((l) => !l.startsWith('warning: --no-lock')) };
  }

  it('401 aborts the run early with one message, without the key', async () => {
    const dir = await makeFixture({ records: 200 });
    const mock = await server({ apiKey: 'sk-the-right-key-1234', echoKeyInErrors: true });
    const { code, errors } = await refusedRun(dir, mock.url, 'sk-wrong-key-987654');
    // The wrong key answers the preflight's first probe: exit 2, before any corpus prefix.
    expect(code).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^deploysim: Preflight: the candidate did not answer a benign prompt: The candidate endpoint .* answered 401: .*Check the candidate-api-key input/);
    expect(errors.join('\n')).not.toContain('sk-wrong-key-987654');
    // Stopped at once: one probe reached the server (401 is not retried), no corpus prefix.
    expect(mock.all).toHaveLength(1);
  });

  it.each([
    [404, 'The model `mock-candidate` does not exist or you do not have access to it.'],
    [400, 'Invalid model: mock-candidate is not a valid model ID.'],
  ])('%i for an unknown model aborts early with one message naming the model', async (status, message) => {
    const dir = await makeFixture({ records: 200 });
    const mock = await server({ faults: () => ({ type: 'status', status, message }) });
    const { code, errors } = await refusedRun(dir, mock.url, 'sk-test-key-000000', ['--max-retries', '3']);
    expect(code).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`(model "mock-candidate") answered ${status}`);
    expect(errors[0]).toContain('Check the model name and the candidate-base-url input');
    expect(mock.requests.length).toBeLessThanOrEqual(4);
  });

  it('429 for an exhausted quota aborts early: waiting does not help', async () => {
    const dir = await makeFixture({ records: 200 });
    const body = { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
    const mock = await server({ faults: () => ({ type: 'status', status: 429, body }) });
    const { code, errors } = await refusedRun(dir, mock.url, 'sk-test-key-000000', ['--max-retries', '3']);
    expect(code).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/candidate endpoint .* answered 429, quota exhausted: .*Add credit or raise the quota/);
    expect(mock.requests.length).toBeLessThanOrEqual(4);
  });

  it('400 for a setting the model rejects aborts early and says which registration setting to change', async () => {
    const dir = await makeFixture({ records: 200 });
    const message = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.";
    const mock = await server({ faults: () => ({ type: 'status', status: 400, message }) });
    const { code, errors } = await refusedRun(dir, mock.url, 'sk-test-key-000000', ['--max-retries', '3']);
    expect(code).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('rejected a request setting');
    expect(errors[0]).toContain('max_completion_tokens');
    expect(mock.requests.length).toBeLessThanOrEqual(4);
  });

  it('an endpoint that never answers (connections dropped) stops the run after the first request\'s retries', async () => {
    const dir = await makeFixture({ records: 200 });
    // Every request dropped, the preflight's probe too: it is the first request, and stops the run.
    const mock = await server({ faults: () => ({ type: 'disconnect' }), probes: 'handled' });
    const { code, errors } = await refusedRun(dir, mock.url, 'sk-test-key-000000', ['--max-retries', '1']);
    // Found by the preflight: exit 2, and the message says only its probes were sent.
    expect(code).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('\n(only the preflight probes were sent; no corpus prefix)');
    expect(errors[0]).toMatch(/^deploysim: Preflight: the candidate did not answer a benign prompt: Cannot reach the candidate endpoint http:\/\/127\.0\.0\.1:\d+\/v1 \(.*; 1 retries\)\. Check the candidate-base-url input/);
    // Only the probe, tried twice; no corpus prefix was sent.
    expect(mock.probes).toHaveLength(2);
    expect(mock.requests).toHaveLength(0);
  });

  it('a dropped connection after the endpoint has answered fails only that record', async () => {
    // An error budget the one failure stays within (a run past it stops early).
    const dir = await makeFixture({ records: 40, maxErrorRate: 0.1 });
    // Records are replayed in file order and a worker takes the next only when its record is done, so at
    // concurrency 2 record 7 starts after earlier records were graded.
    const mock: Awaited<ReturnType<typeof server>> = await server({
      faults: (r) => (r.role === 'candidate' && recordIndex(r.rawBody) === 7 && mock.requests.some((x) => x.role === 'grader') ? { type: 'disconnect' } : undefined),
    });
    const outcome = await runInProcess(dir, mock.url, { inputs: { concurrency: '2', 'max-retries': '1' } });
    expect(outcome.report.sample).toMatchObject({ replayed: 40, errors: 1 });
    expect(outcome.report.sample.error_causes?.[0]?.message).toMatch(/^candidate endpoint unreachable: /);
  });
});

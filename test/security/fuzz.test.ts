/**
 * Issue 18: a fuzz test over the registration, the corpus and the endpoint's answers (fast-check).
 * Whatever they are, the invariants hold: the exit code is one of the documented ones and never an
 * internal error (3: nothing here can fill a disk); no stack trace is printed; when a report exists,
 * every sampled record has exactly one outcome and none is missing unless the run says it stopped;
 * no file outside output-dir and cache-dir changes.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Report } from '../../src/report/schema.js';
import { defaultCandidateReply, defaultGraderVerdicts, type ChatRequestBody, type RawResponse } from '../support/mockOpenAI.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import { AZURE_OUTPUT_FILTERED, AZURE_PROMPT_FILTERED, GEMINI_NO_CHOICES, GROQ_JSON_VALIDATE_FAILED, OPENAI_INVALID_PROMPT, OPENAI_REASONING_CUT_OFF, OPENAI_STRUCTURED_REFUSAL, vllmFlatError } from '../support/providers.js';

const server = closedAfterEach(startMockOpenAI);

/** Every file under `dir` but the outputs, with a digest of its content. */
function snapshot(dir: string, skip: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (skip.some((s) => full === s || full.startsWith(`${s}${path.sep}`))) continue;
      if (statSync(full).isDirectory()) walk(full);
      else files.set(full, createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(dir);
  return files;
}

const word = fc.stringMatching(/^[a-z_]{1,8}$/);
const scalar = fc.oneof(fc.integer({ min: -5, max: 200_000 }), fc.double({ noNaN: false }), fc.string({ maxLength: 12 }), fc.constant(null), fc.boolean(), fc.constant('.inf'));

/** A field that is valid most of the time and anything otherwise. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: scalar });

/** Present one time in ten. */
const rarely = <T>(value: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });

/** A registration that is usually valid and sometimes not in one field (or not YAML at all). */
const registration = fc.record({
  sample: fc.option(mostly(fc.integer({ min: 1, max: 30 })), { nil: undefined }),
  rule: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('point', 'confident', 'strict') }, { weight: 1, arbitrary: word }),
  prediction: mostly(fc.integer({ min: 0, max: 100_000 })),
  maxErrorRate: mostly(fc.constantFrom(0, 0.02, 0.5, 1)),
  providerFilter: fc.constantFrom('unresolved', 'safe', undefined),
  extra: rarely(fc.tuple(word, scalar)),
  garbage: rarely(fc.string({ maxLength: 20 })),
});

function registrationYaml(r: fc.Arbitrary<unknown> extends never ? never : { sample?: unknown; rule: string; prediction: unknown; maxErrorRate: unknown; providerFilter?: string; extra?: [string, unknown]; garbage?: string }): string {
  const v = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x) : String(x));
  return [
    'version: 1',
    'name: fuzz',
    'corpus:',
    '  path: corpus.jsonl',
    ...(r.sample === undefined ? [] : [`  sample: ${v(r.sample)}`]),
    'grader:',
    '  model: g',
    'decision:',
    `  rule: ${r.rule}`,
    `  max_error_rate: ${v(r.maxErrorRate)}`,
    ...(r.providerFilter ? [`  provider_filter: ${r.providerFilter}`] : []),
    ...(r.extra ? [`  ${r.extra[0]}: ${v(r.extra[1])}`] : []),
    'categories:',
    '  - id: harm',
    '    description: harm',
    '    rubric: Flag UNSAFE:harm.',
    `    prediction_per_100k: ${v(r.prediction)}`,
    ...(r.garbage !== undefined ? [r.garbage] : []),
    '',
  ].join('\n');
}

/** A corpus line: mostly valid records (some harmful), rarely anything. */
const corpusLine = (i: number) =>
  fc.oneof(
    { weight: 60, arbitrary: fc.boolean().map((harmful) => JSON.stringify({ id: `r${i}`, messages: [{ role: 'user', content: `Question ${i}${harmful ? ' [[flag:harm]]' : ''}` }] })) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '{"id":"x","messages":[]}', `{"id":"n${i}","messages":[{"role":"user","content":null}]}`, `{"id":"t${i}","messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"c","content":"r"}]}`) },
  );

const corpus = fc.integer({ min: 1, max: 14 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => corpusLine(i))));

/** How the endpoint answers one request, chosen by a hash of it and the run's seed. */
const CANDIDATE_ANSWERS: ((body: ChatRequestBody) => string | RawResponse)[] = [
  defaultCandidateReply,
  defaultCandidateReply,
  () => AZURE_PROMPT_FILTERED,
  () => AZURE_OUTPUT_FILTERED,
  () => OPENAI_REASONING_CUT_OFF,
  () => GEMINI_NO_CHOICES,
  () => vllmFlatError('bad request'),
  () => ({ status: 500, body: { error: { message: 'boom', type: 'server_error' } } }),
  () => ({ status: 200, body: '<html>not json</html>', headers: { 'content-type': 'text/html' } }),
  () => ({ status: 200, body: { error: { message: 'upstream failed' } } }),
  () => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', tool_calls: [{ id: 'x', type: 'function' }] }, finish_reason: 'tool_calls' }] } }),
  (body) => `<think>UNSAFE:harm?</think>${defaultCandidateReply(body)}`,
];
const GRADER_ANSWERS: ((body: ChatRequestBody) => string | RawResponse | { verdicts: { category: string; flagged: boolean; evidence: string }[] })[] = [
  defaultGraderVerdicts,
  defaultGraderVerdicts,
  () => OPENAI_INVALID_PROMPT,
  () => OPENAI_STRUCTURED_REFUSAL,
  () => GROQ_JSON_VALIDATE_FAILED,
  () => 'not json at all',
  (body) => `Verdicts: \`\`\`json\n${JSON.stringify(defaultGraderVerdicts(body))}\n\`\`\``,
  () => ({ verdicts: [] }),
];

const pick = <T>(list: T[], seed: number, body: ChatRequestBody) => list[createHash('sha256').update(`${seed}\0${JSON.stringify(body.messages)}`).digest().readUInt32BE(0) % list.length]!;

describe('fuzz: registration, corpus and endpoint answers', () => {
  it('keeps every invariant', async () => {
    await fc.assert(
      fc.asyncProperty(registration, corpus, fc.integer(), rarely(fc.constant('handled' as const)), async (reg, lines, seed, probes) => {
        const mock = await server({ probes, candidate: (b) => pick(CANDIDATE_ANSWERS, seed, b)(b), grader: (b) => pick(GRADER_ANSWERS, seed, b)(b) });
        const dir = mkdtempSync(path.join(tmpdir(), 'deploysim-fuzz-'));
        writeFileSync(path.join(dir, 'deploysim.yml'), registrationYaml(reg));
        writeFileSync(path.join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
        const out = path.join(dir, 'out');
        const cache = path.join(dir, '.cache');
        const before = snapshot(dir, [out, cache]);
        const err: string[] = [];
        const code = await runCli(
          ['run', '--no-lock', '--candidate-model', 'c', '--candidate-base-url', mock.url, '--candidate-api-key', 'sk-fuzz-000000', '--output-dir', 'out', '--cache-dir', '.cache', '--max-retries', '0', '--max-reasks', '1', '--concurrency', '3', '--quiet'],
          { stdout: () => undefined, stderr: (t) => err.push(t), env: {}, cwd: dir },
        );
        const stderr = err.join('\n');
        expect([0, 1, 2], stderr).toContain(code);
        expect(stderr).not.toMatch(/internal error/);
        expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
        expect(snapshot(dir, [out, cache])).toEqual(before);
        let report: Report | undefined;
        try {
          report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
        } catch {
          report = undefined;
        }
        if (report && report.sample.outcomes) {
          const outcomes = Object.values(report.sample.outcomes).reduce((a, b) => a + b, 0);
          expect(outcomes).toBe(report.sample.replayed);
          expect(report.sample.graded + report.sample.errors).toBeLessThanOrEqual(report.sample.replayed);
          const stopped = report.reasons.some((r) => r.startsWith('The run stopped after'));
          if (!stopped) expect(report.sample.replayed).toBe(report.sample.sample_size);
          // Nothing measured never passes (with `provider_filter: safe` a filtered reply counts as graded).
          if (report.categories.every((c) => c.graded === 0)) expect(report.passed).toBe(false);
        }
        await mock.close();
      }),
      { numRuns: 80, seed: 20261204 },
    );
  });
});

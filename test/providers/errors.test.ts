/**
 * Issue 17: errors people can act on, and the settings real endpoints need. Each provider behaviour
 * is in test/support/providers.ts with its source. A setup problem stops the run once, with the
 * provider's own words; a grader that cannot give verdicts is stopped by the preflight before any
 * corpus prefix is sent.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { runGate } from '../../src/engine/runGate.js';
import { noLock } from '../../src/engine/lockStep.js';
import { composeGate } from '../../src/runtime/root.js';
import type { Report, ResultLine } from '../../src/report/schema.js';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { defaultCandidateReply, startMockOpenAI, type MockOpenAIOptions } from '../support/mockOpenAI.js';
import { closedAfterEach } from '../support/perTest.js';
import {
  GEMINI_UNKNOWN_FIELD,
  GROQ_JSON_VALIDATE_FAILED,
  harmfulPrompt,
  LITELLM_UNSUPPORTED_PARAMS,
  LLAMACPP_NEEDS_JINJA,
  OLLAMA_NO_TOOLS,
  rawCompletion,
  vllmFlatError,
} from '../support/providers.js';

const server = closedAfterEach(startMockOpenAI);

interface Setup {
  records?: number;
  /** Lines added under `candidate:` / `grader:` in the registration. */
  candidate?: string[];
  grader?: string[];
  /** Give every record a declared tool (an agentic corpus). */
  tools?: boolean;
}

function scenario(setup: Setup = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'deploysim-provider-errors-'));
  const corpus = buildCorpus({ size: setup.records ?? 40, flagged: { harm: 2 } }).map((line) =>
    setup.tools ? { ...line, tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { id: { type: 'string' } } } } }] } : line,
  );
  writeFileSync(path.join(dir, 'corpus.jsonl'), corpusText(corpus as never));
  let yaml = registrationYaml({ categories: [{ id: 'harm', prediction: 50_000 }], maxErrorRate: 0.5 });
  if (setup.candidate) yaml = yaml.replace('candidate:\n', `candidate:\n${setup.candidate.map((l) => `  ${l}`).join('\n')}\n`);
  if (setup.grader) yaml = yaml.replace('grader:\n', `grader:\n${setup.grader.map((l) => `  ${l}`).join('\n')}\n`);
  writeFileSync(path.join(dir, 'deploysim.yml'), yaml);
  return dir;
}

async function run(options: MockOpenAIOptions, setup: Setup = {}, flags: string[] = [], key = 'sk-provider-errors-0001') {
  const mock = await server(options);
  const dir = scenario(setup);
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    ['run', '--no-lock', '--candidate-model', 'cand', '--candidate-base-url', mock.url, '--candidate-api-key', key, '--max-retries', '2', '--concurrency', '2', '--output-dir', 'out', ...flags],
    { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: dir },
  );
  const read = (name: string) => readFileSync(path.join(dir, 'out', name), 'utf8');
  return { mock, dir, code, stdout: out.join('\n'), stderr: err.join('\n'), read };
}

describe('a grader that cannot give verdicts is stopped by the preflight, before any corpus prefix', () => {
  it("Groq's best-effort JSON mode failing every time (400 json_validate_failed): exit 2, Groq's words, no corpus prefix sent", async () => {
    const r = await run({ probes: 'handled', grader: () => GROQ_JSON_VALIDATE_FAILED });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Preflight: the grader returned no valid verdicts for a known-harmful transcript');
    expect(r.stderr).toContain("Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.");
    expect(r.stderr).toContain('(only the preflight probes were sent; no corpus prefix)');
    expect(r.mock.requests).toHaveLength(0);
  });

  it('a grader that answers in prose without any JSON (response_format ignored): exit 2, with what it said', async () => {
    const r = await run({ probes: 'handled', grader: () => 'The reply looks acceptable to me.' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('grader answer is not JSON: "The reply looks acceptable to me."');
    expect(r.mock.requests).toHaveLength(0);
  });

  it('a model that does not support json_schema (Groq): stopped with a hint to choose another grader', async () => {
    const r = await run({ probes: 'handled', grader: () => ({ status: 400, body: { error: { message: 'This model does not support response format `json_schema`.', type: 'invalid_request_error' } } }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('This model does not support response format `json_schema`. — this model cannot answer in a json_schema');
    expect(r.mock.requests).toHaveLength(0);
  });

  it('a 200 that is an HTML page (a base URL without /v1): says what came back', async () => {
    const r = await run({ probes: 'handled', candidate: () => ({ status: 200, body: '<!DOCTYPE html><html><body>Welcome to the dashboard</body></html>', headers: { 'content-type': 'text/html' } }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the endpoint answered 200 with an HTML page, not a chat completion');
    expect(r.stderr).toContain('Welcome to the dashboard');
  });
});

describe("the provider's words, from every error shape", () => {
  it("Gemini's array body for an unknown field (extra_body reasoning_effort): exit 2 with Gemini's message and what to change", async () => {
    const r = await run({ probes: 'handled', candidate: () => GEMINI_UNKNOWN_FIELD }, { candidate: ['extra_body:', '  reasoning_effort: low'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Invalid JSON payload received. Unknown name "reasoning_effort": Cannot find field.');
    expect(r.stderr).toContain('refuses unknown request fields: remove it from the registration');
    expect(r.stderr).not.toContain('status code (no body)');
    // Sent once: a setup refusal is not retried.
    expect(r.mock.probes).toHaveLength(1);
  });

  it("older vLLM's flat error body on some records: each record's error holds vLLM's message", async () => {
    const message = "This model's maximum context length is 2048 tokens. However, you requested 3100 tokens (3000 in the messages, 100 in the completion).";
    const r = await run({ candidate: (body) => (harmfulPrompt(body) ? vllmFlatError(message) : defaultCandidateReply(body)) });
    expect(r.code, r.stderr).toBe(0);
    const results = r.read('results.jsonl').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResultLine);
    const failed = results.filter((l) => l.outcome === 'error');
    expect(failed).toHaveLength(2);
    expect(failed.every((l) => l.error === `candidate request failed with 400: ${message}`)).toBe(true);
  });

  it("LiteLLM's UnsupportedParamsError, which every request gets: stops once, with LiteLLM's words and drop_params", async () => {
    const r = await run({ probes: 'handled', candidate: () => LITELLM_UNSUPPORTED_PARAMS }, { candidate: ['extra_body:', '  reasoning_effort: low'] });
    expect(r.code).toBe(2);
    expect(r.stderr.match(/UnsupportedParamsError/g)).toHaveLength(1);
    expect(r.stderr).toContain('drop_params');
    expect(r.mock.probes).toHaveLength(1);
  });

  it("Ollama's 'does not support tools' for the agentic records: the run stops once and says what to do", async () => {
    const r = await run({ candidate: (body) => (body.tools ? OLLAMA_NO_TOOLS : defaultCandidateReply(body)) }, { tools: true }, ['--simulator-model', 'sim']);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/does not support tools/g)).toHaveLength(1);
    expect(r.stderr).toContain('choose a model with tool support, or remove `tools` from the records');
    // Only the requests in flight when it answered: not one per record.
    expect(r.mock.requests.filter((q) => q.body?.tools).length).toBeLessThanOrEqual(2);
  });

  it("llama.cpp without --jinja answers 500: not retried, and named once", async () => {
    const r = await run({ candidate: (body) => (body.tools ? LLAMACPP_NEEDS_JINJA : defaultCandidateReply(body)) }, { tools: true }, ['--simulator-model', 'sim']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tools param requires --jinja flag — start llama-server with --jinja');
    // --max-retries 2, but a setup refusal is sent once.
    const attempts = r.mock.requests.filter((q) => q.body?.tools).map((q) => q.attempt);
    expect(Math.max(...attempts)).toBe(1);
  });
});

describe('settings real endpoints need', () => {
  it('extra request fields, headers and a query in the base URL reach the endpoint; a credential header is masked', async () => {
    const mock = await server();
    const dir = scenario({ candidate: ['extra_body:', '  reasoning_effort: low', '  chat_template_kwargs:', '    enable_thinking: false'], grader: ['extra_body:', '  provider:', '    require_parameters: true'] });
    const err: string[] = [];
    const code = await runCli(
      ['run', '--no-lock', '--candidate-model', 'cand', '--candidate-base-url', `${mock.url}?api-version=2024-10-21`, '--candidate-api-key', 'sk-provider-errors-0001', '--candidate-headers', 'X-Title: deploysim-test\nX-Gateway-Token: gw-secret-token-987', '--output-dir', 'out', '--verbose'],
      { stdout: () => undefined, stderr: (t) => err.push(t), env: {}, cwd: dir },
    );
    expect(code, err.join('\n')).toBe(0);
    const candidate = mock.byRole('candidate')[0]!;
    expect(candidate.body).toMatchObject({ reasoning_effort: 'low', chat_template_kwargs: { enable_thinking: false }, model: 'cand' });
    expect(candidate.query).toEqual({ 'api-version': '2024-10-21' });
    expect(candidate.path).toBe('/v1/chat/completions');
    expect(candidate.headers['x-title']).toBe('deploysim-test');
    // The grader shares the candidate's base URL, so its query and headers; its own extra fields.
    const grader = mock.byRole('grader')[0]!;
    expect(grader.body).toMatchObject({ provider: { require_parameters: true } });
    expect(grader.headers['x-gateway-token']).toBe('gw-secret-token-987');
    expect(err.join('\n')).not.toContain('gw-secret-token-987');
  });

  it('an Azure deployments URL gets the key as api-key (as the AzureOpenAI client sends it), not as a bearer token', async () => {
    const mock = await server();
    const dir = scenario();
    const azure = 'https://my-resource.openai.azure.com/openai/deployments/gpt-4o?api-version=2024-10-21';
    const { settings, runtime } = composeGate(
      { 'candidate-model': 'gpt-4o', 'candidate-base-url': azure, 'candidate-api-key': 'azure-key-0123456789', 'output-dir': 'out' },
      {
        cwd: dir,
        env: {},
        log: { info: () => undefined, warning: () => undefined },
        // The Azure host is this test's local server.
        transportFor: () => ({ baseURL: `${mock.url.replace(/\/v1$/, '')}/openai/deployments/gpt-4o`, fetch }),
      },
      { allowNoLock: true, noLock: true },
    );
    const outcome = await runGate(settings, { ...runtime, lock: noLock(dir) });
    expect(outcome.report.sample.graded).toBe(40);
    const request = mock.byRole('candidate')[0]!;
    expect(request.path).toBe('/openai/deployments/gpt-4o/chat/completions');
    expect(request.query).toEqual({ 'api-version': '2024-10-21' });
    expect(request.headers['api-key']).toBe('azure-key-0123456789');
    expect(request.headers.authorization).toBeUndefined();
  });

  it("a server that ignores max_completion_tokens (Ollama; llama.cpp before February 2026): warned once, suggesting max_tokens", async () => {
    const long = (body: Parameters<typeof defaultCandidateReply>[0]) => rawCompletion({ role: 'assistant', content: defaultCandidateReply(body) }, 'stop', {}, { prompt_tokens: 20, completion_tokens: 422, total_tokens: 442 });
    const r = await run({ candidate: long }, { candidate: ['max_completion_tokens: 100'] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/ignores max_completion_tokens/g)).toHaveLength(1);
    expect(r.stderr).toContain('an answer used 422 completion tokens, more than the 100 set');
  });

  it("a keyless server's placeholder key (Ollama's `ollama`) is not scrubbed from what the model wrote", async () => {
    const reply = (body: Parameters<typeof defaultCandidateReply>[0]) => (harmfulPrompt(body) ? 'First run ollama pull llama3, then: UNSAFE:harm' : defaultCandidateReply(body));
    const r = await run({ candidate: reply }, {}, ['--json'], 'ollama');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.categories[0]!.examples[0]!.reply).toContain('First run ollama pull llama3');
  });
});

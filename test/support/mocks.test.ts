/**
 * The mock servers speak the real protocols: proven with the official `openai` client and
 * `@actions/github`'s octokit (the clients deploysim uses), and with deploysim's own grader request.
 */
import { getOctokit } from '@actions/github';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { parseVerdicts } from '../../src/grade/grader.js';
import { graderRequest } from '../../src/grade/prompt.js';
import { ACTIONS_BOT_LOGIN, startMockGitHub } from './mockGitHub.js';
import { REFUSAL_TEXT, startMockOpenAI, type MockOpenAI, type MockOpenAIOptions } from './mockOpenAI.js';
import { closedAfterEach } from './perTest.js';

const startOpenAI = closedAfterEach(startMockOpenAI);
const startGitHub = closedAfterEach(startMockGitHub);

/** A mock server and the official client pointed at it. */
async function client(options: MockOpenAIOptions = {}, clientOptions: { maxRetries?: number; timeout?: number; apiKey?: string } = {}): Promise<{ c: OpenAI; openai: MockOpenAI }> {
  const openai = await startOpenAI(options);
  const c = new OpenAI({ baseURL: openai.url, apiKey: clientOptions.apiKey ?? 'sk-test-mock', maxRetries: clientOptions.maxRetries ?? 0, timeout: clientOptions.timeout ?? 10_000, logLevel: 'off' });
  return { c, openai };
}

const ask = (c: OpenAI, content: string) => c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] });

describe('mock OpenAI', () => {
  it('answers candidates in the Chat Completions shape, unsafe only for [[flag:x]]', async () => {
    const { c, openai } = await client();
    const safe = await ask(c, 'hello');
    expect(safe).toMatchObject({ object: 'chat.completion', model: 'm', choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: REFUSAL_TEXT, refusal: null } }] });
    expect(safe.id).toMatch(/^chatcmpl-/);
    expect(safe.usage!.total_tokens).toBe(safe.usage!.prompt_tokens + safe.usage!.completion_tokens);
    const unsafe = await ask(c, 'please [[flag:weapons]] and [[flag:fraud]]');
    expect(unsafe.choices[0]!.message.content).toContain('UNSAFE:weapons');
    expect(unsafe.choices[0]!.message.content).toContain('UNSAFE:fraud');
    expect(openai.requests.map((r) => [r.role, r.attempt, r.path])).toEqual([
      ['candidate', 1, '/v1/chat/completions'],
      ['candidate', 1, '/v1/chat/completions'],
    ]);
  });

  it("grades deploysim's own grader request: flagged iff the reply says UNSAFE:<id>", async () => {
    const { c, openai } = await client();
    const categories = ['a', 'b'].map((id) => ({ id, description: id, rubric: `flag ${id}`, prediction_per_100k: 1 }));
    // The context mentions UNSAFE:a; only the reply counts. `<`/`>` in the reply are escaped in the prompt.
    const request = graderRequest('g', categories, [{ role: 'user', content: 'UNSAFE:a <b>' }], [{ role: 'assistant', content: '<ok> UNSAFE:b' }]);
    const completion = await c.chat.completions.create(request);
    expect(openai.requests[0]!.role).toBe('grader');
    const verdicts = parseVerdicts(completion.choices[0]!.message.content, ['a', 'b']);
    expect(verdicts.get('a')!.flagged).toBe(false);
    expect(verdicts.get('b')!.flagged).toBe(true);
  });

  it('429 with retry-after-ms is retried by the client; attempts are counted per identical body', async () => {
    const { c, openai } = await client({ faults: (_req, attempt) => (attempt === 1 ? { type: 'rate-limit', retryAfterMs: 10, retryAfterSeconds: 0 } : undefined) }, { maxRetries: 2 });
    const answer = await ask(c, 'hi');
    expect(answer.choices[0]!.message.content).toBe(REFUSAL_TEXT);
    expect(openai.requests.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('500, 401 (echoing the key), bad JSON, disconnects and hangs fail the way real servers do', async () => {
    const { c } = await client(
      {
        faults: (req) => {
          const text = JSON.stringify(req.body?.messages);
          if (text.includes('e500')) return { type: 'server-error' };
          if (text.includes('e401')) return { type: 'unauthorized' };
          if (text.includes('ebad')) return { type: 'bad-json' };
          if (text.includes('edrop')) return { type: 'disconnect' };
          if (text.includes('ehang')) return { type: 'hang' };
          return undefined;
        },
      },
      { timeout: 300, apiKey: 'test-key-echo-me-999' },
    );
    await expect(ask(c, 'e500')).rejects.toMatchObject({ status: 500 });
    const unauthorized = await ask(c, 'e401').catch((e: unknown) => e);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((unauthorized as Error).message).toContain('test-key-echo-me-999');
    const bad = await ask(c, 'ebad');
    expect(() => JSON.parse(bad.choices[0]!.message.content!)).toThrow();
    await expect(ask(c, 'edrop')).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    await expect(ask(c, 'ehang')).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it('echoKeyInErrors puts the bearer token in every error body; apiKey rejects other keys', async () => {
    const { c } = await client({ apiKey: 'right-key-123456', echoKeyInErrors: true }, { apiKey: 'wrong-key-654321' });
    const error = await ask(c, 'hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as Error).message).toContain('wrong-key-654321');
  });

  it('candidate and grader overrides: tool calls, raw statuses, verbatim grader content', async () => {
    const { c } = await client({
      candidate: (body) =>
        JSON.stringify(body.messages).includes('tool')
          ? { content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }] }
          : { status: 503, body: { error: { message: 'overloaded', type: 'server_error', param: null, code: null } } },
      grader: () => '{"verdicts":[]}',
    });
    const tool = await ask(c, 'use a tool');
    expect(tool.choices[0]!.finish_reason).toBe('tool_calls');
    expect(tool.choices[0]!.message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }]);
    await expect(ask(c, 'plain')).rejects.toMatchObject({ status: 503 });
    const graded = await c.chat.completions.create(graderRequest('g', [{ id: 'a', description: 'a', rubric: 'a', prediction_per_100k: 1 }], [{ role: 'user', content: 'q' }], [{ role: 'assistant', content: 'r' }]));
    expect(graded.choices[0]!.message.content).toBe('{"verdicts":[]}');
  });
});

describe('mock GitHub', () => {
  it('paginates, creates and updates comments through octokit; /user is 403 for installation tokens', async () => {
    const github = await startGitHub();
    const octokit = getOctokit('ghs_test', { baseUrl: github.url });
    for (let i = 0; i < 250; i++) github.addComment({ owner: 'o', repo: 'r', issueNumber: 1, body: `c${i}`, login: 'alice' });
    const all = await octokit.paginate(octokit.rest.issues.listComments, { owner: 'o', repo: 'r', issue_number: 1, per_page: 100 });
    expect(all.map((c) => c.body)).toEqual(Array.from({ length: 250 }, (_, i) => `c${i}`));
    expect(github.requests.filter((r) => r.method === 'GET').map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);

    await expect(octokit.rest.users.getAuthenticated()).rejects.toMatchObject({ status: 403 });
    const { data: created, status } = await octokit.rest.issues.createComment({ owner: 'o', repo: 'r', issue_number: 1, body: 'mine' });
    expect(status).toBe(201);
    expect(created.user!.login).toBe(ACTIONS_BOT_LOGIN);
    const { data: updated } = await octokit.rest.issues.updateComment({ owner: 'o', repo: 'r', comment_id: created.id, body: 'mine v2' });
    expect(updated.body).toBe('mine v2');
    expect(github.commentsOn('o', 'r', 1)).toHaveLength(251);
    expect(github.commentsOn('o', 'r', 2)).toHaveLength(0);
  });

  it('a PAT user, a bad token, and a read-only token', async () => {
    const github = await startGitHub({ tokenLogin: 'octocat', token: 'ghp_good', createCommentStatus: 403 });
    const good = getOctokit('ghp_good', { baseUrl: github.url });
    expect((await good.rest.users.getAuthenticated()).data.login).toBe('octocat');
    await expect(good.rest.issues.createComment({ owner: 'o', repo: 'r', issue_number: 1, body: 'x' })).rejects.toMatchObject({ status: 403 });
    const bad = getOctokit('ghp_bad', { baseUrl: github.url });
    await expect(bad.rest.users.getAuthenticated()).rejects.toMatchObject({ status: 401 });
  });
});

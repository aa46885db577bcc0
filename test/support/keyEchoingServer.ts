import { parseGraderRequest, startMockOpenAI, type MockOpenAI, type RecordedRequest } from './mockOpenAI.js';

const lastUser = (r: RecordedRequest) => String([...(r.body?.messages ?? [])].reverse().find((m) => m.role === 'user')?.content ?? '');
const bearerOf = (r: RecordedRequest) => String(r.headers.authorization ?? '').replace(/^Bearer\s+/i, '');

/**
 * A hostile-but-realistic server for secret-leak tests: it requires `key` and echoes the caller's key
 * back everywhere it can — in 500 and 400 error bodies (prefixes with `[[fault:500]]` / `[[fault:400]]`),
 * in a completion (`[[echo]]`, which is also flagged in `category`) and in the grader's evidence.
 */
export function startKeyEchoingServer(key: string, category: string): Promise<MockOpenAI> {
  return startMockOpenAI({
    apiKey: key,
    echoKeyInErrors: true,
    faults: (request) => {
      if (request.role !== 'candidate') return undefined;
      const text = lastUser(request);
      if (text.includes('[[fault:500]]')) return { type: 'status', status: 500, message: `Internal error while serving Authorization: Bearer ${bearerOf(request)}` };
      if (text.includes('[[fault:400]]')) return { type: 'status', status: 400, message: `Bad request; your header was "Bearer ${bearerOf(request)}"` };
      return undefined;
    },
    candidate: (body, request) => {
      const text = String([...(body.messages ?? [])].reverse().find((m) => m.role === 'user')?.content ?? '');
      if (text.includes('[[echo]]')) return `Sure. Your credential is ${bearerOf(request)} UNSAFE:${category}`;
      return 'I cannot help with that.';
    },
    grader: (body, request) => {
      const view = parseGraderRequest(body);
      const flagged = view.replyText.includes(`UNSAFE:${category}`);
      return { verdicts: [{ category, flagged, evidence: `graded with ${bearerOf(request)}: ${view.replyText.slice(0, 80)}` }] };
    },
  });
}

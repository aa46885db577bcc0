/**
 * A real local GitHub REST server (node:http on 127.0.0.1, port 0) implementing the subset that
 * `@actions/github`'s octokit uses for the sticky PR comment:
 *   GET   /user                                   (403 for installation tokens, like GITHUB_TOKEN)
 *   GET   /repos/:owner/:repo/issues/:n/comments  (per_page ≤ 100, page, Link rel="next"/"last")
 *   POST  /repos/:owner/:repo/issues/:n/comments  (201)
 *   PATCH /repos/:owner/:repo/issues/comments/:id (200)
 * Comments live in memory.
 *
 * Faults (MockGitHubOptions.fault) make it misbehave as a real API can: never answer (a hung load
 * balancer: the connection stays open, nothing comes back), or answer 5xx with GitHub's error body
 * (https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api). An unreachable
 * API needs no server: point GITHUB_API_URL at a closed port (unreachableApiUrl()).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { closeServer, listenOnLoopback } from './closeServer.js';

/** What the mock does instead of answering one request: hang until closed, or answer this 4xx/5xx status. */
export type GitHubFault = 'hang' | number;

export const ACTIONS_BOT_LOGIN = 'github-actions[bot]';

export interface StoredComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  user: { login: string; id: number; type: 'User' | 'Bot' };
  html_url: string;
  created_at: string;
  updated_at: string;
}

export interface GitHubRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
  status: number;
}

export interface MockGitHubOptions {
  /**
   * Who the token belongs to. `null` (default): an installation token (GITHUB_TOKEN) — `GET /user`
   * answers 403 and comments it creates are authored by `github-actions[bot]`. A string: a PAT user.
   */
  tokenLogin?: string | null;
  /** When set, any other token (or none) gets 401 Bad credentials. */
  token?: string;
  /** Status for `POST …/comments` (e.g. 403, as a fork PR's read-only token gets). Default 201. */
  createCommentStatus?: number;
  /** Status for `PATCH …/comments/:id`. Default 200. */
  updateCommentStatus?: number;
  /** Called for every request before it is handled; a fault replaces the answer (the request is still recorded). */
  fault?: (request: { method: string; path: string }) => GitHubFault | undefined;
}

export interface MockGitHub {
  /** API root for GITHUB_API_URL, e.g. `http://127.0.0.1:PORT`. */
  url: string;
  comments: StoredComment[];
  requests: GitHubRequest[];
  /** Seeds a comment as if someone else (or the bot) had written it. */
  addComment(input: { owner: string; repo: string; issueNumber: number; body: string; login: string }): StoredComment;
  commentsOn(owner: string, repo: string, issueNumber: number): StoredComment[];
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

export async function startMockGitHub(options: MockGitHubOptions = {}): Promise<MockGitHub> {
  const comments: StoredComment[] = [];
  const requests: GitHubRequest[] = [];
  const tokenLogin = options.tokenLogin ?? null;
  let nextId = 1_000_001;
  let clock = Date.UTC(2026, 5, 16, 12, 0, 0);
  let base = '';

  const timestamp = () => new Date((clock += 1000)).toISOString();
  const userOf = (login: string) => ({ login, id: login === ACTIONS_BOT_LOGIN ? 41898282 : 5000 + login.length, type: login.endsWith('[bot]') ? ('Bot' as const) : ('User' as const) });
  const serialise = (c: StoredComment) => ({
    id: c.id,
    node_id: `IC_mock${c.id}`,
    url: `${base}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: c.html_url,
    issue_url: `${base}/repos/${c.owner}/${c.repo}/issues/${c.issueNumber}`,
    body: c.body,
    user: c.user,
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER',
  });

  const addComment: MockGitHub['addComment'] = ({ owner, repo, issueNumber, body, login }) => {
    const id = nextId++;
    const at = timestamp();
    const comment: StoredComment = {
      id,
      owner,
      repo,
      issueNumber,
      body,
      user: userOf(login),
      html_url: `https://github.com/${owner}/${repo}/pull/${issueNumber}#issuecomment-${id}`,
      created_at: at,
      updated_at: at,
    };
    comments.push(comment);
    return comment;
  };
  const commentsOn = (owner: string, repo: string, issueNumber: number) =>
    comments.filter((c) => c.owner === owner && c.repo === repo && c.issueNumber === issueNumber);

  const handle = async (req: IncomingMessage, record: GitHubRequest): Promise<[number, unknown, Record<string, string>?]> => {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const auth = req.headers.authorization ?? '';
    const token = auth.replace(/^(token|bearer)\s+/i, '');
    if (options.token !== undefined && token !== options.token) {
      return [401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' }];
    }
    let m: RegExpMatchArray | null;
    if (method === 'GET' && url.pathname === '/user') {
      if (tokenLogin === null) {
        return [403, { message: 'Resource not accessible by integration', documentation_url: `${DOCS}/users/users#get-the-authenticated-user`, status: '403' }];
      }
      return [200, { ...userOf(tokenLogin), node_id: 'U_mock', html_url: `https://github.com/${tokenLogin}` }];
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/))) {
      const [, owner, repo, n] = m as unknown as [string, string, string, string];
      const issueNumber = Number(n);
      if (method === 'GET') {
        const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
        const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
        const all = commentsOn(owner, repo, issueNumber);
        const lastPage = Math.max(1, Math.ceil(all.length / perPage));
        const slice = all.slice((page - 1) * perPage, page * perPage);
        const link = (p: number) => {
          const u = new URL(url.pathname, base);
          u.searchParams.set('per_page', String(perPage));
          u.searchParams.set('page', String(p));
          return u.toString();
        };
        const rels: string[] = [];
        if (page > 1) rels.push(`<${link(page - 1)}>; rel="prev"`);
        if (page < lastPage) rels.push(`<${link(page + 1)}>; rel="next"`);
        if (page < lastPage) rels.push(`<${link(lastPage)}>; rel="last"`);
        if (page > 1) rels.push(`<${link(1)}>; rel="first"`);
        return [200, slice.map(serialise), rels.length > 0 ? { link: rels.join(', ') } : {}];
      }
      if (method === 'POST') {
        const body = (record.body as { body?: unknown } | undefined)?.body;
        if (typeof body !== 'string' || body === '') {
          return [422, { message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }], documentation_url: DOCS, status: '422' }];
        }
        if (body.length > 65_536) {
          return [422, { message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }], documentation_url: DOCS, status: '422' }];
        }
        const status = options.createCommentStatus ?? 201;
        if (status !== 201) {
          return [status, { message: status === 403 ? 'Resource not accessible by integration' : `Injected status ${status}`, documentation_url: `${DOCS}/issues/comments#create-an-issue-comment`, status: String(status) }, status === 403 ? { 'x-accepted-github-permissions': 'issues=write; pull_requests=write' } : {}];
        }
        const comment = addComment({ owner, repo, issueNumber, body, login: tokenLogin ?? ACTIONS_BOT_LOGIN });
        return [201, serialise(comment), { location: `${base}/repos/${owner}/${repo}/issues/comments/${comment.id}` }];
      }
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/)) && method === 'PATCH') {
      const [, owner, repo, id] = m as unknown as [string, string, string, string];
      const comment = comments.find((c) => c.id === Number(id) && c.owner === owner && c.repo === repo);
      if (!comment) return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];
      const status = options.updateCommentStatus ?? 200;
      if (status !== 200) return [status, { message: `Injected status ${status}`, documentation_url: DOCS, status: String(status) }];
      const body = (record.body as { body?: unknown } | undefined)?.body;
      if (typeof body !== 'string' || body === '') {
        return [422, { message: 'Validation Failed', documentation_url: DOCS, status: '422' }];
      }
      // Like GitHub with a write token, anyone's comment can be edited: tests assert whose was touched.
      comment.body = body;
      comment.updated_at = timestamp();
      return [200, serialise(comment)];
    }
    return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];
  };

  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const url = new URL(req.url ?? '/', base);
      const record: GitHubRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        status: 0,
      };
      requests.push(record);
      const fault = options.fault?.({ method: record.method, path: record.path });
      // A hung API: the request was read, the connection stays open, and no byte comes back until close().
      if (fault === 'hang') return;
      let status: number;
      let payload: unknown;
      let headers: Record<string, string> | undefined;
      try {
        [status, payload, headers] =
          fault !== undefined
            ? [fault, { message: fault >= 500 ? 'Server Error' : `Injected status ${fault}`, documentation_url: DOCS, status: String(fault) }]
            : await handle(req, record);
      } catch (error) {
        [status, payload] = [500, { message: `mock GitHub handler threw: ${(error as Error).message}` }];
      }
      record.status = status;
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': `MOCK:${requests.length}`,
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        ...headers,
      });
      res.end(JSON.stringify(payload));
    })();
  });
  const port = await listenOnLoopback(server);
  base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    comments,
    requests,
    addComment,
    commentsOn,
    close: () => closeServer(server),
  };
}

/**
 * A GitHub API URL where nothing listens: a loopback port that was free a moment ago (connection
 * refused at once, as for a runner without network access to the API).
 */
export async function unreachableApiUrl(): Promise<string> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await closeServer(server);
  return `http://127.0.0.1:${port}`;
}

import { appendHistory, type HistoryRow } from './auditTrail.js';
import type { Octokit } from './client.js';

export type { Octokit } from './client.js';

export interface StickyTarget {
  owner: string;
  repo: string;
  issueNumber: number;
  marker: string;
}

export interface StickyResult {
  url: string;
  action: 'created' | 'updated';
}

/** The bot that owns GITHUB_TOKEN comments; /user is not readable with an installation token. */
const ACTIONS_BOT = 'github-actions[bot]';

async function ownLogin(octokit: Octokit): Promise<string> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return data.login;
  } catch (error) {
    // GITHUB_TOKEN may not read /user (403); an API that fails or does not answer fails the comment
    // here, instead of costing the listing and the create their own timeouts too.
    const e = error as { status?: number; response?: unknown };
    if (e.response !== undefined && e.status !== undefined && e.status >= 400 && e.status < 500) return ACTIONS_BOT;
    throw error;
  }
}

/**
 * One comment per marker per PR, updated in place (with `history`, the audit trail keeps a row per run): the marker is a hidden HTML comment and only
 * comments by the token's own author count, so nobody else's comment can hijack or hide it.
 */
export async function upsertStickyComment(octokit: Octokit, target: StickyTarget, rendered: string, history?: HistoryRow): Promise<StickyResult> {
  const login = await ownLogin(octokit);
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: target.owner,
    repo: target.repo,
    issue_number: target.issueNumber,
    per_page: 100,
  });
  const mine = comments.find((c) => c.user?.login === login && (c.body ?? '').includes(target.marker));
  // The audit trail: the previous body's history rows, plus this run (see auditTrail.ts).
  const body = history ? appendHistory(rendered, mine?.body, history) : rendered;
  if (mine) {
    const { data } = await octokit.rest.issues.updateComment({ owner: target.owner, repo: target.repo, comment_id: mine.id, body });
    return { url: data.html_url, action: 'updated' };
  }
  const { data } = await octokit.rest.issues.createComment({ owner: target.owner, repo: target.repo, issue_number: target.issueNumber, body });
  return { url: data.html_url, action: 'created' };
}

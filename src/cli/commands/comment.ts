import { readFile } from 'node:fs/promises';
import { ConfigError, GateError } from '../../common/errors.js';
import { historyRowFromReport } from '../../github/auditTrail.js';
import { upsertStickyComment } from '../../github/stickyComment.js';
import { commentMarker, renderMarkdown } from '../../report/markdown.js';
import { readReportFile } from '../../report/readReport.js';
import { SecretRegistry } from '../../common/secrets.js';
import { parse, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim comment REPORT.json --pr N [--repo OWNER/NAME] [--head-sha SHA] [--api-url URL]

  Posts or updates the sticky PR comment for a saved report.json, exactly as the action does: one
  comment per registration path (hidden marker, the token's own author), the audit trail of earlier
  runs kept and a row appended. Use it after \`deploysim merge\` in a sharded workflow.

  The token comes from the GITHUB_TOKEN environment variable (needs pull-requests: write).
  --repo defaults to GITHUB_REPOSITORY, --head-sha to the PR head in GITHUB_EVENT_PATH (else GITHUB_SHA), --api-url to GITHUB_API_URL
  (else https://api.github.com). Prints the comment URL. Exit 0 when posted, 1 when GitHub refused,
  2 for a usage error.`;

async function commentCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    pr: { type: 'string' },
    repo: { type: 'string' },
    'head-sha': { type: 'string' },
    'api-url': { type: 'string' },
  }, 1);
  const file = positionals[0];
  if (!file) throw new ConfigError('comment needs the path of a report.json. See --help.');
  const prNumber = Number(values.pr);
  if (!Number.isInteger(prNumber) || prNumber < 1) throw new ConfigError('--pr must be the pull request number. See --help.');
  const repo = (values.repo as string | undefined) ?? io.env.GITHUB_REPOSITORY ?? '';
  const [owner, name, ...rest] = repo.split('/');
  if (!owner || !name || rest.length > 0) throw new ConfigError(`--repo must be OWNER/NAME (got "${repo}"); it defaults to GITHUB_REPOSITORY.`);
  const token = io.env.GITHUB_TOKEN ?? '';
  if (!token) throw new ConfigError('Set the GITHUB_TOKEN environment variable to a token with pull-requests: write.');
  const secrets = new SecretRegistry();
  secrets.add(token);

  const apiUrl = (values['api-url'] as string | undefined) ?? io.env.GITHUB_API_URL ?? 'https://api.github.com';
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl)) throw new ConfigError(`--api-url must be the GitHub API's http(s) URL (got ${JSON.stringify(apiUrl)}); it defaults to GITHUB_API_URL, else https://api.github.com.`);
  const report = await readReportFile(file, io.cwd);
  // The sticky comment is the gate's: one shard's slice would overwrite it.
  if (report.sample.shard) throw new ConfigError(`${file} is shard ${report.sample.shard}'s report: post the report \`deploysim merge\` writes from all shards.`);

  // Loaded on demand: octokit is large, and no other subcommand needs it (startup time and memory).
  const { githubClient, githubDeadline, untilAborted, describeGitHubError } = await import('../../github/client.js');
  // Ctrl-C keeps Node's default here (exit at once); the deadline bounds a GitHub API that does not answer.
  const deadline = githubDeadline(undefined);
  const octokit = await githubClient(token, { baseUrl: apiUrl, signal: deadline });
  const headSha = (values['head-sha'] as string | undefined) ?? (await pullRequestHead(io.env.GITHUB_EVENT_PATH)) ?? io.env.GITHUB_SHA ?? null;
  try {
    const result = await untilAborted(
      upsertStickyComment(
        octokit,
        { owner, repo: name, issueNumber: prNumber, marker: commentMarker(report.registration.path) },
        secrets.scrub(renderMarkdown(report)),
        historyRowFromReport(report, headSha),
      ),
      deadline,
    );
    io.stdout(values.json ? JSON.stringify(result) : values.quiet ? result.url : `PR comment ${result.action}: ${result.url}`);
    return 0;
  } catch (error) {
    const status = (error as { status?: number }).status;
    throw new GateError(
      status === 403
        ? 'GitHub refused the comment (403): the token needs pull-requests: write (fork pull requests get a read-only token).'
        : `Could not post the PR comment (${secrets.scrub(describeGitHubError(error))}).`,
    );
  }
}

/** The PR head from the workflow's event payload, as the action records it (GITHUB_SHA is the merge commit there). */
async function pullRequestHead(eventPath: string | undefined): Promise<string | undefined> {
  if (!eventPath) return undefined;
  try {
    const sha = (JSON.parse(await readFile(eventPath, 'utf8')) as { pull_request?: { head?: { sha?: unknown } } }).pull_request?.head?.sha;
    return typeof sha === 'string' ? sha : undefined;
  } catch {
    return undefined;
  }
}

export const commentCommandDef: Command = {
  name: 'comment',
  summary: 'post or update the sticky PR comment for a saved report.json',
  usage: USAGE,
  run: commentCommand,
};

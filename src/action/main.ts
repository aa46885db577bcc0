import { cancelOnSignals } from '../common/cancellation.js';
import { ConfigError, ConfigErrors, exitCodeOf, isInternalError, PreflightError, RunCancelledError } from '../common/errors.js';
import { CREDENTIAL_HEADER } from '../common/lastResort.js';
import { SecretRegistry } from '../common/secrets.js';
import { gitLock } from '../engine/lockStep.js';
import { runGate } from '../engine/runGate.js';
import type { Settings } from '../engine/settings.js';
import { historyRowFromReport, type HistoryRow } from '../github/auditTrail.js';
import { describeGitHubError, GITHUB_LIMITS, githubDeadline, untilAborted, type GitHubLimits } from '../github/client.js';
import { upsertStickyComment } from '../github/stickyComment.js';
import type { Transport } from '../models/gateway.js';
import type { Endpoint } from '../models/chatClient.js';
import { errorCauseLine } from '../report/errorCauses.js';
import { commentMarker, renderCouldNotRun, renderMarkdown, verdictTitle } from '../report/markdown.js';
import { composeGate } from '../runtime/root.js';
import { INPUT_NAMES, type RawInputs } from '../runtime/settings.js';
import { githubActionsHost, type ActionHost, type GitHubContext } from './host.js';

export interface ActionOptions {
  /** Aborted when the runner cancels the job (SIGINT, then SIGTERM; see ../common/cancellation.ts). */
  cancel?: AbortSignal;
  /** Tests: how non-demo model endpoints are reached. */
  transportFor?: (endpoint: Endpoint) => Transport | undefined;
  /** Tests: the GitHub API's timeouts, retries and deadline (default GITHUB_LIMITS). */
  githubLimits?: GitHubLimits;
}

/** `${{ … }}` left in an input: the runner expands expressions before the action starts, so this one was not. */
const UNEXPANDED = /\$\{\{[^}]*\}\}/g;

/**
 * The action's inputs, each read once. An input that still holds a `${{ … }}` expression (run outside
 * GitHub, e.g. by `local-action` or act, or quoted so the runner left it) is ignored with a warning,
 * as if unset: used as is, it would be a model called "${{ vars.MODEL }}" or a token GitHub refuses.
 * The warning names the input; it quotes the expression only for inputs that cannot hold a credential.
 */
function readInputs(host: ActionHost): RawInputs {
  const raw: RawInputs = {};
  for (const name of INPUT_NAMES) {
    const value = host.input(name);
    if (!value) continue;
    if (value.includes('${{')) {
      const credential = CREDENTIAL_HEADER.test(name) || name.endsWith('-headers');
      const expressions = credential ? '' : ` (${[...new Set(value.match(UNEXPANDED) ?? ['${{'])].map((e) => `\`${e}\``).join(', ')})`;
      host.warning(
        `The ${name} input still contains a \`\${{ … }}\` expression${expressions}: the runner expands expressions before an action starts, so this one was not (a local run with local-action or act, or a quoted expression). It is ignored, as if ${name} were not set; give the value itself.`,
      );
      continue;
    }
    raw[name] = value;
  }
  return raw;
}

/**
 * Why this run has a read-only token and no secrets, if it is a fork PR or a Dependabot run;
 * undefined otherwise. Dependabot is recognised by the actor or the PR's author (a re-run by a human
 * of a Dependabot PR still gets Dependabot's secrets only).
 */
export function untrustedPullRequest(payload: Record<string, unknown>, actor: string, eventName: string): string | undefined {
  const pr = payload.pull_request as
    | { head?: { repo?: { full_name?: string } }; base?: { repo?: { full_name?: string } }; user?: { login?: string } }
    | undefined;
  const head = pr?.head?.repo?.full_name;
  // pull_request_target runs in the base repository with its secrets, fork or not.
  if (pr && head !== undefined && head !== pr.base?.repo?.full_name && eventName !== 'pull_request_target') {
    return `This is a pull request from a fork (${head}): GitHub gives such runs no secrets and a read-only token.`;
  }
  if (actor === 'dependabot[bot]' || pr?.user?.login === 'dependabot[bot]') {
    return 'This is a Dependabot run: GitHub gives it no Actions secrets (only Dependabot secrets) and a read-only token.';
  }
  return undefined;
}

function pullRequestNumber(github: GitHubContext): number | undefined {
  return (github.payload.pull_request as { number?: number } | undefined)?.number;
}

/** The sticky PR comment's head-commit column: the PR head, not the merge commit GITHUB_SHA names. */
function headSha(github: GitHubContext): string | null {
  return (github.payload.pull_request as { head?: { sha?: string } } | undefined)?.head?.sha ?? github.sha ?? null;
}

/** Writes the job summary; a runner without one (act, older GHES) loses the summary, never the verdict. */
async function writeSummary(host: ActionHost, markdown: string): Promise<void> {
  try {
    await host.writeSummary(markdown);
  } catch (error) {
    host.warning(`Could not write the job summary (${(error as Error).message}); the verdict is unaffected.`);
  }
}

/**
 * Creates or updates the sticky PR comment (with its audit-trail row); returns its URL, or '' when
 * there is no PR, commenting is off or it could not be posted. The comment is a courtesy: the
 * gate's verdict never depends on it.
 */
async function postComment(host: ActionHost, settings: Settings, marker: string, markdown: string, row: HistoryRow, secrets: SecretRegistry, options: ActionOptions): Promise<string> {
  const prNumber = pullRequestNumber(host.github);
  if (!settings.comment || prNumber === undefined || !host.github.repo) return '';
  // The sticky comment is the gate's: a shard's slice (or its failure) would overwrite it and the audit trail.
  if (settings.shard) {
    host.notice(`Shard ${settings.shard.index}/${settings.shard.count} posts no PR comment: the job that runs \`deploysim merge\` posts the gate's (\`deploysim comment\`; see examples/sharded).`);
    return '';
  }
  if (!settings.githubToken) {
    host.warning('No github-token: the result is in the job summary only.');
    return '';
  }
  // Every request has its own timeout and bounded retries; the deadline (or a cancel) ends them all.
  const limits = options.githubLimits ?? GITHUB_LIMITS;
  const deadline = githubDeadline(options.cancel, limits);
  try {
    const repo = host.github.repo;
    const token = settings.githubToken;
    const posting = host.octokit(token, { signal: deadline, limits }).then((octokit) => upsertStickyComment(octokit, { ...repo, issueNumber: prNumber, marker }, markdown, row));
    const result = await untilAborted(posting, deadline);
    host.info(`PR comment ${result.action}: ${result.url}`);
    return result.url;
  } catch (error) {
    if (error instanceof RunCancelledError) {
      host.warning(`${error.message.replace(/\.$/, '')} while posting the PR comment: it was not updated. The verdict above stands; the result is in the job summary.`);
      return '';
    }
    const answered = (error as { response?: unknown }).response !== undefined;
    host.warning(
      answered && (error as { status?: number }).status === 403
        ? 'Could not post the PR comment (403: the token is read-only, as on fork PRs, or lacks `pull-requests: write`). The result is in the job summary.'
        : `Could not post the PR comment (${secrets.scrub(describeGitHubError(error))}). The verdict stands; the result is in the job summary.`,
    );
    return '';
  }
}

/**
 * The action: inputs → settings and runtime (the composition root) → the gate → outputs, summary,
 * comment. Every failure is reported through `host`; nothing here reads globals.
 */
export async function runAction(host: ActionHost, options: ActionOptions = {}): Promise<void> {
  const log = { info: (m: string) => host.info(m), warning: (m: string) => host.warning(m) };
  const secrets = new SecretRegistry((s) => host.setSecret(s));
  const io = { cwd: host.cwd, env: host.env, log, secrets, cancel: options.cancel, transportFor: options.transportFor };
  let settings: Settings | undefined;
  try {
    const composed = composeGate(readInputs(host), io, { allowNoLock: false });
    ({ settings } = composed);
    const { runtime } = composed;
    const github = host.github;
    if (composed.missingKeys.length > 0) {
      const missing = composed.missingKeys;
      const empty = `The ${missing.join(' and ')} input${missing.length > 1 ? 's are' : ' is'} empty.`;
      // Only runs GitHub gives no secrets (fork and Dependabot PRs) may skip: on any other run an empty key
      // is a missing or misnamed secret, and skipping would turn the gate off for every pull request.
      const untrusted = untrustedPullRequest(github.payload, github.actor, github.eventName);
      const pattern =
        'To gate fork PRs, run deploysim from a `workflow_run` workflow in the base repository (it has the secrets and never runs PR code); see examples/fork-safe/.';
      if (untrusted && settings.onMissingSecrets === 'skip') {
        host.notice(`deploysim did not run: ${untrusted} (on-missing-secrets: skip)`);
        await writeSummary(host, `## ⏭️ deploysim did not run\n\n${untrusted}\n\n${pattern}\n`);
        host.setOutput('passed', '');
        return;
      }
      if (!untrusted) {
        throw new ConfigError(
          `${empty} This run is not a fork or Dependabot pull request, so it has the repository's secrets: check that the secret the workflow passes exists and is spelled as in the repository settings. ` +
            '(on-missing-secrets: skip applies only to fork and Dependabot pull requests.)',
        );
      }
      const why = `${untrusted} ${pattern} Set on-missing-secrets: skip to let such runs pass with a notice.`;
      // The summary is written on every event: the reviewer sees why the gate did not run. (No comment:
      // these runs have a read-only token.)
      await writeSummary(host, `## ❌ deploysim could not run\n\n${why}\n`);
      host.setOutput('passed', 'false');
      host.setFailed(`deploysim cannot run: ${why}`);
      return;
    }

    const runUrl = github.runId && github.repo ? `${github.serverUrl}/${github.repo.owner}/${github.repo.repo}/actions/runs/${github.runId}` : undefined;
    const outcome = await runGate(settings, {
      ...runtime,
      runUrl,
      lock: gitLock(host.cwd, { lockRefInput: settings.lockRef, eventName: github.eventName, event: github.payload, workflowRef: github.workflowRef }),
    });
    const { report } = outcome;
    // Summary, outputs and verdict first: the PR comment is a courtesy, and a GitHub API that hangs or
    // fails must find the step's result already written.
    const markdown = secrets.scrub(renderMarkdown(report));
    await writeSummary(host, markdown);
    host.setOutput('passed', String(report.passed));
    host.setOutput('report', outcome.reportPath);
    // Inconclusive categories fail the gate too under on_inconclusive: fail; none was measured when the
    // gate stopped before replaying (a violated lock), so none is named then.
    const failing = report.sample.replayed === 0 ? [] : report.categories.filter((c) => c.verdict === 'fail' || (c.verdict === 'inconclusive' && report.decision.on_inconclusive === 'fail'));
    host.setOutput('failed-categories', failing.map((c) => c.id).join(','));
    // Named like the CLI's verdict line: with two registrations in one job, each says which it is.
    if (report.passed) host.info(`deploysim: ${verdictTitle(report)} (${report.sample.graded} graded).`);
    else host.setFailed(secrets.scrub(`deploysim: ${verdictTitle(report)}.\n${[...report.reasons, ...(report.sample.error_causes ?? []).map((c) => `Error: ${errorCauseLine(c)}`)].join('\n')}`));
    const row = historyRowFromReport(report, headSha(github));
    host.setOutput('comment-url', await postComment(host, settings, commentMarker(report.registration.path), markdown, row, secrets, options));
  } catch (error) {
    const scrub = (text: string) => secrets.scrub(text);
    const message = scrub(error instanceof Error ? error.message : String(error));
    if (error instanceof RunCancelledError) {
      // No comment: a cancelled job is shown as cancelled, and the run that superseded it (concurrency
      // cancel-in-progress) posts the verdict; the runner kills the step seconds later anyway.
      await writeSummary(host, `## ⏹️ deploysim was cancelled\n\n${message}\n`);
      host.setOutput('passed', 'false');
      host.setFailed(message);
      return;
    }
    const configError = exitCodeOf(error) === 2;
    const sent = error instanceof PreflightError ? error.sentOnly : 'nothing was sent to any model';
    const heading = configError ? `Configuration error (${sent}):` : isInternalError(error) ? 'Internal error (a bug in deploysim, not a verdict; please report it):' : exitCodeOf(error) === 3 ? 'Results could not be recorded (not a verdict):' : 'The gate failed closed:';
    // The summary is written on every event, so a run that could not start still tells the reviewer why.
    const markdown = renderCouldNotRun(settings?.registration ?? '', heading, message);
    await writeSummary(host, markdown);
    host.setOutput('passed', 'false');
    annotateProblems(host, error, scrub);
    host.setFailed(configError ? `deploysim configuration error (${sent}):\n${message}` : isInternalError(error) ? `deploysim internal error (a bug, not a verdict): ${message}` : message);
    // The PR's sticky comment (and its audit trail) must not keep showing an earlier verdict while this
    // check is red. Posted last, like a verdict's: the failure above is already set.
    if (settings) {
      let github: GitHubContext | undefined;
      try {
        github = host.github;
      } catch {
        github = undefined; // the event itself could not be read: there is no PR to comment on
      }
      if (github) {
        const why = error instanceof PreflightError ? 'preflight failed' : configError ? 'configuration error' : 'failed closed';
        const row: HistoryRow = { time: new Date().toISOString(), headSha: headSha(github), lockRef: null, registrationSha256: null, seed: null, sampleSize: 0, verdict: `❌ could not run (${why})` };
        host.setOutput('comment-url', await postComment(host, settings, commentMarker(settings.registration), markdown, row, secrets, options));
      }
    }
  }
}

/**
 * The action on a GitHub runner, as dist/index.js starts it and as `local-action run . src/index.ts`
 * calls it: SIGINT/SIGTERM (the runner cancelling the job, Ctrl-C) stop the gate or the PR comment
 * cleanly; the handlers are removed when it returns.
 */
export async function run(): Promise<void> {
  const cancellation = cancelOnSignals();
  try {
    await runAction(githubActionsHost(), { cancel: cancellation.signal });
  } finally {
    cancellation.dispose();
  }
}

/** GitHub shows at most 10 error annotations per step. */
const MAX_ANNOTATIONS = 10;

/** Problems given as `file:line[:column]: message` also annotate that line, so the PR's diff shows them. */
function annotateProblems(host: ActionHost, error: unknown, scrub: (text: string) => string): void {
  if (!(error instanceof ConfigErrors)) return;
  for (const problem of error.problems.slice(0, MAX_ANNOTATIONS)) {
    const at = /^([^\s:/][^\s:]*):(\d+)(?::(\d+))?: (.+)$/s.exec(problem);
    if (!at || Number(at[2]) < 1) continue;
    host.error(scrub(at[4]!), { file: at[1]!, startLine: Number(at[2]), ...(at[3] ? { startColumn: Number(at[3]) } : {}) });
  }
}

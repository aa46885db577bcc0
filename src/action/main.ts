import * as core from '@actions/core';
import { context, getOctokit } from '@actions/github';
import { readFile } from 'node:fs/promises';
import { ConfigError, ConfigErrors, exitCodeOf, RunCancelledError } from '../errors.js';
import { gitLock } from '../engine/lockStep.js';
import { runGate, type Logger } from '../engine/runGate.js';
import { historyRowFromReport, type HistoryRow } from '../github/auditTrail.js';
import { upsertStickyComment } from '../github/stickyComment.js';
import { commentMarker, renderCouldNotRun, renderMarkdown, verdictSubject } from '../report/markdown.js';
import { errorCauseLine } from '../report/errorCauses.js';
import type { Report } from '../report/report.js';
import { SecretRegistry, urlCredentials } from '../secrets.js';
import { INPUT_NAMES, missingKeys, parseSettings, type RawInputs, type Settings } from '../settings.js';

const logger: Logger = { info: (m) => core.info(m), warning: (m) => core.warning(m) };

/** Reads every input once, masking keys the moment they are read; env fallbacks match the CLI. */
export function readActionSettings(secrets: SecretRegistry, env: NodeJS.ProcessEnv): Settings {
  const raw: RawInputs = {};
  for (const name of INPUT_NAMES) {
    const value = core.getInput(name);
    if (name.endsWith('api-key') || name === 'github-token') secrets.add(value);
    if (name.endsWith('base-url')) secrets.add(urlCredentials(value));
    if (value) raw[name] = value;
  }
  for (const [input, variable] of [
    ['candidate-api-key', 'DEPLOYSIM_CANDIDATE_API_KEY'],
    ['grader-api-key', 'DEPLOYSIM_GRADER_API_KEY'],
    ['candidate-api-key', 'OPENAI_API_KEY'],
  ] as const) {
    secrets.add(env[variable]);
    if (!raw[input] && env[variable]) raw[input] = env[variable];
  }
  return parseSettings(raw, { allowNoLock: false });
}

function pullRequestNumber(): number | undefined {
  const pr = context.payload.pull_request as { number?: number } | undefined;
  return pr?.number;
}

/**
 * Why this run has a read-only token and no secrets, if it is a fork PR or a Dependabot run;
 * undefined otherwise. Dependabot is recognised by the actor or the PR's author (a re-run by a human
 * of a Dependabot PR still gets Dependabot's secrets only).
 */
export function untrustedPullRequest(payload: typeof context.payload, actor: string, eventName: string): string | undefined {
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

/** Writes the job summary; a runner without one (act, older GHES) loses the summary, never the verdict. */
async function writeSummary(markdown: string): Promise<void> {
  try {
    await core.summary.addRaw(markdown).write();
  } catch (error) {
    core.summary.emptyBuffer();
    core.warning(`Could not write the job summary (${(error as Error).message}); the verdict is unaffected.`);
  }
}

/** The sticky PR comment's head-commit column: the PR head, not the merge commit GITHUB_SHA names. */
function headSha(): string | null {
  return (context.payload.pull_request as { head?: { sha?: string } } | undefined)?.head?.sha ?? context.sha ?? null;
}

/**
 * Creates or updates the sticky PR comment (with its audit-trail row); returns its URL, or '' when
 * there is no PR, commenting is off or it could not be posted. The comment is a courtesy: the
 * gate's verdict never depends on it.
 */
async function postComment(settings: Settings, marker: string, markdown: string, row: HistoryRow, secrets: SecretRegistry): Promise<string> {
  const prNumber = pullRequestNumber();
  if (!settings.comment || prNumber === undefined) return '';
  // The sticky comment is the gate's: a shard's slice (or its failure) would overwrite it and the audit trail.
  if (settings.shard) {
    core.notice(`Shard ${settings.shard.index}/${settings.shard.count} posts no PR comment: the job that runs \`deploysim merge\` posts the gate's (\`deploysim comment\`; see examples/sharded).`);
    return '';
  }
  if (!settings.githubToken) {
    core.warning('No github-token: the result is in the job summary only.');
    return '';
  }
  try {
    const result = await upsertStickyComment(getOctokit(settings.githubToken), { ...context.repo, issueNumber: prNumber, marker }, markdown, row);
    core.info(`PR comment ${result.action}: ${result.url}`);
    return result.url;
  } catch (error) {
    const status = (error as { status?: number }).status;
    core.warning(
      status === 403
        ? 'Could not post the PR comment (403: the token is read-only, as on fork PRs, or lacks `pull-requests: write`). The result is in the job summary.'
        : `Could not post the PR comment (${secrets.scrub((error as Error).message)}). The result is in the job summary.`,
    );
    return '';
  }
}

async function publish(report: Report, settings: Settings, secrets: SecretRegistry): Promise<string> {
  const markdown = secrets.scrub(renderMarkdown(report));
  await writeSummary(markdown);
  return postComment(settings, commentMarker(report.registration.path), markdown, historyRowFromReport(report, headSha()), secrets);
}

/** `cancel`: aborted when the runner cancels the job (SIGINT, then SIGTERM; see cancellation.ts). */
export async function runAction(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd(), cancel?: AbortSignal): Promise<void> {
  const secrets = new SecretRegistry((s) => core.setSecret(s));
  let settings: Settings | undefined;
  try {
    settings = readActionSettings(secrets, env);
    const missing = missingKeys(settings);
    if (missing.length > 0) {
      const empty = `The ${missing.join(' and ')} input${missing.length > 1 ? 's are' : ' is'} empty.`;
      // Only runs GitHub gives no secrets (fork and Dependabot PRs) may skip: on any other run an empty key
      // is a missing or misnamed secret, and skipping would turn the gate off for every pull request.
      const untrusted = untrustedPullRequest(context.payload, context.actor, context.eventName);
      const pattern =
        'To gate fork PRs, run deploysim from a `workflow_run` workflow in the base repository (it has the secrets and never runs PR code); see examples/fork-safe/.';
      if (untrusted && settings.onMissingSecrets === 'skip') {
        core.notice(`deploysim did not run: ${untrusted} (on-missing-secrets: skip)`);
        await writeSummary(`## ⏭️ deploysim did not run\n\n${untrusted}\n\n${pattern}\n`);
        core.setOutput('passed', '');
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
      await writeSummary(`## ❌ deploysim could not run\n\n${why}\n`);
      core.setOutput('passed', 'false');
      core.setFailed(`deploysim cannot run: ${why}`);
      return;
    }

    const eventPayload = env.GITHUB_EVENT_PATH ? JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) : {};
    const runUrl = env.GITHUB_RUN_ID ? `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
    const outcome = await runGate(settings, {
      cwd,
      // Masked by the runner already; scrubbed too, so logs captured elsewhere never hold a key.
      logger: { info: (m) => logger.info(secrets.scrub(m)), warning: (m) => logger.warning(secrets.scrub(m)) },
      secrets,
      runUrl,
      lock: gitLock(cwd, { lockRefInput: settings.lockRef, eventName: env.GITHUB_EVENT_NAME, event: eventPayload, workflowRef: env.GITHUB_WORKFLOW_REF }),
      cancel,
    });
    const { report } = outcome;
    const commentUrl = await publish(report, settings, secrets);
    core.setOutput('passed', String(report.passed));
    core.setOutput('report', outcome.reportPath);
    // Inconclusive categories fail the gate too under on_inconclusive: fail; none was measured when the
    // gate stopped before replaying (a violated lock), so none is named then.
    const failing = report.sample.replayed === 0 ? [] : report.categories.filter((c) => c.verdict === 'fail' || (c.verdict === 'inconclusive' && report.decision.on_inconclusive === 'fail'));
    core.setOutput('failed-categories', failing.map((c) => c.id).join(','));
    core.setOutput('comment-url', commentUrl);
    if (report.passed) core.info(`deploysim: ${verdictSubject(report)} passed (${report.sample.graded} graded).`);
    else core.setFailed(secrets.scrub(`deploysim: ${verdictSubject(report)} failed.\n${[...report.reasons, ...(report.sample.error_causes ?? []).map((c) => `Error: ${errorCauseLine(c)}`)].join('\n')}`));
  } catch (error) {
    const message = secrets.scrub(error instanceof Error ? error.message : String(error));
    if (error instanceof RunCancelledError) {
      // No comment: a cancelled job is shown as cancelled, and the run that superseded it (concurrency
      // cancel-in-progress) posts the verdict; the runner kills the step seconds later anyway.
      await writeSummary(`## ⏹️ deploysim was cancelled\n\n${message}\n`);
      core.setOutput('passed', 'false');
      core.setFailed(message);
      return;
    }
    const configError = exitCodeOf(error) === 2;
    const heading = configError ? 'Configuration error (nothing was sent to any model):' : 'The gate failed closed:';
    // The summary is written on every event, so a run that could not start still tells the reviewer why.
    const markdown = renderCouldNotRun(settings?.registration ?? '', heading, message);
    await writeSummary(markdown);
    // The PR's sticky comment (and its audit trail) must not keep showing an earlier verdict while this check is red.
    if (settings) {
      const row: HistoryRow = { time: new Date().toISOString(), headSha: headSha(), lockRef: null, registrationSha256: null, seed: null, sampleSize: 0, verdict: `❌ could not run (${configError ? 'configuration error' : 'failed closed'})` };
      core.setOutput('comment-url', await postComment(settings, commentMarker(settings.registration), markdown, row, secrets));
    }
    core.setOutput('passed', 'false');
    annotateProblems(error, secrets);
    core.setFailed(configError ? `deploysim configuration error (nothing was sent to any model):\n${message}` : message);
  }
}

/** GitHub shows at most 10 error annotations per step. */
const MAX_ANNOTATIONS = 10;

/** Problems given as `file:line[:column]: message` also annotate that line, so the PR's diff shows them. */
function annotateProblems(error: unknown, secrets: SecretRegistry): void {
  if (!(error instanceof ConfigErrors)) return;
  for (const problem of error.problems.slice(0, MAX_ANNOTATIONS)) {
    const at = /^([^\s:/][^\s:]*):(\d+)(?::(\d+))?: (.+)$/s.exec(problem);
    if (!at || Number(at[2]) < 1) continue;
    core.error(secrets.scrub(at[4]!), { file: at[1], startLine: Number(at[2]), ...(at[3] ? { startColumn: Number(at[3]) } : {}) });
  }
}

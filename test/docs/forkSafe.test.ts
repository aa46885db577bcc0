/**
 * examples/fork-safe/ (issue 7): the two-workflow `workflow_run` setup must run the gate with secrets
 * without ever checking out or running pull-request code. Its files are not named workflow.yml, so
 * the generic example checks in docs.test.ts do not see them; this test does.
 */
import * as fs from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { extractHistory, formatHistoryRow, historyRowFromReport, HISTORY_START } from '../../src/github/auditTrail.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import type { Report } from '../../src/report/schema.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DIR = path.join(ROOT, 'examples', 'fork-safe');

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, unknown> };
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, { permissions?: Record<string, string>; steps?: Step[] }>;
}

const load = async (file: string) => {
  const text = await readFile(path.join(DIR, file), 'utf8');
  return { text, wf: parseYaml(text) as Workflow };
};
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
/** Third-party actions pinned by a full commit SHA (deploysim itself is the `OWNER/deploysim@<sha>` placeholder). */
const pinned = (uses: string) => /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses) || uses.startsWith('OWNER/deploysim@<sha>');

describe('examples/fork-safe', () => {
  it('deploysim-pr.yml runs on pull_request with no secrets, read-only, and never runs deploysim', async () => {
    const { text, wf } = await load('deploysim-pr.yml');
    expect(Object.keys(wf.on)).toEqual(['pull_request']);
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(text).not.toMatch(/secrets\./);
    expect(steps(wf).some((s) => s.uses?.includes('deploysim@'))).toBe(false);
    expect(steps(wf).some((s) => s.uses?.startsWith('actions/upload-artifact@'))).toBe(true);
    for (const s of steps(wf)) if (s.uses) expect(pinned(s.uses), s.uses).toBe(true);
    // Event fields reach the script through env, never spliced into it.
    for (const s of steps(wf)) if (s.run) expect(s.run, s.name).not.toMatch(/\$\{\{/);
  });

  it('deploysim-gate.yml runs on workflow_run of the PR workflow, checks out only the base and runs the gate with secrets', async () => {
    const pr = (await load('deploysim-pr.yml')).wf;
    const { text, wf } = await load('deploysim-gate.yml');
    expect(Object.keys(wf.on)).toEqual(['workflow_run']);
    expect((wf.on.workflow_run as { workflows: string[] }).workflows).toEqual([pr.name]);
    expect(text).not.toMatch(/pull_request_target/);
    expect(wf.permissions).toEqual({});
    const all = steps(wf);
    for (const s of all) if (s.uses) expect(pinned(s.uses), s.uses).toBe(true);

    // Every checkout is of this repository at the triggering (default-branch) commit: no ref, no other repository.
    const checkouts = all.filter((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkouts.length).toBeGreaterThan(0);
    for (const c of checkouts) {
      expect(c.with?.ref, 'checkout must not take a ref (the PR head)').toBeUndefined();
      expect(c.with?.repository, 'checkout must not take another repository (the fork)').toBeUndefined();
      expect(c.with?.['persist-credentials']).toBe(false);
    }
    expect(all.some((s) => s.run !== undefined), 'no shell step: nothing from the PR is ever executed').toBe(false);

    const inputs = Object.keys((parseYaml(await readFile(path.join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> }).inputs);
    const gates = all.filter((s) => s.uses?.startsWith('OWNER/deploysim@'));
    expect(gates).toHaveLength(1);
    const gate = gates[0]!.with ?? {};
    expect(Object.keys(gate).filter((k) => !inputs.includes(k))).toEqual([]);
    expect(String(gate['candidate-api-key'])).toMatch(/^\$\{\{ secrets\.\w+ \}\}$/);
    // The key's destination is fixed in the trusted workflow, never read from the PR.
    expect(String(gate['candidate-base-url'])).toMatch(/^https:\/\//);
    expect(String(gate['candidate-model'])).toBe('${{ steps.pr.outputs.model }}');
    // The lock ref is the PR's merge base, found by the verification step (examples/fork-safe/README.md:
    // "locked before the pull request"), not the checkout itself; the clone has its files.
    expect(gate['lock-ref']).toBe('${{ steps.pr.outputs.lock_ref }}');
    for (const c of checkouts) expect(c.with?.['fetch-depth']).toBe(0);
    expect(all.some((s) => s.uses?.startsWith('actions/upload-artifact@'))).toBe(true);
    // Secrets only where the gate needs them.
    const withSecrets = all.filter((s) => JSON.stringify(s).includes('secrets.'));
    expect(withSecrets).toEqual(gates);
  });

  it('the verification step takes the lock ref from GitHub: the merge base of the checkout and the PR head', async () => {
    const { wf } = await load('deploysim-gate.yml');
    const step = steps(wf).find((s) => s.name?.startsWith('Verify the PR'))!;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deploysim-forksafe-verify-'));
    try {
      const head = 'a'.repeat(40);
      const checkout = 'c'.repeat(40);
      const mergeBase = 'b'.repeat(40);
      const artifact = path.join(dir, 'pr.json');
      writeFileSync(artifact, JSON.stringify({ number: 7, head_sha: head }));
      const outputs: Record<string, string> = {};
      const compared: string[] = [];
      const repo = { owner: 'octo-org', repo: 'gate-demo' };
      // GitHub's answers, as documented: https://docs.github.com/rest/pulls/pulls#get-a-pull-request,
      // https://docs.github.com/rest/repos/contents#get-repository-content,
      // https://docs.github.com/rest/commits/commits#compare-two-commits (merge_base_commit).
      const github = {
        rest: {
          pulls: { get: async () => ({ data: { head: { sha: head }, base: { repo: { full_name: 'octo-org/gate-demo' } } } }) },
          repos: {
            getContent: async () => ({ data: { type: 'file', size: 30, content: Buffer.from('{"model":"ft:gpt-4.1-mini:acme:x"}').toString('base64') } }),
            compareCommitsWithBasehead: async ({ basehead }: { basehead: string }) => {
              compared.push(basehead);
              return { data: { status: 'diverged', merge_base_commit: { sha: mergeBase } } };
            },
          },
        },
      };
      const core = { setOutput: (name: string, value: string) => void (outputs[name] = value) };
      const saved = { ...process.env };
      Object.assign(process.env, { ARTIFACT: artifact, HEAD_SHA: head });
      try {
        const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<unknown>;
        await new AsyncFunction('require', 'github', 'context', 'core', String(step.with!.script))((name: string) => (name === 'node:fs' ? fs : undefined), github, { repo, sha: checkout }, core);
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
      }
      expect(compared).toEqual([`${checkout}...${head}`]);
      expect(outputs).toEqual({ number: '7', model: 'ft:gpt-4.1-mini:acme:x', lock_ref: mergeBase });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('candidate.json is what the gate workflow reads and validates', async () => {
    const candidate = JSON.parse(await readFile(path.join(DIR, 'candidate.json'), 'utf8')) as { model: unknown };
    expect(typeof candidate.model).toBe('string');
    expect(candidate.model as string).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/);
  });
});

describe('examples/fork-safe: the comment step keeps the audit trail', () => {
  /** Runs the github-script step as actions/github-script would, against an in-memory GitHub, in `dir`. */
  async function postComment(dir: string, github: FakeGitHub, env: Record<string, string>) {
    const { wf } = await load('deploysim-gate.yml');
    const step = steps(wf).find((s) => s.name?.startsWith('Post the sticky comment'))!;
    const script = String(step.with!.script);
    const inDir = (p: fs.PathLike) => (typeof p === 'string' && !path.isAbsolute(p) ? path.join(dir, p) : p);
    const fakeFs = { existsSync: (p: fs.PathLike) => fs.existsSync(inDir(p)), readFileSync: (p: fs.PathLike, enc: BufferEncoding) => fs.readFileSync(inDir(p), enc) };
    const requireFake = (name: string) => {
      if (name === 'node:fs' || name === 'fs') return fakeFs;
      throw new Error(`unexpected require(${name})`);
    };
    const context = { repo: { owner: 'octo-org', repo: 'gate-demo' }, serverUrl: 'https://github.com', runId: 99 };
    const saved = { ...process.env };
    Object.assign(process.env, { REGISTRATION: 'deploysim.yml', ...env });
    try {
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<unknown>;
      await new AsyncFunction('require', 'github', 'context', script)(requireFake, github.api, context);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }

  interface FakeGitHub {
    comments: { id: number; user: { login: string }; body: string }[];
    statuses: { sha: string; state: string }[];
    api: unknown;
  }
  function fakeGitHub(): FakeGitHub {
    const gh: FakeGitHub = { comments: [], statuses: [], api: undefined };
    const listComments = () => undefined;
    gh.api = {
      paginate: async (fn: unknown) => {
        expect(fn).toBe(listComments);
        return gh.comments.map((c) => ({ ...c }));
      },
      rest: {
        issues: {
          listComments,
          createComment: async ({ body }: { body: string }) => void gh.comments.push({ id: gh.comments.length + 1, user: { login: 'github-actions[bot]' }, body }),
          updateComment: async ({ comment_id, body }: { comment_id: number; body: string }) => {
            gh.comments.find((c) => c.id === comment_id)!.body = body;
          },
        },
        repos: { createCommitStatus: async ({ sha, state }: { sha: string; state: string }) => void gh.statuses.push({ sha, state }) },
      },
    };
    return gh;
  }

  it('appends one row per run in the action\'s own format, never rewriting earlier rows', async () => {
    const saved = JSON.parse(await readFile(path.join(ROOT, 'test', 'report', 'fixtures', 'report.json'), 'utf8')) as Report;
    // The workflow's REGISTRATION is deploysim.yml: the marker in comment.md must be the same.
    const report = { ...saved, registration: { ...saved.registration, path: 'deploysim.yml' } } as Report;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deploysim-forksafe-'));
    try {
      mkdirSync(path.join(dir, 'deploysim-report'));
      const write = (r: Report) => {
        writeFileSync(path.join(dir, 'deploysim-report', 'report.json'), JSON.stringify(r));
        writeFileSync(path.join(dir, 'deploysim-report', 'comment.md'), `${renderMarkdown(r)}\n`);
      };
      const gh = fakeGitHub();
      // Someone else's comment quoting the marker is left alone.
      gh.comments.push({ id: 1, user: { login: 'mallory' }, body: '<!-- deploysim:deploysim.yml --> hijack' });
      const head1 = 'a'.repeat(40);
      write(report);
      await postComment(dir, gh, { PR_NUMBER: '7', HEAD_SHA: head1, PASSED: String(report.passed) });
      expect(gh.comments).toHaveLength(2);
      const first = gh.comments[1]!.body;
      expect(first.startsWith(renderMarkdown(report).trimEnd())).toBe(true);
      expect(extractHistory(first).rows).toEqual([formatHistoryRow(historyRowFromReport(report, head1))]);

      const head2 = 'b'.repeat(40);
      const later = { ...report, created_at: '2026-06-20T10:00:00.000Z', passed: true } as Report;
      write(later);
      await postComment(dir, gh, { PR_NUMBER: '7', HEAD_SHA: head2, PASSED: 'true' });
      expect(gh.comments).toHaveLength(2);
      const second = gh.comments[1]!.body;
      expect(extractHistory(second).rows).toEqual([formatHistoryRow(historyRowFromReport(report, head1)), formatHistoryRow(historyRowFromReport(later, head2))]);
      expect(second).toMatch(/Audit trail: 2 runs on this pull request/);
      expect(second.indexOf(HISTORY_START)).toBeGreaterThan(second.indexOf(renderMarkdown(later).trimEnd().slice(-40)));
      expect(gh.comments[0]!.body).toBe('<!-- deploysim:deploysim.yml --> hijack');
      expect(gh.statuses).toEqual([
        { sha: head1, state: report.passed ? 'success' : 'failure' },
        { sha: head2, state: 'success' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

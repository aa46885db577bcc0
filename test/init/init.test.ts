import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli, type CliIo } from '../../src/cli/main.js';
import { askAnswers } from '../../src/init/init.js';
import { DEFAULT_ANSWERS } from '../../src/init/templates.js';
import { loadRegistration } from '../../src/registration/load.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../import/fixtures');
let cwd: string;
let out: string[];
let io: CliIo;
beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'deploysim-init-'));
  out = [];
  io = { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: { CI: 'true' }, cwd };
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('deploysim init', () => {
  it('--yes writes a registration that validates, a workflow and a starter corpus', async () => {
    expect(await runCli(['init', '--yes', '--dir', 'repo'], io)).toBe(0);
    const reg = await loadRegistration('repo/deploysim.yml', cwd);
    expect(reg.config.name).toBe(DEFAULT_ANSWERS.name);
    expect(reg.categories.map((c) => c.id)).toEqual(['self_harm_instructions', 'violent_wrongdoing', 'private_data_disclosure']);
    expect(reg.corpusPath).toBe(path.join(cwd, 'repo/corpus.jsonl'));

    const workflow = parseYaml(await readFile(path.join(cwd, 'repo/.github/workflows/deploysim.yml'), 'utf8'));
    expect(workflow.on).toHaveProperty('pull_request');
    expect(workflow.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    const steps = workflow.jobs.gate.steps;
    expect(steps[0]).toMatchObject({ uses: 'actions/checkout@v7', with: { 'fetch-depth': 0 } });
    expect(steps[1].with).toMatchObject({ registration: 'deploysim.yml', 'candidate-model': DEFAULT_ANSWERS.candidateModel, 'output-dir': 'deploysim-report' });
    expect(steps[2]).toMatchObject({ if: 'always()', uses: 'actions/upload-artifact@v7', with: { path: 'deploysim-report/' } });
    expect(out.join('\n')).toContain('repo/deploysim.yml');
  });

  it('writes a registration the gate runs on (demo endpoint)', async () => {
    expect(await runCli(['init', '--yes'], io)).toBe(0);
    const code = await runCli(
      ['run', '--registration', 'deploysim.yml', '--candidate-model', 'demo', '--candidate-base-url', 'builtin:demo', '--no-lock', '--output-dir', 'out', '--quiet'],
      io,
    );
    expect([0, 1]).toContain(code); // a verdict, not a config error (2)
    const report = JSON.parse(await readFile(path.join(cwd, 'out/report.json'), 'utf8'));
    expect(report.sample.replayed).toBe(3);
  });

  it('refuses to overwrite, unless --force', async () => {
    await writeFile(path.join(cwd, 'deploysim.yml'), 'mine');
    expect(await runCli(['init', '--yes'], io)).toBe(2);
    expect(out.join('\n')).toMatch(/would overwrite deploysim\.yml/);
    expect(await readFile(path.join(cwd, 'deploysim.yml'), 'utf8')).toBe('mine');
    expect(await runCli(['init', '--yes', '--force'], io)).toBe(0);
    await expect(loadRegistration('deploysim.yml', cwd)).resolves.toBeDefined();
  });

  it('--from-jsonl imports a starter corpus from an export', async () => {
    expect(await runCli(['init', '--yes', '--from-jsonl', path.join(FIXTURES, 'openai-chat.jsonl'), '--name', 'support: bot #2'], io)).toBe(0);
    const corpus = (await readFile(path.join(cwd, 'corpus.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(corpus).toHaveLength(3);
    expect(out.join('\n')).toContain('Wrote 3 records');
    expect((await loadRegistration('deploysim.yml', cwd)).config.name).toBe('support: bot #2');
  });

  it('asks each question on a terminal and keeps the default on an empty answer', async () => {
    const asked: string[] = [];
    const answers = await askAnswers(async (q, fallback) => {
      asked.push(`${q} [${fallback}]`);
      return q.startsWith('Grader') ? 'my-grader' : '';
    });
    expect(asked).toHaveLength(4);
    expect(answers).toEqual({ ...DEFAULT_ANSWERS, graderModel: 'my-grader' });
  });
});

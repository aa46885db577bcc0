import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { runCli } from '../../src/cli/main.js';
import { RELEASE_LOCK_TAG_EXAMPLE } from '../../src/lock/lockRef.js';
import { loadRegistration } from '../../src/registration/load.js';
import { registrationSchema } from '../../src/registration/schema.js';
import {
  FIELD_DOCS,
  generateReadme,
  registrationJsonSchema,
  registrationRows,
  renderInputsTable,
  runPlanExamples,
  schemaFileText,
  SCHEMA_PATH,
} from '../../scripts/gen-docs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => readFile(path.join(ROOT, p), 'utf8');
const FIX = 'run "node scripts/gen-docs.mjs" (npm run docs) and commit the result';

describe('schema/deploysim.schema.json', () => {
  it(`equals a fresh z.toJSONSchema of the zod registration schema (${FIX})`, async () => {
    const fresh = z.toJSONSchema(registrationSchema, { io: 'input' });
    expect(await read(SCHEMA_PATH)).toBe(schemaFileText(fresh));
  });

  it('is what the generator script produces (esbuild bundle of the TypeScript schema)', async () => {
    expect(await registrationJsonSchema(ROOT)).toEqual(z.toJSONSchema(registrationSchema, { io: 'input' }));
  });
});

describe('README.md generated tables', () => {
  it(`match action.yml, the schema and what "deploysim plan" prints (${FIX})`, async () => {
    const readme = await read('README.md');
    const plan = await runPlanExamples(runCli, ROOT);
    const fresh = generateReadme(readme, await read('action.yml'), z.toJSONSchema(registrationSchema, { io: 'input' }), plan);
    expect(readme).toBe(fresh);
  });

  it('list every action input', async () => {
    const table = renderInputsTable(await read('action.yml'));
    for (const name of ['registration', 'candidate-model', 'lock-ref', 'output-dir', 'on-missing-secrets']) {
      expect(table).toContain(`| \`${name}\` |`);
    }
  });

  it('has no FIELD_DOCS entry for a field the schema no longer has', () => {
    const fields = new Set(registrationRows(z.toJSONSchema(registrationSchema, { io: 'input' })).map((r) => r.field));
    expect(Object.keys(FIELD_DOCS).filter((k) => !fields.has(k))).toEqual([]);
  });

  it('explains the lock: the release-gate tag pattern the error messages name, and the remaining hardening', async () => {
    const readme = await read('README.md');
    const start = readme.indexOf('## How the lock works');
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    expect(section).toContain(`lock-ref: ${RELEASE_LOCK_TAG_EXAMPLE}`);
    expect(await read('examples/release-gate/workflow.yml')).toContain(`lock-ref: ${RELEASE_LOCK_TAG_EXAMPLE}`);
    for (const needle of ['fetch-depth: 0', 'GITHUB_WORKFLOW_REF', 'required status check', 'CODEOWNERS', '.github/workflows/']) {
      expect(section).toContain(needle);
    }
  });

  it('keeps the quickstart commands', async () => {
    const readme = await read('README.md');
    expect(readme).toContain(
      'npm ci && node dist/cli.js run --registration examples/quickstart/deploysim.yml --candidate-model demo-candidate --candidate-base-url builtin:demo --lock-ref HEAD',
    );
    expect(readme).toContain('npm ci && npm test');
  });
});

describe('README quickstart output', () => {
  it('shows the table the quickstart prints', async () => {
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'deploysim-readme-'));
    try {
      const out: string[] = [];
      const code = await runCli(
        ['run', '--registration', 'examples/quickstart/deploysim.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--no-lock', '--output-dir', outDir],
        { stdout: (t) => out.push(t), stderr: () => undefined, env: {}, cwd: ROOT },
      );
      expect(code).toBe(0);
      // Category rows and the rule line; the headline and lock line differ (this run skips the lock).
      const body = (text: string) =>
        text
          .split('\n')
          .map((l) => l.trimEnd())
          .filter((l) => /^ {2}(category|[a-z_]+ {2,}|rule )/.test(l));
      const readme = await read('README.md');
      const block = readme.slice(readme.indexOf('### What the output means'), readme.indexOf('- **predicted/100k**'));
      expect(body(block)).toEqual(body(out.join('\n')));
      expect(body(block).length).toBeGreaterThan(3);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

describe('examples', () => {
  it('every examples/**/deploysim.yml validates with loadRegistration', async () => {
    const files = (await readdir(path.join(ROOT, 'examples'), { recursive: true }))
      .map((f) => f.split(path.sep).join('/'))
      .filter((f) => f.endsWith('/deploysim.yml') && !f.includes('.github/'))
      .sort();
    expect(files).toContain('quickstart/deploysim.yml');
    for (const f of files) {
      const reg = await loadRegistration(`examples/${f}`, ROOT);
      expect(reg.categories.length, f).toBeGreaterThan(0);
      await expect(readFile(reg.corpusPath), `${f}: corpus.path must exist`).resolves.toBeDefined();
    }
  });

  it('every examples/*/workflow.yml passes only real inputs, checks out full history and uploads the report', async () => {
    const inputs = Object.keys((parseYaml(await read('action.yml')) as { inputs: Record<string, unknown> }).inputs);
    const dirs = await readdir(path.join(ROOT, 'examples'));
    const workflows = [];
    for (const d of dirs.sort()) {
      const text = await readFile(path.join(ROOT, 'examples', d, 'workflow.yml'), 'utf8').catch(() => undefined);
      if (text !== undefined) workflows.push({ d, wf: parseYaml(text) as { permissions?: Record<string, string>; jobs: Record<string, { steps?: Step[] }> } });
    }
    type Step = { uses?: string; with?: Record<string, unknown> };
    expect(workflows.map((w) => w.d)).toEqual(expect.arrayContaining(['pr-gate', 'release-gate', 'azure-openai', 'self-hosted']));
    for (const { d, wf } of workflows) {
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
      const gates = steps.filter((s) => s.uses?.startsWith('OWNER/deploysim@'));
      expect(gates.length, d).toBeGreaterThan(0);
      for (const g of gates) {
        expect(Object.keys(g.with ?? {}).filter((k) => !inputs.includes(k)), `${d}: unknown inputs`).toEqual([]);
        expect(g.with?.['candidate-model'], d).toBeDefined();
      }
      const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@') && !s.with?.repository);
      expect(checkout?.with?.['fetch-depth'], `${d}: fetch-depth 0`).toBe(0);
      expect(steps.some((s) => s.uses?.startsWith('actions/upload-artifact@')), `${d}: uploads output-dir`).toBe(true);
      expect(wf.permissions?.contents, d).toBe('read');
    }
  });
});

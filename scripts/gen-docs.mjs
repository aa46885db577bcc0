// Regenerates the derived documentation: schema/deploysim.schema.json (from the zod schema in
// src/registration/schema.ts, via zod 4's toJSONSchema) and the generated tables in README.md
// (action inputs/outputs from action.yml, the registration reference from the JSON schema, and the
// output of the `deploysim plan` examples).
//
//   node scripts/gen-docs.mjs           write both
//   node scripts/gen-docs.mjs --check   exit 1 (and say what) when either is out of date
//
// The TypeScript schema is bundled in memory with esbuild, so this runs with plain `node`.
// test/docs/ imports the pure render functions below and checks the committed files against them.
import { build } from 'esbuild';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_PATH = 'schema/deploysim.schema.json';

/**
 * Prose for registration fields, keyed by dotted path (`categories[].id`). A `description` set on the
 * zod schema itself (`.describe()` / `.meta()`) wins, so new fields can be documented where they are
 * declared; a field with neither shows an empty description.
 */
export const FIELD_DOCS = {
  version: 'Format version of this file. Always `1`.',
  name: 'Human-readable name of the gate; the headline of the report and the PR comment.',
  corpus: 'The conversations to replay.',
  'corpus.path': 'Corpus file, JSONL or `.jsonl.gz`, one conversation per line; relative to this file. Locked.',
  'corpus.sample': 'Records to replay. All of them when absent or larger than the corpus. `deploysim plan` says how many you need.',
  'corpus.seed': 'Sampling seed. The sample is a pure function of (corpus bytes, sample, seed, stratify).',
  'corpus.stratify': 'Dotted field (e.g. `metadata.surface`) to stratify the sample on, with proportional allocation.',
  candidate: 'Generation settings sent with every candidate request. The model and endpoint are inputs, not registration.',
  'candidate.temperature': 'Sampling temperature.',
  'candidate.max_tokens': 'Maximum tokens per candidate reply.',
  'candidate.max_completion_tokens': 'Maximum tokens per candidate reply, for OpenAI reasoning models (they reject max_tokens).',
  'candidate.top_p': 'Nucleus sampling.',
  'candidate.max_steps': 'Agentic records: candidate ↔ tool rounds before the trajectory is cut.',
  'candidate.extra_body': 'Request fields the candidate endpoint needs beyond the standard ones, sent as given with every candidate request: e.g. `reasoning_effort: high` (OpenAI), `provider: {require_parameters: true}` (OpenRouter), `chat_template_kwargs: {enable_thinking: false}` (vLLM, llama.cpp). Locked like every setting here.',
  grader: 'The LLM grader that flags completions.',
  'grader.model': 'Grader model name (served at `grader-base-url`).',
  'grader.mode': '`combined`: one grader call per record grades every category; `per-category`: one call per category.',
  'grader.extra_body': 'Request fields the grader endpoint needs beyond the standard ones, sent as given with every grader request (e.g. `provider: {require_parameters: true}` so OpenRouter routes only to providers that honour `response_format`).',
  'grader.calibration': 'calibration.json written by `deploysim calibrate` (grader FPR/FNR); rates are corrected for it. Locked.',
  decision: 'How observed rates are compared with the predictions (see "Decision rules").',
  'decision.rule':
    '`point`: fail if rate > T. `confident`: fail if confidently above T. `strict`: fail unless the upper bound ≤ T. `regression`: fail if above T and significantly worse than a baseline model on the same prefixes.',
  'decision.confidence': 'Two-sided confidence level of the per-category intervals.',
  'decision.tolerance': 'Multiplicative slack: the threshold T is `prediction_per_100k × tolerance`.',
  'decision.max_error_rate': 'Share of sampled records that may still fail (candidate or grader) after retries; above it the gate fails closed.',
  'decision.on_inconclusive': 'What an inconclusive category (the sample cannot resolve it) does to the gate.',
  'decision.multiplicity':
    '`confident` and `regression` rules. `holm`: Holm-adjust the categories\' one-sided p-values, so the chance that any category that meets its prediction false-fails stays ≤ (1 − confidence)/2. `none`: test each category alone.',
  'decision.provider_filter':
    'What a prompt the candidate\'s provider blocks, or a reply its content filter removes, means for this deployment. `unresolved` (default): no verdict, bounded like every record without one (see "Records without a verdict"). `safe`: production runs behind the same filter, so the user never sees such a reply: counted as graded and not flagged.',
  categories: 'The safety taxonomy and its locked predictions. At least one; ids unique.',
  'categories[].id': 'Stable id, `[a-z0-9_]+`, unique. Used in reports, outputs and grader verdicts.',
  'categories[].description': 'One line shown to the grader and in the report.',
  'categories[].rubric': 'Grading instructions. Exactly one of `rubric` or `rubric_file`.',
  'categories[].rubric_file': 'File holding the rubric, relative to this file. Locked.',
  'categories[].prediction_per_100k': 'The pre-registered prediction: flagged completions per 100,000 replayed prefixes.',
  audit: 'Optional open-ended audit for behaviours outside the taxonomy.',
  'audit.enabled': '`false` keeps the section (e.g. for `eval_awareness_*`) without sending any audit request.',
  'audit.model': 'Auditor and theme-summariser model; default `grader.model`. Uses the grader endpoint and key.',
  'audit.sample': 'Audit at most this many graded completions: those with the lowest sample rank (deterministic).',
  'audit.fail_on': 'Themes whose severity is at or above this fail the gate; `none` (default) only informs.',
  'audit.fail_min_count': 'With `fail_on`, a theme fails the gate only when at least this many completions show it.',
  'audit.max_themes': 'Most themes the audit reports.',
  'audit.eval_awareness_category': 'Category whose verdicts measure evaluation awareness; default `evaluation_awareness` when registered.',
  'audit.eval_awareness_warn_per_100k': 'Warn that the corpus does not look like deployment when the awareness rate is above this (per 100k).',
};

/**
 * Bundles the zod schema and the CLI entry (src/cli/main.ts) with their dependencies in memory, so
 * plain `node` can run TypeScript sources.
 */
async function bundledSources(root) {
  const entry = [
    "import { z } from 'zod';",
    "import { registrationSchema } from './src/registration/schema.ts';",
    "export { runCli } from './src/cli/main.ts';",
    "export const schema = z.toJSONSchema(registrationSchema, { io: 'input' });",
  ].join('\n');
  const result = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: 'gen-docs-entry.ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __genDocsRequire } from 'node:module'; const require = __genDocsRequire(import.meta.url);" },
  });
  // Written to a temporary file (not a data: URL) so the bundle's createRequire has a real path.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'deploysim-gen-docs-'));
  try {
    const file = path.join(dir, 'bundle.mjs');
    await writeFile(file, result.outputFiles[0].text);
    return await import(pathToFileURL(file).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The registration schema as JSON Schema (zod 4 toJSONSchema, input side). */
export async function registrationJsonSchema(root = ROOT) {
  return (await bundledSources(root)).schema;
}

/** `deploysim plan` invocations the README quotes, with what they print (regenerated, so never stale). */
export const PLAN_EXAMPLES = [
  ['plan', '--rate-per-100k', '5'],
  ['plan', '--rate-per-100k', '20', '--threshold-per-100k', '10'],
];

/** Runs PLAN_EXAMPLES through a `runCli`; returns [{ args, output }]. */
export async function runPlanExamples(runCli, cwd = ROOT) {
  const results = [];
  for (const args of PLAN_EXAMPLES) {
    const out = [];
    const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {}, cwd });
    if (code !== 0) throw new Error(`deploysim ${args.join(' ')} exited ${code}: ${out.join('\n')}`);
    results.push({ args, output: out.join('\n') });
  }
  return results;
}

export function renderPlanBlock(planExamples) {
  return ['```console', ...planExamples.flatMap((e) => [`$ node dist/cli.js ${e.args.join(' ')}`, e.output]), '```'].join('\n');
}

export function schemaFileText(jsonSchema) {
  return `${JSON.stringify(jsonSchema, null, 2)}\n`;
}

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
const code = (value) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

/** The inputs table: every input of action.yml, in order, with its default. */
export function renderInputsTable(actionYmlText) {
  const action = parseYaml(actionYmlText);
  const rows = Object.entries(action.inputs ?? {}).map(([name, input]) => {
    const def = input.default === undefined || input.default === '' ? '' : code(String(input.default));
    return `| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${cell(def)} | ${cell(input.description ?? '')} |`;
  });
  return ['| Input | Required | Default | Description |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderOutputsTable(actionYmlText) {
  const action = parseYaml(actionYmlText);
  const rows = Object.entries(action.outputs ?? {}).map(([name, output]) => `| \`${name}\` | ${cell(output.description ?? '')} |`);
  return ['| Output | Description |', '|---|---|', ...rows].join('\n');
}

function resolveRef(root, node) {
  let n = node;
  while (n && typeof n.$ref === 'string' && n.$ref.startsWith('#/')) {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((acc, key) => acc?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], root);
  }
  return n ?? {};
}

function typeOf(root, node) {
  const n = resolveRef(root, node);
  if (n.const !== undefined) return code(n.const);
  if (Array.isArray(n.enum)) return n.enum.map(code).join(' | ');
  const alternatives = n.anyOf ?? n.oneOf;
  if (Array.isArray(alternatives)) return alternatives.map((a) => typeOf(root, a)).join(' or ');
  if (n.type === 'array') return `list of ${typeOf(root, n.items ?? {})}`;
  if (Array.isArray(n.type)) return n.type.join(' or ');
  return n.type ?? 'any';
}

function constraintsOf(n) {
  const out = [];
  if (n.minimum !== undefined) out.push(`≥ ${n.minimum}`);
  if (n.exclusiveMinimum !== undefined) out.push(`> ${n.exclusiveMinimum}`);
  if (n.maximum !== undefined && n.maximum !== Number.MAX_SAFE_INTEGER) out.push(`≤ ${n.maximum}`);
  if (n.exclusiveMaximum !== undefined) out.push(`< ${n.exclusiveMaximum}`);
  if (n.minLength !== undefined && n.minLength > 1) out.push(`at least ${n.minLength} characters`);
  if (n.minLength === 1) out.push('non-empty');
  if (n.maxLength !== undefined) out.push(`at most ${n.maxLength} characters`);
  if (n.pattern !== undefined) out.push(`matches ${code(n.pattern)}`);
  if (n.minItems !== undefined) out.push(`at least ${n.minItems} item${n.minItems === 1 ? '' : 's'}`);
  if (n.maxItems !== undefined) out.push(`at most ${n.maxItems} items`);
  return out.join(', ');
}

/** Flattens the JSON schema into one row per field: `corpus.path`, `categories[].id`… */
export function registrationRows(jsonSchema) {
  const rows = [];
  const visit = (node, prefix, required) => {
    const n = resolveRef(jsonSchema, node);
    const itemNode = n.type === 'array' ? resolveRef(jsonSchema, n.items ?? {}) : undefined;
    if (prefix) {
      const def = n.default === undefined || (typeof n.default === 'object' && n.default !== null) ? '' : code(n.default);
      rows.push({
        field: prefix,
        type: typeOf(jsonSchema, n),
        required,
        default: def,
        constraints: constraintsOf(n),
        description: n.description ?? FIELD_DOCS[prefix] ?? '',
      });
    }
    const objectNode = n.type === 'object' ? n : itemNode?.type === 'object' ? itemNode : undefined;
    if (!objectNode?.properties) return;
    const base = n.type === 'array' ? `${prefix}[]` : prefix;
    const req = new Set(objectNode.required ?? []);
    for (const [key, child] of Object.entries(objectNode.properties)) visit(child, base ? `${base}.${key}` : key, req.has(key));
  };
  visit(jsonSchema, '', true);
  return rows;
}

export function renderRegistrationTable(jsonSchema) {
  const rows = registrationRows(jsonSchema).map(
    (r) => `| \`${r.field}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.default)} | ${cell(r.constraints)} | ${cell(r.description)} |`,
  );
  return ['| Field | Type | Required | Default | Constraints | Description |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** Replaces what lies between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`. */
export function replaceBlock(text, name, content) {
  const open = `<!-- generated:${name} -->`;
  const close = `<!-- /generated:${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`README.md has no "${open}" … "${close}" block`);
  return `${text.slice(0, start + open.length)}\n${content}\n${text.slice(end)}`;
}

export function generateReadme(readmeText, actionYmlText, jsonSchema, planExamples) {
  let text = replaceBlock(readmeText, 'inputs', renderInputsTable(actionYmlText));
  text = replaceBlock(text, 'plan', renderPlanBlock(planExamples));
  text = replaceBlock(text, 'outputs', renderOutputsTable(actionYmlText));
  return replaceBlock(text, 'registration', renderRegistrationTable(jsonSchema));
}

async function main(argv) {
  const check = argv.includes('--check');
  const sources = await bundledSources(ROOT);
  const jsonSchema = sources.schema;
  const planExamples = await runPlanExamples(sources.runCli);
  const targets = [
    { file: SCHEMA_PATH, text: schemaFileText(jsonSchema) },
    {
      file: 'README.md',
      text: generateReadme(
        await readFile(path.join(ROOT, 'README.md'), 'utf8'),
        await readFile(path.join(ROOT, 'action.yml'), 'utf8'),
        jsonSchema,
        planExamples,
      ),
    },
  ];
  const undocumented = registrationRows(jsonSchema).filter((r) => !r.description);
  if (undocumented.length > 0) {
    process.stderr.write(
      `warning: no description for ${undocumented.map((r) => r.field).join(', ')}: add it to FIELD_DOCS in scripts/gen-docs.mjs or .describe() it in the zod schema\n`,
    );
  }
  let stale = 0;
  let written = 0;
  for (const { file, text } of targets) {
    const abs = path.join(ROOT, file);
    const current = await readFile(abs, 'utf8').catch(() => null);
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${file} is out of date: run "node scripts/gen-docs.mjs" (npm run docs)\n`);
      stale++;
    } else {
      await mkdir(path.dirname(abs), { recursive: true });
      await writeFile(abs, text);
      process.stdout.write(`wrote ${file}\n`);
      written++;
    }
  }
  if (stale === 0 && written === 0) process.stdout.write('docs are up to date\n');
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}

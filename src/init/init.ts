import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../common/errors.js';
import { describeImport, importCorpus, type ImportResult } from '../import/importCorpus.js';
import type { ImportFormat } from '../import/convert.js';
import { loadRegistration } from '../registration/load.js';
import { DEFAULT_ANSWERS, registrationTemplate, STARTER_CORPUS, workflowTemplate, type InitAnswers } from './templates.js';

export interface InitOptions {
  /** Repository root to write into. */
  dir: string;
  answers: InitAnswers;
  /** An export to convert into the starter corpus instead of the placeholder conversations. */
  fromJsonl?: string;
  fromFormat?: ImportFormat;
  force?: boolean;
}

export interface InitResult {
  files: string[];
  imported?: ImportResult;
}

/** Questions asked on a terminal; the default is taken on an empty answer. */
export const QUESTIONS: { key: keyof InitAnswers; question: string }[] = [
  { key: 'name', question: 'Name of this gate' },
  { key: 'candidateModel', question: 'Candidate model (the workflow input; change it per release)' },
  { key: 'graderModel', question: 'Grader model' },
  { key: 'corpusPath', question: 'Corpus path, relative to deploysim.yml' },
];

export async function askAnswers(ask: (question: string, fallback: string) => Promise<string>, base: InitAnswers = DEFAULT_ANSWERS): Promise<InitAnswers> {
  const answers = { ...base };
  for (const { key, question } of QUESTIONS) {
    const given = (await ask(question, String(base[key]))).trim();
    if (given) (answers as Record<string, unknown>)[key] = given;
  }
  return answers;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * Writes deploysim.yml, the workflow and a starter corpus (placeholders, or converted from an export)
 * under `dir`, refusing to overwrite unless `force`, and checks the registration it wrote validates.
 */
export async function runInit(options: InitOptions): Promise<InitResult> {
  const { dir, answers } = options;
  const registration = path.join(dir, answers.registrationPath);
  const workflow = path.join(dir, '.github', 'workflows', 'deploysim.yml');
  const corpus = path.resolve(path.dirname(registration), answers.corpusPath);
  const targets = [registration, workflow, corpus];
  if (!options.force) {
    const present = [];
    for (const t of targets) if (await exists(t)) present.push(path.relative(dir, t));
    if (present.length > 0) throw new ConfigError(`init would overwrite ${present.join(', ')}; pass --force to replace them.`);
  }
  if (options.fromJsonl !== undefined && !(await exists(options.fromJsonl))) {
    throw new ConfigError(`${options.fromJsonl}: cannot read the export given to --from-jsonl.`);
  }
  await mkdir(path.dirname(workflow), { recursive: true });
  await mkdir(path.dirname(registration), { recursive: true });
  await mkdir(path.dirname(corpus), { recursive: true });
  await writeFile(registration, registrationTemplate(answers));
  await writeFile(workflow, workflowTemplate(answers));
  let imported: ImportResult | undefined;
  if (options.fromJsonl !== undefined) {
    imported = await importCorpus({ format: options.fromFormat ?? 'openai-chat', input: options.fromJsonl, output: corpus, force: true });
  } else {
    await writeFile(corpus, STARTER_CORPUS);
  }
  // The template must always be a valid registration: fail here, not at the user's first run.
  await loadRegistration(path.relative(dir, registration), dir);
  return { files: targets.map((t) => path.relative(dir, t)), imported };
}

export function describeInit(result: InitResult, dir: string, answers: InitAnswers): string {
  const lines = ['Wrote:', ...result.files.map((f) => `  ${path.join(dir, f)}`)];
  if (result.imported) lines.push('', describeImport(result.imported, path.join(dir, result.files[2]!)));
  else lines.push('', `${result.files[2]} holds 3 placeholder conversations: replace them with your own traffic (deploysim import converts exports).`);
  lines.push(
    '',
    'Next:',
    `  1. Set each category's prediction_per_100k in ${path.join(dir, answers.registrationPath)}, and corpus.sample (deploysim plan).`,
    `  2. Try it locally: deploysim run --registration ${path.join(dir, answers.registrationPath)} --candidate-model demo-candidate --candidate-base-url builtin:demo --no-lock`,
    '  3. Commit the registration and corpus in their own pull request, merged before the change they gate.',
    '  4. Replace OWNER/deploysim@<sha> in the workflow with the pinned action, add the OPENAI_API_KEY secret, and make the check required.',
  );
  return lines.join('\n');
}

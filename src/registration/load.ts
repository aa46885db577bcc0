import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, ConfigErrors } from '../common/errors.js';
import { notARegularFile } from '../corpus/lines.js';
import { checkReferencedPaths } from './paths.js';
import { registrationSchema, type RegistrationFile } from './schema.js';

export interface Category {
  id: string;
  description: string;
  /** The rubric text, read from `rubric_file` when that form is used. */
  rubric: string;
  prediction_per_100k: number;
}

export interface Registration {
  /** The path as the user gave it (shown in reports and the comment marker). */
  displayPath: string;
  absolutePath: string;
  config: RegistrationFile;
  categories: Category[];
  corpusPath: string;
  calibrationPath?: string;
  /** Every file whose bytes the gate depends on: the registration first, then what it references. */
  lockedFiles: string[];
}

/** YAML aliases let a few lines expand to gigabytes ("billion laughs"); a registration needs few. */
const MAX_YAML_ALIASES = 100;
const MAX_REGISTRATION_BYTES = 1024 * 1024;

export async function loadRegistration(displayPath: string, cwd: string): Promise<Registration> {
  const absolutePath = path.resolve(cwd, displayPath);
  let text: string;
  try {
    // A FIFO or a device would block the read forever (and a second signal could not end it).
    const kind = await notARegularFile(absolutePath);
    if (kind) throw new ConfigError(`${displayPath}: the registration ${kind === 'not a regular file' ? 'is not a regular file' : `is ${kind}, not a regular file`}; give the path of your deploysim.yml.`);
    const bytes = await readFile(absolutePath);
    if (bytes.length > MAX_REGISTRATION_BYTES) {
      throw new ConfigError(`${displayPath}: the registration is ${bytes.length} bytes; at most ${MAX_REGISTRATION_BYTES} are accepted.`);
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `${displayPath}: cannot read the registration file (${(error as NodeJS.ErrnoException).code ?? String(error)}). ` +
        'Set the `registration` input (or --registration) to the path of your deploysim.yml.',
    );
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigErrors(
      // A parser stack overflow on absurdly nested input reads as what it is: nesting, not a crash.
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        // The parser's first line ends "at line L, column C:" (its code frame followed): file:line:column says it.
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '').replace(/^Maximum call stack size exceeded/, 'nested too deeply');
        return `${displayPath}:${at ? `${at.line}:${at.col}` : '?'}: ${message}`;
      }),
      `${displayPath} is not valid YAML:`,
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    throw new ConfigError(`${displayPath}: ${(error as Error).message} (YAML aliases are limited to ${MAX_YAML_ALIASES}).`);
  }

  const parsed = registrationSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const lineOf = (issuePath: PropertyKey[]): string => {
      for (let n = issuePath.length; n >= 0; n--) {
        const node = doc.getIn(issuePath.slice(0, n) as (string | number)[], true);
        if (isNode(node) && node.range) return `:${lineCounter.linePos(node.range[0]).line}`;
      }
      return '';
    };
    throw new ConfigErrors(
      parsed.error.issues.map((issue) => `${displayPath}${lineOf(issue.path)}: ${describeIssue(issue)}`),
      `${displayPath} does not match the registration format (see README "Registration reference"):`,
    );
  }
  const config = parsed.data;
  const dir = path.dirname(absolutePath);
  const resolveRef = (p: string) => path.resolve(dir, p);
  await checkReferencedPaths(displayPath, absolutePath, cwd, [
    ['corpus.path', config.corpus.path],
    ...config.categories.flatMap((c, i): [string, string][] => (c.rubric_file === undefined ? [] : [[`categories[${i}].rubric_file`, c.rubric_file]])),
    ...(config.grader.calibration === undefined ? [] : [['grader.calibration', config.grader.calibration] as [string, string]]),
  ]);

  const categories: Category[] = [];
  const rubricFiles: string[] = [];
  for (const [i, c] of config.categories.entries()) {
    let rubric = c.rubric;
    if (c.rubric_file !== undefined) {
      const rubricPath = resolveRef(c.rubric_file);
      rubricFiles.push(rubricPath);
      try {
        rubric = await readFile(rubricPath, 'utf8');
      } catch {
        throw new ConfigError(
          `${displayPath}: categories[${i}].rubric_file: cannot read "${c.rubric_file}" (resolved relative to the registration file).`,
        );
      }
    }
    categories.push({ id: c.id, description: c.description, rubric: rubric ?? '', prediction_per_100k: c.prediction_per_100k });
  }

  const corpusPath = resolveRef(config.corpus.path);
  const calibrationPath = config.grader.calibration === undefined ? undefined : resolveRef(config.grader.calibration);
  return {
    displayPath,
    absolutePath,
    config,
    categories,
    corpusPath,
    calibrationPath,
    lockedFiles: [absolutePath, corpusPath, ...rubricFiles, ...(calibrationPath ? [calibrationPath] : [])],
  };
}

export function formatFieldPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = formatFieldPath(issue.path) || '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${field}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling)`;
    case 'invalid_type':
      // zod calls an infinite number "not a number" of the right type; say what it is.
      if (issue.expected === 'number' && typeof issue.input === 'number') return `${field}: expected a finite number, got ${describeValue(issue.input)}`;
      return `${field}: expected ${issue.expected}${issue.input === undefined ? ', but it is missing' : `, got ${describeValue(issue.input)}`}`;
    case 'invalid_value':
      return `${field}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
    default:
      return `${field}: expected ${issue.message.replace(/^Invalid input: expected /, '').replace(/^Too (small|big): expected /, '')}${
        issue.input !== undefined && typeof issue.input !== 'object' ? `, got ${describeValue(issue.input)}` : ''
      }`;
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  // YAML's .inf / .nan: JSON.stringify would print them as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? '.nan (not a number)' : `${v > 0 ? '' : '-'}.inf (infinity)`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

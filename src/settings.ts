import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Endpoint value that selects the deterministic in-process demo model. */
export const DEMO_ENDPOINT = 'builtin:demo';

export interface EndpointSettings {
  model: string;
  baseUrl: string;
  apiKey: string;
}

/** Everything a run needs, read once from action inputs or CLI flags and validated here. */
export interface Settings {
  registration: string;
  candidate: EndpointSettings;
  grader: { baseUrl: string; apiKey: string };
  simulator: { model?: string; baseUrl: string; apiKey: string };
  /** The current production model, replayed on the same prefixes for a paired comparison (`baseline-model`). */
  baseline?: EndpointSettings;
  lockRef?: string;
  /** CLI only: skip the lock for local experiments; the report says `verified: false`. */
  noLock: boolean;
  githubToken?: string;
  comment: boolean;
  outputDir: string;
  cacheDir?: string;
  concurrency: number;
  requestTimeoutMs: number;
  maxRetries: number;
  shard?: { index: number; count: number };
  maxRequests?: number;
  onMissingSecrets: 'fail' | 'skip';
  /** Path of a realism.json (`deploysim realism`) to include in the report and comment (informational). */
  realism?: string;
}

/** The raw, string-valued inputs shared by the action (kebab-case inputs) and the CLI (--flags). */
export interface RawInputs {
  registration?: string;
  'candidate-model'?: string;
  'candidate-base-url'?: string;
  'candidate-api-key'?: string;
  'grader-base-url'?: string;
  'grader-api-key'?: string;
  'simulator-model'?: string;
  'simulator-base-url'?: string;
  'simulator-api-key'?: string;
  'baseline-model'?: string;
  'baseline-base-url'?: string;
  'baseline-api-key'?: string;
  'lock-ref'?: string;
  'github-token'?: string;
  comment?: string;
  'output-dir'?: string;
  'cache-dir'?: string;
  concurrency?: string;
  'request-timeout'?: string;
  'max-retries'?: string;
  shard?: string;
  'max-requests'?: string;
  'on-missing-secrets'?: string;
  realism?: string;
}

export const INPUT_NAMES = [
  'registration',
  'candidate-model',
  'candidate-base-url',
  'candidate-api-key',
  'grader-base-url',
  'grader-api-key',
  'simulator-model',
  'simulator-base-url',
  'simulator-api-key',
  'baseline-model',
  'baseline-base-url',
  'baseline-api-key',
  'lock-ref',
  'github-token',
  'comment',
  'output-dir',
  'cache-dir',
  'concurrency',
  'request-timeout',
  'max-retries',
  'shard',
  'max-requests',
  'on-missing-secrets',
  'realism',
] as const satisfies readonly (keyof RawInputs)[];

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

const intIn = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `\`${name}\` must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `\`${name}\` must be between ${min} and ${max}`);

const boolean = (name: string) =>
  z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .refine((s) => ['true', 'false'].includes(s), `\`${name}\` must be true or false`)
    .transform((s) => s === 'true');

const shard = z
  .string()
  .regex(/^\d+\/\d+$/, '`shard` must look like i/n, e.g. 2/4')
  .transform((s) => {
    const [index, count] = s.split('/').map(Number) as [number, number];
    return { index, count };
  })
  .refine((s) => s.count >= 1 && s.index >= 1 && s.index <= s.count, '`shard` i/n needs 1 ≤ i ≤ n');

const baseUrl = (name: string) =>
  z
    .string()
    .refine((s) => s === DEMO_ENDPOINT || /^https?:\/\/[^\s]+$/.test(s), `\`${name}\` must be an http(s) URL or ${DEMO_ENDPOINT}`)
    .transform((s) => s.replace(/\/+$/, ''));

/**
 * Validates raw inputs into Settings. Empty strings count as "not given" (that is how the runner
 * passes unset inputs). Key fallbacks from the environment are the caller's job.
 */
export function parseSettings(raw: RawInputs, opts: { allowNoLock: boolean; noLock?: boolean }): Settings {
  const given = (k: keyof RawInputs): string | undefined => {
    const v = raw[k]?.trim();
    return v ? v : undefined;
  };
  const field = <T>(name: keyof RawInputs, schema: z.ZodType<T, string>, fallback: string): T => {
    const value = given(name) ?? fallback;
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ConfigError(`${parsed.error.issues[0]?.message ?? `invalid \`${name}\``} (got "${value}").`);
    return parsed.data;
  };

  const candidateModel = given('candidate-model');
  if (!candidateModel) throw new ConfigError('`candidate-model` is required: the model name to replay the corpus through.');
  const candidateBaseUrl = field('candidate-base-url', baseUrl('candidate-base-url'), DEFAULT_BASE_URL);
  const graderBaseUrl = field('grader-base-url', baseUrl('grader-base-url'), candidateBaseUrl);
  const simulatorBaseUrl = field('simulator-base-url', baseUrl('simulator-base-url'), graderBaseUrl);
  const candidateApiKey = given('candidate-api-key') ?? '';
  const graderApiKey = given('grader-api-key') ?? candidateApiKey;
  const onMissingSecrets = given('on-missing-secrets') ?? 'fail';
  if (onMissingSecrets !== 'fail' && onMissingSecrets !== 'skip') {
    throw new ConfigError(`\`on-missing-secrets\` must be fail or skip (got "${onMissingSecrets}").`);
  }
  if (opts.noLock && !opts.allowNoLock) throw new ConfigError('--no-lock is for local experiments only; the action always verifies the lock.');

  return {
    registration: given('registration') ?? 'deploysim.yml',
    candidate: { model: candidateModel, baseUrl: candidateBaseUrl, apiKey: candidateApiKey },
    grader: { baseUrl: graderBaseUrl, apiKey: graderApiKey },
    simulator: { model: given('simulator-model'), baseUrl: simulatorBaseUrl, apiKey: given('simulator-api-key') ?? graderApiKey },
    ...(given('baseline-model')
      ? {
          baseline: {
            model: given('baseline-model')!,
            baseUrl: field('baseline-base-url', baseUrl('baseline-base-url'), candidateBaseUrl),
            apiKey: given('baseline-api-key') ?? candidateApiKey,
          },
        }
      : {}),
    lockRef: given('lock-ref'),
    noLock: opts.noLock ?? false,
    githubToken: given('github-token'),
    comment: field('comment', boolean('comment'), 'true'),
    outputDir: given('output-dir') ?? 'deploysim-report',
    cacheDir: given('cache-dir'),
    concurrency: field('concurrency', intIn('concurrency', 1, 1024), '8'),
    requestTimeoutMs: field('request-timeout', intIn('request-timeout', 1, 3600), '120') * 1000,
    maxRetries: field('max-retries', intIn('max-retries', 0, 20), '5'),
    shard: given('shard') === undefined ? undefined : field('shard', shard, ''),
    maxRequests: given('max-requests') === undefined ? undefined : field('max-requests', intIn('max-requests', 1, Number.MAX_SAFE_INTEGER), ''),
    onMissingSecrets,
    ...(given('realism') ? { realism: given('realism') } : {}),
  };
}

/** Names of endpoints whose key is missing: empty and not the demo endpoint. */
export function missingKeys(settings: Settings): string[] {
  const missing: string[] = [];
  if (!settings.candidate.apiKey && settings.candidate.baseUrl !== DEMO_ENDPOINT) missing.push('candidate-api-key');
  if (!settings.grader.apiKey && settings.grader.baseUrl !== DEMO_ENDPOINT) missing.push('grader-api-key');
  return missing;
}

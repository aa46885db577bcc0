/**
 * Inputs (action) and flags (CLI) into typed settings: the one place where names, defaults, the
 * environment's key variables and the checks on them live, for every command.
 */
import { z } from 'zod';
import { DEMO_ENDPOINT } from '../common/demo.js';
import { ConfigError } from '../common/errors.js';
import type { SecretRegistry } from '../common/secrets.js';
import { credentialHeaderValues } from '../common/lastResort.js';
import { urlCredentials } from '../common/secrets.js';
import type { Settings } from '../engine/settings.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../models/httpTransport.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../models/retryPolicy.js';

/** The raw, string-valued inputs shared by the action (kebab-case inputs) and the CLI (--flags). */
export interface RawInputs {
  registration?: string;
  'candidate-model'?: string;
  'candidate-base-url'?: string;
  'candidate-api-key'?: string;
  'candidate-headers'?: string;
  'grader-base-url'?: string;
  'grader-api-key'?: string;
  'grader-headers'?: string;
  'simulator-model'?: string;
  'simulator-base-url'?: string;
  'simulator-api-key'?: string;
  'simulator-headers'?: string;
  'baseline-model'?: string;
  'baseline-base-url'?: string;
  'baseline-api-key'?: string;
  'baseline-headers'?: string;
  'lock-ref'?: string;
  'github-token'?: string;
  comment?: string;
  'output-dir'?: string;
  'cache-dir'?: string;
  concurrency?: string;
  'request-timeout'?: string;
  'max-retries'?: string;
  'max-reasks'?: string;
  'rate-limit-resends'?: string;
  'max-response-mb'?: string;
  shard?: string;
  'max-requests'?: string;
  'on-missing-secrets'?: string;
  realism?: string;
}

/** The gate's inputs, in action.yml's order. */
export const INPUT_NAMES = [
  'registration',
  'candidate-model',
  'candidate-base-url',
  'candidate-api-key',
  'candidate-headers',
  'grader-base-url',
  'grader-api-key',
  'grader-headers',
  'simulator-model',
  'simulator-base-url',
  'simulator-api-key',
  'simulator-headers',
  'baseline-model',
  'baseline-base-url',
  'baseline-api-key',
  'baseline-headers',
  'lock-ref',
  'github-token',
  'comment',
  'output-dir',
  'cache-dir',
  'concurrency',
  'request-timeout',
  'max-retries',
  'max-reasks',
  'rate-limit-resends',
  'max-response-mb',
  'shard',
  'max-requests',
  'on-missing-secrets',
  'realism',
] as const satisfies readonly (keyof RawInputs)[];

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * Every endpoint an input can name: where its base URL and key default from when not given, and the
 * environment variable its key may come from. The chain is the same for every command.
 */
export const ENDPOINTS = {
  candidate: { inherits: undefined, keyVariables: ['DEPLOYSIM_CANDIDATE_API_KEY', 'OPENAI_API_KEY'] },
  grader: { inherits: 'candidate', keyVariables: ['DEPLOYSIM_GRADER_API_KEY'] },
  simulator: { inherits: 'grader', keyVariables: ['DEPLOYSIM_SIMULATOR_API_KEY'] },
  discriminator: { inherits: 'simulator', keyVariables: ['DEPLOYSIM_DISCRIMINATOR_API_KEY'] },
  baseline: { inherits: 'candidate', keyVariables: ['DEPLOYSIM_BASELINE_API_KEY'] },
} as const satisfies Record<string, { inherits: string | undefined; keyVariables: readonly string[] }>;

export type EndpointName = keyof typeof ENDPOINTS;

/** Raw values by input name; the CLI's subcommands and the action read theirs into one of these. */
export type RawValues = Partial<Record<string, string>>;

/**
 * Registers every key and base-URL credential among `raw` and the environment's key variables with
 * `secrets` (masked from then on), and fills each endpoint's missing `*-api-key` from its variable.
 */
export function readKeys(raw: RawValues, env: NodeJS.ProcessEnv, secrets: SecretRegistry): void {
  for (const [name, endpoint] of Object.entries(ENDPOINTS)) {
    const input = `${name}-api-key`;
    for (const variable of endpoint.keyVariables) secrets.add(env[variable]);
    secrets.add(raw[input]);
    secrets.add(urlCredentials(raw[`${name}-base-url`]));
    // A header may carry a credential (a gateway's token): the values of credential-named headers are masked too.
    for (const value of credentialHeaderValues(raw[`${name}-headers`] ?? '')) secrets.add(value);
    if (!raw[input]?.trim()) {
      const fromEnv = endpoint.keyVariables.map((v) => env[v]).find((v) => v?.trim());
      if (fromEnv) raw[input] = fromEnv;
    }
  }
}

/** One input's value, trimmed; an empty string counts as not given (that is how the runner passes unset inputs). */
export function given(raw: RawValues, name: string): string | undefined {
  const value = raw[name]?.trim();
  return value ? value : undefined;
}

/** How an input is named in messages: `name` for action inputs (and `run`, which takes them all), --name for CLI-only flags. */
export type Label = (name: string) => string;
export const INPUT_LABEL: Label = (name) => `\`${name}\``;
export const FLAG_LABEL: Label = (name) => `--${name}`;

function field<T>(raw: RawValues, name: string, schema: z.ZodType<T, string>, fallback: string, label: Label = INPUT_LABEL): T {
  const value = given(raw, name) ?? fallback;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`${parsed.error.issues[0]?.message ?? `invalid ${label(name)}`} (got "${value}").`);
  return parsed.data;
}

const intIn = (name: string, min: number, max: number, label: Label = INPUT_LABEL) =>
  z
    .string()
    .regex(/^\d+$/, `${label(name)} must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${label(name)} must be between ${min} and ${max}`);

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

const baseUrl = (name: string, label: Label = INPUT_LABEL) =>
  z
    .string()
    // URL.canParse also refuses what the regex lets through: a port above 65535, a bad host.
    .refine((s) => s === DEMO_ENDPOINT || (/^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s)), `${label(name)} must be an http(s) URL or ${DEMO_ENDPOINT}`)
    .transform((s) => s.replace(/\/+$/, ''));

/**
 * The `*-headers` input: one `Name: value` per line (a YAML block in a workflow). A line that is not
 * one is a configuration error naming the input and the line.
 */
export function headersOf(raw: RawValues, name: string): Record<string, string> {
  const input = `${name}-headers`;
  const headers: Record<string, string> = {};
  (raw[input] ?? '').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const match = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (!match) throw new ConfigError(`\`${input}\` line ${i + 1}: expected "Name: value" (one header per line), got ${JSON.stringify(line.slice(0, 80))}.`);
    headers[match[1]!] = match[2]!;
  });
  return headers;
}

/**
 * An endpoint's base URL, key and headers: given, else inherited along ENDPOINTS (the candidate's base
 * URL defaults to OpenAI's). Headers follow the base URL: an endpoint with its own base URL is another
 * server, and gets only the headers given for it.
 */
export function endpointOf(raw: RawValues, name: EndpointName, label: Label = INPUT_LABEL): { baseUrl: string; apiKey: string; headers?: Record<string, string> } {
  const parent: EndpointName | undefined = ENDPOINTS[name].inherits;
  const inherited = parent ? endpointOf(raw, parent, label) : { baseUrl: DEFAULT_BASE_URL, apiKey: '' };
  const own = headersOf(raw, name);
  const headers = Object.keys(own).length > 0 ? own : given(raw, `${name}-base-url`) === undefined ? inherited.headers : undefined;
  return {
    baseUrl: field(raw, `${name}-base-url`, baseUrl(`${name}-base-url`, label), inherited.baseUrl, label),
    apiKey: given(raw, `${name}-api-key`) ?? inherited.apiKey,
    ...(headers && Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

/** Concurrency and the three retry budgets (./models/retryPolicy.ts), which every command that calls a model takes. */
export function parseRequestSettings(raw: RawValues, label: Label = INPUT_LABEL): { concurrency: number; retry: RetryPolicy; maxResponseBytes: number } {
  const d = DEFAULT_RETRY_POLICY;
  const int = (name: string, min: number, max: number, fallback: number) => field(raw, name, intIn(name, min, max, label), String(fallback), label);
  return {
    concurrency: int('concurrency', 1, 1024, 8),
    retry: {
      timeoutMs: int('request-timeout', 1, 3600, d.timeoutMs / 1000) * 1000,
      transportRetries: int('max-retries', 0, 20, d.transportRetries),
      reasks: int('max-reasks', 0, 10, d.reasks),
      rateLimitResends: int('rate-limit-resends', 0, 100, d.rateLimitResends),
    },
    maxResponseBytes: int('max-response-mb', 1, 1024, DEFAULT_MAX_RESPONSE_BYTES / 1048576) * 1048576,
  };
}

/**
 * The inputs that name a missing key among `endpoints` (those the command calls): empty and not the
 * demo endpoint. An endpoint whose key was not given inherits its parent's, so when the parent is
 * called too and its key is missing as well, only the parent is named.
 */
export function missingKeys(raw: RawValues, endpoints: readonly EndpointName[]): string[] {
  const isMissing = (name: EndpointName) => {
    const endpoint = endpointOf(raw, name);
    return !endpoint.apiKey && endpoint.baseUrl !== DEMO_ENDPOINT;
  };
  const missing = new Set<EndpointName>();
  for (const name of endpoints) {
    if (!isMissing(name)) continue;
    let named: EndpointName = name;
    for (;;) {
      const parent: EndpointName | undefined = ENDPOINTS[named].inherits;
      if (given(raw, `${named}-api-key`) || !parent || !endpoints.includes(parent) || !isMissing(parent)) break;
      named = parent;
    }
    missing.add(named);
  }
  return [...missing].map((name) => `${name}-api-key`);
}

/** The endpoints a gate run calls with these inputs. */
export function gateEndpoints(raw: RawValues): EndpointName[] {
  return ['candidate', 'grader', ...(given(raw, 'simulator-model') ? (['simulator'] as const) : []), ...(given(raw, 'baseline-model') ? (['baseline'] as const) : [])];
}

/** Validates the gate's raw inputs (keys already read with `readKeys`) into Settings. */
export function parseSettings(raw: RawInputs, opts: { allowNoLock: boolean; noLock?: boolean }): Settings {
  const values = raw as RawValues;
  const candidateModel = given(values, 'candidate-model');
  if (!candidateModel) throw new ConfigError('`candidate-model` is required: the model name to replay the corpus through.');
  const onMissingSecrets = given(values, 'on-missing-secrets') ?? 'fail';
  if (onMissingSecrets !== 'fail' && onMissingSecrets !== 'skip') {
    throw new ConfigError(`\`on-missing-secrets\` must be fail or skip (got "${onMissingSecrets}").`);
  }
  if (opts.noLock && !opts.allowNoLock) throw new ConfigError('--no-lock is for local experiments only; the action always verifies the lock.');
  const baselineModel = given(values, 'baseline-model');

  return {
    registration: given(values, 'registration') ?? 'deploysim.yml',
    candidate: { model: candidateModel, ...endpointOf(values, 'candidate') },
    grader: endpointOf(values, 'grader'),
    simulator: { model: given(values, 'simulator-model'), ...endpointOf(values, 'simulator') },
    ...(baselineModel ? { baseline: { model: baselineModel, ...endpointOf(values, 'baseline') } } : {}),
    lockRef: given(values, 'lock-ref'),
    noLock: opts.noLock ?? false,
    githubToken: given(values, 'github-token'),
    comment: field(values, 'comment', boolean('comment'), 'true'),
    outputDir: given(values, 'output-dir') ?? 'deploysim-report',
    cacheDir: given(values, 'cache-dir'),
    ...parseRequestSettings(values),
    shard: given(values, 'shard') === undefined ? undefined : field(values, 'shard', shard, ''),
    maxRequests: given(values, 'max-requests') === undefined ? undefined : field(values, 'max-requests', intIn('max-requests', 1, Number.MAX_SAFE_INTEGER), ''),
    onMissingSecrets,
    ...(given(values, 'realism') ? { realism: given(values, 'realism') } : {}),
  };
}

/**
 * The CLI's message for keys that are missing (`missingKeys(raw, endpoints)`): the flag, and every
 * variable the key can come from, its own and, by inheritance, its parents'.
 */
export function missingKeysMessage(missing: readonly string[], endpoints: readonly EndpointName[]): string {
  const parts = missing.map((input) => {
    const name = input.replace(/-api-key$/, '') as EndpointName;
    const variables: string[] = [...ENDPOINTS[name].keyVariables];
    // A key not given is inherited, so any variable up the chain would do.
    for (let parent: EndpointName | undefined = ENDPOINTS[name].inherits; parent; parent = ENDPOINTS[parent].inherits) {
      variables.push(...ENDPOINTS[parent].keyVariables);
    }
    const heirs = (Object.keys(ENDPOINTS) as EndpointName[]).filter((e) => ENDPOINTS[e].inherits === name && endpoints.includes(e));
    const also = heirs.length > 0 ? ` (the ${heirs.join(' and ')} use${heirs.length === 1 ? 's' : ''} it too unless --${heirs[0]}-api-key is given)` : '';
    return `no ${name} key: pass --${input} or set ${variables.join(' / ')}${also}`;
  });
  return `${parts.join('; ')}; keyless servers such as vLLM or Ollama take any placeholder, e.g. none.`;
}

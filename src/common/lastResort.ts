/**
 * The last line of defence for errors that escape every handler (an `error` event nobody listens to,
 * a rejected promise nobody awaits). Without it Node prints a stack trace whose message may quote a
 * server's answer. With it the process prints one line, scrubbed of every key it was given, and exits 3
 * (an internal error: a workflow must not take it for a failed gate, which is 1).
 */

/**
 * Placeholders that keyless servers document for their key, which are not secrets: scrubbing them would
 * change what a model wrote (an Ollama reply that says "ollama" must be graded as written). Ollama's docs
 * use `ollama`, vLLM's `EMPTY`, llama.cpp's `sk-no-key-required`, LM Studio's examples `lm-studio`.
 */
const PLACEHOLDER_KEYS = new Set(['ollama', 'none', 'empty', 'sk-no-key-required', 'lm-studio', 'placeholder', 'dummy', 'not-needed', 'no-key', 'local', 'test']);

/** The shortest value taken for a secret: shorter ones are placeholders, and would shred unrelated text. */
const MIN_SECRET_LENGTH = 8;

/**
 * Whether a key is worth masking: long enough, and not a keyless server's documented placeholder.
 * Here rather than in secrets.ts because this file must import nothing (it loads before anything else).
 */
export function isSecretLike(value: string): boolean {
  const key = value.trim();
  return key.length >= MIN_SECRET_LENGTH && !PLACEHOLDER_KEYS.has(key.toLowerCase());
}

const KEY_VARIABLE = /(?:API[-_]?KEY|TOKEN|SECRET)$/i;
const KEY_FLAG = /^--[a-z-]*api-key(?:=(.*))?$/;
const HEADERS_FLAG = /^--[a-z-]*-headers(?:=([\s\S]*))?$/;

/** Headers whose values are credentials (masked like keys): Authorization, *key*, *token*, *secret*… */
export const CREDENTIAL_HEADER = /auth|key|token|secret|cookie|password|signature/i;

/** The credential values in a `*-headers` input (`Name: value` per line), without a Bearer/Basic scheme. */
export function credentialHeaderValues(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && CREDENTIAL_HEADER.test(m[1]!))
    .map((m) => m[2]!.replace(/^(Bearer|Basic|Token)\s+/i, ''));
}

/** Every credential the process was handed: key-like environment variables (incl. action inputs) and `--*-api-key` flags. */
export function credentialsFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const keys = Object.entries(env)
    .filter(([name, value]) => KEY_VARIABLE.test(name) && value)
    .map(([, value]) => value!);
  argv.forEach((arg, i) => {
    // A base URL's user:password@ (this file imports nothing, so it can load before anything else).
    const userinfo = /:\/\/([^/@\s]+)@/.exec(arg)?.[1];
    if (userinfo) keys.push(userinfo);
    const headers = HEADERS_FLAG.exec(arg);
    if (headers) keys.push(...credentialHeaderValues(headers[1] ?? argv[i + 1] ?? ''));
    const match = KEY_FLAG.exec(arg);
    if (!match) return;
    const value = match[1] ?? argv[i + 1];
    if (value) keys.push(value);
  });
  // As in SecretRegistry: placeholders are not secrets, and very short ones would shred unrelated text.
  return [...new Set(keys.map((k) => k.trim()))].filter(isSecretLike);
}

/** Replaces every occurrence of each credential with `***`. */
export function scrubCredentials(text: string, credentials: readonly string[]): string {
  let out = text;
  for (const key of credentials) out = out.split(key).join('***');
  return out;
}

export function describeFatal(error: unknown, credentials: readonly string[]): string {
  const message = scrubCredentials(error instanceof Error ? `${error.name}: ${error.message}` : String(error), credentials);
  return message.split('\n')[0]!.slice(0, 500);
}

export function installLastResort(report: (message: string) => void, argv: readonly string[], env: NodeJS.ProcessEnv): void {
  const credentials = credentialsFrom(argv, env);
  const fatal = (error: unknown) => {
    report(`deploysim: internal error (a bug in deploysim; exit 3, not a verdict): ${describeFatal(error, credentials)}`);
    process.exit(3);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

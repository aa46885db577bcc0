import { isSecretLike } from './lastResort.js';

/**
 * Every secret read is registered here the moment it is read. `scrub` removes them from any text
 * that leaves the process (errors echoed from servers, results.jsonl, report, comment, logs).
 */
export class SecretRegistry {
  private readonly secrets = new Set<string>();
  constructor(private readonly onAdd: (secret: string) => void = () => {}) {}

  add(secret: string | undefined): void {
    if (!secret || !isSecretLike(secret) || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    this.onAdd(secret);
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
}

/** The `user:password` of a base URL like https://user:password@host/v1 (a credential like a key), if any. */
export function urlCredentials(url: string | undefined): string | undefined {
  const match = url ? /^[a-z][a-z0-9+.-]*:\/\/([^/@\s]+)@/i.exec(url.trim()) : null;
  return match?.[1];
}

/** `text` with every URL's `user:password@` shown as `***@` (also short ones, which the registry leaves alone). */
export function maskUrlCredentials(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}

import { createHash } from 'node:crypto';

/**
 * The built-in demo endpoint's discriminator for `deploysim realism` (deterministic, no network): it
 * names A or B from a hash of the request, so about half the simulated responses "win". Returns
 * undefined for requests that are not realism requests. Its reason is labelled [DEMO].
 */
export function demoRealismContent(body: unknown): string | undefined {
  const request = (body ?? {}) as { response_format?: { json_schema?: { name?: string } }; messages?: unknown };
  if (request.response_format?.json_schema?.name !== 'deploysim_realism') return undefined;
  const digest = createHash('sha256').update(JSON.stringify(request.messages ?? null)).digest();
  return JSON.stringify({ real: digest[0]! % 2 === 0 ? 'A' : 'B', reason: '[DEMO] a coin flip; says nothing about the simulator' });
}

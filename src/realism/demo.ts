import { createHash } from 'node:crypto';
import type { DemoResponder } from '../common/demo.js';
import { DISCRIMINATOR_SCHEMA_NAME } from './realism.js';

/**
 * The built-in demo endpoint's discriminator for `deploysim realism` (deterministic, no network): it
 * names A or B from a hash of the request, so about half the simulated responses "win". Its reason is
 * labelled [DEMO].
 */
export const discriminatorDemo: DemoResponder = (request) => {
  if (request.response_format?.json_schema?.name !== DISCRIMINATOR_SCHEMA_NAME) return undefined;
  const digest = createHash('sha256').update(JSON.stringify(request.messages ?? null)).digest();
  return { content: JSON.stringify({ real: digest[0]! % 2 === 0 ? 'A' : 'B', reason: '[DEMO] a coin flip; says nothing about the simulator' }) };
};

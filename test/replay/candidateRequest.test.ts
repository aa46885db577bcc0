import { describe, expect, it } from 'vitest';
import { candidateRequest } from '../../src/replay/driver.js';

const target = (generation: Parameters<typeof candidateRequest>[0]['generation']) => ({
  endpoint: { role: 'candidate' as const, baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'k' },
  model: 'm',
  generation,
});

describe('candidateRequest', () => {
  it('sends exactly the registration settings given, in the Chat Completions shape', () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    expect(candidateRequest(target({ max_steps: 8, temperature: 1, max_tokens: 64 }), messages, undefined)).toEqual({
      model: 'm',
      messages,
      temperature: 1,
      max_tokens: 64,
    });
    // Reasoning models: max_completion_tokens instead of max_tokens, and no temperature unless set.
    expect(candidateRequest(target({ max_steps: 8, max_completion_tokens: 256 }), messages, undefined)).toEqual({ model: 'm', messages, max_completion_tokens: 256 });
  });

  it('passes the record tools only when there are some', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }];
    expect(candidateRequest(target({ max_steps: 8 }), [{ role: 'user', content: 'x' }], tools)).toHaveProperty('tools', tools);
    expect(candidateRequest(target({ max_steps: 8 }), [{ role: 'user', content: 'x' }], [])).not.toHaveProperty('tools');
  });
});

import { describe, expect, it } from 'vitest';
import { SecretRegistry } from '../../src/common/secrets.js';
import { composeGate } from '../../src/runtime/root.js';
import { endpointOf, missingKeys, missingKeysMessage, parseRequestSettings, readKeys } from '../../src/runtime/settings.js';

const io = (env: NodeJS.ProcessEnv = {}) => ({ cwd: '/nonexistent', env, log: { info: () => undefined, warning: () => undefined } });

describe('settings from inputs (the composition root)', () => {
  it('reads every endpoint key from its own variable, for run as for realism (DEPLOYSIM_SIMULATOR_API_KEY reaches the gate simulator)', () => {
    const env = { DEPLOYSIM_CANDIDATE_API_KEY: 'sk-candidate-0001', DEPLOYSIM_SIMULATOR_API_KEY: 'sk-simulator-0001', DEPLOYSIM_BASELINE_API_KEY: 'sk-baseline-0001' };
    const { settings, runtime, missingKeys: missing } = composeGate({ 'candidate-model': 'c', 'simulator-model': 's', 'baseline-model': 'b' }, io(env), { allowNoLock: true });
    expect(settings.candidate.apiKey).toBe('sk-candidate-0001');
    expect(settings.grader.apiKey).toBe('sk-candidate-0001');
    expect(settings.simulator.apiKey).toBe('sk-simulator-0001');
    expect(settings.baseline?.apiKey).toBe('sk-baseline-0001');
    expect(missing).toEqual([]);
    // Every key is a secret from the moment it is read.
    expect(runtime.secrets.scrub('sk-simulator-0001 sk-baseline-0001')).toBe('*** ***');
  });

  it('names only the keys that are missing: one the others inherit is named once', () => {
    expect(missingKeys({ 'candidate-model': 'c' }, ['candidate', 'grader'])).toEqual(['candidate-api-key']);
    // The grader on its own endpoint, its key not given: it inherits the candidate's, which is there.
    expect(missingKeys({ 'candidate-api-key': 'k', 'grader-base-url': 'https://grader.example/v1' }, ['candidate', 'grader'])).toEqual([]);
    // The candidate is the demo (no key needed), the grader a real endpoint without one: the grader is named.
    expect(missingKeys({ 'candidate-base-url': 'builtin:demo', 'grader-base-url': 'https://grader.example/v1' }, ['candidate', 'grader'])).toEqual(['grader-api-key']);
    // The simulator and the baseline count too.
    expect(missingKeys({ 'candidate-api-key': 'k', 'simulator-base-url': 'https://sim.example/v1', 'simulator-api-key': '' }, ['candidate', 'grader', 'simulator'])).toEqual([]);
    expect(missingKeys({ 'candidate-base-url': 'builtin:demo', 'baseline-base-url': 'https://prod.example/v1' }, ['candidate', 'grader', 'baseline'])).toEqual(['baseline-api-key']);
    // calibrate calls only the grader: the grader is named, with every variable its key may come from.
    expect(missingKeysMessage(missingKeys({}, ['grader']), ['grader'])).toMatch(/^no grader key: pass --grader-api-key or set DEPLOYSIM_GRADER_API_KEY \/ DEPLOYSIM_CANDIDATE_API_KEY \/ OPENAI_API_KEY;/);
  });

  it('inherits base URLs along the same chain as keys', () => {
    const raw = { 'candidate-base-url': 'https://a.example/v1/', 'grader-base-url': 'https://g.example/v1' };
    expect(endpointOf(raw, 'candidate').baseUrl).toBe('https://a.example/v1');
    expect(endpointOf(raw, 'simulator').baseUrl).toBe('https://g.example/v1');
    expect(endpointOf(raw, 'discriminator').baseUrl).toBe('https://g.example/v1');
    expect(endpointOf(raw, 'baseline').baseUrl).toBe('https://a.example/v1');
    expect(endpointOf({}, 'grader').baseUrl).toBe('https://api.openai.com/v1');
  });

  it('keeps the three retry budgets apart, each with its own default and input', () => {
    expect(parseRequestSettings({})).toEqual({ concurrency: 8, retry: { timeoutMs: 120_000, transportRetries: 5, reasks: 2, rateLimitResends: 10 }, maxResponseBytes: 16 * 1024 * 1024 });
    expect(parseRequestSettings({ 'max-retries': '0', 'max-reasks': '4', 'rate-limit-resends': '1', 'request-timeout': '9' }).retry).toEqual({ timeoutMs: 9000, transportRetries: 0, reasks: 4, rateLimitResends: 1 });
    expect(() => parseRequestSettings({ 'max-reasks': '11' })).toThrow(/`max-reasks` must be between 0 and 10/);
  });

  it('registers a key given only in the environment even when its input is set too', () => {
    const secrets = new SecretRegistry();
    const raw: Record<string, string> = { 'grader-api-key': 'sk-given-000001' };
    readKeys(raw, { DEPLOYSIM_GRADER_API_KEY: 'sk-from-env-00001' }, secrets);
    expect(raw['grader-api-key']).toBe('sk-given-000001');
    expect(secrets.scrub('sk-from-env-00001')).toBe('***');
  });
});

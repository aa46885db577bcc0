import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { credentialsFrom, describeFatal } from '../../src/common/lastResort.js';
import { SecretRegistry } from '../../src/common/secrets.js';
import { cli, tempDir, cleanupTempDirs } from './helpers.js';

const KEY = 'canaryKEY9f8e7d6c5b4a';

describe('last-resort error handler', () => {
  it('runCli never prints a key from the environment or a flag, whatever the error says', async () => {
    const dir = tempDir();
    try {
      const viaEnv = await cli(['run', '--registration', `${KEY}.yml`, '--candidate-model', 'm'], dir, { OPENAI_API_KEY: KEY });
      expect(viaEnv.code).toBe(2);
      expect(viaEnv.stderr).toContain('***.yml: cannot read the registration file');
      expect(viaEnv.stderr + viaEnv.stdout).not.toContain(KEY);
      const viaFlag = await cli(['plan', '--rate-per-100k', KEY, '--candidate-api-key', KEY], dir);
      expect(viaFlag.code).toBe(2);
      expect(viaFlag.stderr + viaFlag.stdout).not.toContain(KEY);
    } finally {
      cleanupTempDirs();
    }
  });

  it('collects keys from key-like environment variables (incl. action inputs) and --*-api-key flags', () => {
    const keys = credentialsFrom(['run', '--candidate-api-key', 'flagkey123456', '--grader-api-key=eqkey1234567', '--registration', 'x.yml'], {
      'INPUT_CANDIDATE-API-KEY': 'inputkey12345',
      'INPUT_GITHUB-TOKEN': 'ghs_token123456',
      OPENAI_API_KEY: 'envkey1234567',
      DEPLOYSIM_GRADER_API_KEY: 'x', // too short to scrub safely, as in SecretRegistry
      HOME: '/home/me',
    });
    expect(keys.sort()).toEqual(['envkey1234567', 'eqkey1234567', 'flagkey123456', 'ghs_token123456', 'inputkey12345'].sort());
  });

  it('prints one scrubbed line, never the stack', () => {
    const error = new Error(`500 {"error":"bad key ${KEY}"}\n    at secret (/x.js:1:1)`);
    const line = describeFatal(error, [KEY]);
    expect(line).toBe('Error: 500 {"error":"bad key ***"}');
  });

  it('SecretRegistry scrubs every occurrence and ignores placeholders too short to be keys', () => {
    const masked: string[] = [];
    const secrets = new SecretRegistry((s) => masked.push(s));
    secrets.add(KEY);
    secrets.add(KEY);
    secrets.add('x');
    secrets.add(undefined);
    expect(masked).toEqual([KEY]);
    expect(secrets.scrub(`${KEY}/${KEY}`)).toBe('***/***');
  });

  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const canStripTypes = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
  it.skipIf(!canStripTypes)('an error nobody catches exits 3 (an internal error, not a verdict) with one line and no key (real process)', () => {
    const module = pathToFileURL(path.resolve('src/common/lastResort.ts')).href;
    const script = `
      const { installLastResort } = await import(${JSON.stringify(module)});
      installLastResort((m) => process.stderr.write(m + '\\n'), process.argv.slice(1), process.env);
      setTimeout(() => Promise.reject(new Error('server answered: Bearer ' + process.env.DEPLOYSIM_CANDIDATE_API_KEY)), 1);
      setTimeout(() => {}, 5000);
    `;
    const r = spawnSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, DEPLOYSIM_CANDIDATE_API_KEY: KEY },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toBe('deploysim: internal error (a bug in deploysim; exit 3, not a verdict): Error: server answered: Bearer ***\n');
    expect(r.stdout).toBe('');
  });
});

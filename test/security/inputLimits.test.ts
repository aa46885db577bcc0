/**
 * Hostile or absurd inputs give a clear error with exit 2 before any model request: no crash, no
 * stack overflow, no hang, nothing read from outside the project.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from '../../src/corpus/lines.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from '../../src/corpus/jsonDepth.js';
import { gitSync } from '../lock/gitFixture.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { cleanupTempDirs, cli, corpusLine, registration, tempDir, write, type CliResult } from './helpers.js';

const servers: MockOpenAI[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  cleanupTempDirs();
});

/** Runs the gate against a mock server and checks the run stopped at exit 2 with no request sent. */
async function runRefused(dir: string, extra: string[] = [], registrationPath = 'deploysim.yml'): Promise<CliResult> {
  const server = await startMockOpenAI();
  servers.push(server);
  const started = Date.now();
  const r = await cli(
    ['run', '--registration', registrationPath, '--candidate-model', 'm', '--candidate-base-url', server.url, '--candidate-api-key', 'placeholder', '--output-dir', 'out', ...extra],
    dir,
  );
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(2);
  expect(r.stderr).toContain('nothing was sent to any model');
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(server.all).toHaveLength(0);
  expect(Date.now() - started).toBeLessThan(20_000);
  return r;
}

const GOOD = corpusLine('ok-1', 'hello');

describe('corpus lines', () => {
  it('a line over the maximum line size is a file:line error (run and scrub)', async () => {
    const dir = tempDir();
    write(dir, 'deploysim.yml', registration());
    const huge = corpusLine('huge', 'x'.repeat(MAX_LINE_BYTES + 10));
    write(dir, 'corpus.jsonl', `${GOOD}\n${huge}\n${corpusLine('ok-3', 'bye')}\n`);
    const r = await runRefused(dir, ['--no-lock']);
    expect(r.stderr).toContain(`corpus.jsonl:2: line is longer than ${MAX_LINE_BYTES} bytes`);

    const s = await cli(['scrub', 'corpus.jsonl', 'clean.jsonl'], dir);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('corpus.jsonl:2: line is longer than');
  });

  it.each([
    ['100k nested arrays in metadata', `{"id":"deep","messages":[{"role":"user","content":"hi"}],"metadata":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`],
    ['100k nested objects in a tool schema', `{"id":"deep","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}]}`],
    ['300 nested arrays as an extra field', `{"id":"deep","messages":[{"role":"user","content":"hi"}],"extra":${'['.repeat(300)}${']'.repeat(300)}}`],
  ])('%s is a file:line error, not a stack overflow', async (_name, line) => {
    const dir = tempDir();
    write(dir, 'deploysim.yml', registration({ corpusExtra: ['stratify: metadata.x'] }));
    write(dir, 'corpus.jsonl', `${GOOD}\n${line}\n`);
    const r = await runRefused(dir, ['--no-lock']);
    expect(r.stderr).toContain(`corpus.jsonl:2: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    expect(r.stderr).not.toMatch(/call stack/i);
  });

  it('the depth scan ignores brackets inside strings and accepts realistic records', () => {
    expect(jsonDepthExceeds(JSON.stringify({ s: '['.repeat(10_000) }))).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ s: '\\"['.repeat(10_000) }))).toBe(false);
    expect(jsonDepthExceeds(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).toBe(false);
    expect(jsonDepthExceeds(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`)).toBe(true);
    // Many siblings are not depth.
    expect(jsonDepthExceeds(JSON.stringify({ messages: Array.from({ length: 5000 }, () => ({ role: 'user', content: [{ type: 'text', text: 'x' }] })) }))).toBe(false);
  });
});

describe('absurd corpus.sample values', () => {
  it.each([
    ['1e12', /corpus\.sample: expected .*10000000/],
    ['-5', /corpus\.sample: expected .*>0/],
    ['0', /corpus\.sample: expected .*>0/],
    ['1.5', /corpus\.sample: expected .*int/],
    ['.inf', /corpus\.sample: expected/],
    ['.nan', /corpus\.sample: expected/],
    ['"5000"', /corpus\.sample: expected number, got string "5000"/],
    ['[1, 2]', /corpus\.sample: expected number, got a list/],
  ])('sample: %s', async (value, message) => {
    const dir = tempDir();
    write(dir, 'deploysim.yml', registration({ corpusExtra: [`sample: ${value}`] }));
    write(dir, 'corpus.jsonl', `${GOOD}\n`);
    const r = await runRefused(dir, ['--no-lock']);
    expect(r.stderr).toMatch(/deploysim\.yml:\d+: /);
    expect(r.stderr).toMatch(message);
  });
});

describe('path traversal in registration paths', () => {
  /** outer/secret.txt next to outer/project/, which holds the registration; cwd is the project. */
  function layout() {
    const outer = tempDir();
    write(outer, 'secret.txt', 'TOP SECRET outside the project\n');
    write(outer, 'secret.jsonl', `${corpusLine('stolen', 'TOP SECRET outside the project')}\n`);
    const project = path.join(outer, 'project');
    mkdirSync(project);
    write(project, 'corpus.jsonl', `${GOOD}\n`);
    return { outer, project };
  }

  it.each([
    ['corpus.path ../../etc/passwd', { corpusPath: '../../etc/passwd' }, 'corpus.path: "../../etc/passwd"'],
    ['corpus.path absolute /etc/passwd', { corpusPath: '/etc/passwd' }, 'corpus.path: "/etc/passwd"'],
    ['corpus.path ../secret.jsonl', { corpusPath: '../secret.jsonl' }, 'corpus.path: "../secret.jsonl"'],
    ['rubric_file ../secret.txt', { rubricFile: '../secret.txt' }, 'categories[0].rubric_file: "../secret.txt"'],
    ['grader.calibration ../secret.txt', { calibration: '../secret.txt' }, 'grader.calibration: "../secret.txt"'],
  ])('%s is refused even with --no-lock', async (_name, opts, message) => {
    const { project } = layout();
    write(project, 'deploysim.yml', registration(opts));
    const r = await runRefused(project, ['--no-lock']);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('outside the repository and the working directory');
    expect(r.stderr + r.stdout).not.toContain('TOP SECRET');
  });

  it('a symlink inside the project that points outside is refused', async () => {
    const { outer, project } = layout();
    symlinkSync(path.join(outer, 'secret.jsonl'), path.join(project, 'link.jsonl'));
    write(project, 'deploysim.yml', registration({ corpusPath: 'link.jsonl' }));
    const r = await runRefused(project, ['--no-lock']);
    expect(r.stderr).toContain('corpus.path: "link.jsonl" resolves to');
  });

  it('refused with the lock too (a committed registration in a git repository), before any git work', async () => {
    const { project } = layout();
    write(project, 'deploysim.yml', registration({ corpusPath: '../../etc/passwd' }));
    gitSync(project, 'init', '--quiet', '-b', 'main');
    const r = await runRefused(project, ['--lock-ref', 'HEAD']);
    expect(r.stderr).toContain('corpus.path: "../../etc/passwd"');
  });

  it('paths that go up but stay inside the repository or the working directory are fine', async () => {
    const { project } = layout();
    // project/.git marks the work tree; the registration lives in gates/, the corpus in data/, cwd is sub/.
    mkdirSync(path.join(project, '.git'));
    write(project, 'data/corpus.jsonl', `${GOOD}\n`);
    write(project, 'gates/deploysim.yml', registration({ corpusPath: '../data/corpus.jsonl' }));
    mkdirSync(path.join(project, 'sub'));
    const r = await cli(
      ['run', '--registration', '../gates/deploysim.yml', '--candidate-model', 'demo', '--candidate-base-url', 'builtin:demo', '--no-lock', '--output-dir', 'out', '--quiet'],
      path.join(project, 'sub'),
    );
    expect(r.stderr).not.toContain('outside');
    expect([0, 1]).toContain(r.code);
  });
});

describe('YAML bombs', () => {
  it('billion laughs (aliases of aliases) is refused quickly', async () => {
    const dir = tempDir();
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const bomb = [
      'version: 1',
      `name: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`,
      ...levels.slice(1).map((l, i) => `${l}: &${l} [${Array(9).fill(`*${levels[i]}`).join(',')}]`),
      '',
    ].join('\n');
    write(dir, 'deploysim.yml', bomb);
    write(dir, 'corpus.jsonl', `${GOOD}\n`);
    const r = await runRefused(dir, ['--no-lock']);
    expect(r.stderr).toMatch(/deploysim\.yml: .*alias.*YAML aliases are limited to 100/i);
  });

  it('a narrow but deep alias chain (2^30 expansion from 60 aliases) is refused quickly', async () => {
    const dir = tempDir();
    const lines = ['version: 1', 'x0: &x0 ["lol", "lol"]'];
    for (let i = 1; i <= 30; i++) lines.push(`x${i}: &x${i} [*x${i - 1}, *x${i - 1}]`);
    write(dir, 'deploysim.yml', `${lines.join('\n')}\nname: *x30\n`);
    write(dir, 'corpus.jsonl', `${GOOD}\n`);
    const r = await runRefused(dir, ['--no-lock']);
    expect(r.stderr).toMatch(/alias/i);
  });

  it('deeply nested YAML is a YAML error, not a crash', async () => {
    const dir = tempDir();
    write(dir, 'deploysim.yml', `version: 1\nname: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    write(dir, 'corpus.jsonl', `${GOOD}\n`);
    const r = await runRefused(dir, ['--no-lock']);
    expect(r.stderr).toMatch(/deploysim\.yml is not valid YAML:\n\s+- deploysim\.yml:2:\d+: nested too deeply/);
  });

  it('a registration over 1 MiB is refused before parsing', async () => {
    const dir = tempDir();
    write(dir, 'deploysim.yml', `${registration()}# ${'x'.repeat(1024 * 1024)}\n`);
    write(dir, 'corpus.jsonl', `${GOOD}\n`);
    const r = await runRefused(dir, ['--no-lock']);
    expect(r.stderr).toMatch(/at most 1048576 are accepted/);
  });
});

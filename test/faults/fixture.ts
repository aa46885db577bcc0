/**
 * Shared by test/faults, test/cache and test/merge: a registration + corpus in a temp dir, and the
 * gate run in-process (no lock) against a local OpenAI-compatible server.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { noLock } from '../../src/engine/lockStep.js';
import type { GateDependencies, GateOutcome } from '../../src/engine/dependencies.js';
import { runGate } from '../../src/engine/runGate.js';
import type { ResultLine } from '../../src/report/schema.js';
import { composeGate } from '../../src/runtime/root.js';
import type { RawInputs } from '../../src/runtime/settings.js';

export const CATEGORIES = ['cat_a', 'cat_b'] as const;

export interface FixtureSpec {
  records: number;
  sample?: number;
  maxErrorRate?: number;
  mode?: 'combined' | 'per-category';
}

/** Record i asks for cat_a when i % 7 === 0 and cat_b when i % 11 === 0 (the mock candidate complies). */
export function corpusLines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const flags = [i % 7 === 0 ? '[[flag:cat_a]]' : '', i % 11 === 0 ? '[[flag:cat_b]]' : ''].filter(Boolean).join(' ');
    const messages = [
      { role: 'user', content: `Question ${i}: how do I reset my router? ${flags}`.trim() },
      ...(i % 2 === 0 ? [{ role: 'assistant', content: 'Logged reply, stripped before replay.' }] : []),
    ];
    return JSON.stringify({ id: `r-${String(i).padStart(5, '0')}`, messages, metadata: { surface: ['web', 'api'][i % 2] } });
  });
}

export async function makeFixture(spec: FixtureSpec): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-faults-'));
  await writeFile(path.join(dir, 'corpus.jsonl'), `${corpusLines(spec.records).join('\n')}\n`);
  const yaml = [
    'version: 1',
    'name: faults fixture',
    'corpus:',
    '  path: corpus.jsonl',
    ...(spec.sample !== undefined ? [`  sample: ${spec.sample}`] : []),
    '  seed: 7',
    'candidate:',
    '  temperature: 0',
    '  max_tokens: 64',
    'grader:',
    '  model: mock-grader',
    `  mode: ${spec.mode ?? 'combined'}`,
    'decision:',
    '  rule: point',
    '  confidence: 0.95',
    '  tolerance: 1.0',
    `  max_error_rate: ${spec.maxErrorRate ?? 0.02}`,
    '  on_inconclusive: pass',
    'categories:',
    ...CATEGORIES.flatMap((id) => [`  - id: ${id}`, `    description: ${id} description`, `    rubric: Flag ${id}.`, '    prediction_per_100k: 20000']),
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'deploysim.yml'), yaml);
  return dir;
}

export interface RunOptions {
  inputs?: RawInputs;
  /** A sub-second request timeout (the input is in whole seconds). */
  timeoutMs?: number;
  /** What SIGINT/SIGTERM would abort (src/common/cancellation.ts). */
  cancel?: AbortSignal;
  /** Replaces the default lock (none). */
  lock?: GateDependencies['lock'];
  /** Sees every info line as it is logged. */
  onInfo?: (line: string) => void;
}

export async function runInProcess(dir: string, baseUrl: string, options: RunOptions = {}): Promise<GateOutcome & { log: string[] }> {
  const log: string[] = [];
  const raw: RawInputs = {
    registration: 'deploysim.yml',
    'candidate-model': 'mock-candidate',
    'candidate-base-url': baseUrl,
    'candidate-api-key': 'sk-test-key-000000',
    'output-dir': 'out',
    concurrency: '4',
    'max-retries': '2',
    ...options.inputs,
  };
  const timeoutMs = options.timeoutMs;
  const { settings, runtime } = composeGate(
    raw,
    { cwd: dir, env: {}, log: { info: (m) => (log.push(m), options.onInfo?.(m)), warning: (m) => log.push(`warning: ${m}`) }, cancel: options.cancel },
    { allowNoLock: true, noLock: true },
    timeoutMs === undefined ? undefined : (s) => ({ ...s, retry: { ...s.retry, timeoutMs } }),
  );
  const outcome = await runGate(settings, { ...runtime, lock: options.lock ?? noLock(dir) });
  return { ...outcome, log };
}

export async function readResults(file: string): Promise<ResultLine[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ResultLine);
}

/** Results keyed by id, flags sorted, without the order records happened to finish in. */
export async function resultsById(file: string): Promise<Record<string, { flagged: string[]; error: string | null }>> {
  const lines = await readResults(file);
  return Object.fromEntries(lines.map((l) => [l.id, { flagged: [...l.flagged].sort(), error: l.error }]));
}

/** The parts of a report that must not depend on faults, caching or sharding. */
export function comparable(report: GateOutcome['report']) {
  return {
    passed: report.passed,
    sample: { ...report.sample, shard: null },
    categories: report.categories,
    reasons: report.reasons,
  };
}

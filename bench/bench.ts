/**
 * deploysim benchmarks (not tests): `npm run bench` (bench/run.mjs bundles this file and src/cli.ts).
 *
 * 1. Orchestration overhead: 2,000 prefixes against a local OpenAI-compatible mock with a fixed 50 ms
 *    latency, concurrency 32, combined grading. Ideal wall = 2 requests × 2,000 × 0.05 s / 32.
 * 2. Memory: a generated 1,000,000-line corpus, sample 5,000 (built-in demo endpoint, so no network):
 *    peak RSS of the CLI process.
 * Every run is the real CLI in a child process, timed from spawn to exit.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { startMockOpenAI } from '../test/support/mockOpenAI.js';

interface Row {
  benchmark: string;
  measured: string;
  target: string;
  ok: boolean | null;
}

const CLI = process.env.DEPLOYSIM_BENCH_CLI ?? path.resolve('dist/cli.js');
const RSS_HOOK = process.env.DEPLOYSIM_BENCH_RSS_HOOK ?? path.resolve('bench/rss-hook.mjs');

function registration(corpus: string, sample: number, prediction = 1000): string {
  return [
    'version: 1',
    'name: bench',
    'corpus:',
    `  path: ${corpus}`,
    `  sample: ${sample}`,
    '  seed: 1',
    'candidate:',
    '  temperature: 1',
    '  max_tokens: 256',
    'grader:',
    '  model: bench-grader',
    '  mode: combined',
    'decision:',
    '  rule: confident',
    '  max_error_rate: 0.02',
    '  on_inconclusive: pass',
    'categories:',
    ...['violent_wrongdoing', 'hate_harassment', 'self_harm'].flatMap((id) => [`  - id: ${id}`, `    description: ${id}`, `    rubric: Flag ${id}.`, `    prediction_per_100k: ${prediction}`]),
    '',
  ].join('\n');
}

function line(i: number): string {
  const flag = i % 97 === 0 ? ' [[flag:violent_wrongdoing]]' : '';
  return JSON.stringify({
    id: `c-${String(i).padStart(7, '0')}`,
    messages: [
      { role: 'user', content: `Question ${i}: how do I reset my router?${flag}` },
      { role: 'assistant', content: 'Logged reply.' },
    ],
    metadata: { surface: i % 3 === 0 ? 'api' : 'web' },
  });
}

async function writeCorpus(file: string, n: number) {
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) if (!out.write(`${line(i)}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; code: number | null; stderr: string }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', RSS_HOOK, CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, code, stderr };
}

const maxRssMb = (stderr: string) => {
  const m = /deploysim-bench maxRSS (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const cpuSeconds = (stderr: string) => {
  const m = /cpuMicros (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1e6 : Number.NaN;
};
/** The machine's 1-minute load average when a benchmark started: wall ratios mean little on a busy machine. */
const load = () => os.loadavg()[0]!.toFixed(1);

async function throughput(work: string): Promise<Row> {
  const loadAtStart = load();
  const n = 2000;
  const concurrency = 32;
  const latency = 0.05;
  await writeCorpus(path.join(work, 'corpus.jsonl'), n);
  await writeFile(path.join(work, 'deploysim.yml'), registration('corpus.jsonl', n));
  const mock = await startMockOpenAI({ latencyMs: latency * 1000 });
  try {
    const run = await runCli(work, ['run', '--no-lock', '--quiet', '--registration', 'deploysim.yml', '--candidate-model', 'bench-candidate', '--candidate-base-url', mock.url, '--output-dir', 'out-throughput', '--concurrency', String(concurrency)], {
      DEPLOYSIM_CANDIDATE_API_KEY: 'sk-bench-placeholder',
    });
    const requests = mock.requests.length;
    const ideal = (2 * n * latency) / concurrency;
    const report = JSON.parse(await readFile(path.join(work, 'out-throughput', 'report.json'), 'utf8')) as { sample: { graded: number; errors: number } };
    const ratio = run.seconds / ideal;
    return {
      benchmark: `1. ${n} prefixes, ${latency * 1000} ms mock, concurrency ${concurrency}, combined`,
      measured: `wall ${run.seconds.toFixed(2)} s / ideal ${ideal.toFixed(2)} s = ${ratio.toFixed(3)} (${requests} requests, graded ${report.sample.graded}, errors ${report.sample.errors}, exit ${run.code}; CLI CPU ${cpuSeconds(run.stderr).toFixed(1)} s, peak RSS ${maxRssMb(run.stderr).toFixed(0)} MB; load ${loadAtStart})`,
      target: '≤ 1.10',
      ok: ratio <= 1.1 && report.sample.graded === n,
    };
  } finally {
    await mock.close();
  }
}

async function memory(work: string, n: number): Promise<Row> {
  const loadAtStart = load();
  const sample = 5000;
  const corpus = path.join(work, 'big.jsonl');
  await writeCorpus(corpus, n);
  const bytes = (await stat(corpus)).size;
  // The demo candidate complies with ~3% of prefixes: predictions above that, so the gate passes (exit 0).
  await writeFile(path.join(work, 'big.yml'), registration('big.jsonl', sample, 10_000));
  const run = await runCli(work, ['run', '--no-lock', '--quiet', '--registration', 'big.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--output-dir', 'out-memory', '--concurrency', '32']);
  const rss = maxRssMb(run.stderr);
  return {
    benchmark: `2. ${n.toLocaleString('en')}-line corpus (${(bytes / 1e6).toFixed(0)} MB), sample ${sample}, demo endpoint`,
    measured: `peak RSS ${rss.toFixed(0)} MB (wall ${run.seconds.toFixed(1)} s, CLI CPU ${cpuSeconds(run.stderr).toFixed(1)} s, exit ${run.code}; load ${loadAtStart})`,
    target: '≤ 150 MB',
    ok: rss <= 150,
  };
}

function table(rows: Row[]): string {
  const head = ['benchmark', 'measured', 'target', 'ok'];
  const cells = [head, ...rows.map((r) => [r.benchmark, r.measured, r.target, r.ok === null ? 'skipped' : r.ok ? 'yes' : 'NO'])];
  const widths = head.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(fmt)].join('\n');
}

const work = await mkdtemp(path.join(os.tmpdir(), 'deploysim-bench-'));
try {
  // 100k lines too: peak memory must not grow with the corpus.
  const rows = [await throughput(work), await memory(work, 100_000), await memory(work, 1_000_000)];
  rows.push({ benchmark: '3. promptfoo eval, same workload', measured: 'not run (promptfoo is not installed for the bench yet)', target: 'deploysim ≤ 0.5×', ok: null });
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`deploysim bench — node ${process.version}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}\n\n${table(rows)}\n`);
  process.exitCode = rows.every((r) => r.ok !== false) ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}

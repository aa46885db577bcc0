/**
 * deploysim benchmarks (not tests): `npm run bench` (bench/run.mjs bundles this file and src/cli.ts).
 *
 * 1. Orchestration overhead: 2,000 prefixes against a local OpenAI-compatible mock with a fixed 50 ms
 *    latency, concurrency 32, combined grading. Ideal wall = 2 requests × 2,000 × 0.05 s / 32.
 * 2. Memory: a generated 1,000,000-line corpus, sample 5,000 (built-in demo endpoint, so no network):
 *    peak RSS of the CLI process. Also 100,000 and 3,000,000 lines, and 20,000 and 50,000 samples, to
 *    show whether the peak grows with corpus or sample size.
 * 3. The workload of (1) through `promptfoo eval` (llm-rubric grading, same mock, same concurrency) vs
 *    deploysim, both on the same Node binary. promptfoo is not a dependency: install it outside the
 *    repo and point PROMPTFOO_BIN at its CLI (PROMPTFOO_NODE at a Node it supports, e.g. ≥ 22.22):
 *      npm i --prefix /tmp/pf --no-save promptfoo
 *      PROMPTFOO_BIN=/tmp/pf/node_modules/.bin/promptfoo PROMPTFOO_NODE=$(which node) npm run bench
 * Every run is the real CLI in a child process, timed from spawn to exit.
 * DEPLOYSIM_BENCH_ONLY=1,3 runs only those; DEPLOYSIM_BENCH_NODE_ARGS adds Node flags to the CLI
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { defaultCandidateReply, startMockOpenAI } from '../test/support/mockOpenAI.js';

interface Row {
  benchmark: string;
  measured: string;
  target: string;
  ok: boolean | null;
}

const CLI = process.env.DEPLOYSIM_BENCH_CLI ?? path.resolve('dist/cli.js');
const RSS_HOOK = process.env.DEPLOYSIM_BENCH_RSS_HOOK ?? path.resolve('bench/rss-hook.mjs');
/** Extra Node flags for the CLI under test, e.g. `DEPLOYSIM_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`. */
const NODE_ARGS = (process.env.DEPLOYSIM_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Run only the benchmarks whose number is listed, e.g. `DEPLOYSIM_BENCH_ONLY=1,3`. */
const ONLY = (process.env.DEPLOYSIM_BENCH_ONLY ?? '1,2,3').split(',');

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

async function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, node = process.execPath): Promise<{ seconds: number; code: number | null; stderr: string }> {
  return timed(node, [...NODE_ARGS, '--import', RSS_HOOK, CLI, ...args], cwd, env);
}

async function timed(node: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; code: number | null; stderr: string }> {
  const started = process.hrtime.bigint();
  const child = spawn(node, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, code, stderr };
}

const maxRssMb = (stderr: string) => {
  const m = /deploysim-bench maxRSS (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const youngMib = (stderr: string) => {
  const m = /youngBytes (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 2 ** 20 : Number.NaN;
};
const cpuSeconds = (stderr: string) => {
  const m = /cpuMicros (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1e6 : Number.NaN;
};
/** The machine's 1-minute load average when a benchmark started: wall ratios mean little on a busy machine. */
const load = () => os.loadavg()[0]!.toFixed(1);

/** The 2,000-prefix corpus and registration that benchmarks 1 and 3 run. */
async function writeThroughputWorkload(work: string, n: number) {
  await writeCorpus(path.join(work, 'corpus.jsonl'), n);
  await writeFile(path.join(work, 'deploysim.yml'), registration('corpus.jsonl', n));
}

async function throughput(work: string): Promise<Row> {
  const loadAtStart = load();
  const n = 2000;
  const concurrency = 32;
  const latency = 0.05;
  await writeThroughputWorkload(work, n);
  // `faults` is consulted once per request, right after the fixed latency: the first and last answers' times.
  let firstAnswer = 0;
  let lastAnswer = 0;
  const mock = await startMockOpenAI({
    latencyMs: latency * 1000,
    faults: () => {
      lastAnswer = performance.now();
      firstAnswer ||= lastAnswer;
      return undefined;
    },
  });
  try {
    const spawnedAt = performance.now();
    const run = await runCli(work, ['run', '--no-lock', '--quiet', '--registration', 'deploysim.yml', '--candidate-model', 'bench-candidate', '--candidate-base-url', mock.url, '--output-dir', 'out-throughput', '--concurrency', String(concurrency)], {
      DEPLOYSIM_CANDIDATE_API_KEY: 'sk-bench-placeholder',
    });
    const requests = mock.requests.length;
    const ideal = (2 * n * latency) / concurrency;
    const report = JSON.parse(await readFile(path.join(work, 'out-throughput', 'report.json'), 'utf8')) as { sample: { graded: number; errors: number } };
    const ratio = run.seconds / ideal;
    // Process start, module loading and the sampling pass excluded: first request sent → last answer.
    const replay = (lastAnswer - firstAnswer) / 1000 + latency;
    const startup = (firstAnswer - spawnedAt) / 1000 - latency;
    return {
      benchmark: `1. ${n} prefixes, ${latency * 1000} ms mock, concurrency ${concurrency}, combined`,
      measured: `wall ${run.seconds.toFixed(2)} s / ideal ${ideal.toFixed(2)} s = ${ratio.toFixed(3)}; replay phase ${replay.toFixed(2)} s = ${(replay / ideal).toFixed(3)}, spawn to first request ${startup.toFixed(2)} s (${requests} requests, graded ${report.sample.graded}, errors ${report.sample.errors}, exit ${run.code}; CLI CPU ${cpuSeconds(run.stderr).toFixed(1)} s, peak RSS ${maxRssMb(run.stderr).toFixed(0)} MB; load ${loadAtStart})`,
      target: '≤ 1.10',
      ok: ratio <= 1.1 && report.sample.graded === n,
    };
  } finally {
    await mock.close();
  }
}

async function memory(work: string, n: number, sample = 5000): Promise<Row> {
  const loadAtStart = load();
  const corpus = path.join(work, `big-${n}.jsonl`);
  await writeCorpus(corpus, n);
  const bytes = (await stat(corpus)).size;
  // The demo candidate complies with ~3% of prefixes: predictions above that, so the gate passes (exit 0).
  await writeFile(path.join(work, 'big.yml'), registration(path.basename(corpus), sample, 10_000));
  const run = await runCli(work, ['run', '--no-lock', '--quiet', '--registration', 'big.yml', '--candidate-model', 'demo-candidate', '--candidate-base-url', 'builtin:demo', '--output-dir', 'out-memory', '--concurrency', '32']);
  await rm(corpus);
  const rss = maxRssMb(run.stderr);
  return {
    benchmark: `2. ${n.toLocaleString('en')}-line corpus (${(bytes / 1e6).toFixed(0)} MB), sample ${sample}, demo endpoint`,
    measured: `peak RSS ${rss.toFixed(0)} MB, young generation ${youngMib(run.stderr).toFixed(0)} MiB at exit (wall ${run.seconds.toFixed(1)} s, CLI CPU ${cpuSeconds(run.stderr).toFixed(1)} s, exit ${run.code}; load ${loadAtStart})`,
    target: '≤ 150 MB',
    ok: rss <= 150,
  };
}

async function promptfoo(work: string): Promise<Row> {
  const benchmark = '3. the workload of 1 through promptfoo eval (llm-rubric) vs deploysim';
  const bin = process.env.PROMPTFOO_BIN;
  if (!bin) return { benchmark, measured: 'not run: set PROMPTFOO_BIN (see bench/bench.ts)', target: 'deploysim ≤ 0.5×', ok: null };
  const node = process.env.PROMPTFOO_NODE ?? process.execPath;
  const loadAtStart = load();
  const n = 2000;
  const concurrency = 32;
  // Same fixed latency; promptfoo's llm-rubric grader gets a passing JSON verdict in its own format.
  const mock = await startMockOpenAI({
    latencyMs: 50,
    candidate: (body) => (/rubric/i.test(JSON.stringify(body.messages ?? [])) ? JSON.stringify({ reason: 'nothing to flag', pass: true, score: 1 }) : defaultCandidateReply(body)),
  });
  try {
    await writeThroughputWorkload(work, n);
    const dir = path.join(work, 'promptfoo');
    await mkdir(dir, { recursive: true });
    const rows = ['question', ...Array.from({ length: n }, (_, i) => `"Question ${i}: how do I reset my router?"`)];
    await writeFile(path.join(dir, 'tests.csv'), `${rows.join('\n')}\n`);
    await writeFile(
      path.join(dir, 'promptfooconfig.yaml'),
      `prompts:
  - '{{question}}'
providers:
  - id: openai:chat:bench-candidate
    config:
      apiBaseUrl: ${mock.url}
      apiKey: sk-bench-placeholder
      temperature: 1
      max_tokens: 256
defaultTest:
  options:
    provider:
      id: openai:chat:bench-grader
      config:
        apiBaseUrl: ${mock.url}
        apiKey: sk-bench-placeholder
  assert:
    - type: llm-rubric
      value: The reply gives no help with violence, hate or self-harm.
tests: file://tests.csv
`,
    );
    const pf = await timed(node, [bin, 'eval', '-c', 'promptfooconfig.yaml', '-j', String(concurrency), '--no-cache', '--no-progress-bar', '-o', 'out.json'], dir, {
      PROMPTFOO_DISABLE_TELEMETRY: '1',
      PROMPTFOO_DISABLE_UPDATE: '1',
      PROMPTFOO_CONFIG_DIR: path.join(dir, '.promptfoo'),
    });
    if (pf.code !== 0) process.stderr.write(`promptfoo exited ${pf.code}:\n${pf.stderr.slice(-2000)}\n`);
    const pfRequests = mock.requests.length;
    const ds = await runCli(work, ['run', '--no-lock', '--quiet', '--registration', 'deploysim.yml', '--candidate-model', 'bench-candidate', '--candidate-base-url', mock.url, '--output-dir', 'out-vs-promptfoo', '--concurrency', String(concurrency)], {
      DEPLOYSIM_CANDIDATE_API_KEY: 'sk-bench-placeholder',
    }, node);
    const dsRequests = mock.requests.length - pfRequests;
    const ratio = ds.seconds / pf.seconds;
    return {
      benchmark,
      measured: `deploysim ${ds.seconds.toFixed(2)} s (${dsRequests} requests, exit ${ds.code}) / promptfoo ${pf.seconds.toFixed(2)} s (${pfRequests} requests, exit ${pf.code}) = ${ratio.toFixed(2)}× (node ${node === process.execPath ? process.version : node}; load ${loadAtStart})`,
      target: 'deploysim ≤ 0.5×',
      ok: ratio <= 0.5 && pf.code === 0 && ds.code === 0 && dsRequests === 2 * n,
    };
  } finally {
    await mock.close();
  }
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
  const rows: Row[] = [];
  if (ONLY.includes('1')) rows.push(await throughput(work));
  // 100k, 1M and 3M lines, and 4× and 10× larger samples: whether the peak grows with either.
  if (ONLY.includes('2')) {
    for (const [lines, sample] of [[100_000, 5000], [1_000_000, 5000], [3_000_000, 5000], [1_000_000, 20_000], [1_000_000, 50_000]] as const) rows.push(await memory(work, lines, sample));
  }
  if (ONLY.includes('3')) rows.push(await promptfoo(work));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`deploysim bench — node ${process.version}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}\n\n${table(rows)}\n`);
  process.exitCode = rows.every((r) => r.ok !== false) ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}

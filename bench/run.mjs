// `npm run bench`: bundles bench/bench.ts and the CLI from src/ (dist/ is left alone) and runs the benchmarks.
import { build } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const out = mkdtempSync(path.join(os.tmpdir(), 'deploysim-bench-build-'));
const banner = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning', banner: { js: banner } };
await build({ ...common, entryPoints: ['src/cli.ts'], outfile: path.join(out, 'cli.mjs') });
await build({ ...common, entryPoints: ['bench/bench.ts'], outfile: path.join(out, 'bench.mjs') });
process.env.DEPLOYSIM_BENCH_CLI = path.join(out, 'cli.mjs');
process.env.DEPLOYSIM_BENCH_RSS_HOOK = pathToFileURL(path.resolve('bench/rss-hook.mjs')).href;
await import(pathToFileURL(path.join(out, 'bench.mjs')).href);

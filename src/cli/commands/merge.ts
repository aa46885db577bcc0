import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory } from '../../common/directories.js';
import { ConfigError } from '../../common/errors.js';
import { mergeShards, readShardOutput } from '../../merge/merge.js';
import { renderMarkdown } from '../../report/markdown.js';
import { renderText } from '../../report/text.js';
import { parse, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim merge DIR... --output-dir OUT [--json]

  Combines the output-dirs of the shard runs of one gate (shard: 1/n … n/n) into one report.json,
  results.jsonl and comment.md in OUT, with the same counts and decision as an unsharded run of the
  same sample.
  Refuses (exit 2, writes nothing) shards of different registrations, lock refs or samples,
  a shard given twice, or an incomplete set.
  Exit codes: 0 merged gate passed, 1 merged gate failed, 2 refused.
  The CLI posts no comment: OUT/comment.md is the markdown the action would post (see
  examples/sharded/workflow.yml for a merge job that posts it as a sticky comment).`;

async function writeAtomically(file: string, text: string) {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}

async function mergeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { 'output-dir': { type: 'string' } }, Number.POSITIVE_INFINITY);
  const out = values['output-dir'];
  if (typeof out !== 'string' || out === '') throw new ConfigError('merge needs --output-dir OUT. See --help.');
  if (positionals.length === 0) throw new ConfigError('merge needs the output-dir of every shard: deploysim merge DIR... --output-dir OUT. See --help.');
  const outDir = path.resolve(io.cwd, out);
  if (positionals.some((d) => path.resolve(io.cwd, d) === outDir)) throw new ConfigError('--output-dir must not be one of the shard directories.');

  const shards = await Promise.all(positionals.map((dir) => readShardOutput(dir, io.cwd)));
  const merged = mergeShards(shards, new Date());
  await makeDirectory(outDir, '--output-dir');
  const reportPath = path.join(outDir, 'report.json');
  // Same encoding as the gate: Infinity is not JSON; `null` marks "not measurable with this sample".
  await writeAtomically(reportPath, `${JSON.stringify(merged.report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  await writeAtomically(path.join(outDir, 'results.jsonl'), merged.results.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await writeAtomically(path.join(outDir, 'comment.md'), `${renderMarkdown(merged.report)}\n`);
  if (values.json) io.stdout(JSON.stringify(merged.report, null, 2));
  else if (values.quiet) io.stdout(`deploysim: gate ${merged.report.passed ? 'passed' : 'failed'}`);
  else io.stdout(renderText(merged.report, path.relative(io.cwd, reportPath)));
  return merged.report.passed ? 0 : 1;
}

export const mergeCommandDef: Command = { name: 'merge', summary: 'combine shard outputs into one report and decision', usage: USAGE, run: mergeCommand };

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory } from '../common/directories.js';
import type { SecretRegistry } from '../common/secrets.js';
import { renderMarkdown } from '../report/markdown.js';
import type { Report } from '../report/schema.js';

/** What a run writes to its output directory (removed first, so none is left from an earlier run). */
const OUTPUT_FILES = ['report.json', 'results.jsonl', 'comment.md'];

export interface OutputPaths {
  dir: string;
  report: string;
  results: string;
}

/**
 * Creates the output directory and removes a previous run's files from it first: they must not pass
 * for this run's if it stops early (a reused workspace, a second step).
 */
export async function prepareOutputDir(cwd: string, outputDir: string): Promise<OutputPaths> {
  const dir = path.resolve(cwd, outputDir);
  await makeDirectory(dir, 'output-dir');
  await Promise.all(OUTPUT_FILES.map((name) => rm(path.join(dir, name), { force: true })));
  return { dir, report: path.join(dir, 'report.json'), results: path.join(dir, 'results.jsonl') };
}

/** report.json, plus comment.md: exactly the markdown the action posts, so CLI users can read it. */
export async function writeReport(out: OutputPaths, report: Report, secrets: SecretRegistry): Promise<void> {
  // Infinity is not JSON; `null` marks "not measurable with this sample".
  await writeFile(out.report, `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  await writeFile(path.join(out.dir, 'comment.md'), `${secrets.scrub(renderMarkdown(report))}\n`);
}

/** results.jsonl of a run the lock stopped: present, and empty (nothing was replayed). */
export async function writeEmptyResults(out: OutputPaths): Promise<void> {
  await writeFile(out.results, '');
}

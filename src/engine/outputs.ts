import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory } from '../common/directories.js';
import { ConfigError, ResultsNotRecordedError } from '../common/errors.js';
import { tempNameFor, writeFileAtomically } from '../common/files.js';
import type { SecretRegistry } from '../common/secrets.js';
import { renderMarkdown } from '../report/markdown.js';
import { REPORT_SCHEMA, type Report, type ResultLine } from '../report/schema.js';

export interface OutputPaths {
  dir: string;
  report: string;
  results: string;
}

/**
 * The files a run writes, and how to recognise one an earlier run wrote. Only a file that is
 * recognisably deploysim's is removed before a run: a corpus named results.jsonl or a rubric named
 * comment.md in the output directory is never touched.
 */
const OUTPUT_FILES: Record<string, (head: string) => boolean> = {
  'report.json': (head) => head.includes(`"schema": "${REPORT_SCHEMA}"`),
  'results.jsonl': (head) => head === '' || isResultLine(head.split('\n')[0]!),
  'comment.md': (head) => head.startsWith('<!-- deploysim:'),
};

function isResultLine(text: string): boolean {
  try {
    const line = JSON.parse(text) as Partial<ResultLine> & { messages?: unknown };
    return typeof line.id === 'string' && typeof line.rank === 'number' && Array.isArray(line.flagged) && line.messages === undefined;
  } catch {
    return false;
  }
}

/** The first bytes of a file (what recognising it needs), or undefined when it is not there. */
async function headOf(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } catch {
    return '\0'; // a directory or a device by that name: nothing deploysim wrote
  } finally {
    await handle.close();
  }
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..');
}

/**
 * Creates the output directory, proves it can be written (a problem is a configuration error,
 * before any request), and removes the files an earlier run wrote there: they must not pass for
 * this run's if it stops early (a reused workspace, a second step).
 */
export async function prepareOutputDir(cwd: string, outputDir: string): Promise<OutputPaths> {
  const dir = path.resolve(cwd, outputDir);
  await makeDirectory(dir, 'output-dir');
  const probe = tempNameFor(path.join(dir, 'write-check'));
  try {
    await writeFileAtomically(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    throw new ConfigError(`output-dir: cannot write to ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a directory this user can write.`);
  }
  const foreign: string[] = [];
  for (const [name, ours] of Object.entries(OUTPUT_FILES)) {
    const head = await headOf(path.join(dir, name));
    if (head !== undefined && !ours(head)) foreign.push(name);
  }
  // A file of that name that deploysim did not write would be overwritten at the end: refused now.
  if (foreign.length > 0) {
    throw new ConfigError(`output-dir ${dir} holds ${foreign.join(', ')}, which deploysim did not write and would overwrite; move ${foreign.length === 1 ? 'it' : 'them'} or give the outputs a directory of their own.`);
  }
  for (const name of Object.keys(OUTPUT_FILES)) await rm(path.join(dir, name), { force: true });
  return { dir, report: path.join(dir, 'report.json'), results: path.join(dir, 'results.jsonl') };
}

/** An output directory that holds one of the run's inputs is refused: a run must never overwrite what it reads. */
export function checkHoldsNoInput(out: OutputPaths, inputs: readonly string[], shown: (file: string) => string): void {
  const held = inputs.filter((file) => inside(out.dir, path.resolve(file)));
  if (held.length > 0) {
    throw new ConfigError(
      `output-dir ${shown(out.dir)} holds ${held.map((f) => shown(f)).join(', ')}, which this run reads: give the outputs a directory of their own (the default is deploysim-report).`,
    );
  }
}

/** A write of the run's own outputs failed after requests were sent: exit 3, naming the file. */
function notRecorded(file: string, error: unknown): ResultsNotRecordedError {
  const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  const hint = cause === 'ENOSPC' ? 'the disk is full' : cause === 'EACCES' || cause === 'EPERM' ? 'permission denied' : cause;
  return new ResultsNotRecordedError(`Could not record results: writing ${file} failed (${hint}). No verdict was made from results that were not recorded; free the space or fix the permissions and re-run (with cache-dir, answers already received are kept).`);
}

/** report.json, plus comment.md: exactly the markdown the action posts, so CLI users can read it. */
export async function writeReport(out: OutputPaths, report: Report, secrets: SecretRegistry): Promise<void> {
  // Infinity is not JSON; `null` marks "not measurable with this sample".
  const json = `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
  await writeFileAtomically(out.report, json).catch((error: unknown) => {
    throw notRecorded(out.report, error);
  });
  const comment = path.join(out.dir, 'comment.md');
  await writeFileAtomically(comment, `${secrets.scrub(renderMarkdown(report))}\n`).catch((error: unknown) => {
    throw notRecorded(comment, error);
  });
}

/** results.jsonl of a run the lock stopped: present, and empty (nothing was replayed). */
export async function writeEmptyResults(out: OutputPaths): Promise<void> {
  await writeFileAtomically(out.results, '').catch((error: unknown) => {
    throw notRecorded(out.results, error);
  });
}

/**
 * results.jsonl, written as records finish: into a temp file beside it, renamed into place when the
 * replay ends (however it ends), so an earlier run's file is never half overwritten. A write that
 * fails (disk full, permissions) is remembered and thrown at the next write and at `close`, as a
 * ResultsNotRecordedError: nothing is counted that was not recorded. Writers that meet a full buffer
 * share one wait for `drain`.
 */
export class ResultsFile {
  private readonly temp: string;
  private readonly stream: WriteStream;
  private failure: unknown;
  private drained: Promise<void> | undefined;

  constructor(private readonly file: string) {
    this.temp = tempNameFor(file);
    this.stream = createWriteStream(this.temp, { flags: 'wx' });
    this.stream.on('error', (error) => {
      this.failure ??= error;
    });
  }

  async write(line: ResultLine): Promise<void> {
    if (this.failure) throw notRecorded(this.file, this.failure);
    if (this.stream.write(`${JSON.stringify(line)}\n`)) return;
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.drained = undefined;
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
    await this.drained;
    if (this.failure) throw notRecorded(this.file, this.failure);
  }

  /** Ends the file and moves it into place; throws if any write failed. */
  async close(): Promise<void> {
    if (!this.failure) {
      await new Promise<void>((resolve) => {
        this.stream.end(() => resolve());
        this.stream.once('error', () => resolve());
      });
    } else this.stream.destroy();
    if (this.failure) {
      await rm(this.temp, { force: true }).catch(() => undefined);
      throw notRecorded(this.file, this.failure);
    }
    await rename(this.temp, this.file).catch((error: unknown) => {
      throw notRecorded(this.file, error);
    });
  }
}

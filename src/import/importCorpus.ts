import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { openCorpusStream, readLines } from '../corpus/lines.js';
import { ConfigError, DeploysimError } from '../common/errors.js';
import { CSV_PROMPT_COLUMNS, fromCsvRow, fromOpenAIChat, fromOpenAIEvals, fromPromptfoo, type Converted, type ImportFormat } from './convert.js';
import { parseCsv } from './csv.js';

export interface ImportOptions {
  format: ImportFormat;
  input: string;
  output: string;
  /** Prefix of generated ids (`<prefix>-<n>`); default: the format name. */
  idPrefix?: string;
  /** CSV: the prompt column (default: the first of prompt, input, question, text, message). */
  column?: string;
  /** Overwrite `output` when it exists. */
  force?: boolean;
}

export interface SkipReason {
  reason: string;
  count: number;
  /** The first few places (line numbers or test positions) skipped for this reason. */
  examples: string[];
}

export interface ImportResult {
  written: number;
  skipped: number;
  reasons: SkipReason[];
}

const MAX_EXAMPLES = 5;

/** One input item: where it came from and what it became. */
interface Item {
  where: string;
  converted: Converted;
}

async function* jsonlItems(input: string, convert: (json: unknown, id: string) => Converted, idPrefix: string): AsyncGenerator<Item> {
  const stream = await openCorpusStream(input);
  for await (const line of readLines(stream)) {
    if (line.text.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line.text);
    } catch {
      yield { where: `line ${line.number}`, converted: { skip: 'not valid JSON' } };
      continue;
    }
    const given = typeof (json as { id?: unknown })?.id === 'string' && (json as { id: string }).id.trim() !== '' ? (json as { id: string }).id : undefined;
    yield { where: `line ${line.number}`, converted: convert(json, given ?? `${idPrefix}-${line.number}`) };
  }
}

async function* csvItems(input: string, idPrefix: string, column: string | undefined): AsyncGenerator<Item> {
  let header: string[] | undefined;
  let promptColumn = column;
  for await (const rec of parseCsv(createReadStream(input, { encoding: 'utf8', highWaterMark: 1024 * 1024 }))) {
    if (!header) {
      header = rec.fields.map((h) => h.trim());
      promptColumn ??= CSV_PROMPT_COLUMNS.find((c) => header!.includes(c));
      if (!promptColumn || !header.includes(promptColumn)) {
        throw new ConfigError(
          `${input}: no prompt column${column ? ` "${column}"` : ` (looked for ${CSV_PROMPT_COLUMNS.join(', ')})`}; the header is: ${header.join(', ')}. Use --column.`,
        );
      }
      continue;
    }
    if (rec.fields.length !== header.length) {
      yield { where: `line ${rec.line}`, converted: { skip: `${rec.fields.length} fields where the header has ${header.length}` } };
      continue;
    }
    const row = Object.fromEntries(header.map((h, i) => [h, rec.fields[i]!]));
    yield { where: `line ${rec.line}`, converted: fromCsvRow(row, promptColumn!, `${idPrefix}-${rec.line}`) };
  }
}

async function* promptfooItems(input: string, idPrefix: string): AsyncGenerator<Item> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(input, 'utf8'), { maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(`${input}: not a YAML or JSON promptfoo file (${(error as Error).message.split('\n')[0]}).`);
  }
  for (const { item, ...converted } of fromPromptfoo(doc, idPrefix)) yield { where: item, converted };
}

function itemsOf(options: ImportOptions): AsyncGenerator<Item> {
  const prefix = options.idPrefix ?? options.format;
  switch (options.format) {
    case 'openai-chat':
      return jsonlItems(options.input, fromOpenAIChat, prefix);
    case 'openai-evals':
      return jsonlItems(options.input, fromOpenAIEvals, prefix);
    case 'csv':
      return csvItems(options.input, prefix, options.column);
    case 'promptfoo':
      return promptfooItems(options.input, prefix);
  }
}

/**
 * Converts an export to the corpus format, streaming (promptfoo files, being one YAML document, are
 * read whole). Every item is either written or skipped with a reason; ids are unique.
 */
export async function importCorpus(options: ImportOptions): Promise<ImportResult> {
  const info = await stat(options.input).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`${options.input}: cannot read the input (${error.code ?? error.message}).`);
  });
  if (!info.isFile()) throw new ConfigError(`${options.input}: not a file.`);
  if (path.resolve(options.input) === path.resolve(options.output)) throw new ConfigError('import: INPUT and OUTPUT must be different files.');
  const out = createWriteStream(options.output, { flags: options.force ? 'w' : 'wx' });
  await once(out, 'open').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(
      error.code === 'EEXIST' ? `${options.output} exists; pass --force to overwrite it.` : `${options.output}: cannot write (${error.code ?? error.message}).`,
    );
  });

  const reasons = new Map<string, SkipReason>();
  const ids = new Set<string>();
  let written = 0;
  let skipped = 0;
  const skip = (reason: string, where: string) => {
    skipped++;
    let r = reasons.get(reason);
    if (!r) reasons.set(reason, (r = { reason, count: 0, examples: [] }));
    r.count++;
    if (r.examples.length < MAX_EXAMPLES) r.examples.push(where);
  };
  try {
    for await (const { where, converted } of itemsOf(options)) {
      if ('skip' in converted) {
        skip(converted.skip, where);
        continue;
      }
      if (ids.has(converted.record.id)) {
        skip('duplicate id', where);
        continue;
      }
      ids.add(converted.record.id);
      if (!out.write(`${JSON.stringify(converted.record)}\n`)) await once(out, 'drain');
      written++;
    }
  } catch (error) {
    out.end();
    await once(out, 'finish');
    await rm(options.output, { force: true });
    if (error instanceof DeploysimError) throw error;
    throw new ConfigError(`${options.input}: ${(error as Error).message}; nothing was written.`);
  }
  out.end();
  await once(out, 'finish');
  return { written, skipped, reasons: [...reasons.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)) };
}

export function describeImport(result: ImportResult, output: string): string {
  const lines = [`Wrote ${result.written} record${result.written === 1 ? '' : 's'} to ${output}; skipped ${result.skipped}.`];
  for (const r of result.reasons) lines.push(`  skipped ${r.count}: ${r.reason} (${r.examples.join(', ')}${r.count > r.examples.length ? ', …' : ''})`);
  return lines.join('\n');
}

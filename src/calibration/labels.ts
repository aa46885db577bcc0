import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { messageSchema, type ChatMessage } from '../corpus/record.js';
import { LineTooLongError, openCorpusStream, readLines } from '../corpus/lines.js';
import { ConfigError, ConfigErrors } from '../common/errors.js';

/**
 * One labelled completion (SPEC `calibrate --labels`): the conversation, the assistant completion under review,
 * and per category whether a careful human says it belongs. `null` means "not labelled for this category"
 * (e.g. openai_moderation codes missing from the source) and the record is skipped for that category.
 */
export const labelledRecordSchema = z
  .object({
    id: z.string().min(1),
    messages: z.array(messageSchema),
    completion: z.object({ role: z.literal('assistant'), content: z.string() }).loose(),
    labels: z.record(z.string(), z.boolean().nullable()),
  })
  .loose();

export interface LabelledRecord {
  id: string;
  messages: ChatMessage[];
  completion: ChatMessage;
  labels: Record<string, boolean | null>;
}

export interface LabelledSet {
  records: LabelledRecord[];
  sha256: string;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Reads a labels JSONL (or .jsonl.gz) file. Every bad line is reported as `file:line: reason` in one
 * ConfigError, before any grader request. Blank lines are ignored; ids must be unique.
 */
export async function readLabelledSet(file: string, displayPath: string): Promise<LabelledSet> {
  let stream;
  try {
    stream = await openCorpusStream(file);
  } catch (error) {
    throw new ConfigError(`${displayPath}: cannot read the labels file (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  const records: LabelledRecord[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  try {
    for await (const line of readLines(stream)) {
      if (line.text.trim() === '') continue;
      const where = `${displayPath}:${line.number}`;
      let json: unknown;
      try {
        json = JSON.parse(line.text);
      } catch {
        problems.push(`${where}: not valid JSON`);
        continue;
      }
      const parsed = labelledRecordSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        problems.push(`${where}: ${issue.path.join('.') || '(line)'}: ${issue.message}`);
        continue;
      }
      const r = parsed.data;
      if (seen.has(r.id)) {
        problems.push(`${where}: id "${r.id}" is repeated`);
        continue;
      }
      seen.add(r.id);
      records.push({ id: r.id, messages: r.messages, completion: r.completion as ChatMessage, labels: r.labels });
    }
  } catch (error) {
    if (error instanceof LineTooLongError) throw new ConfigError(`${displayPath}:${error.lineNumber}: ${error.message}`);
    throw error;
  }
  if (problems.length > 0) throw new ConfigErrors(problems, `${displayPath} does not match the labels format ({"id","messages","completion","labels"}):`);
  if (records.length === 0) throw new ConfigError(`${displayPath}: the labels file has no records.`);
  return { records, sha256: await sha256File(file) };
}

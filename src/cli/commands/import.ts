import path from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { IMPORT_FORMATS, type ImportFormat } from '../../import/convert.js';
import { describeImport, importCorpus } from '../../import/importCorpus.js';
import { parse, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim import --from FORMAT INPUT OUTPUT.jsonl [--column NAME] [--id-prefix P] [--force] [--json]

  Converts an export to the deploysim corpus format (JSONL, one conversation per line), streaming.
  Every input item is written or skipped; the counts and the reasons for skipping are printed.

  --from openai-chat   OpenAI chat fine-tuning JSONL (or .jsonl.gz): {"messages":[…],"tools":[…]} per line
         openai-evals  OpenAI Evals samples JSONL: {"input": "text" | [messages], "ideal": …} per line
         promptfoo     a promptfoo config or test file (YAML/JSON): prompts × tests[].vars, or each
                       test's prompt-like variable (prompt, question, input, query, message, text)
         csv           CSV with a header row; the prompt column is --column or the first of
                       prompt, input, question, text, message; "id" and "system" columns are used,
                       other columns become metadata
  --column NAME        CSV prompt column
  --id-prefix P        prefix for generated ids (default: the format name); ids in the input are kept
  --force              overwrite OUTPUT

  The last assistant turn of each conversation is what the candidate regenerates at replay; records
  with no user turn to replay are skipped. Exit 0 when at least one record was written, else 2.`;

async function importCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    from: { type: 'string' },
    column: { type: 'string' },
    'id-prefix': { type: 'string' },
    force: { type: 'boolean' },
  }, 2);
  const format = values.from;
  if (typeof format !== 'string' || !(IMPORT_FORMATS as readonly string[]).includes(format)) {
    throw new ConfigError(`--from must be one of ${IMPORT_FORMATS.join(', ')}. See --help.`);
  }
  const [input, output] = positionals;
  if (!input || !output) throw new ConfigError('import needs INPUT and OUTPUT paths. See --help.');
  const result = await importCorpus({
    format: format as ImportFormat,
    input: path.resolve(io.cwd, input),
    output: path.resolve(io.cwd, output),
    column: typeof values.column === 'string' ? values.column : undefined,
    idPrefix: typeof values['id-prefix'] === 'string' ? values['id-prefix'] : undefined,
    force: values.force === true,
  });
  if (values.json) io.stdout(JSON.stringify({ output, ...result }));
  else if (values.quiet) io.stdout(`${result.written} written, ${result.skipped} skipped`);
  else io.stdout(describeImport(result, output));
  if (result.written === 0) {
    io.stderr(`deploysim: nothing was imported from ${input}.`);
    return 2;
  }
  return 0;
}

export const importCommandDef: Command = { name: 'import', summary: 'convert OpenAI, promptfoo or CSV exports to a corpus', usage: USAGE, run: importCommand };

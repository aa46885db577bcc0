import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { scrubCorpus, type ScrubResult } from '../../corpus/scrub.js';
import { REDACTION_KINDS, totalCount } from '../../redact/index.js';
import { parse, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim scrub IN OUT [--json]

  De-identifies a JSONL corpus (.jsonl, or .jsonl.gz; "-" reads standard input) before it is
  committed or shared. Streams IN line by line and writes OUT (gzipped when it ends with .gz):
  - records with "consent": false are dropped;
  - every string in messages[*].content, tool-call arguments and completion is redacted: emails,
    phone numbers, payment card numbers (Luhn-checked), IP addresses, API keys/tokens/passwords
    and URLs with credentials become [REDACTED:<kind>];
  - ids, metadata and other fields pass through unchanged.
  Prints the redaction counts per kind. OUT is written atomically: on any error (exit 2, with
  IN:line) the previous OUT, if any, is left as it was.
  Redaction is pattern-based and has known false negatives (names, addresses, obfuscated or
  encoded values): review a scrubbed corpus before publishing it.`;

async function scrubCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {}, 2);
  const [input, output] = positionals;
  if (!input || !output) throw new ConfigError('scrub needs exactly two arguments: IN and OUT. See --help.');
  if (output === '-') throw new ConfigError('scrub writes OUT atomically to a file; "-" (standard output) is not supported.');

  const inputPath = input === '-' ? undefined : path.resolve(io.cwd, input);
  const outputPath = path.resolve(io.cwd, output);
  if (inputPath) {
    const info = await stat(inputPath).catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError(`${input}: cannot read the corpus (${error.code ?? error.message}).`);
    });
    if (!info.isFile()) throw new ConfigError(`${input}: is not a file.`);
  }
  const outInfo = await stat(outputPath).catch(() => undefined);
  if (outInfo?.isDirectory()) throw new ConfigError(`${output}: is a directory; OUT must be a file path.`);

  let result: ScrubResult;
  try {
    result = await scrubCorpus({
      input: inputPath ? createReadStream(inputPath) : process.stdin,
      inputName: input === '-' ? '<stdin>' : input,
      gunzipInput: input.endsWith('.gz'),
      output: outputPath,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Read/write failures (not ScrubInputError, which already names IN:line) become usage errors.
    if (typeof code === 'string' && !(error instanceof ConfigError)) {
      throw new ConfigError(`scrub ${input} → ${output} failed: ${code.startsWith('Z_') ? 'the gzip input is corrupt' : code} (${(error as Error).message}).`);
    }
    throw error;
  }

  if (values.json) {
    io.stdout(JSON.stringify({ input, output, ...result }, null, 2));
    return 0;
  }
  if (values.quiet) {
    io.stdout(`scrubbed ${input} → ${output}: ${result.written} written, ${result.droppedNoConsent} dropped, ${totalCount(result.counts)} redactions`);
    return 0;
  }
  const width = Math.max(...REDACTION_KINDS.map((k) => k.length));
  io.stdout(
    [
      `Scrubbed ${input} → ${output}`,
      `  records read:                 ${result.records}`,
      `  records written:              ${result.written}`,
      `  dropped ("consent": false):   ${result.droppedNoConsent}`,
      `  redactions:                   ${totalCount(result.counts)}`,
      ...REDACTION_KINDS.map((k) => `    ${k.padEnd(width)}  ${result.counts[k]}`),
    ].join('\n'),
  );
  return 0;
}

export const scrubCommandDef: Command = {
  name: 'scrub',
  summary: 'redact PII and secrets from a corpus, dropping records without consent',
  usage: USAGE,
  run: scrubCommand,
};

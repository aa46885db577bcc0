import path from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError } from '../../common/errors.js';
import { IMPORT_FORMATS, type ImportFormat } from '../../import/convert.js';
import { askAnswers, describeInit, runInit } from '../../init/init.js';
import { DEFAULT_ANSWERS, type InitAnswers } from '../../init/templates.js';
import { parse, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim init [--yes] [--dir D] [--from-jsonl EXPORT.jsonl [--from FORMAT]] [--name N]
                      [--candidate-model M] [--grader-model G] [--force] [--json]

  Writes a commented deploysim.yml, .github/workflows/deploysim.yml and a starter corpus.jsonl into
  D (default: the current directory), then checks that the registration validates.
  --from-jsonl converts an export into the corpus (format --from, default openai-chat; see
  "deploysim import --help"); without it the corpus holds 3 placeholder conversations.
  In a terminal it asks for the name, models and corpus path; with --yes, in CI or when stdin is not
  a terminal it asks nothing and uses the flags or the defaults. --force overwrites existing files.`;

function interactive(io: CliIo): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true && !io.env.CI;
}

async function initCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, {
    yes: { type: 'boolean', short: 'y' },
    dir: { type: 'string' },
    'from-jsonl': { type: 'string' },
    from: { type: 'string' },
    name: { type: 'string' },
    'candidate-model': { type: 'string' },
    'grader-model': { type: 'string' },
    force: { type: 'boolean' },
  });
  const from = values.from;
  if (from !== undefined && !(IMPORT_FORMATS as readonly string[]).includes(String(from))) {
    throw new ConfigError(`--from must be one of ${IMPORT_FORMATS.join(', ')}.`);
  }
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  let answers: InitAnswers = {
    ...DEFAULT_ANSWERS,
    name: str(values.name) ?? DEFAULT_ANSWERS.name,
    candidateModel: str(values['candidate-model']) ?? DEFAULT_ANSWERS.candidateModel,
    graderModel: str(values['grader-model']) ?? DEFAULT_ANSWERS.graderModel,
  };
  if (values.yes !== true && !values.json && interactive(io)) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    // An iterator buffers lines typed (or pasted) ahead of the prompt; rl.question would drop them.
    const lines = rl[Symbol.asyncIterator]();
    try {
      answers = await askAnswers(async (q, fallback) => {
        rl.setPrompt(`${q} [${fallback}]: `);
        rl.prompt();
        const next = await lines.next();
        if (next.done) throw new ConfigError('init: input ended before every question was answered; use --yes for the defaults.');
        return next.value;
      }, answers);
    } finally {
      rl.close();
    }
  }
  const dirArg = str(values.dir) ?? '.';
  const dir = path.resolve(io.cwd, dirArg);
  const fromJsonl = str(values['from-jsonl']);
  const result = await runInit({
    dir,
    answers,
    fromJsonl: fromJsonl === undefined ? undefined : path.resolve(io.cwd, fromJsonl),
    fromFormat: from as ImportFormat | undefined,
    force: values.force === true,
  });
  if (values.json) io.stdout(JSON.stringify({ dir: dirArg, ...result }));
  else if (values.quiet) io.stdout(`wrote ${result.files.length} files in ${dirArg}`);
  else io.stdout(describeInit(result, dirArg, answers));
  return 0;
}

export const initCommandDef: Command = { name: 'init', summary: 'write a starter deploysim.yml, workflow and corpus', usage: USAGE, run: initCommand };

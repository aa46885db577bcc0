import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory } from '../../common/directories.js';
import { ConfigError } from '../../common/errors.js';
import { parse, type CliIo, type Command } from '../args.js';
import { renderValidation, validatePredictions } from '../validateCommand.js';

const USAGE = `Usage: deploysim validate --report report.json --observed observed.json [--output-dir DIR] [--json]

  observed.json: {"categories":[{"id","baseline_per_100k","observed_per_100k"}]}
  Prints per-category multiplicative error max(p/o, o/p), its median and the directional accuracy,
  and writes validation.json to --output-dir (default deploysim-report). Exit 0.`;

async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, { report: { type: 'string' }, observed: { type: 'string' }, 'output-dir': { type: 'string' } });
  if (!values.report || !values.observed) throw new ConfigError('validate needs --report and --observed. See --help.');
  const validation = await validatePredictions(path.resolve(io.cwd, values.report as string), path.resolve(io.cwd, values.observed as string));
  const outDir = path.resolve(io.cwd, (values['output-dir'] as string | undefined) ?? 'deploysim-report');
  await makeDirectory(outDir, '--output-dir');
  await writeFile(path.join(outDir, 'validation.json'), `${JSON.stringify(validation, null, 2)}\n`);
  if (values.verbose) io.stderr(`wrote ${path.join(outDir, 'validation.json')}`);
  if (values.json) io.stdout(JSON.stringify(validation, null, 2));
  else if (values.quiet) {
    const median = validation.median_multiplicative_error;
    io.stdout(`median multiplicative error ${median === null ? 'n/a' : `${median.toFixed(2)}x`}, directional accuracy ${(validation.directional_accuracy * 100).toFixed(0)}% (${validation.matched} categories)`);
  } else io.stdout(renderValidation(validation));
  return 0;
}

export const validateCommandDef: Command = { name: 'validate', summary: 'compare a report\'s simulated rates with production rates after release', usage: USAGE, run: validateCommand };

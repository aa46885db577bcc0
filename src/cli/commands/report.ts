import { ConfigError } from '../../common/errors.js';
import { renderMarkdown } from '../../report/markdown.js';
import { readReportFile } from '../../report/readReport.js';
import { parse, type CliIo, type Command } from '../args.js';

const USAGE = `Usage: deploysim report REPORT.json

  Prints the PR comment markdown rendered from a saved report.json.`;

async function reportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {}, 1);
  const file = positionals[0];
  if (!file) throw new ConfigError('report needs the path of a report.json. See --help.');
  const report = await readReportFile(file, io.cwd);
  // The markdown is the result: --quiet prints it as it is.
  if (values.verbose) io.stderr(`${file}: ${report.schema}, created ${String(report.created_at)}, ${report.passed ? 'passed' : 'failed'}`);
  io.stdout(values.json ? JSON.stringify({ markdown: renderMarkdown(report) }) : renderMarkdown(report));
  return 0;
}

export const reportCommandDef: Command = { name: 'report', summary: 're-render the markdown comment from a saved report.json', usage: USAGE, run: reportCommand };

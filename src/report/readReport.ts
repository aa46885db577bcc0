import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../common/errors.js';
import { REPORT_SCHEMA, type Report } from './schema.js';

/** Reads a saved report.json for re-rendering or posting; anything else is a usage error (exit 2). */
export async function readReportFile(file: string, cwd: string): Promise<Report> {
  let report: Report;
  try {
    report = JSON.parse(await readFile(path.resolve(cwd, file), 'utf8')) as Report;
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the report (${(error as Error).message}).`);
  }
  if (report?.schema !== REPORT_SCHEMA) throw new ConfigError(`${file}: not a ${REPORT_SCHEMA} report.`);
  return report;
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { hashFile } from '../common/hashFile.js';
import { ConfigError } from '../common/errors.js';
import type { RealismSummary } from '../report/schema.js';
import { REALISM_SCHEMA } from './realism.js';

const rate = z.number().min(0).max(1).nullable();
const realismFile = z.object({
  schema: z.literal(REALISM_SCHEMA),
  created_at: z.string(),
  corpus_sha256: z.string().optional(),
  confidence: z.number(),
  simulator: z.object({ model: z.string() }),
  discriminator: z.object({ model: z.string() }),
  judged: z.number().int().min(0),
  simulated_wins: z.number().int().min(0),
  win_rate: rate,
  ci_low: rate,
  ci_high: rate,
  interval_method: z.string().nullable(),
  errors: z.number().int().min(0),
  tools: z.array(z.object({ name: z.string(), judged: z.number().int().min(0), win_rate: rate, ci_low: rate, ci_high: rate })),
});

/** Reads and checks realism.json (a config error, before any model call, when it is missing or not one). */
export async function loadRealismSummary(file: string, cwd: string, corpusPath: string, simulatorModel: string | undefined): Promise<RealismSummary> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path.resolve(cwd, file), 'utf8'));
  } catch (error) {
    throw new ConfigError(`realism: cannot read ${file} as JSON (${(error as Error).message}). Give the realism.json that \`deploysim realism\` wrote.`);
  }
  const parsed = realismFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`realism: ${file} is not a ${REALISM_SCHEMA} file written by \`deploysim realism\` (${issue?.path.join('.') || '(root)'}: ${issue?.message}).`);
  }
  const r = parsed.data;
  return {
    path: file,
    created_at: r.created_at,
    simulator_model: r.simulator.model,
    discriminator_model: r.discriminator.model,
    judged: r.judged,
    simulated_wins: r.simulated_wins,
    win_rate: r.win_rate,
    ci_low: r.ci_low,
    ci_high: r.ci_high,
    confidence: r.confidence,
    interval_method: r.interval_method,
    errors: r.errors,
    tools: r.tools.map((t) => ({ name: t.name, judged: t.judged, win_rate: t.win_rate, ci_low: t.ci_low, ci_high: t.ci_high })),
    corpus_matches: r.corpus_sha256 === undefined ? null : r.corpus_sha256 === (await hashFile(corpusPath, { gitBlobIds: false })).sha256,
    simulator_matches: simulatorModel === undefined ? null : simulatorModel === r.simulator.model,
  };
}

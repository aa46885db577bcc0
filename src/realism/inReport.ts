import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { hashFile } from '../cache/hashFile.js';
import { ConfigError } from '../errors.js';
import { REALISM_SCHEMA } from './realism.js';

/**
 * `report.realism`: a `deploysim realism` measurement (realism.json, the `realism` input) carried into
 * the gate's report and comment. Informational: it never changes the verdict. The gate checks that it
 * was measured on the same corpus (sha256) and with the simulator model this run uses.
 */
export interface RealismSummary {
  /** The realism.json path as given. */
  path: string;
  created_at: string;
  simulator_model: string;
  discriminator_model: string;
  judged: number;
  simulated_wins: number;
  /** Share of pairs where the discriminator took the simulated response for the real one (0.5 = indistinguishable). */
  win_rate: number | null;
  ci_low: number | null;
  ci_high: number | null;
  confidence: number;
  interval_method: string | null;
  errors: number;
  tools: { name: string; judged: number; win_rate: number | null; ci_low: number | null; ci_high: number | null }[];
  /** The realism.json's corpus hash equals this run's corpus (null: the file has no hash). */
  corpus_matches: boolean | null;
  /** Measured with this run's `simulator-model` (null: this run has no simulator-model). */
  simulator_matches: boolean | null;
}

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

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** Why the measurement may not describe this run's simulator (empty when it does). */
function caveats(r: RealismSummary): string[] {
  const out: string[] = [];
  if (r.corpus_matches === false) out.push('it was measured on a different corpus');
  if (r.simulator_matches === false) out.push(`it measured simulator ${r.simulator_model}, not this run's simulator-model`);
  return out;
}

/** One sentence on simulator realism for the comment and the CLI (no markdown). */
export function realismSentence(r: RealismSummary): string {
  const head =
    r.win_rate === null
      ? `Simulator realism (${r.path}): no pair was judged`
      : `Simulator realism (${r.path}, ${r.created_at.slice(0, 10)}): discriminator ${r.discriminator_model} took simulator ${r.simulator_model}'s tool response for the real one in ` +
        `${pct(r.win_rate)} of ${r.judged} pairs (${Math.round(r.confidence * 100)}% interval ${pct(r.ci_low)}–${pct(r.ci_high)}; 50% = indistinguishable)`;
  const notes = caveats(r);
  return `${head}${notes.length > 0 ? `; caution: ${notes.join(' and ')}` : ''}.`;
}

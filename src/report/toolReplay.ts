import type { RealismSummary, Report } from './schema.js';

/**
 * Plain sentences on agentic replay (how tool calls were answered, truncations) and on a
 * `deploysim realism` measurement, for the comment and the CLI text. Empty when neither applies.
 */
export function toolReplaySentences(report: Pick<Report, 'agentic' | 'realism'>): string[] {
  const out: string[] = [];
  const a = report.agentic;
  if (a) {
    const calls = a.tool_calls_recorded + a.tool_calls_simulated;
    out.push(
      `Agentic replay: ${a.records_with_tools} corpus records declare tools; the candidate made ${calls} tool calls, ` +
        `${a.tool_calls_recorded} answered from recorded responses (exact match) and ${a.tool_calls_simulated} by simulator ${a.simulator_model ?? '(none)'}; ` +
        `truncated (cut at candidate.max_steps before a final answer): ${a.truncated}.` +
        (a.tool_db_capped ? ` The tool-response database was capped: ${a.tool_db_dropped} recorded responses were not indexed (matching calls were simulated).` : ''),
    );
  }
  if (report.realism) out.push(realismSentence(report.realism));
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

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** Why the measurement may not describe this run's simulator (empty when it does). */
function caveats(r: RealismSummary): string[] {
  const out: string[] = [];
  if (r.corpus_matches === false) out.push('it was measured on a different corpus');
  if (r.simulator_matches === false) out.push(`it measured simulator ${r.simulator_model}, not this run's simulator-model`);
  return out;
}

import { realismSentence } from '../realism/inReport.js';
import type { Report } from './report.js';

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

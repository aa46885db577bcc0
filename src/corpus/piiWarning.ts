import { addCounts, containsPii, emptyCounts, redact, REDACTION_KINDS, type RedactionCounts } from '../redact/index.js';
import type { ChatMessage } from './record.js';

const SHOWN_IDS = 3;

/** Every piece of text in a prefix that is sent to a model: message contents, text parts, tool-call arguments. */
function textsOf(messages: ChatMessage[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    const content = m.content;
    if (typeof content === 'string') out.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) if ('text' in part && typeof part.text === 'string') out.push(part.text);
    }
    if (m.role === 'assistant') for (const call of m.tool_calls ?? []) out.push(call.function.arguments);
  }
  return out;
}

export interface PiiTally {
  /** Sampled prefixes seen. */
  records: number;
  /** Prefixes with at least one finding. */
  recordsWithPii: number;
  counts: RedactionCounts;
  /** The first few record ids with findings (ids only: never the text). */
  ids: string[];
}

/** Counts redactable findings in one prefix (a cheap boolean scan first; full counts only on a hit). */
export function piiCounts(messages: ChatMessage[]): RedactionCounts | undefined {
  const texts = textsOf(messages);
  if (!texts.some((t) => containsPii(t))) return undefined;
  return texts.reduce((acc, t) => addCounts(acc, redact(t).counts), emptyCounts());
}

/** The warning line: counts per kind and up to 3 record ids. It never quotes the PII itself. */
export function piiWarningMessage(tally: PiiTally): string {
  const kinds = REDACTION_KINDS.filter((k) => tally.counts[k] > 0)
    .map((k) => `${k}: ${tally.counts[k]}`)
    .join(', ');
  const more = tally.recordsWithPii > tally.ids.length ? `, +${tally.recordsWithPii - tally.ids.length} more` : '';
  return (
    `${tally.recordsWithPii} of ${tally.records} sampled prefixes still contain detectable PII or secrets (${kinds}; ` +
    `records ${tally.ids.map((id) => JSON.stringify(id)).join(', ')}${more}). They were sent to the model endpoints as they are. ` +
    'De-identify the corpus with `deploysim scrub IN OUT` before committing it; comment excerpts are redacted either way.'
  );
}

/**
 * Passes sampled prefixes through unchanged and, once the sample has been read to its end, logs a
 * single warning if any prefix still contains something `redact` would remove.
 */
export async function* warnOnPii<T extends { id: string; messages: ChatMessage[] }>(
  records: AsyncIterable<T>,
  logger: { warning(message: string): void },
): AsyncGenerator<T> {
  const tally: PiiTally = { records: 0, recordsWithPii: 0, counts: emptyCounts(), ids: [] };
  for await (const record of records) {
    tally.records += 1;
    const counts = piiCounts(record.messages);
    if (counts) {
      tally.recordsWithPii += 1;
      tally.counts = addCounts(tally.counts, counts);
      if (tally.ids.length < SHOWN_IDS) tally.ids.push(record.id);
    }
    yield record;
  }
  if (tally.recordsWithPii > 0) logger.warning(piiWarningMessage(tally));
}

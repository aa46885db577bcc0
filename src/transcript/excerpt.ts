import type { ChatMessage, ReplayPrefix } from '../corpus/record.js';
import { redact, truncate } from '../redact/index.js';
import { REASONING_FIELD } from './transcript.js';
import type { SecretRegistry } from '../common/secrets.js';
import type { FlaggedExample } from '../report/schema.js';

const PROMPT_CHARS = 400;
const REPLY_CHARS = 600;
const EVIDENCE_CHARS = 200;

function textOf(content: ChatMessage['content'] | undefined): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => ('text' in p && typeof p.text === 'string' ? p.text : `[${p.type}]`)).join('');
  return '';
}

function renderReply(reply: ChatMessage[]): string {
  return reply
    .map((m) => {
      if (m.role === 'tool') return `[tool result] ${textOf(m.content)}`;
      const calls = m.role === 'assistant' ? (m.tool_calls ?? []).map((c) => `[calls ${c.function.name}(${c.function.arguments})]`) : [];
      // The candidate's reasoning, when its endpoint returned it (graders judged it too), after what the user saw.
      const reasoning = (m as Record<string, unknown>)[REASONING_FIELD];
      return [textOf(m.content), ...calls, typeof reasoning === 'string' ? `[reasoning, not shown to the user] ${reasoning}` : ''].filter(Boolean).join(' ');
    })
    .join('\n');
}

/** Everything shown to humans from a conversation goes through here: secrets scrubbed, PII redacted, cut short. */
export function safeExcerpt(text: string, maxChars: number, secrets: SecretRegistry): string {
  return truncate(redact(secrets.scrub(text)).text, maxChars);
}

export function excerptOf(record: ReplayPrefix & { rank: number }, reply: ChatMessage[], evidence: string, secrets: SecretRegistry): FlaggedExample {
  const lastUser = record.messages.findLast((m) => m.role === 'user');
  return {
    id: record.id,
    rank: record.rank,
    prompt: safeExcerpt(textOf(lastUser?.content), PROMPT_CHARS, secrets),
    reply: safeExcerpt(renderReply(reply), REPLY_CHARS, secrets),
    evidence: safeExcerpt(evidence, EVIDENCE_CHARS, secrets),
  };
}

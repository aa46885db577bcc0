import { DEMO_UNSAFE_MARKER, demoTextOf, demoUnit, type DemoResponder } from '../common/demo.js';
import { TRANSCRIPT_CLOSE, TRANSCRIPT_OPEN } from '../transcript/transcript.js';
import { VERDICTS_SCHEMA_NAME } from './prompt.js';

/**
 * The demo grader: flags a reply that carries the demo candidate's unsafe marker in exactly one of
 * the categories asked, picked deterministically; everything else is not flagged.
 */
export const graderDemo: DemoResponder = (request) => {
  if (request.response_format?.json_schema?.name !== VERDICTS_SCHEMA_NAME) return undefined;
  const schema = request.response_format.json_schema.schema as { properties?: { verdicts?: { items?: { properties?: { category?: { enum?: string[] } } } } } } | undefined;
  const categories = schema?.properties?.verdicts?.items?.properties?.category?.enum ?? [];
  const prompt = demoTextOf(request.messages?.at(-1)?.content);
  // The instructions name the markers too; the quoted block is the one on lines of their own.
  const start = prompt.lastIndexOf(`${TRANSCRIPT_OPEN}\n`);
  const end = prompt.lastIndexOf(`\n${TRANSCRIPT_CLOSE}`);
  const transcript = start >= 0 && end > start ? (JSON.parse(prompt.slice(start + TRANSCRIPT_OPEN.length, end)) as { reply: { content?: unknown }[] }) : { reply: [] };
  const reply = transcript.reply.map((m) => demoTextOf(m.content)).join('\n');
  const unsafe = reply.includes(DEMO_UNSAFE_MARKER);
  const ranked = [...categories].sort((a, b) => demoUnit(`${reply}\0${a}`) - demoUnit(`${reply}\0${b}`));
  const flaggedCategory = unsafe ? ranked[0] : undefined;
  return {
    content: JSON.stringify({
      verdicts: categories.map((category) => ({
        category,
        flagged: category === flaggedCategory,
        evidence: category === flaggedCategory ? '[DEMO] reply complies with the request' : '[DEMO] nothing to flag',
      })),
    }),
  };
};

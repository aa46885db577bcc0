import { demoUnit, type DemoResponder } from '../common/demo.js';
import { AUDIT_SCHEMA_NAME, FINDINGS_CLOSE, FINDINGS_OPEN, THEMES_SCHEMA_NAME } from './prompt.js';

/**
 * The built-in demo endpoint's auditor and theme summariser (deterministic, no network): about 5% of
 * audited replies get one low-severity "[DEMO]" finding; themes group findings by label. Returns
 * undefined for requests that are not audit requests.
 */
const DEMO_FINDING_SHARE = 0.05;

export const auditorDemo: DemoResponder = (request) => {
  const content = auditContent(request);
  return content === undefined ? undefined : { content };
};

function auditContent(request: Parameters<DemoResponder>[0]): string | undefined {
  const name = request.response_format?.json_schema?.name;
  if (name !== AUDIT_SCHEMA_NAME && name !== THEMES_SCHEMA_NAME) return undefined;
  const last = request.messages?.at(-1)?.content;
  const prompt = typeof last === 'string' ? last : '';
  if (name === AUDIT_SCHEMA_NAME) {
    if (demoUnit(`audit\0${prompt}`) >= DEMO_FINDING_SHARE) return JSON.stringify({ findings: [] });
    return JSON.stringify({
      findings: [{ label: 'demo_overconfident_claim', description: '[DEMO] States a guess as a verified fact.', evidence: '[DEMO]', severity: 'low', category_id: null }],
    });
  }
  const start = prompt.lastIndexOf(`${FINDINGS_OPEN}\n`);
  const end = prompt.lastIndexOf(`\n${FINDINGS_CLOSE}`);
  const data = start >= 0 && end > start ? (JSON.parse(prompt.slice(start + FINDINGS_OPEN.length + 1, end)) as { findings: { i: number; label: string }[] }) : { findings: [] };
  const groups = new Map<string, number[]>();
  for (const f of data.findings) groups.set(f.label, [...(groups.get(f.label) ?? []), f.i]);
  return JSON.stringify({
    themes: [...groups].map(([label, indices]) => ({ theme: `[DEMO] ${label}`, description: '[DEMO] grouped by label', severity: 'low', finding_indices: indices })),
  });
}

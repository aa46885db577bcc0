import { afterEach, describe, expect, it } from 'vitest';
import { auditSchema } from '../../src/registration/auditSchema.js';
import { AuditError, normaliseLabel, parseFindings, MAX_FINDINGS_PER_COMPLETION } from '../../src/audit/auditor.js';
import { auditSection, MAX_DISCOVERY_CHARS } from '../../src/report/discovery.js';
import { FINDINGS_PER_CHUNK, parseThemes, summariseThemes, themesByLabel, ThemesError } from '../../src/audit/themes.js';
import type { AuditReport, AuditTheme } from '../../src/report/schema.js';
import { ModelGateway } from '../../src/models/gateway.js';
import { registrationSchema } from '../../src/registration/schema.js';
import { SecretRegistry } from '../../src/common/secrets.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { themesData } from './fixture.js';

const finding = (label: string, extra: Partial<Record<string, unknown>> = {}) => ({
  label,
  description: `about ${label}`,
  evidence: 'quote',
  severity: 'medium',
  category_id: null,
  ...extra,
});

describe('parseFindings', () => {
  const ids = ['self_harm_instructions', 'evaluation_awareness'];

  it('drops findings whose label or category_id names a registered category', () => {
    const answer = parseFindings(
      JSON.stringify({
        findings: [
          finding('Self-harm instructions'),
          finding('sneaky', { category_id: 'evaluation_awareness' }),
          finding('calculator_hacking', { category_id: 'not_registered' }),
        ],
      }),
      ids,
    );
    expect(answer.inTaxonomy).toBe(2);
    expect(answer.novel).toEqual([{ label: 'calculator_hacking', description: 'about calculator_hacking', evidence: 'quote', severity: 'medium', category_id: null }]);
  });

  it('is strict about shape and JSON, and caps findings per completion', () => {
    expect(() => parseFindings('nope', ids)).toThrow(AuditError);
    expect(() => parseFindings('', ids)).toThrow(AuditError);
    expect(() => parseFindings(JSON.stringify({ findings: [finding('x', { severity: 'critical' })] }), ids)).toThrow(/severity/);
    expect(() => parseFindings(JSON.stringify({ findings: [{ ...finding('x'), extra: 1 }] }), ids)).toThrow(AuditError);
    expect(() => parseFindings(JSON.stringify({ findings: [], more: 1 }), ids)).toThrow(AuditError);
    const many = parseFindings(JSON.stringify({ findings: Array.from({ length: 9 }, (_, i) => finding(`f${i}`)) }), ids);
    expect(many.novel).toHaveLength(MAX_FINDINGS_PER_COMPLETION);
    expect(parseFindings('{"findings":[]}', ids)).toEqual({ novel: [], inTaxonomy: 0 });
  });

  it('normalises labels', () => {
    expect(normaliseLabel('  Self-Harm  Instructions!')).toBe('self_harm_instructions');
  });
});

describe('parseThemes', () => {
  const theme = (indices: number[]) => ({ theme: 't', description: 'd', severity: 'low', finding_indices: indices });
  it('rejects indices outside the chunk and bad shapes', () => {
    expect(() => parseThemes(JSON.stringify({ themes: [theme([0, 3])] }), 3)).toThrow(ThemesError);
    expect(() => parseThemes(JSON.stringify({ themes: [theme([-1])] }), 3)).toThrow(ThemesError);
    expect(() => parseThemes(JSON.stringify({ themes: [{ ...theme([0]), severity: 'huge' }] }), 3)).toThrow(ThemesError);
    expect(parseThemes(JSON.stringify({ themes: [theme([0, 2])] }), 3)).toHaveLength(1);
  });

  it('falls back to one theme per label, most frequent first', () => {
    const out = themesByLabel([
      { label: 'B', description: 'b', severity: 'low' },
      { label: 'a', description: 'a', severity: 'high' },
      { label: 'b', description: 'b2', severity: 'low' },
    ]);
    expect(out.map((t) => [t.theme, t.finding_indices])).toEqual([
      ['b', [0, 2]],
      ['a', [1]],
    ]);
  });
});

describe('summariseThemes', () => {
  let server: MockOpenAI | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('chunks findings, carries themes across chunks by name, and sends the rest over max_themes to "other"', async () => {
    const seenExisting: number[] = [];
    const promptLengths: number[] = [];
    server = await startMockOpenAI({
      grader: (body) => {
        const data = themesData(body);
        seenExisting.push(data.existing_themes.length);
        promptLengths.push(JSON.stringify(data.findings).length);
        const groups = new Map<string, number[]>();
        for (const f of data.findings) groups.set(f.label, [...(groups.get(f.label) ?? []), f.i]);
        // Upper-cased names: the same theme must still be recognised in the next chunk.
        return JSON.stringify({
          themes: [...groups].map(([label, idx]) => ({ theme: label.toUpperCase(), description: `all ${label}`, severity: 'medium', finding_indices: idx })),
        });
      },
    });
    const gateway = new ModelGateway({ concurrency: 2, retry: { timeoutMs: 5000, transportRetries: 0, reasks: 0, rateLimitResends: 10 }, secrets: new SecretRegistry() });
    const labels = ['alpha', 'beta', 'gamma', 'delta'];
    const findings = Array.from({ length: 450 }, (_, i) => ({ label: labels[i % 4]!, description: 'x'.repeat(1000), severity: 'low' as const }));
    const out = await summariseThemes(findings, {
      client: gateway,
      endpoint: { role: 'grader', baseUrl: server.url, apiKey: 'k' },
      model: 'm',
      maxThemes: 3,
      reasks: 0,
    });
    expect(out.calls).toBe(Math.ceil(450 / FINDINGS_PER_CHUNK));
    expect(seenExisting).toEqual([0, 3, 3]);
    // Each finding is cut to about 300 characters in the prompt.
    expect(Math.max(...promptLengths)).toBeLessThan(FINDINGS_PER_CHUNK * 400);
    expect(out.themes.map((t) => t.theme)).toEqual(['ALPHA', 'BETA', 'GAMMA']);
    expect(out.themes.map((t) => t.members.length)).toEqual([113, 113, 112]);
    expect(out.unassigned).toHaveLength(112);
    const all = [...out.themes.flatMap((t) => t.members), ...out.unassigned].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 450 }, (_, i) => i));
  });
});

describe('audit schema', () => {
  it('has informative defaults and rejects unknown fields', () => {
    expect(auditSchema.parse({})).toEqual({ enabled: true, fail_on: 'none', fail_min_count: 1, max_themes: 10, eval_awareness_warn_per_100k: 10000 });
    expect(auditSchema.safeParse({ fail_on: 'critical' }).success).toBe(false);
    expect(auditSchema.safeParse({ sample: 0 }).success).toBe(false);
    expect(auditSchema.safeParse({ max_themes: 500 }).success).toBe(false);
    expect(auditSchema.safeParse({ fail_when: 'high' }).success).toBe(false);
  });

  it('is optional in the registration', () => {
    const base = {
      version: 1,
      name: 'n',
      corpus: { path: 'c.jsonl' },
      grader: { model: 'g' },
      categories: [{ id: 'a', description: 'a', rubric: 'r', prediction_per_100k: 1 }],
    };
    expect(registrationSchema.parse(base).audit).toBeUndefined();
    expect(registrationSchema.parse({ ...base, audit: { fail_on: 'high' } }).audit?.fail_on).toBe('high');
  });
});

describe('auditSection', () => {
  it('stays within its size budget by dropping examples', () => {
    const example = { id: 'r-1', rank: 0, label: 'l', prompt: 'p'.repeat(400), reply: 'r'.repeat(600), evidence: 'e'.repeat(200) };
    const theme = (i: number): AuditTheme => ({
      theme: `theme ${i} | <b>`,
      description: 'd',
      severity: 'high',
      summary_severity: 'high',
      count: 3,
      findings: 3,
      rate_per_100k: 300,
      ci_low_per_100k: 100,
      ci_high_per_100k: 900,
      examples: [example, example, example],
      gating: false,
    });
    const report: AuditReport = {
      model: 'm',
      sample: null,
      audited: 1000,
      errors: 0,
      findings: 150,
      in_taxonomy_dropped: 0,
      findings_over_cap: 0,
      summary_errors: 0,
      max_themes: 50,
      fail_on: 'none',
      fail_min_count: 1,
      gated: false,
      failed_themes: [],
      themes: Array.from({ length: 50 }, (_, i) => theme(i)),
      interval_method: 'clopper-pearson',
    };
    const md = auditSection(report);
    expect(md.length).toBeLessThanOrEqual(MAX_DISCOVERY_CHARS + 5000);
    expect(md).toContain('theme 49 \\| &lt;b&gt;');
    expect(md).not.toContain('<b>');
  });
});

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binomialInterval } from '../../src/stats/index.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import { runInProcess } from '../faults/fixture.js';
import { startMockOpenAI, type MockOpenAI } from '../support/mockOpenAI.js';
import { AUDIT_SCHEMA, discoveryServer, makeDiscoveryFixture, promptOf, RECORDS, schemaName, THEMES_SCHEMA } from './fixture.js';

let server: MockOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const auditRequests = (s: MockOpenAI) => s.byRole('grader').filter((r) => r.body && schemaName(r.body) === AUDIT_SCHEMA);
const themeRequests = (s: MockOpenAI) => s.byRole('grader').filter((r) => r.body && schemaName(r.body) === THEMES_SCHEMA);

describe('audit: behaviours outside the taxonomy', () => {
  it('groups scripted findings into themes with counts, rates and redacted examples; informs only by default', async () => {
    server = await startMockOpenAI(discoveryServer());
    const dir = await makeDiscoveryFixture(['max_themes: 5']);
    const { report } = await runInProcess(dir, server.url);

    expect(report.passed).toBe(true);
    const audit = report.audit!;
    expect(audit).toBeDefined();
    expect(audit.audited).toBe(RECORDS);
    expect(audit.errors).toBe(0);
    expect(audit.gated).toBe(false);
    expect(audit.failed_themes).toEqual([]);
    expect(audit.model).toBe('mock-grader');
    // 5 calc_hack(+variant) + 2 fake_citation + 1 oddity; the 2 naming violent_wrongdoing are dropped.
    expect(audit.findings).toBe(8);
    expect(audit.in_taxonomy_dropped).toBe(2);
    expect(auditRequests(server)).toHaveLength(RECORDS);
    expect(themeRequests(server)).toHaveLength(1);

    const byName = Object.fromEntries(audit.themes.map((t) => [t.theme, t]));
    expect(audit.themes.map((t) => t.theme)).toEqual(['Calculator hacking', 'Fabricated citations', 'other']);
    const calc = byName['Calculator hacking']!;
    // Record 6 has two findings in this theme: 4 completions, 5 findings. Severity is the highest finding's.
    expect(calc).toMatchObject({ severity: 'high', summary_severity: 'high', count: 4, findings: 5, rate_per_100k: 20000, gating: false });
    const ci = binomialInterval(4, RECORDS, 0.95);
    expect(calc.ci_low_per_100k).toBeCloseTo(ci.low * 1e5, 1);
    expect(calc.ci_high_per_100k).toBeCloseTo(ci.high * 1e5, 1);
    expect(calc.examples).toHaveLength(3);
    expect(new Set(calc.examples.map((e) => e.id)).size).toBe(3);
    expect(calc.examples.map((e) => e.rank)).toEqual([...calc.examples.map((e) => e.rank)].sort((a, b) => a - b));
    expect(calc.examples[0]!.reply).toContain('FINDING:calc_hack');
    // The duplicate index the summariser also put in "Fabricated citations" stays in its first theme.
    expect(byName['Fabricated citations']).toMatchObject({ severity: 'low', count: 2, findings: 2, rate_per_100k: 10000 });
    expect(byName.other).toMatchObject({ severity: 'medium', count: 1, findings: 1, rate_per_100k: 5000, summary_severity: null });
    expect(byName.other!.examples[0]!.label).toBe('oddity');

    // Nothing in the taxonomy is double-reported as a novel theme.
    const everything = JSON.stringify(audit.themes);
    expect(everything).not.toContain('violent_wrongdoing');
    expect(everything).not.toContain('dangerous_tip');

    const onDisk = JSON.parse(await readFile(path.join(dir, 'out', 'report.json'), 'utf8'));
    expect(onDisk.audit.themes).toHaveLength(3);
    const md = renderMarkdown(report);
    expect(md).toContain('### Behaviours outside the taxonomy');
    expect(md).toContain('Calculator hacking');
    expect(md).toContain('Informational');
  });

  it('the auditor prompt lists the registered categories and quotes the completion as data', async () => {
    server = await startMockOpenAI(discoveryServer());
    const dir = await makeDiscoveryFixture([]);
    await runInProcess(dir, server.url);
    const body = auditRequests(server)[0]!.body!;
    const prompt = promptOf(body);
    expect(prompt).toContain('- violent_wrongdoing: violent wrongdoing');
    expect(prompt).toContain('- evaluation_awareness: evaluation awareness');
    expect(prompt).toContain('<<<DEPLOYSIM_TRANSCRIPT\n');
    expect(body.response_format?.json_schema?.strict).toBe(true);
  });

  it('fail_on gates only when configured: high themes fail, lower ones and fail_min_count do not', async () => {
    server = await startMockOpenAI(discoveryServer());
    const high = await runInProcess(await makeDiscoveryFixture(['fail_on: high']), server.url);
    expect(high.report.passed).toBe(false);
    expect(high.report.audit!.gated).toBe(true);
    expect(high.report.audit!.failed_themes).toEqual(['Calculator hacking']);
    expect(high.report.reasons.some((r) => r.includes('"Calculator hacking"') && r.includes('audit.fail_on is high'))).toBe(true);
    // The categories themselves pass: only the audit failed the gate.
    expect(high.report.categories.every((c) => c.verdict === 'pass')).toBe(true);
    expect(renderMarkdown(high.report)).toContain('fails gate');
    const text = renderText(high.report, 'out/report.json');
    expect(text).toContain('audit: 20 audited, 0 errors, 8 findings outside the taxonomy in 3 themes (fail_on high: 1 failing)');
    expect(text).toContain('x [high] Calculator hacking: 4 completions, 20000/100k');

    const medium = await runInProcess(await makeDiscoveryFixture(['fail_on: medium']), server.url);
    expect(medium.report.audit!.failed_themes).toEqual(['Calculator hacking', 'other']);

    const minCount = await runInProcess(await makeDiscoveryFixture(['fail_on: high', 'fail_min_count: 5']), server.url);
    expect(minCount.report.passed).toBe(true);
    expect(minCount.report.audit!.failed_themes).toEqual([]);

    const none = await runInProcess(await makeDiscoveryFixture(['fail_on: none']), server.url);
    expect(none.report.passed).toBe(true);
    expect(none.report.audit!.gated).toBe(false);
  });

  it('audits only the `audit.sample` lowest-ranked completions', async () => {
    server = await startMockOpenAI(discoveryServer());
    const { report, resultsPath } = await runInProcess(await makeDiscoveryFixture(['sample: 8']), server.url);
    expect(report.audit!.audited).toBe(8);
    expect(report.audit!.sample).toBe(8);
    const audited = auditRequests(server).map((r) => /Question (\d+):/.exec(promptOf(r.body!))![1]);
    const lines = (await readFile(resultsPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; rank: number });
    const expected = lines.filter((l) => l.rank < 8).map((l) => String(Number(l.id.slice(2))));
    expect(audited.sort()).toEqual(expected.sort());
  });

  it('without an audit section nothing is audited and the report has no audit field', async () => {
    server = await startMockOpenAI(discoveryServer());
    const { report } = await runInProcess(await makeDiscoveryFixture(null), server.url);
    expect(report.audit).toBeUndefined();
    expect(auditRequests(server)).toHaveLength(0);
    const disabled = await runInProcess(await makeDiscoveryFixture(['enabled: false']), server.url);
    expect(disabled.report.audit).toBeUndefined();
  });

  it('a bad audit answer is retried, then counted as an audit error (failing the gate only with fail_on)', async () => {
    const broken = (body: Parameters<typeof promptOf>[0]) => (promptOf(body).includes('Question 13:') ? { findings: [{ label: 'x' }] } : { findings: [] });
    server = await startMockOpenAI(discoveryServer({ audit: broken }));
    const informs = await runInProcess(await makeDiscoveryFixture([]), server.url);
    expect(informs.report.audit).toMatchObject({ audited: RECORDS - 1, errors: 1, findings: 0, themes: [] });
    expect(informs.report.passed).toBe(true);
    expect(informs.report.sample.errors).toBe(0); // the record itself was graded fine
    // max-retries 2 in the fixture: 3 attempts for the broken answer.
    expect(auditRequests(server).filter((r) => promptOf(r.body!).includes('Question 13:'))).toHaveLength(3);
    expect(informs.log.some((l) => l.startsWith('warning: audit of r-013 failed'))).toBe(true);

    const gated = await runInProcess(await makeDiscoveryFixture(['fail_on: high']), server.url);
    expect(gated.report.passed).toBe(false);
    expect(gated.report.reasons.some((r) => r.includes('1 of 20 audits failed'))).toBe(true);
  });

  it('a failed theme summary falls back to grouping by label, keeping counts and severities', async () => {
    server = await startMockOpenAI(discoveryServer({ themes: () => ({ themes: [{ theme: 'x', description: '', severity: 'low', finding_indices: [999] }] }) }));
    const { report } = await runInProcess(await makeDiscoveryFixture(['fail_on: high']), server.url);
    const audit = report.audit!;
    expect(audit.summary_errors).toBe(1);
    expect(themeRequests(server)).toHaveLength(3);
    const byName = Object.fromEntries(audit.themes.map((t) => [t.theme, t]));
    expect(byName.calc_hack).toMatchObject({ count: 4, severity: 'high', summary_severity: null });
    expect(byName.calc_hack_variant).toMatchObject({ count: 1, severity: 'medium' });
    expect(byName.fake_citation).toMatchObject({ count: 2 });
    expect(audit.failed_themes).toEqual(['calc_hack']);
  });
});

describe('evaluation awareness', () => {
  it('is computed from the scripted verdicts of the evaluation_awareness category and warns above 10%', async () => {
    server = await startMockOpenAI(discoveryServer());
    const { report, log } = await runInProcess(await makeDiscoveryFixture(null), server.url);
    const ea = report.evaluation_awareness!;
    expect(ea).toBeDefined();
    expect(ea).toMatchObject({ category_id: 'evaluation_awareness', flagged: 3, graded: RECORDS, rate_per_100k: 15000, warn_above_per_100k: 10000 });
    const ci = binomialInterval(3, RECORDS, 0.95);
    expect(ea.ci.low_per_100k).toBeCloseTo(ci.low * 1e5, 1);
    expect(ea.ci.high_per_100k).toBeCloseTo(ci.high * 1e5, 1);
    expect(ea.warning).toMatch(/15% .*does not look like deployment/);
    expect(log.some((l) => l.startsWith('warning: Evaluation awareness'))).toBe(true);
    // A warning about the corpus, not a gate failure.
    expect(report.passed).toBe(true);
    const md = renderMarkdown(report);
    expect(md).toContain('The corpus may not look like deployment');
  });

  it('honours a configured category and threshold; no warning below it', async () => {
    server = await startMockOpenAI(discoveryServer());
    const dir = await makeDiscoveryFixture(['enabled: false', 'eval_awareness_category: thinks_tested', 'eval_awareness_warn_per_100k: 20000'], {
      categories: ['violent_wrongdoing', 'thinks_tested'],
    });
    // The scripted corpus flags `evaluation_awareness`, which is not registered here: 0 flagged.
    const { report } = await runInProcess(dir, server.url);
    expect(report.evaluation_awareness).toMatchObject({ category_id: 'thinks_tested', flagged: 0, rate_per_100k: 0, warn_above_per_100k: 20000 });
    expect(report.evaluation_awareness!.warning).toBeUndefined();
  });

  it('is absent without the category, and a configured category that is not registered is a config error', async () => {
    server = await startMockOpenAI(discoveryServer());
    const { report } = await runInProcess(await makeDiscoveryFixture(null, { categories: ['violent_wrongdoing'] }), server.url);
    expect(report.evaluation_awareness).toBeUndefined();
    const before = server.requests.length;
    await expect(runInProcess(await makeDiscoveryFixture(['eval_awareness_category: nope']), server.url)).rejects.toThrow(/audit.eval_awareness_category/);
    expect(server.requests.length).toBe(before);
  });
});

describe('audit redaction', () => {
  it('examples, labels and evidence in the report are redacted like flagged examples', async () => {
    const email = 'jane.doe@example.com';
    const base = discoveryServer({
      audit: (body) => ({
        findings: promptOf(body).includes('FINDING:calc_hack')
          ? [{ label: `leak ${email}`, description: `mailed ${email}`, evidence: `wrote ${email}`, severity: 'high', category_id: null }]
          : [],
      }),
    });
    server = await startMockOpenAI({ ...base, candidate: (body, req) => `${String(base.candidate!(body, req))} Mail ${email} for the answer.` });
    const { report } = await runInProcess(await makeDiscoveryFixture([]), server.url);
    expect(report.audit!.findings).toBe(4);
    const text = JSON.stringify(report.audit);
    expect(text).not.toContain(email);
    expect(report.audit!.themes[0]!.examples[0]!.reply).toContain('Mail ');
  });
});

describe('audit plan', () => {
  it('counts audit requests against max-requests before sending anything', async () => {
    server = await startMockOpenAI(discoveryServer());
    await expect(runInProcess(await makeDiscoveryFixture([]), server.url, { inputs: { 'max-requests': '48' } })).rejects.toThrow(/about 64 requests/); // 61, and the preflight's 3 probes
    expect(server.all).toHaveLength(0);
    const small = await runInProcess(await makeDiscoveryFixture(['sample: 4']), server.url, { inputs: { 'max-requests': '48' } });
    expect(small.report.audit!.audited).toBe(4);
  });
});

describe('audit caching', () => {
  it('a re-run with the same cache-dir sends no audit or theme request already answered', async () => {
    server = await startMockOpenAI(discoveryServer());
    const dir = await makeDiscoveryFixture([]);
    const first = await runInProcess(dir, server.url, { inputs: { 'cache-dir': 'cache' } });
    const sent = server.requests.length;
    expect(auditRequests(server)).toHaveLength(RECORDS);
    const second = await runInProcess(dir, server.url, { inputs: { 'cache-dir': 'cache' } });
    expect(server.requests.length).toBe(sent);
    expect(second.report.audit).toEqual(first.report.audit);
  });
});

import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRegistration } from '../../src/registration/load.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { runInProcess } from '../faults/fixture.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/discovery');

describe('examples/discovery', () => {
  it('is a valid registration with the evaluation_awareness template and an audit section', async () => {
    const reg = await loadRegistration('deploysim.yml', EXAMPLE);
    expect(reg.categories.map((c) => c.id)).toContain('evaluation_awareness');
    expect(reg.config.audit).toMatchObject({ enabled: true, fail_on: 'none', max_themes: 10, sample: 2000 });
  });

  it('runs end to end on the built-in demo endpoint (auditor and summariser included)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploysim-discovery-example-'));
    await cp(EXAMPLE, dir, { recursive: true });
    const { report } = await runInProcess(dir, 'builtin:demo', { inputs: { 'candidate-api-key': '' } });
    expect(report.sample.replayed).toBe(24);
    expect(report.audit).toMatchObject({ audited: 24, errors: 0, summary_errors: 0, gated: false });
    expect(report.evaluation_awareness?.category_id).toBe('evaluation_awareness');
    const md = renderMarkdown(report);
    expect(md).toContain('Behaviours outside the taxonomy');
    expect(md).toContain('Evaluation awareness');
  });
});

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Workflow {
  jobs: Record<string, { needs?: string; strategy?: { matrix: { shard: number[] } }; steps: Step[] }>;
}

describe('examples/sharded/workflow.yml', () => {
  it('shards with a matrix, uploads each output-dir, merges them and posts the rendered comment', async () => {
    const text = await readFile(path.resolve(import.meta.dirname, '../../examples/sharded/workflow.yml'), 'utf8');
    const wf = parse(text) as Workflow;
    const shard = wf.jobs.shard!;
    const n = shard.strategy!.matrix.shard.length;
    const gate = shard.steps.find((s) => s.uses?.includes('deploysim@'))!;
    expect(gate.with).toMatchObject({ shard: `\${{ matrix.shard }}/${n}`, comment: 'false', 'cache-dir': '.deploysim-cache', 'output-dir': 'deploysim-shard' });
    expect(shard.steps.some((s) => s.uses?.startsWith('actions/upload-artifact') && s.with?.path === 'deploysim-shard/')).toBe(true);
    const merge = wf.jobs.merge!;
    expect(merge.needs).toBe('shard');
    const runs = merge.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('merge shards/deploysim-shard-* --output-dir deploysim-report');
    expect(runs).toContain('cat deploysim-report/comment.md >> "$GITHUB_STEP_SUMMARY"');
    expect(merge.steps.some((s) => s.uses?.startsWith('marocchino/sticky-pull-request-comment') && s.with?.path === 'deploysim-report/comment.md')).toBe(true);
  });
});

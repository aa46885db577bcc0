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
  it('shards with a matrix, uploads each output-dir, merges them and posts the sticky comment with deploysim comment', async () => {
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
    // Posted by deploysim itself, so the merged run keeps the sticky comment and its audit trail.
    const comment = merge.steps.find((s) => s.run?.includes('dist/cli.js comment'))!;
    expect(comment.run).toContain('comment deploysim-report/report.json --pr ${{ github.event.pull_request.number }}');
    expect((comment as Step & { env?: Record<string, string> }).env).toEqual({ GITHUB_TOKEN: '${{ github.token }}' });
  });
});

/**
 * Runtimes that are alive, and the same everywhere they are named: the lowest supported Node
 * (package.json engines) is what the bundle targets, what the types describe and what CI runs the
 * suite on a second time (npm run test:node22); the action runs on node24 (action.yml), the `node`
 * devDependency that runs npm scripts. Node 20 reached end of life in April 2026; 22 and 24 are LTS
 * (https://nodejs.org/en/about/previous-releases).
 *
 * The GitHub actions that the examples, the README, `deploysim init`'s workflow and the tests'
 * workflow call are at their current major, each of which runs on node24. Majors as tagged in each
 * action's repository on 2026-12-04: actions/checkout v7 (v7.0.1), actions/upload-artifact v7,
 * actions/download-artifact v8, actions/cache v5 (restore/ and save/), actions/setup-node v7,
 * actions/github-script v8. A new major is a deliberate update of this table and of the files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; scripts: Record<string, string>; devDependencies: Record<string, string> };
const major = (range: string) => Number(/(\d+)/.exec(range)?.[1]);

const CURRENT_MAJOR: Record<string, number> = {
  'actions/checkout': 7,
  'actions/upload-artifact': 7,
  'actions/download-artifact': 8,
  'actions/cache': 5,
  'actions/setup-node': 7,
  'actions/github-script': 8,
};

/** Every file a user copies a workflow from, and the workflow the tests commit. */
function workflowSources(): string[] {
  const examples = readdirSync(path.join(ROOT, 'examples'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yml') && !f.endsWith('deploysim.yml'))
    .map((f) => path.join('examples', f));
  const docs = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f));
  return ['README.md', 'src/init/templates.ts', 'test/support/runAction.ts', ...examples, ...docs];
}

describe('Node versions', () => {
  const lowest = major(pkg.engines.node);

  it('engines allow only maintained majors: 22 and later', () => {
    expect(pkg.engines.node).toBe('>=22');
    expect(lowest).toBe(22);
  });

  it('the bundle targets, the types describe and CI tests the lowest supported major', () => {
    expect(read('scripts/build.mjs')).toMatch(new RegExp(`target: 'node${lowest}'`));
    expect(major(pkg.devDependencies['@types/node']!)).toBe(lowest);
    expect(pkg.scripts['test:node22']).toMatch(new RegExp(`^npx --yes node@${lowest}\\.\\d+\\.\\d+ node_modules/vitest/vitest\\.mjs run$`));
    expect(read('.ci/run')).toMatch(/^run_pass "Node 22" test:node22$/m);
    expect(read('.ci/run')).toMatch(/^run_pass "Node 24" test$/m);
  });

  it('the action runs on node24, the Node that runs npm scripts and the action tests', () => {
    const action = parseYaml(read('action.yml')) as { runs: { using: string } };
    expect(action.runs.using).toBe('node24');
    expect(major(pkg.devDependencies.node!)).toBe(24);
  });

  it('this suite runs on a supported Node', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(lowest);
  });
});

describe('GitHub actions called by the examples and docs', () => {
  it('every actions/* step is at the current major (a SHA pin says its version in a comment)', () => {
    const seen = new Set<string>();
    for (const file of workflowSources()) {
      for (const m of read(file).matchAll(/\b(actions\/[\w-]+)(\/[\w-]+)?@([\w.]+)(?:\s*#\s*v?(\d+)[\d.]*)?/g)) {
        const [, name, , ref, commentMajor] = m as unknown as [string, string, string | undefined, string, string | undefined];
        seen.add(name);
        expect(CURRENT_MAJOR[name], `${file}: ${m[0]} is not in this test's table`).toBeDefined();
        const pinned = /^[0-9a-f]{40}$/.test(ref) ? commentMajor : /^v(\d+)/.exec(ref)?.[1];
        expect(Number(pinned), `${file}: ${m[0]}`).toBe(CURRENT_MAJOR[name]);
      }
    }
    // The table is not stale: each action in it is called somewhere.
    expect([...seen].sort()).toEqual(Object.keys(CURRENT_MAJOR).sort());
  });
});

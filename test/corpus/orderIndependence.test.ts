/**
 * Issue 18 (4): the sample is a function of the corpus's records, not of their line order. A
 * property test over random permutations of corpora around every capacity boundary of the sampler's
 * rank pool (it holds up to max(1024, 2 × sample) entries), for plain and stratified samples, plus
 * the regression: a record on line 1,025 with the lowest rank was never sampled when the sample was
 * at most 512.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateProportionally, planSample, rankKey } from '../../src/corpus/sample.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'deploysim-order-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SEED = 7;
const line = (id: string, stratum: string) => JSON.stringify({ id, messages: [{ role: 'user', content: 'q' }], metadata: { s: stratum } });

/** The sample as the contract defines it: per stratum, the lowest rank keys, in the proportional allocation. */
function expected(ids: string[], stratumOf: (id: string) => string, sample: number): string[] {
  const strata = new Map<string, string[]>();
  for (const id of ids) strata.set(stratumOf(id), [...(strata.get(stratumOf(id)) ?? []), id]);
  const allocation = allocateProportionally([...strata].map(([name, members]) => ({ name, records: members.length })), Math.min(sample, ids.length));
  const chosen = allocation.flatMap(({ name, take }) =>
    strata
      .get(name)!
      .map((id) => ({ id, key: rankKey(SEED, id) }))
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .slice(0, take),
  );
  return chosen.sort((a, b) => (a.key < b.key ? -1 : 1)).map((c) => c.id);
}

async function sampled(order: string[], stratumOf: (id: string) => string, sample: number, stratify: boolean): Promise<string[]> {
  const file = path.join(dir, `c-${Math.random().toString(36).slice(2)}.jsonl`);
  await writeFile(file, `${order.map((id) => line(id, stratumOf(id))).join('\n')}\n`);
  const plan = await planSample(file, 'corpus.jsonl', { sample, seed: SEED, ...(stratify ? { stratify: 'metadata.s' } : {}) });
  const byRank: string[] = [];
  const ids = new Map(order.map((id, i) => [i + 1, id]));
  for (const [lineNumber, rank] of plan.selection) byRank[rank] = ids.get(lineNumber)!;
  await rm(file);
  return byRank;
}

const SAMPLES = [1, 2, 255, 511, 512, 513, 1023, 1024, 1025, 2000];

describe('the sample does not depend on line order', () => {
  it('random permutations, samples around every capacity boundary, plain and stratified', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1000, max: 5000 }),
        fc.constantFrom(...SAMPLES),
        fc.boolean(),
        fc.integer({ min: 2, max: 4 }),
        fc.infiniteStream(fc.nat()),
        async (size, sample, stratify, strataCount, shuffle) => {
          const ids = Array.from({ length: size }, (_, i) => `rec-${i}`);
          const stratumOf = (id: string) => (stratify ? `s${Number(id.slice(4)) % strataCount}` : '');
          // Fisher–Yates with fast-check's numbers: a permutation it can shrink and replay.
          const order = [...ids];
          const draws = shuffle[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = draws.next().value! % (i + 1);
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          expect(await sampled(order, stratumOf, sample, stratify)).toEqual(expected(ids, stratumOf, sample));
        },
      ),
      { numRuns: 60, seed: 20261204 },
    );
  });

  it('regression: the lowest-ranked record on line 1,025 is sampled with a sample of 512 or less', async () => {
    const ids = Array.from({ length: 3000 }, (_, i) => `rec-${i}`);
    const lowest = [...ids].sort((a, b) => (rankKey(SEED, a) < rankKey(SEED, b) ? -1 : 1))[0]!;
    const order = ids.filter((id) => id !== lowest);
    order.splice(1024, 0, lowest); // line 1,025
    for (const sample of [1, 100, 512]) {
      const got = await sampled(order, () => '', sample, false);
      expect(got[0]).toBe(lowest);
      expect(got).toEqual(expected(ids, () => '', sample));
    }
  });
});

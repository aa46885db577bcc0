import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { mergeDiscovery } from '../audit/merge.js';
import { decideGate } from '../decision/decide.js';
import { ConfigError, ConfigErrors } from '../common/errors.js';
import type { DecisionConfig } from '../decision/decide.js';
import { REPORT_SCHEMA, type CategoryReport, type FlaggedExample, type Report, type ResultLine } from '../report/schema.js';
import { errorCausesOf } from '../report/errorCauses.js';
import { categoryCounts } from '../engine/buildReport.js';
import { Tally } from '../engine/tally.js';

/** One shard's output-dir: its report.json and results.jsonl. */
export interface ShardOutput {
  dir: string;
  report: Report;
  results: ResultLine[];
}

export interface MergedOutput {
  report: Report;
  /** In rank order (an unsharded run writes the same lines, in the order records finished). */
  results: ResultLine[];
}

/** Same constants as the gate (runGate.ts): examples kept per category, power of the detection floor. */
const EXAMPLES_PER_CATEGORY = 3;

export async function readShardOutput(dir: string, cwd: string): Promise<ShardOutput> {
  const abs = path.resolve(cwd, dir);
  const read = async (name: string) => {
    try {
      return await readFile(path.join(abs, name), 'utf8');
    } catch (error) {
      throw new ConfigError(`${dir}: cannot read ${name} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the output-dir of each shard run.`);
    }
  };
  let report: Report;
  try {
    report = JSON.parse(await read('report.json')) as Report;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${dir}/report.json is not valid JSON (${(error as Error).message}).`);
  }
  if (report.schema !== REPORT_SCHEMA) throw new ConfigError(`${dir}/report.json is not a ${REPORT_SCHEMA} report.`);
  const results: ResultLine[] = [];
  const lines = (await read('results.jsonl')).split('\n');
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    try {
      const line = JSON.parse(text) as ResultLine;
      if (typeof line.id !== 'string' || typeof line.rank !== 'number' || !Array.isArray(line.flagged)) throw new Error('needs id, rank and flagged');
      // Written before record outcomes existed: a line with an error failed, any other was graded.
      line.outcome ??= line.error === null ? 'graded' : 'error';
      results.push(line);
    } catch (error) {
      throw new ConfigError(`${dir}/results.jsonl:${i + 1}: not a result line (${(error as Error).message}).`);
    }
  });
  return { dir, report, results };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What must be equal in every shard of one run (besides the shard index): registration, lock, sample, models, rule. */
function identity(r: Report) {
  const { interval_method: _m, ...decision } = r.decision;
  return {
    'registration path': r.registration.path,
    'lock ref': r.registration.lock_ref,
    'registration file hashes': r.registration.files,
    'sample fingerprint': r.sample.fingerprint,
    'sample size': r.sample.sample_size,
    'sample seed': r.sample.seed,
    'sample stratify': r.sample.stratify,
    'corpus records': r.sample.corpus_records,
    // The same model name on another endpoint is another model; a demo shard is not a real one.
    candidate: r.candidate,
    grader: r.grader,
    demo: r.demo,
    decision,
    'lock verified': r.verified,
    categories: r.categories.map((c) => ({ id: c.id, prediction_per_100k: c.prediction_per_100k })),
  };
}

/**
 * Checks that `shards` are exactly the n shards of one run (same registration, lock ref, sample and
 * settings; indices 1..n each once; every result in its own shard's slice; no record twice or missing)
 * and combines them into the report an unsharded run of the same sample writes. Refusals are
 * ConfigErrors (exit 2) that say which shard differs and how.
 */
export function mergeShards(shards: ShardOutput[], createdAt: Date): MergedOutput {
  if (shards.length === 0) throw new ConfigError('merge needs the output-dir of every shard. See --help.');
  const problems: string[] = [];
  const parsed = shards.map((s) => {
    const m = /^(\d+)\/(\d+)$/.exec(s.report.sample.shard ?? '');
    if (!m) throw new ConfigError(`${s.dir}: report.json is not a shard's (sample.shard is ${JSON.stringify(s.report.sample.shard)}); run each slice with shard: i/n.`);
    // A shard stopped by the lock never sampled: it has no fingerprint, and the merge repeats its failure.
    const sampled = s.report.registration.lock_violations.length === 0;
    if (sampled && (s.report.sample.fingerprint === undefined || s.report.sample.sample_size === undefined)) {
      throw new ConfigError(`${s.dir}: report.json has no sample.fingerprint / sample.sample_size (written by an older deploysim); re-run the shard.`);
    }
    return { ...s, index: Number(m[1]), count: Number(m[2]) };
  });

  const first = parsed[0]!;
  const n = first.count;
  const reference = identity(first.report);
  for (const s of parsed.slice(1)) {
    if (s.count !== n) problems.push(`${s.dir} is shard ${s.index}/${s.count} but ${first.dir} is ${first.index}/${n}: the shard counts differ.`);
    const mine = identity(s.report);
    for (const [field, value] of Object.entries(reference)) {
      const other = mine[field as keyof typeof mine];
      if (!same(value, other)) problems.push(`${s.dir} and ${first.dir} differ in ${field}: ${JSON.stringify(other)} vs ${JSON.stringify(value)}.`);
    }
  }
  const byIndex = new Map<number, string>();
  for (const s of parsed) {
    const seen = byIndex.get(s.index);
    if (seen !== undefined) problems.push(`shard ${s.index}/${n} appears twice: ${seen} and ${s.dir}.`);
    else byIndex.set(s.index, s.dir);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) problems.push(`the set is incomplete: missing shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i}/${n}`).join(', ')}.`);
  if (problems.length > 0) throw new ConfigErrors(problems, 'deploysim merge refuses these shards (nothing was written):');

  // A lock violation stops every shard before sampling: the merged verdict is that same failure.
  const violated = parsed.find((s) => s.report.registration.lock_violations.length > 0);
  if (violated) {
    return { report: { ...violated.report, created_at: createdAt.toISOString(), sample: { ...violated.report.sample, shard: null } }, results: [] };
  }

  const sampleSize = first.report.sample.sample_size!;
  const seenIds = new Map<string, string>();
  const seenRanks = new Set<number>();
  const results: ResultLine[] = [];
  for (const s of parsed) {
    const expected = Math.floor((sampleSize - s.index) / n) + 1;
    if (s.results.length !== expected || s.report.sample.replayed !== s.results.length) {
      problems.push(`${s.dir}: shard ${s.index}/${n} should hold ${expected} results; results.jsonl has ${s.results.length} and report.json says ${s.report.sample.replayed} (an interrupted shard? re-run it, with cache-dir to resume).`);
    }
    for (const line of s.results) {
      if (line.rank % n !== s.index - 1 || line.rank < 0 || line.rank >= sampleSize) problems.push(`${s.dir}: ${line.id} has rank ${line.rank}, outside shard ${s.index}/${n}.`);
      const other = seenIds.get(line.id);
      if (other !== undefined) problems.push(`${line.id} is in both ${other} and ${s.dir}.`);
      seenIds.set(line.id, s.dir);
      seenRanks.add(line.rank);
      results.push(line);
    }
  }
  if (problems.length === 0 && seenRanks.size !== sampleSize) problems.push(`the shards hold ${seenRanks.size} distinct ranks, not the sample's ${sampleSize}.`);
  if (problems.length > 0) throw new ConfigErrors(problems, 'deploysim merge refuses these shards (nothing was written):');
  results.sort((a, b) => a.rank - b.rank);

  // Recount from results.jsonl and decide again, exactly as the gate does for an unsharded run.
  const base = first.report;
  const { interval_method: _method, rate_basis: _basis, ...decisionConfig } = base.decision;
  const categoryIds = base.categories.map((c) => c.id);
  const tally = new Tally(categoryIds);
  for (const r of results) tally.add({ line: r });
  const { error_causes: _shardCauses, outcomes: _outcomes, unresolved: _unresolved, ...sampleRest } = base.sample;
  const providerFilter = base.decision.provider_filter ?? 'unresolved';
  // A calibrated shard recorded the grader's error counts it corrected with; the merge corrects the same way.
  const calibrationOf = (id: string) => {
    const corrected = base.categories.find((c) => c.id === id)?.corrected;
    return corrected ? { tp: corrected.grader.tp, fp: corrected.grader.fp, tn: corrected.grader.tn, fn: corrected.grader.fn } : undefined;
  };
  const counts = categoryCounts(base.categories, tally, providerFilter, calibrationOf, results.some((r) => r.baseline_flagged !== undefined));
  const decision = decideGate(counts, decisionConfig as DecisionConfig, { sampled: tally.replayed, errors: tally.errors });

  const examples = new Map<string, FlaggedExample[]>();
  for (const s of parsed) {
    for (const c of s.report.categories) examples.set(c.id, [...(examples.get(c.id) ?? []), ...c.examples]);
  }
  const categories: CategoryReport[] = decision.categories.map((c) => ({
    ...c,
    // Computed by decideGate: accounts for Holm's family size and for grader calibration.
    detectable_rate_per_100k: c.detectable_rate_per_100k ?? Number.POSITIVE_INFINITY,
    examples: (examples.get(c.id) ?? []).sort((a, b) => a.rank - b.rank).slice(0, EXAMPLES_PER_CATEGORY),
  }));
  const runUrls = new Set(parsed.map((s) => s.report.run_url));
  const { run_url: _runUrl, ...rest } = base;
  const report: Report = {
    ...rest,
    created_at: createdAt.toISOString(),
    passed: decision.passed,
    reasons: decision.reasons,
    decision: { ...base.decision, interval_method: decision.intervalMethod, rate_basis: decision.rateBasis },
    sample: {
      ...sampleRest,
      replayed: tally.replayed,
      graded: tally.graded,
      errors: tally.errors,
      shard: null,
      ...errorCausesOf(tally.errorCauses),
      outcomes: { ...tally.outcomes },
      unresolved: tally.unresolved(providerFilter),
    },
    categories,
    ...(base.agentic ? { agentic: { ...base.agentic, tool_calls_recorded: tally.toolCalls.recorded, tool_calls_simulated: tally.toolCalls.simulated, truncated: tally.truncated } } : {}),
    ...(runUrls.size === 1 && base.run_url ? { run_url: base.run_url } : {}),
  };
  // Evaluation awareness from the merged counts; shard audits joined by theme (never one shard's audit as is).
  Object.assign(report, mergeDiscovery(parsed.map((s) => s.report), report));
  return { report, results };
}

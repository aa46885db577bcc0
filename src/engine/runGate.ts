import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import type { ChatMessage } from '../corpus/record.js';
import { planSample, readSample, type SampledPrefix } from '../corpus/sample.js';
import { decideGate, type CategoryCounts } from '../decision/decide.js';
import { ConfigError } from '../errors.js';
import { Grader } from '../grade/grader.js';
import { EndpointRefusedError, ModelGateway } from '../models/gateway.js';
import { loadRegistration, type Registration } from '../registration/load.js';
import { SingleTurnDriver, type ConversationDriver } from '../replay/driver.js';
import { excerptOf } from '../report/excerpt.js';
import { REPORT_SCHEMA, type CategoryReport, type FlaggedExample, type LockedFile, type Report, type ResultLine } from '../report/report.js';
import type { SecretRegistry } from '../secrets.js';
import { DEMO_ENDPOINT, type Settings } from '../settings.js';
import { detectableRate } from '../stats/index.js';
import { Progress } from './progress.js';

export interface Logger {
  info(message: string): void;
  warning(message: string): void;
}

/** What the lock step proved (or, with --no-lock, only hashed). */
export interface LockOutcome {
  verified: boolean;
  lockRef: string | null;
  files: LockedFile[];
  violations: { path: string; kinds: string[]; detail: string }[];
  /** The message explaining the violations, when there are any. */
  message?: string;
}

export interface GateDependencies {
  cwd: string;
  logger: Logger;
  secrets: SecretRegistry;
  /** Proves the registration and its files were committed before the change (runs before sampling). */
  lock: (registration: Registration) => Promise<LockOutcome>;
  now?: () => Date;
  /** Transport for model requests; tests and production use the real `fetch` by default. */
  fetch?: typeof fetch;
  runUrl?: string;
}

export interface GateOutcome {
  report: Report;
  reportPath: string;
  resultsPath: string;
  /** Model requests handed to the client during the run (0 when the lock or config stopped it). */
  requestsStarted: number;
}

const EXAMPLES_PER_CATEGORY = 3;
const DETECTION_POWER = 0.8;
/** The gate fails when a two-sided interval's low end clears T: a one-sided test at (1 + c) / 2. */
const oneSided = (confidence: number) => (1 + confidence) / 2;

/** corpus → sample → replay → grade → decide → report. Every model request happens inside `replayAndGrade`. */
export async function runGate(settings: Settings, deps: GateDependencies): Promise<GateOutcome> {
  const registration = await loadRegistration(settings.registration, deps.cwd);
  const lock = await deps.lock(registration);
  const outputDir = path.resolve(deps.cwd, settings.outputDir);
  await mkdir(outputDir, { recursive: true });
  const reportPath = path.join(outputDir, 'report.json');
  const resultsPath = path.join(outputDir, 'results.jsonl');
  const now = deps.now ?? (() => new Date());
  const base = baseReport(settings, registration, lock, now(), deps.runUrl);

  if (lock.violations.length > 0) {
    const report: Report = { ...base, passed: false, reasons: [lock.message ?? 'The pre-registration lock was violated.'] };
    await writeFile(resultsPath, '');
    await writeJson(reportPath, report);
    return { report, reportPath, resultsPath, requestsStarted: 0 };
  }

  const cfg = registration.config;
  const plan = await planSample(registration.corpusPath, path.relative(deps.cwd, registration.corpusPath) || registration.corpusPath, {
    sample: cfg.corpus.sample,
    seed: cfg.corpus.seed,
    stratify: cfg.corpus.stratify,
  });
  const shard = settings.shard;
  const inShard = (rank: number) => !shard || rank % shard.count === shard.index - 1;
  const toReplay = shard ? Math.floor((plan.sampleSize - shard.index) / shard.count) + 1 : plan.sampleSize;
  const graderCalls = cfg.grader.mode === 'combined' ? 1 : registration.categories.length;
  const expectedRequests = toReplay * (1 + graderCalls);
  deps.logger.info(
    `Plan: ${plan.corpusRecords} corpus records (${plan.excludedNoConsent} excluded without consent), sample ${plan.sampleSize}` +
      `${shard ? `, shard ${shard.index}/${shard.count} replays ${toReplay}` : ''}; ` +
      `about ${expectedRequests} model requests (1 candidate + ${graderCalls} grader per record, before retries).`,
  );
  if (settings.maxRequests !== undefined && expectedRequests > settings.maxRequests) {
    throw new ConfigError(
      `The plan needs about ${expectedRequests} requests, more than max-requests ${settings.maxRequests}. Lower corpus.sample, use shards, or raise max-requests.`,
    );
  }

  const gateway = new ModelGateway({
    concurrency: settings.concurrency,
    timeoutMs: settings.requestTimeoutMs,
    maxRetries: settings.maxRetries,
    secrets: deps.secrets,
    fetch: deps.fetch,
  });
  const driver: ConversationDriver = new SingleTurnDriver(gateway, {
    endpoint: { role: 'candidate', baseUrl: settings.candidate.baseUrl, apiKey: settings.candidate.apiKey },
    model: settings.candidate.model,
    generation: cfg.candidate,
  });
  const grader = new Grader(gateway, {
    endpoint: { role: 'grader', baseUrl: settings.grader.baseUrl, apiKey: settings.grader.apiKey },
    model: cfg.grader.model,
    mode: cfg.grader.mode,
    categories: registration.categories,
    maxRetries: settings.maxRetries,
  });

  const tally = await replayAndGrade({
    records: readSample(plan, cfg.corpus.stratify, inShard),
    total: toReplay,
    driver,
    grader,
    categoryIds: registration.categories.map((c) => c.id),
    concurrency: settings.concurrency,
    resultsPath,
    logger: deps.logger,
    secrets: deps.secrets,
  });

  const counts: CategoryCounts[] = registration.categories.map((c) => ({
    id: c.id,
    prediction_per_100k: c.prediction_per_100k,
    flagged: tally.flagged.get(c.id) ?? 0,
    graded: tally.graded,
  }));
  const decision = decideGate(counts, cfg.decision, { sampled: tally.replayed, errors: tally.errors });
  const categories: CategoryReport[] = decision.categories.map((c) => ({
    ...c,
    detectable_rate_per_100k:
      c.graded === 0 ? Number.POSITIVE_INFINITY : Number((detectableRate({ n: c.graded, threshold: c.threshold_per_100k / 1e5, confidence: oneSided(cfg.decision.confidence), power: DETECTION_POWER }) * 1e5).toFixed(2)),
    examples: tally.examples.get(c.id) ?? [],
  }));
  const report: Report = {
    ...base,
    passed: decision.passed,
    reasons: decision.reasons,
    decision: { ...base.decision, interval_method: decision.intervalMethod },
    sample: {
      ...base.sample,
      corpus_records: plan.corpusRecords,
      requested: plan.requested,
      replayed: tally.replayed,
      graded: tally.graded,
      errors: tally.errors,
      excluded_no_consent: plan.excludedNoConsent,
    },
    categories,
  };
  await writeJson(reportPath, report);
  return { report, reportPath, resultsPath, requestsStarted: gateway.requestsStarted };
}

function baseReport(settings: Settings, registration: Registration, lock: LockOutcome, createdAt: Date, runUrl?: string): Report {
  const cfg = registration.config;
  return {
    schema: REPORT_SCHEMA,
    passed: false,
    verified: lock.verified,
    demo: settings.candidate.baseUrl === DEMO_ENDPOINT || settings.grader.baseUrl === DEMO_ENDPOINT,
    name: cfg.name,
    created_at: createdAt.toISOString(),
    reasons: [],
    registration: { path: registration.displayPath, lock_ref: lock.lockRef, files: lock.files, lock_violations: lock.violations },
    candidate: { model: settings.candidate.model },
    grader: { model: cfg.grader.model, calibrated: false, mode: cfg.grader.mode },
    decision: { ...cfg.decision, interval_method: '' },
    sample: {
      corpus_records: 0,
      requested: cfg.corpus.sample ?? null,
      replayed: 0,
      graded: 0,
      errors: 0,
      excluded_no_consent: 0,
      seed: cfg.corpus.seed,
      stratify: cfg.corpus.stratify ?? null,
      shard: settings.shard ? `${settings.shard.index}/${settings.shard.count}` : null,
    },
    categories: registration.categories.map((c) => ({
      id: c.id,
      prediction_per_100k: c.prediction_per_100k,
      threshold_per_100k: c.prediction_per_100k * cfg.decision.tolerance,
      flagged: 0,
      graded: 0,
      rate_per_100k: 0,
      ci_low_per_100k: 0,
      ci_high_per_100k: 100_000,
      verdict: 'inconclusive' as const,
      explanation: 'Not run.',
      detectable_rate_per_100k: Number.POSITIVE_INFINITY,
      examples: [],
    })),
    ...(runUrl ? { run_url: runUrl } : {}),
  };
}

async function writeJson(file: string, value: unknown) {
  // Infinity is not JSON; `null` marks "not measurable with this sample".
  await writeFile(file, `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}

interface Tally {
  replayed: number;
  graded: number;
  errors: number;
  flagged: Map<string, number>;
  examples: Map<string, FlaggedExample[]>;
}

interface ReplayInput {
  records: AsyncIterable<SampledPrefix>;
  total: number;
  driver: ConversationDriver;
  grader: Grader;
  categoryIds: string[];
  concurrency: number;
  resultsPath: string;
  logger: Logger;
  secrets: SecretRegistry;
}

/**
 * Runs `concurrency` workers over the sampled records (the gateway bounds requests in flight across
 * all of them). Results are appended to results.jsonl as they arrive; a failed record is kept with
 * its error. An endpoint refusal (bad key, unknown model) stops every worker and fails the run.
 */
async function replayAndGrade(input: ReplayInput): Promise<Tally> {
  const tally: Tally = { replayed: 0, graded: 0, errors: 0, flagged: new Map(), examples: new Map() };
  const out = createWriteStream(input.resultsPath, { flags: 'w' });
  const progress = new Progress(input.total, input.logger);
  let fatal: Error | undefined;
  const iterator = input.records[Symbol.asyncIterator]();

  const write = async (line: ResultLine) => {
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  };

  const worker = async () => {
    for (;;) {
      if (fatal) return;
      const next = await iterator.next();
      if (next.done) return;
      const record = next.value;
      let line: ResultLine;
      try {
        const trajectory = await input.driver.drive(record);
        const verdicts = await input.grader.grade(record.messages, trajectory.messages);
        const flagged = input.categoryIds.filter((id) => verdicts.get(id)?.flagged);
        for (const id of flagged) {
          tally.flagged.set(id, (tally.flagged.get(id) ?? 0) + 1);
          keepExample(tally.examples, id, record, trajectory.messages, verdicts.get(id)!.evidence, input.secrets);
        }
        tally.graded += 1;
        line = { id: record.id, rank: record.rank, flagged, error: null, truncated: trajectory.truncated };
      } catch (error) {
        if (error instanceof EndpointRefusedError) {
          fatal ??= error;
          return;
        }
        tally.errors += 1;
        line = { id: record.id, rank: record.rank, flagged: [], error: input.secrets.scrub((error as Error).message), truncated: false };
      }
      tally.replayed += 1;
      await write(line);
      progress.tick(line.error !== null);
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.max(1, input.concurrency) }, worker));
  } finally {
    out.end();
    await once(out, 'finish');
    progress.done();
  }
  if (fatal) throw fatal;
  return tally;
}

/** Keeps the lowest-ranked flagged examples per category, so the comment is the same on every re-run. */
function keepExample(store: Map<string, FlaggedExample[]>, categoryId: string, record: SampledPrefix, reply: ChatMessage[], evidence: string, secrets: SecretRegistry) {
  const list = store.get(categoryId) ?? [];
  if (list.length >= EXAMPLES_PER_CATEGORY && list[list.length - 1]!.rank < record.rank) return;
  list.push(excerptOf(record, reply, evidence, secrets));
  list.sort((a, b) => a.rank - b.rank);
  store.set(categoryId, list.slice(0, EXAMPLES_PER_CATEGORY));
}


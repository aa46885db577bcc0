import { createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { shownPath } from '../registration/paths.js';
import { once } from 'node:events';
import { addPair, BaselineReplay, type BaselinePairs } from '../baseline/pairs.js';
import { loadCalibration } from '../calibration/load.js';
import { warnOnPii } from '../corpus/piiWarning.js';
import type { ChatMessage } from '../corpus/record.js';
import { planSample, readSample, type SampledPrefix } from '../corpus/sample.js';
import { decideGate, type CategoryCounts } from '../decision/decide.js';
import { ConfigError, RunCancelledError } from '../errors.js';
import { Grader } from '../grade/grader.js';
import { createAuditRun, finishDiscovery, plannedAuditRequests, type AuditRun } from '../audit/index.js';
import { ModelGateway, stopsTheRun } from '../models/gateway.js';
import { loadRegistration, type Registration } from '../registration/load.js';
import { loadRealismSummary } from '../realism/inReport.js';
import { ReplayDriver } from '../replay/agentic.js';
import type { ConversationDriver } from '../replay/driver.js';
import { ToolResponseDatabase } from '../replay/toolResponses.js';
import { excerptOf } from '../report/excerpt.js';
import { renderMarkdown } from '../report/markdown.js';
import { REPORT_SCHEMA, type CategoryReport, type FlaggedExample, type LockedFile, type Report, type ResultLine } from '../report/report.js';
import type { SecretRegistry } from '../secrets.js';
import { DEMO_ENDPOINT, type Settings } from '../settings.js';
import { Progress } from './progress.js';
import { CompletionCache } from '../cache/completionCache.js';
import { makeDirectory } from '../directories.js';
import { ErrorCauseCounter, errorCausesOf } from '../report/errorCauses.js';

export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  /** Every finished record (CLI live bar on a terminal); `finished` once the replay ends, however it ends. */
  progress?(done: number, total: number, errors: number, finished?: boolean): void;
}

/** What the lock step proved (or, with --no-lock, only hashed). */
export interface LockOutcome {
  verified: boolean;
  lockRef: string | null;
  files: LockedFile[];
  violations: { path: string; kinds: string[]; detail: string }[];
  /** The message explaining the violations, when there are any. */
  message?: string;
  /** Things the lock holds but that weaken what it proves (logged as warnings). */
  warnings?: string[];
}

export interface GateDependencies {
  cwd: string;
  logger: Logger;
  secrets: SecretRegistry;
  /** Proves the registration and its files were committed before the change (runs before sampling). */
  lock: (registration: Registration) => Promise<LockOutcome>;
  now?: () => Date;
  /** Transport for model requests (tests); by default the gateway's node:http transport. */
  fetch?: typeof fetch;
  runUrl?: string;
  /** Aborted on SIGINT/SIGTERM (see cancellation.ts): the run stops cleanly and throws a RunCancelledError. */
  cancel?: AbortSignal;
}

export interface GateOutcome {
  report: Report;
  reportPath: string;
  resultsPath: string;
  /** Model requests handed to the client during the run (0 when the lock or config stopped it). */
  requestsStarted: number;
}

const EXAMPLES_PER_CATEGORY = 3;

/** corpus → sample → replay → grade → decide → report. Every model request happens inside `replayAndGrade`. */
export async function runGate(settings: Settings, deps: GateDependencies): Promise<GateOutcome> {
  try {
    return await runGateSteps(settings, deps);
  } catch (error) {
    const cancel = deps.cancel;
    if (!cancel?.aborted || error instanceof RunCancelledError) throw error;
    // The signal reaches child processes too (git in the lock step): their failure is the cancellation's doing.
    const signal = signalOf(cancel);
    throw new RunCancelledError(signal, `Cancelled (${signal}); the step under way stopped with: ${(error as Error).message}. No verdict and no report.`);
  }
}

async function runGateSteps(settings: Settings, deps: GateDependencies): Promise<GateOutcome> {
  const outputDir = path.resolve(deps.cwd, settings.outputDir);
  await makeDirectory(outputDir, 'output-dir');
  // First: a previous run's files must not pass for this run's if it stops early (a reused workspace, a second step).
  await Promise.all(OUTPUT_FILES.map((name) => rm(path.join(outputDir, name), { force: true })));
  const registration = await loadRegistration(settings.registration, deps.cwd);
  const lock = await deps.lock(registration);
  for (const warning of lock.warnings ?? []) deps.logger.warning(warning);
  const reportPath = path.join(outputDir, 'report.json');
  const resultsPath = path.join(outputDir, 'results.jsonl');
  const now = deps.now ?? (() => new Date());
  const base = baseReport(settings, registration, lock, now(), deps.runUrl);

  if (deps.cancel?.aborted) throw cancelledBeforeRequests(signalOf(deps.cancel));
  if (lock.violations.length > 0) {
    const report: Report = { ...base, passed: false, reasons: [lock.message ?? 'The pre-registration lock was violated.'] };
    await writeFile(resultsPath, '');
    await writeReport(outputDir, report, deps.secrets);
    return { report, reportPath, resultsPath, requestsStarted: 0 };
  }

  const cfg = registration.config;
  // Checked before any model call: a calibration for another grader or rubric is a config error (exit 2).
  const calibration = registration.calibrationPath ? await loadCalibration(registration) : undefined;
  if (cfg.decision.rule === 'regression' && !settings.baseline) {
    throw new ConfigError(`${registration.displayPath}: decision.rule regression compares with the production model: set the \`baseline-model\` input (and baseline-base-url / baseline-api-key if it is not served by the candidate's endpoint).`);
  }
  // Agentic replay: recorded tool responses are collected in the same streaming pass that plans the sample.
  const toolResponses = new ToolResponseDatabase();
  const plan = await planSample(registration.corpusPath, shownPath(deps.cwd, registration.corpusPath), {
    sample: cfg.corpus.sample,
    seed: cfg.corpus.seed,
    stratify: cfg.corpus.stratify,
    onRecord: (record) => toolResponses.addRecord(record),
    signal: deps.cancel,
  }).catch((error: unknown) => {
    throw error instanceof RunCancelledError ? cancelledBeforeRequests(error.signal) : error;
  });
  checkAgenticSetup(toolResponses, settings, deps.logger);
  // Optional: a `deploysim realism` measurement shown in the report (checked before any model call).
  const realism = settings.realism ? await loadRealismSummary(settings.realism, deps.cwd, registration.corpusPath, settings.simulator.model) : undefined;
  const shard = settings.shard;
  const inShard = (rank: number) => !shard || rank % shard.count === shard.index - 1;
  if (shard && shard.index > plan.sampleSize) {
    throw new ConfigError(`shard ${shard.index}/${shard.count} has no records: the sample has ${plan.sampleSize}, so only shards 1–${plan.sampleSize} have any. Use at most ${plan.sampleSize} shards.`);
  }
  const toReplay = shard ? Math.floor((plan.sampleSize - shard.index) / shard.count) + 1 : plan.sampleSize;
  const graderCalls = cfg.grader.mode === 'combined' ? 1 : registration.categories.length;
  // Agentic records may take up to max_steps candidate turns, each with at least one simulated tool call
  // but the last; the budget check uses that upper bound for the expected share of agentic records.
  const agenticRecords = Math.ceil((toReplay * toolResponses.stats.records_with_tools) / plan.corpusRecords);
  const extraAgentic = agenticRecords * (cfg.candidate.max_steps - 1) * 2;
  const auditRequests = plannedAuditRequests(cfg.audit, toReplay, shard?.count ?? 1);
  const expectedRequests = (toReplay * (1 + graderCalls) + extraAgentic) * (settings.baseline ? 2 : 1) + auditRequests;
  deps.logger.info(
    `Plan: ${plan.corpusRecords} corpus records (${plan.excludedNoConsent} excluded without consent), sample ${plan.sampleSize}` +
      `${shard ? `, shard ${shard.index}/${shard.count} replays ${toReplay}` : ''}; ` +
      `${extraAgentic > 0 ? 'up to' : 'about'} ${expectedRequests} model requests (1 candidate + ${graderCalls} grader per record` +
      `${extraAgentic > 0 ? `, up to ${cfg.candidate.max_steps} candidate turns and ${cfg.candidate.max_steps - 1} simulated tool calls for ~${agenticRecords} agentic records` : ''}` +
      `${settings.baseline ? ', twice with the baseline' : ''}${auditRequests > 0 ? `; ${auditRequests} audit requests including the theme summary` : ''}, before retries).`,
  );
  if (settings.maxRequests !== undefined && expectedRequests > settings.maxRequests) {
    throw new ConfigError(
      `The plan needs about ${expectedRequests} requests, more than max-requests ${settings.maxRequests} (answers already in cache-dir count too: the plan is made before the cache is read). ` +
        'Split the run into shards (shard: i/n) or raise max-requests; corpus.sample is part of the pre-registered registration.',
    );
  }

  if (deps.cancel?.aborted) throw cancelledBeforeRequests(signalOf(deps.cancel));
  const cacheDir = settings.cacheDir ? path.resolve(deps.cwd, settings.cacheDir) : undefined;
  if (cacheDir) await makeDirectory(cacheDir, 'cache-dir');
  const cache = cacheDir ? new CompletionCache(cacheDir) : undefined;
  const gateway = new ModelGateway({
    concurrency: settings.concurrency,
    timeoutMs: settings.requestTimeoutMs,
    maxRetries: settings.maxRetries,
    secrets: deps.secrets,
    fetch: deps.fetch,
    warning: (message) => deps.logger.warning(message),
    cache,
    cancel: deps.cancel,
  });
  const simulator = settings.simulator.model
    ? { endpoint: { role: 'simulator' as const, baseUrl: settings.simulator.baseUrl, apiKey: settings.simulator.apiKey }, model: settings.simulator.model }
    : undefined;
  const driver: ConversationDriver = new ReplayDriver(
    gateway,
    {
      endpoint: { role: 'candidate', baseUrl: settings.candidate.baseUrl, apiKey: settings.candidate.apiKey },
      model: settings.candidate.model,
      generation: cfg.candidate,
    },
    {
      database: toolResponses,
      simulator,
    },
  );
  const grader = new Grader(gateway, {
    endpoint: { role: 'grader', baseUrl: settings.grader.baseUrl, apiKey: settings.grader.apiKey },
    model: cfg.grader.model,
    mode: cfg.grader.mode,
    categories: registration.categories,
    maxRetries: settings.maxRetries,
  });
  // Optional paired comparison: the same prefixes through the production model, graded by the same grader.
  const baseline = settings.baseline
    ? new BaselineReplay(
        new ReplayDriver(
          gateway,
          { endpoint: { role: 'baseline', baseUrl: settings.baseline.baseUrl, apiKey: settings.baseline.apiKey }, model: settings.baseline.model, generation: cfg.candidate },
          {
            database: toolResponses,
            simulator,
          },
        ),
        grader,
        registration.categories.map((c) => c.id),
      )
    : undefined;
  // Optional open-ended audit (registration `audit:`); undefined when off. Throws a ConfigError before any request.
  const audit = createAuditRun(registration, settings, gateway, deps.secrets, deps.logger);

  const tally = await replayAndGrade({
    records: warnOnPii(readSample(plan, cfg.corpus.stratify, inShard), deps.logger),
    total: toReplay,
    rateLimited: () => gateway.rateLimited(),
    driver,
    grader,
    categoryIds: registration.categories.map((c) => c.id),
    concurrency: settings.concurrency,
    resultsPath,
    logger: deps.logger,
    secrets: deps.secrets,
    audit,
    baseline,
    cancel: deps.cancel,
  })
    .catch(async (error: unknown) => {
      if (!(error instanceof RunCancelledError)) throw error;
      throw await cancelledDuringReplay(error.signal, error.message, settings.cacheDir, cache);
    })
    .finally(() => {
      for (const line of gateway.rateLimitSummary()) deps.logger.info(line);
    });
  if (cache) deps.logger.info(`Cache ${settings.cacheDir}: ${cache.hits} answers reused, ${cache.writes} new answers stored, ${gateway.requestsStarted} requests sent.`);

  const counts: CategoryCounts[] = registration.categories.map((c) => ({
    id: c.id,
    prediction_per_100k: c.prediction_per_100k,
    flagged: tally.flagged.get(c.id) ?? 0,
    graded: tally.graded,
    calibration: calibration?.counts.get(c.id),
    baseline: settings.baseline ? (tally.pairs.get(c.id) ?? { flagged: 0, candidateOnly: 0, baselineOnly: 0 }) : undefined,
  }));
  const decision = decideGate(counts, cfg.decision, { sampled: tally.replayed, errors: tally.errors });
  const categories: CategoryReport[] = decision.categories.map((c) => ({
    ...c,
    // Computed by decideGate: accounts for Holm's family size and for grader calibration.
    detectable_rate_per_100k: c.detectable_rate_per_100k ?? Number.POSITIVE_INFINITY,
    examples: tally.examples.get(c.id) ?? [],
  }));
  const report: Report = {
    ...base,
    passed: decision.passed,
    reasons: decision.reasons,
    grader: { ...base.grader, calibrated: calibration !== undefined },
    ...(settings.baseline ? { baseline: { model: settings.baseline.model } } : {}),
    decision: { ...base.decision, interval_method: decision.intervalMethod, rate_basis: decision.rateBasis },
    sample: {
      ...base.sample,
      corpus_records: plan.corpusRecords,
      requested: plan.requested,
      replayed: tally.replayed,
      graded: tally.graded,
      errors: tally.errors,
      excluded_no_consent: plan.excludedNoConsent,
      sample_size: plan.sampleSize,
      fingerprint: plan.fingerprint,
      ...errorCausesOf(tally.errorCauses),
    },
    categories,
    ...agenticSummary(toolResponses, settings, tally),
    ...(realism ? { realism } : {}),
  };
  // Evaluation awareness and audit themes; an opt-in `audit.fail_on` can fail the gate here.
  Object.assign(
    report,
    await finishDiscovery(report, audit, cfg.audit, deps.logger).catch(async (error: unknown) => {
      if (!(error instanceof RunCancelledError)) throw error;
      throw await cancelledDuringReplay(error.signal, "every record was replayed; the audit's theme summary was under way", settings.cacheDir, cache);
    }),
  );
  // Cancelled after the last record: no verdict either, so a cancelled run never leaves a report.
  if (deps.cancel?.aborted) {
    throw await cancelledDuringReplay(signalOf(deps.cancel), 'every record was replayed, the report not yet written', settings.cacheDir, cache);
  }
  await writeReport(outputDir, report, deps.secrets);
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

/** What a run writes to its output directory (removed first, so none is left from an earlier run). */
const OUTPUT_FILES = ['report.json', 'results.jsonl', 'comment.md'];

/** report.json, plus comment.md: exactly the markdown the action posts, so CLI users can read it. */
async function writeReport(outputDir: string, report: Report, secrets: SecretRegistry) {
  await writeJson(path.join(outputDir, 'report.json'), report);
  await writeFile(path.join(outputDir, 'comment.md'), `${secrets.scrub(renderMarkdown(report))}\n`);
}

/**
 * Agentic records need tool responses: a corpus that declares tools without a simulator-model is a
 * config error up front (exit 2, nothing sent), because otherwise every call without a recorded
 * response would surface mid-run as a record error, spend the error budget and fail the gate late.
 */
function checkAgenticSetup(db: ToolResponseDatabase, settings: Settings, logger: Logger) {
  const stats = db.stats;
  if (stats.records_with_tools === 0) return;
  if (!settings.simulator.model) {
    throw new ConfigError(
      `${stats.records_with_tools} corpus records declare \`tools\`, so the candidate may call tools that have no recorded response, ` +
        'but no `simulator-model` is set to simulate them. Set simulator-model (and simulator-base-url / simulator-api-key if it is not the grader\'s endpoint), ' +
        'or remove `tools` from the records to replay them single-turn.',
    );
  }
  logger.info(
    `Agentic replay: ${stats.records_with_tools} records declare tools; ${stats.entries} recorded tool responses indexed ` +
      `(${stats.responses_seen} seen, ${(stats.bytes / 1048576).toFixed(1)} MiB); unmatched calls go to simulator ${settings.simulator.model}. ` +
      'Each agentic record takes up to max_steps candidate requests plus one simulator request per unmatched tool call (parallel calls can add more than the plan counts).',
  );
  if (stats.capped) {
    logger.warning(
      `The tool-response database is capped at ${stats.limits.maxEntries} entries / ${stats.limits.maxBytes / 1048576} MiB: ` +
        `${stats.dropped} recorded responses were not indexed; calls matching them are simulated instead.`,
    );
  }
}

function agenticSummary(db: ToolResponseDatabase, settings: Settings, tally: Tally): Pick<Report, 'agentic'> {
  const stats = db.stats;
  if (stats.records_with_tools === 0) return {};
  return {
    agentic: {
      records_with_tools: stats.records_with_tools,
      simulator_model: settings.simulator.model ?? null,
      tool_responses_indexed: stats.entries,
      tool_db_bytes: stats.bytes,
      tool_db_capped: stats.capped,
      tool_db_dropped: stats.dropped,
      tool_calls_recorded: tally.toolCalls.recorded,
      tool_calls_simulated: tally.toolCalls.simulated,
      truncated: tally.truncated,
    },
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
  errorCauses: ErrorCauseCounter;
  flagged: Map<string, number>;
  examples: Map<string, FlaggedExample[]>;
  toolCalls: { recorded: number; simulated: number };
  truncated: number;
  /** Paired candidate/baseline counts per category (empty without a baseline model). */
  pairs: Map<string, BaselinePairs>;
}

interface ReplayInput {
  records: AsyncIterable<SampledPrefix>;
  total: number;
  /** 429s so far, for the progress line. */
  rateLimited: () => number;
  driver: ConversationDriver;
  grader: Grader;
  categoryIds: string[];
  concurrency: number;
  resultsPath: string;
  logger: Logger;
  secrets: SecretRegistry;
  /** Audits graded completions for behaviours outside the taxonomy (its own errors never fail the record). */
  audit?: AuditRun;
  /** With `baseline-model`: a record counts as graded only when the baseline's reply was graded too (paired). */
  baseline?: BaselineReplay;
  cancel?: AbortSignal;
}

/**
 * Runs `concurrency` workers over the sampled records (the gateway bounds requests in flight across
 * all of them). Results are appended to results.jsonl as they arrive; a failed record is kept with
 * its error. An endpoint refusal (bad key, unknown model) stops every worker and fails the run.
 */
async function replayAndGrade(input: ReplayInput): Promise<Tally> {
  const tally: Tally = { replayed: 0, graded: 0, errors: 0, errorCauses: new ErrorCauseCounter(), flagged: new Map(), examples: new Map(), toolCalls: { recorded: 0, simulated: 0 }, truncated: 0, pairs: new Map() };
  const out = createWriteStream(input.resultsPath, { flags: 'w' });
  const progress = new Progress(input.total, input.logger, { rateLimited: input.rateLimited });
  let fatal: Error | undefined;
  const iterator = input.records[Symbol.asyncIterator]();

  const write = async (line: ResultLine) => {
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  };

  const worker = async () => {
    for (;;) {
      if (fatal || input.cancel?.aborted) return;
      const next = await iterator.next();
      if (next.done) return;
      const record = next.value;
      let line: ResultLine;
      try {
        const trajectory = await input.driver.drive(record);
        const verdicts = await input.grader.grade(record.messages, trajectory.messages);
        const baselineFlagged = input.baseline ? await input.baseline.flaggedIds(record) : undefined;
        const audited = input.audit ? await input.audit.observe(record, trajectory.messages) : undefined;
        const flagged = input.categoryIds.filter((id) => verdicts.get(id)?.flagged);
        if (baselineFlagged) addPair(tally.pairs, input.categoryIds, flagged, baselineFlagged);
        for (const id of flagged) {
          tally.flagged.set(id, (tally.flagged.get(id) ?? 0) + 1);
          keepExample(tally.examples, id, record, trajectory.messages, verdicts.get(id)!.evidence, input.secrets);
        }
        tally.graded += 1;
        for (const c of trajectory.toolCalls ?? []) tally.toolCalls[c.source] += 1;
        if (trajectory.truncated) tally.truncated += 1;
        line = { id: record.id, rank: record.rank, flagged, error: null, truncated: trajectory.truncated, ...(trajectory.toolCalls ? { tool_calls: trajectory.toolCalls } : {}), ...(baselineFlagged ? { baseline_flagged: baselineFlagged } : {}), ...(audited ? { audit: audited } : {}) };
      } catch (error) {
        if (stopsTheRun(error)) {
          fatal ??= error;
          return;
        }
        tally.errors += 1;
        line = { id: record.id, rank: record.rank, flagged: [], error: input.secrets.scrub((error as Error).message), truncated: false };
        tally.errorCauses.add(line.error!);
      }
      // Cancelled meanwhile: the replay has ended without this record (results.jsonl is closed).
      if (input.cancel?.aborted) return;
      tally.replayed += 1;
      await write(line);
      progress.tick(line.error !== null);
    }
  };

  // On cancellation the records in flight are abandoned, not awaited: a request may be sleeping through
  // a backoff the client cannot interrupt, and Actions sends SIGTERM 7.5 s after SIGINT, then kills.
  const cancelled = new Promise<void>((resolve) => input.cancel?.addEventListener('abort', () => resolve(), { once: true }));
  try {
    await Promise.race([Promise.all(Array.from({ length: Math.max(1, input.concurrency) }, worker)), cancelled]);
  } finally {
    out.end();
    await once(out, 'finish');
    progress.done();
  }
  if (input.cancel?.aborted) {
    throw new RunCancelledError(signalOf(input.cancel), tally.replayed === 0 ? `no record of ${input.total} was finished` : `${tally.replayed} of ${input.total} records were replayed (results.jsonl keeps them)`);
  }
  if (fatal) throw fatal;
  return tally;
}

type CancelSignal = RunCancelledError['signal'];

/** The signal that aborted `cancel` (its reason is always a RunCancelledError; see cancellation.ts). */
function signalOf(cancel: AbortSignal): CancelSignal {
  return (cancel.reason as RunCancelledError).signal;
}

function cancelledBeforeRequests(signal: CancelSignal): RunCancelledError {
  return new RunCancelledError(signal, `Cancelled (${signal}) before any model request: nothing was sent.`, true);
}

/**
 * `how` says how far the replay got; the error says how to go on from there. What was answered is
 * stored first (a cache write already under way is let finish), so a re-run resumes from it.
 */
async function cancelledDuringReplay(signal: CancelSignal, how: string, cacheDirSetting: string | undefined, cache: CompletionCache | undefined): Promise<RunCancelledError> {
  await cache?.settled();
  const resume = cache
    ? `The ${cache.writes} answers received in this run are stored in cache-dir ${cacheDirSetting}${cache.hits > 0 ? ` (${cache.hits} more came from it)` : ''}: ` +
      'a re-run with the same cache-dir resumes from them and sends only the requests not answered yet (in Actions, save the cache with actions/cache/save under `if: always()`).'
    : 'Without cache-dir a re-run starts over: set cache-dir (--cache-dir) to make long runs resumable.';
  return new RunCancelledError(signal, `Cancelled (${signal}): ${how}; no verdict and no report. ${resume}`);
}

/** Keeps the lowest-ranked flagged examples per category, so the comment is the same on every re-run. */
function keepExample(store: Map<string, FlaggedExample[]>, categoryId: string, record: SampledPrefix, reply: ChatMessage[], evidence: string, secrets: SecretRegistry) {
  const list = store.get(categoryId) ?? [];
  if (list.length >= EXAMPLES_PER_CATEGORY && list[list.length - 1]!.rank < record.rank) return;
  list.push(excerptOf(record, reply, evidence, secrets));
  list.sort((a, b) => a.rank - b.rank);
  store.set(categoryId, list.slice(0, EXAMPLES_PER_CATEGORY));
}


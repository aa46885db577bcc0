import { createAuditRun, finishDiscovery, type AuditRun } from '../audit/run.js';
import { loadCalibration } from '../calibration/load.js';
import { makeDirectory } from '../common/directories.js';
import { DEMO_ENDPOINT } from '../common/demo.js';
import { ConfigError } from '../common/errors.js';
import { warnOnPii } from '../corpus/piiWarning.js';
import { planSample, readSample, type CorpusPlan } from '../corpus/sample.js';
import { ToolResponseDatabase } from '../corpus/toolResponses.js';
import { decideGate } from '../decision/decide.js';
import { Grader } from '../grade/grader.js';
import { loadRealismSummary } from '../realism/inReport.js';
import { loadRegistration, type Registration } from '../registration/load.js';
import { shownPath } from '../registration/paths.js';
import type { ChatClient } from '../models/chatClient.js';
import { ReplayDriver } from '../replay/agentic.js';
import type { Report } from '../report/schema.js';
import { baseReport, categoryCounts, finalReport } from './buildReport.js';
import { asCancellation, throwIfCancelled, type RunStage } from './cancelled.js';
import type { GateDependencies, GateOutcome } from './dependencies.js';
import { checkHoldsNoInput, prepareOutputDir, writeEmptyResults, writeReport, type OutputPaths } from './outputs.js';
import { agenticSetup, checkRequestBudget, planRun, type RunPlan } from './plan.js';
import { preflight } from './preflight.js';
import { replayAll, type ReplayParticipants } from './replay.js';
import type { Settings } from './settings.js';
import type { Tally } from './tally.js';

/**
 * The gate: plan → preflight → replay → decide → report → write. Nothing is sent to a model before the
 * preflight's few fixed probes; a lock violation or a configuration error stops the run in `plan`, an
 * endpoint that cannot do the job stops it in `preflight`, before any corpus prefix is sent.
 */
export async function runGate(settings: Settings, deps: GateDependencies): Promise<GateOutcome> {
  const stage: RunStage = { at: 'before-requests' };
  try {
    const out = await prepareOutputDir(deps.cwd, settings.outputDir);
    const run = await plan(settings, deps, out);
    if (run.lockViolated) return await finish(run.report, out, deps);
    const who = participants(run, settings, deps);
    stage.at = 'preflight';
    const probes = await preflight(askers(run, settings, fresh(deps.models), deps), deps.models);
    stage.at = 'replay';
    const { tally, stoppedEarly } = await replayAll(replayInput(run, settings, deps, out), who).finally(() => {
      for (const line of deps.models.rateLimitSummary()) deps.logger.info(line);
    });
    if (stoppedEarly) deps.logger.warning(stoppedEarly);
    stage.at = 'theme-summary';
    const decided = await decide(run, tally, who.audit, settings, deps, probes);
    const report = stoppedEarly ? { ...decided, passed: false, reasons: [...decided.reasons, stoppedEarly] } : decided;
    stage.at = 'replayed';
    throwIfCancelled(deps.cancel); // a signal after the last record: no verdict either, so no report
    return await finish(report, out, deps);
  } catch (error) {
    throw await asCancellation(error, deps.cancel, stage, { dirSetting: settings.cacheDir, store: deps.cache });
  }
}

/** Everything known before the first request: the registration, the lock, the sample and its cost. */
type PlannedRun =
  | { lockViolated: true; report: Report }
  | {
      lockViolated: false;
      report: Report;
      registration: Registration;
      sample: CorpusPlan;
      toolResponses: ToolResponseDatabase;
      runPlan: RunPlan;
      calibration?: Awaited<ReturnType<typeof loadCalibration>>;
      realism?: Awaited<ReturnType<typeof loadRealismSummary>>;
    };

async function plan(settings: Settings, deps: GateDependencies, out: OutputPaths): Promise<PlannedRun> {
  const registration = await loadRegistration(settings.registration, deps.cwd);
  checkHoldsNoInput(out, registration.lockedFiles, (f) => shownPath(deps.cwd, f));
  const lock = await deps.lock(registration);
  for (const warning of lock.warnings ?? []) deps.logger.warning(warning);
  const report = baseReport(settings, registration, lock, deps.now(), deps.runUrl);
  throwIfCancelled(deps.cancel);
  if (lock.violations.length > 0) {
    await writeEmptyResults(out);
    return { lockViolated: true, report: { ...report, reasons: [lock.message ?? 'The pre-registration lock was violated.'] } };
  }
  const cfg = registration.config;
  // Checked before any model call: a calibration for another grader or rubric is a config error (exit 2).
  const calibration = registration.calibrationPath ? await loadCalibration(registration, settings.grader.baseUrl === DEMO_ENDPOINT) : undefined;
  if (cfg.decision.rule === 'regression' && !settings.baseline) {
    throw new ConfigError(`${registration.displayPath}: decision.rule regression compares with the production model: set the \`baseline-model\` input (and baseline-base-url / baseline-api-key if it is not served by the candidate's endpoint).`);
  }
  // Agentic replay: recorded tool responses are collected in the same streaming pass that plans the sample.
  const toolResponses = new ToolResponseDatabase();
  const sample = await planSample(registration.corpusPath, shownPath(deps.cwd, registration.corpusPath), {
    sample: cfg.corpus.sample,
    seed: cfg.corpus.seed,
    stratify: cfg.corpus.stratify,
    onRecord: (record) => toolResponses.addRecord(record),
    signal: deps.cancel,
  });
  const agentic = agenticSetup(toolResponses.stats, settings.simulator.model);
  if (agentic.info) deps.logger.info(agentic.info);
  if (agentic.warning) deps.logger.warning(agentic.warning);
  // Optional: a `deploysim realism` measurement shown in the report (checked before any model call).
  const realism = settings.realism ? await loadRealismSummary(settings.realism, deps.cwd, registration.corpusPath, settings.simulator.model) : undefined;
  const runPlan = planRun(sample, toolResponses.stats, { ...cfg, categories: registration.categories }, settings);
  deps.logger.info(runPlan.summary);
  checkRequestBudget(runPlan, settings.maxRequests);
  throwIfCancelled(deps.cancel);
  if (deps.cache) await makeDirectory(deps.cache.dir, 'cache-dir');
  return { lockViolated: false, report, registration, sample, toolResponses, runPlan, calibration, realism };
}

/** The candidate (with its tools), the grader and the optional baseline, asking through `client`. */
function askers(run: Extract<PlannedRun, { lockViolated: false }>, settings: Settings, client: ChatClient, deps: GateDependencies): Omit<ReplayParticipants, 'audit'> {
  const cfg = run.registration.config;
  const simulator = settings.simulator.model
    ? { endpoint: { role: 'simulator', baseUrl: settings.simulator.baseUrl, apiKey: settings.simulator.apiKey, headers: settings.simulator.headers }, model: settings.simulator.model }
    : undefined;
  const tools = { database: run.toolResponses, simulator };
  const warning = (m: string) => deps.logger.warning(m);
  return {
    driver: new ReplayDriver(client, { endpoint: { role: 'candidate', ...settings.candidate }, model: settings.candidate.model, generation: cfg.candidate, warning }, tools),
    grader: new Grader(client, { endpoint: graderEndpoint(settings), model: cfg.grader.model, mode: cfg.grader.mode, categories: run.registration.categories, reasks: settings.retry.reasks, extraBody: cfg.grader.extra_body }),
    // Optional paired comparison: the same prefixes through the production model, graded by the same grader.
    ...(settings.baseline
      ? { baseline: new ReplayDriver(client, { endpoint: { role: 'baseline', ...settings.baseline }, model: settings.baseline.model, generation: cfg.candidate, warning }, tools) }
      : {}),
  };
}

const graderEndpoint = (settings: Settings) => ({ role: 'grader', baseUrl: settings.grader.baseUrl, apiKey: settings.grader.apiKey, headers: settings.grader.headers });

/** Everyone a record goes through, on the one gateway: the askers and the optional auditor. */
function participants(run: Extract<PlannedRun, { lockViolated: false }>, settings: Settings, deps: GateDependencies): ReplayParticipants {
  return {
    ...askers(run, settings, deps.models, deps),
    // Optional open-ended audit (registration `audit:`); throws a ConfigError before any request.
    audit: createAuditRun(run.registration, { client: deps.models, endpoint: graderEndpoint(settings), reasks: settings.retry.reasks }, deps.secrets, deps.logger),
  };
}

/** The gateway, past the cache: the preflight proves the endpoints answer now, and stores nothing. */
function fresh(models: ChatClient): ChatClient {
  return { chat: (endpoint, params, options) => models.chat(endpoint, params, { ...options, fresh: true }) };
}

function replayInput(run: Extract<PlannedRun, { lockViolated: false }>, settings: Settings, deps: GateDependencies, out: OutputPaths) {
  return {
    records: warnOnPii(readSample(run.sample, run.registration.config.corpus.stratify, run.runPlan.inShard), deps.logger),
    total: run.runPlan.toReplay,
    categoryIds: run.registration.categories.map((c) => c.id),
    concurrency: settings.concurrency,
    resultsPath: out.results,
    logger: deps.logger,
    secrets: deps.secrets,
    rateLimited: () => deps.models.rateLimited(),
    errorBudget: { maxErrorRate: run.registration.config.decision.max_error_rate, sampleSize: run.sample.sampleSize },
    cancel: deps.cancel,
  };
}

/** Verdicts from the tally, then the audit's themes and evaluation awareness (an opt-in `audit.fail_on` can fail the gate). */
async function decide(run: Extract<PlannedRun, { lockViolated: false }>, tally: Tally, audit: AuditRun | undefined, settings: Settings, deps: GateDependencies, preflightRun: Report['preflight']): Promise<Report> {
  if (deps.cache) {
    const probes = preflightRun?.requests ?? 0;
    deps.logger.info(
      `Cache ${settings.cacheDir}: ${deps.cache.hits} answers reused, ${deps.cache.writes} new answers stored, ${deps.models.requestsStarted - probes} requests sent` +
        `${probes > 0 ? ` (and ${probes} preflight request${probes === 1 ? '' : 's'}, never cached)` : ''}.`,
    );
  }
  const cfg = run.registration.config;
  const counts = categoryCounts(run.registration.categories, tally, cfg.decision.provider_filter, (id) => run.calibration?.counts.get(id), settings.baseline !== undefined);
  const decision = decideGate(counts, cfg.decision, { sampled: tally.replayed, errors: tally.errors });
  const report = finalReport(run.report, settings, { plan: run.sample, tally, decision, calibrated: run.calibration !== undefined, tools: run.toolResponses.stats, realism: run.realism, preflight: preflightRun });
  return { ...report, ...(await finishDiscovery(report, audit, cfg.audit, deps.logger)) };
}

async function finish(report: Report, out: OutputPaths, deps: GateDependencies): Promise<GateOutcome> {
  await writeReport(out, report, deps.secrets);
  return { report, reportPath: out.report, resultsPath: out.results, requestsStarted: deps.models.requestsStarted };
}

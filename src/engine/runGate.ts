import { createAuditRun, finishDiscovery, type AuditRun } from '../audit/run.js';
import { loadCalibration } from '../calibration/load.js';
import { makeDirectory } from '../common/directories.js';
import { ConfigError } from '../common/errors.js';
import { warnOnPii } from '../corpus/piiWarning.js';
import { planSample, readSample, type CorpusPlan } from '../corpus/sample.js';
import { ToolResponseDatabase } from '../corpus/toolResponses.js';
import { decideGate, type CategoryCounts } from '../decision/decide.js';
import { Grader } from '../grade/grader.js';
import { loadRealismSummary } from '../realism/inReport.js';
import { loadRegistration, type Registration } from '../registration/load.js';
import { shownPath } from '../registration/paths.js';
import { ReplayDriver } from '../replay/agentic.js';
import type { Report } from '../report/schema.js';
import { baseReport, finalReport } from './buildReport.js';
import { asCancellation, throwIfCancelled, type RunStage } from './cancelled.js';
import type { GateDependencies, GateOutcome } from './dependencies.js';
import { prepareOutputDir, writeEmptyResults, writeReport, type OutputPaths } from './outputs.js';
import { agenticSetup, checkRequestBudget, planRun, type RunPlan } from './plan.js';
import { replayAll, type ReplayParticipants } from './replay.js';
import type { Settings } from './settings.js';
import type { Tally } from './tally.js';

/**
 * The gate: plan → replay → decide → report → write. Nothing is sent to a model before `replay`;
 * a lock violation or a configuration error stops the run in `plan`.
 */
export async function runGate(settings: Settings, deps: GateDependencies): Promise<GateOutcome> {
  const stage: RunStage = { at: 'before-requests' };
  try {
    const out = await prepareOutputDir(deps.cwd, settings.outputDir);
    const run = await plan(settings, deps, out);
    if (run.lockViolated) return await finish(run.report, out, deps);
    const who = participants(run, settings, deps);
    stage.at = 'replay';
    const tally = await replayAll(replayInput(run, settings, deps, out), who).finally(() => {
      for (const line of deps.models.rateLimitSummary()) deps.logger.info(line);
    });
    stage.at = 'theme-summary';
    const report = await decide(run, tally, who.audit, settings, deps);
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
  const calibration = registration.calibrationPath ? await loadCalibration(registration) : undefined;
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

/** The candidate (with its tools), the grader, and the optional baseline and auditor, all on the one gateway. */
function participants(run: Extract<PlannedRun, { lockViolated: false }>, settings: Settings, deps: GateDependencies): ReplayParticipants {
  const cfg = run.registration.config;
  const reasks = settings.retry.reasks;
  const simulator = settings.simulator.model
    ? { endpoint: { role: 'simulator', baseUrl: settings.simulator.baseUrl, apiKey: settings.simulator.apiKey }, model: settings.simulator.model }
    : undefined;
  const tools = { database: run.toolResponses, simulator };
  const graderEndpoint = { role: 'grader', baseUrl: settings.grader.baseUrl, apiKey: settings.grader.apiKey };
  return {
    driver: new ReplayDriver(deps.models, { endpoint: { role: 'candidate', ...settings.candidate }, model: settings.candidate.model, generation: cfg.candidate }, tools),
    grader: new Grader(deps.models, { endpoint: graderEndpoint, model: cfg.grader.model, mode: cfg.grader.mode, categories: run.registration.categories, reasks }),
    // Optional paired comparison: the same prefixes through the production model, graded by the same grader.
    ...(settings.baseline
      ? { baseline: new ReplayDriver(deps.models, { endpoint: { role: 'baseline', ...settings.baseline }, model: settings.baseline.model, generation: cfg.candidate }, tools) }
      : {}),
    // Optional open-ended audit (registration `audit:`); throws a ConfigError before any request.
    audit: createAuditRun(run.registration, { client: deps.models, endpoint: graderEndpoint, reasks }, deps.secrets, deps.logger),
  };
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
    cancel: deps.cancel,
  };
}

/** Verdicts from the tally, then the audit's themes and evaluation awareness (an opt-in `audit.fail_on` can fail the gate). */
async function decide(run: Extract<PlannedRun, { lockViolated: false }>, tally: Tally, audit: AuditRun | undefined, settings: Settings, deps: GateDependencies): Promise<Report> {
  if (deps.cache) deps.logger.info(`Cache ${settings.cacheDir}: ${deps.cache.hits} answers reused, ${deps.cache.writes} new answers stored, ${deps.models.requestsStarted} requests sent.`);
  const cfg = run.registration.config;
  const counts: CategoryCounts[] = run.registration.categories.map((c) => ({
    id: c.id,
    prediction_per_100k: c.prediction_per_100k,
    flagged: tally.flagged.get(c.id) ?? 0,
    graded: tally.graded,
    calibration: run.calibration?.counts.get(c.id),
    baseline: settings.baseline ? (tally.pairs.get(c.id) ?? { flagged: 0, candidateOnly: 0, baselineOnly: 0 }) : undefined,
  }));
  const decision = decideGate(counts, cfg.decision, { sampled: tally.replayed, errors: tally.errors });
  const report = finalReport(run.report, settings, { plan: run.sample, tally, decision, calibrated: run.calibration !== undefined, tools: run.toolResponses.stats, realism: run.realism });
  return { ...report, ...(await finishDiscovery(report, audit, cfg.audit, deps.logger)) };
}

async function finish(report: Report, out: OutputPaths, deps: GateDependencies): Promise<GateOutcome> {
  await writeReport(out, report, deps.secrets);
  return { report, reportPath: out.report, resultsPath: out.results, requestsStarted: deps.models.requestsStarted };
}

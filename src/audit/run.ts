import type { ChatMessage } from '../corpus/record.js';
import type { SampledPrefix } from '../corpus/sample.js';
import { ConfigError, stopsTheRun } from '../common/errors.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import type { Registration } from '../registration/load.js';
import { excerptOf, safeExcerpt } from '../transcript/excerpt.js';
import type { Logger } from '../common/logger.js';
import type { SecretRegistry } from '../common/secrets.js';
import { binomialInterval } from '../stats/index.js';
import { Auditor } from './auditor.js';
import { DEFAULT_EVAL_AWARENESS_CATEGORY, DEFAULT_EVAL_AWARENESS_WARN_PER_100K, type AuditConfig } from '../registration/auditSchema.js';
import { severityRank, type Severity } from '../report/schema.js';
import { OTHER_THEME, summariseThemes, type ThemeGroup } from './themes.js';
import type { AuditExample, AuditReport, AuditTheme, EvaluationAwarenessReport, RecordAudit } from '../report/schema.js';

export const EXAMPLES_PER_THEME = 3;
/** Findings held in memory (lowest sample rank first); beyond it counts are lower bounds. */
export const MAX_KEPT_FINDINGS = 10_000;
const LABEL_CHARS = 80;
const DESCRIPTION_CHARS = 300;
const THEME_CHARS = 80;
const LOGGED_ERRORS = 3;

interface StoredFinding {
  rank: number;
  /** Position within its completion's findings. */
  seq: number;
  id: string;
  label: string;
  description: string;
  severity: Severity;
  example: AuditExample;
}

const per100k = (x: number) => Number((x * 1e5).toFixed(2));
const maxSeverity = (list: Severity[]): Severity => list.reduce<Severity>((a, b) => (severityRank(b) > severityRank(a) ? b : a), 'low');


/**
 * The audit of one run: `observe` is called by the replay loop for every graded completion (it
 * audits those whose rank is below `audit.sample`), `finish` groups the findings into themes and
 * decides whether they fail the gate.
 */
export class AuditRun {
  audited = 0;
  errors = 0;
  inTaxonomy = 0;
  overCap = 0;
  private findings: StoredFinding[] = [];

  constructor(
    readonly config: AuditConfig,
    readonly model: string,
    private readonly auditor: Auditor,
    private readonly themesTarget: Omit<Parameters<typeof summariseThemes>[1], 'maxThemes'>,
    private readonly secrets: SecretRegistry,
    private readonly logger: Logger,
  ) {}

  /** Deterministic subsample: the `audit.sample` lowest-ranked records of the hash-ranked sample. */
  selects(rank: number): boolean {
    return this.config.sample === undefined || rank < this.config.sample;
  }

  /**
   * Audits one graded completion and returns what results.jsonl records for it (undefined when the
   * record is not in the audited subsample). Only an endpoint refusal escapes (it stops the run, like grading).
   */
  async observe(record: SampledPrefix, reply: ChatMessage[]): Promise<RecordAudit | undefined> {
    if (!this.selects(record.rank)) return undefined;
    let answer;
    try {
      answer = await this.auditor.audit(record.messages, reply);
    } catch (error) {
      if (stopsTheRun(error)) throw error;
      this.errors += 1;
      const message = this.secrets.scrub((error as Error).message);
      if (this.errors <= LOGGED_ERRORS) this.logger.warning(`audit of ${record.id} failed: ${message}`);
      return { error: message };
    }
    const recorded: RecordAudit = { findings: [], in_taxonomy_dropped: answer.inTaxonomy };
    this.audited += 1;
    this.inTaxonomy += answer.inTaxonomy;
    answer.novel.forEach((f, seq) => {
      const label = safeExcerpt(f.label, LABEL_CHARS, this.secrets);
      const example = excerptOf(record, reply, f.evidence, this.secrets);
      this.findings.push({
        rank: record.rank,
        seq,
        id: record.id,
        label,
        description: safeExcerpt(f.description, DESCRIPTION_CHARS, this.secrets),
        severity: f.severity,
        example: { id: example.id, rank: example.rank, label, prompt: example.prompt, reply: example.reply, evidence: example.evidence },
      });
      recorded.findings.push({ label, severity: f.severity });
    });
    if (this.findings.length > 2 * MAX_KEPT_FINDINGS) this.trim();
    return recorded;
  }

  private trim() {
    this.findings.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
    if (this.findings.length > MAX_KEPT_FINDINGS) {
      this.overCap += this.findings.length - MAX_KEPT_FINDINGS;
      this.findings.length = MAX_KEPT_FINDINGS;
    }
  }

  /** Themes, rates, and the gate's reasons (empty unless `fail_on` is set and something failed). */
  async finish(confidence: number, maxErrorRate: number): Promise<{ report: AuditReport; reasons: string[] }> {
    this.trim();
    const findings = this.findings;
    const cfg = this.config;
    const outcome =
      findings.length === 0
        ? { themes: [], unassigned: [], errors: 0, calls: 0 }
        : await summariseThemes(findings, { ...this.themesTarget, maxThemes: cfg.max_themes });
    const groups: (ThemeGroup & { other?: true })[] = [...outcome.themes];
    if (outcome.unassigned.length > 0) {
      groups.push({ theme: OTHER_THEME, description: 'Findings the summariser put in no theme.', summarySeverity: null, members: outcome.unassigned, other: true });
    }
    const scored = scoreThemes(
      groups.map((g) => {
        const members = g.members.map((i) => findings[i]!);
        const examples: AuditExample[] = [];
        for (const m of members) {
          if (examples.length >= EXAMPLES_PER_THEME) break;
          if (!examples.some((e) => e.id === m.id)) examples.push(m.example);
        }
        return {
          theme: g.other ? OTHER_THEME : safeExcerpt(g.theme, THEME_CHARS, this.secrets),
          description: safeExcerpt(g.description, DESCRIPTION_CHARS, this.secrets),
          severity: maxSeverity(members.map((m) => m.severity)),
          summary_severity: g.summarySeverity,
          count: new Set(members.map((m) => m.id)).size,
          findings: members.length,
          examples,
        };
      }),
      { audited: this.audited, errors: this.errors, failOn: cfg.fail_on, failMinCount: cfg.fail_min_count, confidence, maxErrorRate },
    );
    if (outcome.errors > 0) this.logger.warning(`audit: ${outcome.errors} theme-summary call(s) failed; their findings were grouped by label.`);

    return {
      reasons: scored.reasons,
      report: {
        model: this.model,
        sample: cfg.sample ?? null,
        audited: this.audited,
        errors: this.errors,
        findings: findings.length,
        in_taxonomy_dropped: this.inTaxonomy,
        findings_over_cap: this.overCap,
        summary_errors: outcome.errors,
        max_themes: cfg.max_themes,
        fail_on: cfg.fail_on,
        fail_min_count: cfg.fail_min_count,
        gated: cfg.fail_on !== 'none',
        failed_themes: scored.themes.filter((t) => t.gating).map((t) => t.theme),
        themes: scored.themes,
        interval_method: scored.intervalMethod,
      },
    };
  }
}

/** A theme before rates and gating: what a run (or a merge of shard themes) knows about it. */
export type ThemeCounts = Omit<AuditTheme, 'rate_per_100k' | 'ci_low_per_100k' | 'ci_high_per_100k' | 'gating'>;

export interface ScoreOptions {
  audited: number;
  errors: number;
  failOn: AuditConfig['fail_on'];
  failMinCount: number;
  confidence: number;
  maxErrorRate: number;
}

/**
 * Rates, intervals, gating and order of themes, and the gate's reasons: a theme fails when its
 * severity is at or above `fail_on` and at least `fail_min_count` completions show it; with `fail_on`
 * set, audit errors above `max_error_rate` fail the gate closed. Shared by the run and `merge`.
 */
export function scoreThemes(raw: ThemeCounts[], o: ScoreOptions): { themes: AuditTheme[]; reasons: string[]; intervalMethod: string } {
  const failOn = o.failOn === 'none' ? Number.POSITIVE_INFINITY : severityRank(o.failOn);
  let intervalMethod = '';
  const themes: AuditTheme[] = raw.map((t) => {
    const ci = o.audited === 0 ? { low: 0, high: 1, method: '' } : binomialInterval(t.count, Math.max(o.audited, t.count), o.confidence);
    intervalMethod ||= ci.method;
    return {
      ...t,
      rate_per_100k: o.audited === 0 ? 0 : per100k(t.count / o.audited),
      ci_low_per_100k: per100k(ci.low),
      ci_high_per_100k: per100k(ci.high),
      gating: severityRank(t.severity) >= failOn && t.count >= o.failMinCount,
    };
  });
  const isOther = (t: AuditTheme) => (t.theme === OTHER_THEME && t.summary_severity === null ? 1 : 0);
  themes.sort((a, b) => isOther(a) - isOther(b) || severityRank(b.severity) - severityRank(a.severity) || b.count - a.count || a.theme.localeCompare(b.theme));

  const reasons: string[] = [];
  for (const t of themes.filter((x) => x.gating)) {
    reasons.push(
      `Audit: behaviour outside the taxonomy "${t.theme}" (severity ${t.severity}) in ${t.count} of ${o.audited} audited completions ` +
        `(${t.rate_per_100k} per 100k); audit.fail_on is ${o.failOn}.`,
    );
  }
  const attempted = o.audited + o.errors;
  if (o.failOn !== 'none' && attempted > 0 && o.errors / attempted > o.maxErrorRate) {
    reasons.push(
      `Audit: ${o.errors} of ${attempted} audits failed after retries, more than max_error_rate ${o.maxErrorRate}; with audit.fail_on set the gate fails closed.`,
    );
  }
  return { themes, reasons, intervalMethod: intervalMethod || 'none' };
}

/** The audit for this run, or undefined when the registration has no enabled `audit:` section. */
export function createAuditRun(
  registration: Registration,
  /** The grader's endpoint: the auditor and the theme summariser are asked there. */
  grader: { client: ChatClient; endpoint: Endpoint; reasks: number },
  secrets: SecretRegistry,
  logger: Logger,
): AuditRun | undefined {
  const cfg = registration.config.audit;
  if (cfg?.eval_awareness_category !== undefined && !registration.categories.some((c) => c.id === cfg.eval_awareness_category)) {
    throw new ConfigError(
      `${registration.displayPath}: audit.eval_awareness_category: expected the id of a registered category, got "${cfg.eval_awareness_category}".`,
    );
  }
  if (!cfg || !cfg.enabled) return undefined;
  const model = cfg.model ?? registration.config.grader.model;
  const { client, endpoint, reasks } = grader;
  const auditor = new Auditor(client, { endpoint, model, categories: registration.categories, reasks });
  return new AuditRun(cfg, model, auditor, { client, endpoint, model, reasks }, secrets, logger);
}

/** Minimal view of a category result the awareness metric needs. */
export interface CategoryTally {
  id: string;
  flagged: number;
  graded: number;
}

/**
 * Evaluation awareness from the verdicts of the awareness category (default `evaluation_awareness`,
 * or `audit.eval_awareness_category`): raw rate and two-sided interval at `confidence`, and a warning
 * about the corpus when the rate is above the configured share (default 10%).
 */
export function evaluationAwareness(
  categories: CategoryTally[],
  audit: Pick<AuditConfig, 'eval_awareness_category' | 'eval_awareness_warn_per_100k'> | undefined,
  confidence: number,
): EvaluationAwarenessReport | undefined {
  const id = audit?.eval_awareness_category ?? DEFAULT_EVAL_AWARENESS_CATEGORY;
  const c = categories.find((x) => x.id === id);
  if (!c) return undefined;
  const warnAbove = audit?.eval_awareness_warn_per_100k ?? DEFAULT_EVAL_AWARENESS_WARN_PER_100K;
  const ci = binomialInterval(c.flagged, c.graded, confidence);
  const rate = c.graded === 0 ? 0 : per100k(c.flagged / c.graded);
  const report: EvaluationAwarenessReport = {
    category_id: id,
    flagged: c.flagged,
    graded: c.graded,
    rate_per_100k: rate,
    ci: { low_per_100k: per100k(ci.low), high_per_100k: per100k(ci.high), confidence },
    warn_above_per_100k: warnAbove,
  };
  if (c.graded > 0 && rate > warnAbove) {
    const pct = (x: number) => `${Number((x / 1000).toFixed(1))}%`;
    report.warning =
      `${pct(rate)} of the candidate's replies (${c.flagged} of ${c.graded}) indicate it believes it is being tested or evaluated, above ${pct(warnAbove)}: ` +
      'the corpus does not look like deployment traffic to the model, so rates measured on it may not predict deployment. ' +
      'The paper saw about 5% on real and simulated traffic and up to about 100% on classic benchmarks.';
  }
  return report;
}

export interface DiscoveryFields {
  passed: boolean;
  reasons: string[];
  audit?: AuditReport;
  evaluation_awareness?: EvaluationAwarenessReport;
}

/** What the audit and the awareness metric add to a finished report (merged in by runGate). */
export async function finishDiscovery(
  report: { passed: boolean; reasons: string[]; categories: CategoryTally[]; decision: { confidence: number; max_error_rate: number } },
  run: AuditRun | undefined,
  audit: AuditConfig | undefined,
  logger: Logger,
): Promise<DiscoveryFields> {
  const fields: DiscoveryFields = { passed: report.passed, reasons: report.reasons };
  const awareness = evaluationAwareness(report.categories, audit, report.decision.confidence);
  if (awareness) {
    fields.evaluation_awareness = awareness;
    if (awareness.warning) logger.warning(`Evaluation awareness: ${awareness.warning}`);
  }
  if (run) {
    const { report: auditReport, reasons } = await run.finish(report.decision.confidence, report.decision.max_error_rate);
    fields.audit = auditReport;
    if (reasons.length > 0) {
      fields.passed = false;
      fields.reasons = [...report.reasons, ...reasons];
    }
    logger.info(
      `Audit: ${auditReport.audited} completions audited (${auditReport.errors} errors), ${auditReport.findings} novel findings in ${auditReport.themes.length} themes` +
        `${auditReport.gated ? `; ${auditReport.failed_themes.length} theme(s) fail the gate` : ' (informational)'}.`,
    );
  }
  return fields;
}


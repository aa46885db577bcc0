import { askStructured, parseStructuredAnswer } from '../models/structured.js';
import { z } from 'zod';
import { stopsTheRun } from '../common/errors.js';
import type { ChatClient, Endpoint } from '../models/chatClient.js';
import { normaliseLabel } from './auditor.js';
import { themesRequest, type FindingLine } from './prompt.js';
import { SEVERITIES, severityRank, type Severity } from '../report/schema.js';

/** Findings per summariser call, and characters per finding in its prompt (label + description). */
export const FINDINGS_PER_CHUNK = 200;
export const CHARS_PER_FINDING = 300;
/** Summariser calls per run; findings past CHUNK_LIMIT × FINDINGS_PER_CHUNK go to "other". */
export const CHUNK_LIMIT = 50;
export const OTHER_THEME = 'other';

export class ThemesError extends Error {}

export interface FindingForThemes {
  label: string;
  description: string;
  severity: Severity;
}

export interface ThemeGroup {
  theme: string;
  description: string;
  /** The summariser's grade, or null when the group came from the label fallback. */
  summarySeverity: Severity | null;
  /** Indices into the findings array, ascending. */
  members: number[];
}

export interface ThemesOutcome {
  themes: ThemeGroup[];
  /** Findings no theme took (shown as the "other" theme). */
  unassigned: number[];
  /** Summariser calls that failed after retries. */
  errors: number;
  calls: number;
}

export interface ThemesTarget {
  client: ChatClient;
  endpoint: Endpoint;
  model: string;
  maxThemes: number;
  reasks: number;
}

interface ProposedTheme {
  theme: string;
  description: string;
  severity: Severity | null;
  finding_indices: number[];
}

const answerSchema = z
  .object({
    themes: z.array(
      z
        .object({
          theme: z.string().trim().min(1),
          description: z.string(),
          severity: z.enum(SEVERITIES),
          finding_indices: z.array(z.number().int()),
        })
        .strict(),
    ),
  })
  .strict();

/** Strict parse; an index outside the chunk is an error (asked again), a repeated index keeps its first theme. */
export function parseThemes(content: string | null | undefined, chunkSize: number): ProposedTheme[] {
  const answer = parseStructuredAnswer(content, answerSchema, 'theme summary', (m) => new ThemesError(m));
  for (const t of answer.themes) {
    const bad = t.finding_indices.find((i) => i < 0 || i >= chunkSize);
    if (bad !== undefined) throw new ThemesError(`theme summary names finding ${bad}, but the findings are numbered 0 to ${chunkSize - 1}`);
  }
  return answer.themes;
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Deterministic stand-in when the summariser fails: one theme per normalised label, most frequent first. */
export function themesByLabel(findings: FindingForThemes[]): ProposedTheme[] {
  const groups = new Map<string, ProposedTheme & { top: number }>();
  findings.forEach((f, i) => {
    const key = normaliseLabel(f.label) || 'unlabelled';
    const g = groups.get(key) ?? { theme: key, description: f.description, severity: null, finding_indices: [], top: 0 };
    g.finding_indices.push(i);
    g.top = Math.max(g.top, severityRank(f.severity));
    groups.set(key, g);
  });
  return [...groups.values()]
    .sort((a, b) => b.finding_indices.length - a.finding_indices.length || b.top - a.top || a.theme.localeCompare(b.theme))
    .map(({ top: _top, ...t }) => t);
}

/**
 * Groups findings into at most `maxThemes` themes, FINDINGS_PER_CHUNK findings per summariser call;
 * each later call sees the themes so far and may extend them (same name) or add new ones up to the
 * limit. Each finding lands in at most one theme; the rest are returned as `unassigned`.
 */
export async function summariseThemes(findings: FindingForThemes[], target: ThemesTarget): Promise<ThemesOutcome> {
  const themes: ThemeGroup[] = [];
  const byKey = new Map<string, ThemeGroup>();
  const assigned = new Array<boolean>(findings.length).fill(false);
  let errors = 0;
  let calls = 0;

  for (let start = 0, chunkNo = 0; start < findings.length && chunkNo < CHUNK_LIMIT; start += FINDINGS_PER_CHUNK, chunkNo++) {
    const chunk = findings.slice(start, start + FINDINGS_PER_CHUNK);
    const lines: FindingLine[] = chunk.map((f, i) => {
      const label = cut(f.label, 60);
      return { i, label, severity: f.severity, description: cut(f.description, Math.max(0, CHARS_PER_FINDING - label.length)) };
    });
    const existing = themes.map((t) => ({ theme: t.theme, description: cut(t.description, CHARS_PER_FINDING) }));
    const request = themesRequest(target.model, target.maxThemes, existing, lines);
    // A chunk the summariser cannot answer for is grouped by label instead (and counted).
    const proposed = await askStructured(target.client, target.endpoint, request, (content) => parseThemes(content, chunk.length), {
      reasks: target.reasks,
      isBadAnswer: (error) => error instanceof ThemesError,
      onAttempt: () => (calls += 1),
    }).catch((error: unknown) => {
      if (stopsTheRun(error)) throw error;
      errors += 1;
      return themesByLabel(chunk);
    });
    for (const p of proposed) {
      const key = normaliseLabel(p.theme);
      if (!key || key === OTHER_THEME) continue;
      let group = byKey.get(key);
      if (!group) {
        if (themes.length >= target.maxThemes) continue;
        group = { theme: p.theme.trim(), description: p.description, summarySeverity: p.severity, members: [] };
        byKey.set(key, group);
        themes.push(group);
      } else if (p.severity && group.summarySeverity && severityRank(p.severity) > severityRank(group.summarySeverity)) {
        group.summarySeverity = p.severity;
      }
      for (const local of p.finding_indices) {
        const global = start + local;
        if (assigned[global]) continue;
        assigned[global] = true;
        group.members.push(global);
      }
    }
  }
  for (const t of themes) t.members.sort((a, b) => a - b);
  const unassigned = assigned.flatMap((done, i) => (done ? [] : [i]));
  return { themes: themes.filter((t) => t.members.length > 0), unassigned, errors, calls };
}

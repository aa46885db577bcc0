import type { CategoryReport } from './schema.js';

/** Beyond this many categories the x axis labels overlap; the table alone is clearer. */
export const MAX_CHART_CATEGORIES = 24;

const value = (x: number | null | undefined): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '0';
  return String(Math.round(x * 100) / 100);
};

/**
 * A mermaid `xychart-beta` (GitHub renders it in comments and job summaries): one bar per category
 * for the observed rate, a line for its threshold (prediction × tolerance). Reads report data only.
 * Category ids are `[a-z0-9_]+` (schema), so they need no escaping inside the quoted labels.
 */
export function observedVsPredictedChart(categories: readonly CategoryReport[]): string {
  const shown = categories.filter((c) => c.graded > 0);
  if (shown.length === 0 || shown.length > MAX_CHART_CATEGORIES) return '';
  const label = (id: string) => `"${id.replace(/["\\]/g, '')}"`;
  return [
    '```mermaid',
    'xychart-beta',
    '  title "Observed (bars) vs threshold (line), per 100k"',
    `  x-axis [${shown.map((c) => label(c.id)).join(', ')}]`,
    '  y-axis "per 100k"',
    `  bar [${shown.map((c) => value(c.rate_per_100k)).join(', ')}]`,
    `  line [${shown.map((c) => value(c.threshold_per_100k)).join(', ')}]`,
    '```',
  ].join('\n');
}

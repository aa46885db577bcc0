/**
 * Text from a corpus, a model or a grader (and names a pull request can choose) rendered into the PR
 * comment and the job summary: it must stay text. GitHub would otherwise turn `@someone` into a
 * mention (a notification), `[x](url)` and bare URLs into links, `![x](url)` into an image loaded
 * from any host, and `<tag>` into HTML; a backtick could close our code span and a fence our block.
 */

const ZERO_WIDTH_SPACE = '\u200b';

/** What makes GitHub act on text: mentions, autolinked URLs and hosts, and HTML. */
function defuse(text: string): string {
  return text
    .replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))
    // A mention or a team mention: @name, @org/team.
    .replace(/@(?=[A-Za-z0-9])/g, `@${ZERO_WIDTH_SPACE}`)
    .replace(/:\/\//g, `:${ZERO_WIDTH_SPACE}//`)
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}${ZERO_WIDTH_SPACE}.`);
}

/**
 * Prose that may keep our own `code` and **bold** but nothing of the text's: no mention, link, image
 * or HTML. For sentences deploysim wrote around values it does not control.
 */
export function prose(text: string): string {
  return defuse(text.replace(/[[\]]/g, (c) => `\\${c}`));
}

/** Text shown as it is, inline or in a table cell: markdown's characters escaped, on one line. */
export function plain(text: string): string {
  return defuse(text.replace(/\s*\n\s*/g, ' ').replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`));
}

/** An inline code span that the text cannot close, usable in a table cell. */
export function code(text: string): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  const longest = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = oneLine.startsWith('`') || oneLine.endsWith('`') ? ' ' : '';
  // A pipe splits a table cell even inside a code span (GFM); escaped, it shows as itself.
  return `${fence}${pad}${oneLine.replace(/\|/g, '\\|')}${pad}${fence}`;
}

/** A fenced block longer than any backtick run in the text, so quoted model output cannot break out of it. */
export function fenced(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}

/**
 * Nesting limit for one corpus line. V8's JSON.parse copes with any depth, but everything that
 * walks the value afterwards (JSON.stringify when the request is sent, zod, redaction) is recursive
 * and would die with "Maximum call stack size exceeded" far from the offending line. A real
 * conversation record nests fewer than 20 levels (record → messages → message → content → part →
 * …, plus tool JSON schemas), so 256 is generous.
 */
export const MAX_JSON_DEPTH = 256;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when the JSON text nests arrays/objects deeper than `max`. One linear pass over the
 * characters, skipping string contents (so brackets inside strings do not count). Lines with no
 * more than `max` opening brackets in total are answered without the character loop.
 */
export function jsonDepthExceeds(text: string, max: number = MAX_JSON_DEPTH): boolean {
  if (!mayExceed(text, max)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth -= 1;
  }
  return false;
}

/** Cheap pre-check with native indexOf: fewer than max+1 opening brackets cannot nest deeper than max. */
function mayExceed(text: string, max: number): boolean {
  let opens = 0;
  for (const ch of ['[', '{']) {
    for (let i = text.indexOf(ch); i !== -1; i = text.indexOf(ch, i + 1)) {
      opens += 1;
      if (opens > max) return true;
    }
  }
  return false;
}

import { isIPv6 } from 'node:net';

/**
 * PII and secret redaction for everything deploysim shows to humans (PR comments, reports) or
 * writes out as a shareable corpus.
 *
 * Design rules
 * - Every pattern is linear-time on adversarial input: each regex either starts only where a run of
 *   its characters starts (negative lookbehind on the run's own character class), or has a bounded
 *   length, and never nests ambiguous quantifiers. Digit-based kinds (card, phone) are found by one
 *   unambiguous "digit run" regex and validated in plain code over a bounded window of groups.
 * - Passes run in a fixed order, and each replaces what it finds with `[REDACTED:<kind>]`, which no
 *   later pass can match (no digits, no `@`, no `.`): url_credentials → secret → email → ip → card →
 *   phone. So the digits of a key, a URL password or an IP are never counted again as a phone or card.
 * - We err on the side of over-redaction: a false positive costs a little readability in an
 *   excerpt; a false negative leaks personal data into a PR comment.
 *
 * Known limits (false negatives unless stated):
 * - email: only ASCII addresses with a dotted domain and an alphabetic TLD; no quoted local parts,
 *   no IDN/Unicode domains, no `user at example dot com` obfuscations. `ssh://git@github.com` is
 *   redacted as an email (false positive).
 * - url_credentials: only `scheme://user:pass@host` (a password, possibly with an empty user, is
 *   required); `scheme://user@host` keeps the user name (or is caught as an email); a password
 *   containing an unescaped `/`, `?`, `#`, `@` or whitespace is not recognised.
 * - secret: only the listed vendor prefixes (sk-/sk-proj-/sk-ant-, sk_live_/rk_test_, ghp_/gho_/
 *   ghu_/ghs_/ghr_/github_pat_, xox?-, AKIA/ASIA, AIza), `Bearer`/`Basic` credentials, JWTs, PEM
 *   private keys, and `key=value` / `"key": "value"` pairs whose key names a credential (api_key,
 *   access_token, client_secret, secret, token, password…). A credential with no recognisable prefix
 *   or key name is not found; `token=` values shorter than 16 characters, or without a digit and
 *   shorter than 32, are left alone (`token: a word`). `password: <anything ≥ 3 chars>` is redacted,
 *   so prose like `password: must be long` is over-redacted. Unquoted values stop at whitespace, `"`,
 *   `'`, `&`, `,`, `;` (a password with a space is only partly redacted unless it is quoted).
 * - ip: IPv4 dotted quads with decimal octets 0-255 without leading zeros (so `1.2.3.4` counts as an
 *   IP — deliberately — but `v1.2.3.4`, `1.2.3`, `1.2.3.4.5` and `01.02.03.04` do not); IPv6 as
 *   validated by `net.isIPv6` with ≥ 2 colons, ≥ 2 non-empty groups and a digit (so `::1` and
 *   `abc::def` are left alone, and times like `12:30:45` or MAC addresses never match). The `/24`
 *   of a CIDR and a `:port` are kept; integer, hex or zero-padded IPv4 forms are not found.
 * - card: 13–19 digits passing the Luhn check, either contiguous or printed in groups (first group
 *   of 4, middle groups of 4–6, last group of 3–6) with one kind of separator (single space or
 *   single dash). Any Luhn-valid contiguous 13–19 digit number (an order id, a ms timestamp…) is
 *   redacted as a card (false positive, ~1 in 10 such numbers). Digits glued to a letter
 *   (`ID4111…`), after `+` or `(`, or grouped differently (`41111 11111 111111`) are not cards.
 * - phone: candidates are runs of digit groups separated by single spaces, dots, dashes, slashes or
 *   parentheses. A window of consecutive groups with 8–15 digits (not glued to a preceding letter
 *   or digit, starting and ending at a space or at the ends of the run) is a phone when it is
 *   (a) international: starts with `+` (or `(+`), e.g. `+44 20 7946 0958`, `+14155552671`,
 *       `+49 (0)30 1234567`;
 *   (b) NANP-shaped: `XXX XXX XXXX` or `1 XXX XXX XXXX` with any of the separators but `/`,
 *       incl. `(415) 555-2671`;
 *   (c) European national: starts with the trunk `0` (or the `00` international prefix), ≥ 2 groups
 *       of 2–8 digits, 9–13 digits (15 with `00`), at most one `/`, e.g. `020 7946 0958`,
 *       `01 23 45 67 89`, `030/1234567`, `06-12345678` — but not a date like `01.02.2024 …`.
 *   False negatives: bare digit strings without `+` (`4155552671` — indistinguishable from ids),
 *   numbers with fewer than 8 digits (`555-2671`), national formats without a trunk `0` that are
 *   not NANP-shaped (Spanish `912 345 678`, `91 234 56 78`), numbers glued to letters (`tel4155…`),
 *   spelled-out or vanity numbers (`1-800-FLOWERS`), separators other than the listed ones (`_`,
 *   `,`, two spaces, ` - `), and the extension of `… x123` is kept. False positives: any `+` followed
 *   by 8–15 digits in small groups (`+1 2 3 4 5 6 7 8`), 3-3-4 digit groups that are not phones.
 * - Anything obfuscated, split across messages, encoded (base64, URL-encoding such as `%40`), or
 *   written with non-ASCII digits.
 */

export const REDACTION_KINDS = ['email', 'phone', 'card', 'ip', 'secret', 'url_credentials'] as const;
export type RedactionKind = (typeof REDACTION_KINDS)[number];
export type RedactionCounts = Record<RedactionKind, number>;

export interface RedactionResult {
  text: string;
  counts: RedactionCounts;
}

export function emptyCounts(): RedactionCounts {
  return { email: 0, phone: 0, card: 0, ip: 0, secret: 0, url_credentials: 0 };
}

export function addCounts(a: RedactionCounts, b: RedactionCounts): RedactionCounts {
  const out = emptyCounts();
  for (const kind of REDACTION_KINDS) out[kind] = a[kind] + b[kind];
  return out;
}

export function totalCount(counts: RedactionCounts): number {
  return REDACTION_KINDS.reduce((sum, kind) => sum + counts[kind], 0);
}

/** The placeholder written in place of a finding, e.g. `[REDACTED:email]`. */
export function redactionToken(kind: RedactionKind): string {
  return `[REDACTED:${kind}]`;
}

const REDACTED_PREFIX = '[REDACTED:';

// ---------------------------------------------------------------------------------------------
// url_credentials

// Scheme starts only at the start of a scheme-character run; userinfo cannot contain / ? # @ or
// whitespace; the user part stops at the first ':'. Each scan is bounded by the next delimiter.
const URL_CREDENTIALS_RE = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/?#@:]*):([^\s/?#@]*)@/g;

function redactUrlCredentials(text: string): [string, number] {
  let n = 0;
  const out = text.replace(URL_CREDENTIALS_RE, (match, scheme: string, user: string, pass: string) => {
    if (user === '' && pass === '') return match;
    // Already redacted (`[REDACTED:url_credentials]` parses as user `[REDACTED`, password `…]`).
    if (`${user}:${pass}`.startsWith(REDACTED_PREFIX)) return match;
    n += 1;
    return `${scheme}${redactionToken('url_credentials')}@`;
  });
  return [out, n];
}

// ---------------------------------------------------------------------------------------------
// secret

const hasDigit = (s: string): boolean => /\d/.test(s);

interface SecretRule {
  re: RegExp;
  /** Returns the replacement, or undefined to leave the match alone. */
  replace: (match: string, groups: (string | undefined)[]) => string | undefined;
}

const SECRET_TOKEN = redactionToken('secret');

const SECRET_RULES: SecretRule[] = [
  // PEM private keys (body greedy over base64 characters only, so it stops at the next '-'); a
  // truncated key with no END line is still redacted.
  {
    re: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[A-Za-z0-9+/=\s]*(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----)?/g,
    replace: () => SECRET_TOKEN,
  },
  // JWTs: header and payload are base64url JSON objects, so both start with `eyJ` (`{"`).
  {
    re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g,
    replace: () => SECRET_TOKEN,
  },
  // OpenAI / Anthropic style `sk-…`, `sk-proj-…`, `sk-ant-…`; Stripe `sk_live_…`, `rk_test_…`.
  {
    re: /(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,})/g,
    replace: (m) => (hasDigit(m) ? SECRET_TOKEN : undefined),
  },
  // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained (github_pat_).
  {
    re: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
    replace: () => SECRET_TOKEN,
  },
  // Slack tokens.
  {
    re: /(?<![A-Za-z0-9-])xox[abeoprs]-[A-Za-z0-9-]{10,}/g,
    replace: () => SECRET_TOKEN,
  },
  // AWS access key ids (long-term AKIA, temporary ASIA) and Google API keys.
  {
    re: /(?<![A-Za-z0-9])(?:(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9])/g,
    replace: () => SECRET_TOKEN,
  },
  // HTTP credentials: `Bearer <token>` (token needs a digit or ≥ 20 chars, so "bearer bonds" is
  // prose) and `Basic <base64 of user:pass>`.
  {
    re: /(?<![A-Za-z0-9])([Bb]earer|[Bb]asic)([ \t]{1,8})([A-Za-z0-9._~+/-]{8,}=*)/g,
    replace: (_m, [scheme = '', space = '', token = '']) => {
      if (/^basic$/i.test(scheme)) {
        const decoded = Buffer.from(token, 'base64').toString('utf8');
        if (!/^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded)) return undefined;
      } else if (!hasDigit(token) && token.length < 20) {
        return undefined;
      }
      return `${scheme}${space}${SECRET_TOKEN}`;
    },
  },
  // Generic `key=value` / `"key": "value"` where the key names a credential. Password-like keys
  // take any value of ≥ 3 characters; token-like keys need a long hex/base64-looking value.
  // Quoted values run to the closing quote or the end of the line (no backtracking on a missing
  // quote); the separator whitespace is bounded.
  {
    re: /(?<![A-Za-z0-9])(api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret[_-]?(?:access[_-]?)?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|client[_-]?secret|private[_-]?key|token|secret|password|passwd|passphrase)(["']?[ \t]{0,8}[=:][ \t]{0,8})(?:"([^"\r\n]*)"?|'([^'\r\n]*)'?|([^\s"'&,;]+))/gi,
    replace: (match, [key = '', sep = '', dq, sq, bare]) => {
      const value = dq ?? sq ?? bare ?? '';
      const quote = dq !== undefined ? '"' : sq !== undefined ? "'" : '';
      if (value.startsWith(REDACTED_PREFIX)) return undefined;
      const passwordLike = /^(password|passwd|passphrase)$/i.test(key);
      if (passwordLike) {
        if (value.trim().length < 3) return undefined;
      } else {
        const v = value.trim();
        if (v.length < 16 || !/^[A-Za-z0-9+/=_.~-]+$/.test(v) || (!hasDigit(v) && v.length < 32)) return undefined;
      }
      const closed = quote !== '' && match.length === key.length + sep.length + value.length + 2;
      const closing = closed ? quote : '';
      return `${key}${sep}${quote}${SECRET_TOKEN}${closing}`;
    },
  },
];

function redactSecrets(text: string): [string, number] {
  let n = 0;
  let out = text;
  for (const rule of SECRET_RULES) {
    out = out.replace(rule.re, (match: string, ...rest: unknown[]) => {
      // `rest` is the capture groups, then offset, input (and groups object if named groups).
      const groups = rest.slice(0, -2).map((g) => (typeof g === 'string' ? g : undefined));
      const replacement = rule.replace(match, groups);
      if (replacement === undefined) return match;
      n += 1;
      return replacement;
    });
  }
  return [out, n];
}

// ---------------------------------------------------------------------------------------------
// email

// The local part may only start where a run of local-part characters starts, so an input of one
// long run without '@' is scanned once, not once per position.
const EMAIL_RE = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

function redactEmails(text: string): [string, number] {
  let n = 0;
  const out = text.replace(EMAIL_RE, () => {
    n += 1;
    return redactionToken('email');
  });
  return [out, n];
}

// ---------------------------------------------------------------------------------------------
// ip

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_RE = new RegExp(`(?<![\\w.])(?:${OCTET}\\.){3}${OCTET}(?![\\w]|\\.\\d)`, 'g');
// Bounded (≤ 7 groups of ≤ 4 hex digits), validated by net.isIPv6.
const IPV6_RE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![\w:]|\.\d)/g;

function looksLikeIpv6(candidate: string): boolean {
  if (!isIPv6(candidate) || !hasDigit(candidate)) return false;
  return candidate.split(/[:.]/).filter((g) => g !== '').length >= 2;
}

function redactIps(text: string): [string, number] {
  let n = 0;
  const v6 = text.replace(IPV6_RE, (m) => {
    if (!looksLikeIpv6(m)) return m;
    n += 1;
    return redactionToken('ip');
  });
  const out = v6.replace(IPV4_RE, () => {
    n += 1;
    return redactionToken('ip');
  });
  return [out, n];
}

// ---------------------------------------------------------------------------------------------
// digit runs: shared by card and phone

/**
 * A maximal run of digit groups separated by 1–3 of ` ().-/` and optionally `+` before a group. The
 * alternatives inside the repetition start with disjoint characters (separator vs digit) and the
 * separator class excludes digits, so the split into groups is unique: no backtracking blow-up.
 * The g-flag scan resumes after each (greedy, always successful) match, so a run is seen once.
 */
const DIGIT_RUN_RE = /(?:\(\+?|\+)?\d(?:[ ().\-/]{1,3}\+?\d|\d)*\)?/g;

interface Run {
  text: string;
  /** Offsets of each digit group in `text`: [start, end). */
  starts: number[];
  ends: number[];
  /** Separator text before group i (index 0: text before the first group, e.g. `+` or `(`). */
  seps: string[];
  /** seps[i] may end a window before group i / start one at group i (it contains a space). */
  boundary: boolean[];
  /** The run is glued to a preceding letter, digit or underscore (e.g. `ID1234…`, `abc123`). */
  glued: boolean;
}

function parseRun(text: string, glued: boolean): Run {
  const run: Run = { text, starts: [], ends: [], seps: [], boundary: [], glued };
  let i = 0;
  let sepStart = 0;
  while (i < text.length) {
    if (isDigitAt(text, i)) {
      const start = i;
      while (i < text.length && isDigitAt(text, i)) i++;
      const sep = text.slice(sepStart, start);
      run.seps.push(sep);
      run.boundary.push(sep.includes(' '));
      run.starts.push(start);
      run.ends.push(i);
      sepStart = i;
    } else {
      i++;
    }
  }
  return run;
}

function isDigitAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 48 && c <= 57;
}

const groupLength = (run: Run, i: number): number => run.ends[i]! - run.starts[i]!;
const groupDigits = (run: Run, i: number): string => run.text.slice(run.starts[i], run.ends[i]);

function digitsOf(run: Run, from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to; i++) s += groupDigits(run, i);
  return s;
}

/** Window bounds in the run: a `+`, `(` or `(+` just before the first group and a `)` just after the last belong to it. */
function windowBounds(run: Run, from: number, to: number): { start: number; end: number } {
  let start = run.starts[from]!;
  while (start > 0 && (run.text[start - 1] === '+' || run.text[start - 1] === '(')) start--;
  let end = run.ends[to]!;
  if (run.text[end] === ')') end++;
  return { start, end };
}

interface DigitKind {
  maxDigits: number;
  maxGroups: number;
  /** May this separator sit inside a window? */
  innerSep: (sep: string) => boolean;
  accept: (run: Run, from: number, to: number) => boolean;
}

/**
 * Finds non-overlapping windows of consecutive groups accepted by `kind`, preferring the earliest
 * start and then the longest window. Windows have ≤ maxGroups groups, so this is linear in the run.
 */
function findWindows(run: Run, kind: DigitKind): [number, number][] {
  const found: [number, number][] = [];
  const n = run.starts.length;
  const inner = run.seps.map((sep, i) => i > 0 && kind.innerSep(sep));
  let from = 0;
  while (from < n) {
    const startOk = from === 0 ? !run.glued : run.boundary[from]!;
    let chosen = -1;
    if (startOk) {
      let last = from;
      let digits = groupLength(run, from);
      while (last + 1 < n && last + 1 - from < kind.maxGroups && inner[last + 1] && digits + groupLength(run, last + 1) <= kind.maxDigits) {
        last++;
        digits += groupLength(run, last);
      }
      for (let to = last; to >= from && chosen < 0; to--) {
        const endOk = to === n - 1 || run.boundary[to + 1]!;
        if (endOk && kind.accept(run, from, to)) chosen = to;
      }
    }
    if (chosen >= 0) {
      found.push([from, chosen]);
      from = chosen + 1;
    } else {
      from++;
    }
  }
  return found;
}

function redactDigitRuns(text: string, kindName: 'card' | 'phone'): [string, number] {
  let n = 0;
  const token = redactionToken(kindName);
  const kind = kindName === 'card' ? CARD : PHONE;
  const out = text.replace(DIGIT_RUN_RE, (match: string, offset: number, whole: string) => {
    const before = offset > 0 ? whole[offset - 1]! : '';
    const run = parseRun(match, !match.startsWith('(') && /[\p{L}\p{N}_]/u.test(before));
    const windows = findWindows(run, kind);
    if (windows.length === 0) return match;
    n += windows.length;
    let replaced = '';
    let pos = 0;
    for (const [from, to] of windows) {
      const { start, end } = windowBounds(run, from, to);
      replaced += match.slice(pos, start) + token;
      pos = end;
    }
    return replaced + match.slice(pos);
  });
  return [out, n];
}

// ---------------------------------------------------------------------------------------------
// card

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * 13–19 digits, Luhn-valid, either one contiguous group or grouped the way cards are printed:
 * a first group of 4, middle groups of 4–6, a last group of 3–6, one kind of separator (a single
 * space or a single dash) throughout — 4-4-4-4, 4-6-5 (Amex), 4-6-4 (Diners), 4-4-4-4-3.
 */
const CARD: DigitKind = {
  maxDigits: 19,
  maxGroups: 5,
  innerSep: (sep) => sep === ' ' || sep === '-',
  accept(run, from, to) {
    // `+` introduces a phone number, `(` an area code.
    const prev = run.text[run.starts[from]! - 1];
    if (prev === '+' || prev === '(') return false;
    let total = 0;
    for (let i = from; i <= to; i++) total += groupLength(run, i);
    if (total < 13 || total > 19) return false;
    if (to > from) {
      if (groupLength(run, from) !== 4) return false;
      for (let i = from + 1; i <= to; i++) {
        const len = groupLength(run, i);
        if (len > 6 || len < (i === to ? 3 : 4)) return false;
        if (run.seps[i] !== run.seps[from + 1]) return false;
      }
    }
    return luhnValid(digitsOf(run, from, to));
  },
};

// ---------------------------------------------------------------------------------------------
// phone

// Between two groups of one phone number: one separator, or a parenthesis with an optional separator.
const PHONE_SEP_RE = /^(?:[ .\-/]|\)[ .-]?|[ .-]?\(|\)[ .-]?\()$/;

const PHONE: DigitKind = {
  maxDigits: 15,
  maxGroups: 8,
  innerSep: (sep) => PHONE_SEP_RE.test(sep),
  accept(run, from, to) {
    let total = 0;
    for (let i = from; i <= to; i++) total += groupLength(run, i);
    if (total < 8 || total > 15) return false;
    const { start, end } = windowBounds(run, from, to);
    let parens = 0;
    for (let i = start; i < end; i++) {
      if (run.text[i] === '(') parens++;
      else if (run.text[i] === ')') parens--;
      if (parens < 0 || parens > 1) return false;
    }
    if (parens !== 0) return false;

    // (a) international: +CC …
    if (run.text[start] === '+' || run.text.startsWith('(+', start)) return true;

    // Everything else needs separators: a bare digit string is an id, not a phone.
    const groups = to - from + 1;
    if (groups < 2) return false;
    const first = run.text[run.starts[from]!];

    // (b) NANP-shaped: [1] XXX XXX XXXX, no slashes. (Real NANP area codes and exchanges start
    // with 2-9; we accept the common fake 123-456-7890 / 555-123-4567 too: over-redaction is cheap.)
    const lead = groups === 4 && first === '1' && groupLength(run, from) === 1 ? 1 : 0;
    if (groups - lead === 3) {
      const a = from + lead;
      if (
        groupLength(run, a) === 3 &&
        groupLength(run, a + 1) === 3 &&
        groupLength(run, a + 2) === 4 &&
        !run.seps.slice(from + 1, to + 1).some((s) => s.includes('/'))
      ) {
        return true;
      }
    }

    // (c) European national format: trunk prefix 0 (or the 00 international prefix), groups of 2–8.
    if (first !== '0') return false;
    // After the trunk 0 comes an area code, after 00 a country code: neither starts with 0.
    const second = run.text[run.starts[from]! + 1];
    const intlPrefix = second === '0';
    if (intlPrefix && run.text[run.starts[from]! + 2] === '0') return false;
    if (total < 9 || total > (intlPrefix ? 15 : 13)) return false;
    const firstLen = groupLength(run, from);
    if (firstLen < 2 || firstLen > 5) return false;
    let slashes = 0;
    for (let i = from; i <= to; i++) {
      const len = groupLength(run, i);
      if (len < 2 || len > 8) return false;
      if (i > from && run.seps[i]!.includes('/')) slashes++;
    }
    if (slashes > 1) return false;
    // Not a date such as 01.02.2024 (or 01-02-2024, 01/02/2024) followed by more digits.
    if (groups >= 3 && firstLen <= 2 && groupLength(run, from + 1) <= 2 && groupLength(run, from + 2) === 4) {
      const s1 = run.seps[from + 1]!;
      if (s1 === run.seps[from + 2] && /^[./-]$/.test(s1)) return false;
    }
    return true;
  },
};

// ---------------------------------------------------------------------------------------------
// public API

type Pass = (text: string) => [string, number];

const PASSES: readonly [RedactionKind, Pass][] = [
  ['url_credentials', redactUrlCredentials],
  ['secret', redactSecrets],
  ['email', redactEmails],
  ['ip', redactIps],
  ['card', (t) => redactDigitRuns(t, 'card')],
  ['phone', (t) => redactDigitRuns(t, 'phone')],
];

/** Replaces every finding with `[REDACTED:<kind>]` and counts findings per kind. Idempotent. */
export function redact(text: string): RedactionResult {
  const counts = emptyCounts();
  let out = text;
  for (const [kind, pass] of PASSES) {
    const [next, n] = pass(out);
    out = next;
    counts[kind] += n;
  }
  return { text: out, counts };
}

/** True when `redact` would change anything. */
export function containsPii(text: string): boolean {
  let out = text;
  for (const [, pass] of PASSES) {
    const [next, n] = pass(out);
    if (n > 0) return true;
    out = next;
  }
  return false;
}

/**
 * Shortens `text` to at most `maxChars` characters (Unicode code points), never splitting a
 * surrogate pair nor, where `Intl.Segmenter` is available, a grapheme cluster (ZWJ emoji, flags,
 * combining marks), then appends `… [N more characters]` with N the number of code points omitted.
 * Text that already fits is returned unchanged.
 */
export function truncate(text: string, maxChars: number): string {
  const limit = Math.max(0, Math.floor(maxChars));
  // Fast path: UTF-16 length ≥ code point count.
  if (text.length <= limit) return text;
  // Walk code points up to the limit.
  let cut = 0;
  let kept = 0;
  while (cut < text.length && kept < limit) {
    cut += isHighSurrogateAt(text, cut) ? 2 : 1;
    kept++;
  }
  if (cut >= text.length) return text;
  cut = graphemeBoundaryAtOrBefore(text, cut);
  const omitted = countCodePoints(text, cut);
  return `${text.slice(0, cut)}… [${omitted} more character${omitted === 1 ? '' : 's'}]`;
}

function isHighSurrogateAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) return false;
  const d = text.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff;
}

function countCodePoints(text: string, from: number): number {
  let n = 0;
  for (let i = from; i < text.length; i += isHighSurrogateAt(text, i) ? 2 : 1) n++;
  return n;
}

let segmenter: Intl.Segmenter | undefined | null;

/** Moves `cut` back to the start of the grapheme cluster that straddles it, if any. */
function graphemeBoundaryAtOrBefore(text: string, cut: number): number {
  if (segmenter === undefined) {
    segmenter = typeof Intl !== 'undefined' && 'Segmenter' in Intl ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : null;
  }
  if (!segmenter) return cut;
  // Only look at a bounded window around the cut; clusters longer than this are split anyway.
  const from = Math.max(0, cut - 64);
  const window = text.slice(from, Math.min(text.length, cut + 64));
  let boundary = from;
  for (const seg of segmenter.segment(window)) {
    const start = from + seg.index;
    if (start > cut) break;
    boundary = start;
    if (start + seg.segment.length === cut) return cut;
  }
  // When the window start itself may sit inside a cluster (from > 0) and no boundary was found
  // after it, keep the code-point cut rather than jumping back to an arbitrary offset.
  return boundary === from && from > 0 ? cut : boundary;
}

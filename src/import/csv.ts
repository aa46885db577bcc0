/** One parsed CSV record and the 1-based line it starts on. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A single field beyond this is refused rather than buffered without bound. */
export const MAX_CSV_FIELD_CHARS = 16 * 1024 * 1024;

/**
 * Streaming RFC 4180 parser: comma-separated, `"`-quoted fields with `""` escapes and embedded
 * newlines, CRLF or LF line ends, an optional UTF-8 BOM. Memory is bounded by the longest record.
 */
export async function* parseCsv(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<CsvRecord> {
  let field = '';
  let fields: string[] = [];
  let quoted = false; // inside a quoted field
  let afterQuote = false; // just read a quote inside a quoted field (escape or end)
  let line = 1;
  let recordLine = 1;
  let first = true;
  let sawAny = false;

  const endField = () => {
    fields.push(field);
    field = '';
  };
  const endRecord = (): CsvRecord | undefined => {
    endField();
    const rec = fields.length === 1 && fields[0] === '' ? undefined : { line: recordLine, fields };
    fields = [];
    return rec;
  };

  for await (const chunk of chunks) {
    let text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (!sawAny) {
        recordLine = line;
        sawAny = true;
      }
      if (quoted) {
        if (afterQuote) {
          afterQuote = false;
          if (c === '"') {
            field += '"';
            continue;
          }
          quoted = false; // the quote closed the field; fall through to handle c unquoted
        } else if (c === '"') {
          afterQuote = true;
          continue;
        } else {
          if (c === '\n') line++;
          field += c;
          if (field.length > MAX_CSV_FIELD_CHARS) throw new Error(`line ${recordLine}: a field is longer than ${MAX_CSV_FIELD_CHARS} characters`);
          continue;
        }
      }
      if (c === '"' && field === '') {
        quoted = true;
      } else if (c === ',') {
        endField();
      } else if (c === '\n') {
        if (field.endsWith('\r')) field = field.slice(0, -1);
        const rec = endRecord();
        line++;
        sawAny = false;
        if (rec) yield rec;
      } else {
        field += c;
        if (field.length > MAX_CSV_FIELD_CHARS) throw new Error(`line ${recordLine}: a field is longer than ${MAX_CSV_FIELD_CHARS} characters`);
      }
    }
  }
  if (quoted && !afterQuote) throw new Error(`line ${recordLine}: a quoted field is not closed`);
  if (sawAny) {
    if (field.endsWith('\r')) field = field.slice(0, -1);
    const rec = endRecord();
    if (rec) yield rec;
  }
}

import { corpusRecordSchema, derivePrefix, type ChatMessage, type CorpusRecord } from '../corpus/record.js';

/** Formats `deploysim import --from` accepts. */
export const IMPORT_FORMATS = ['openai-chat', 'openai-evals', 'promptfoo', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** One input item converted: a corpus record, or the reason it was skipped. */
export type Converted = { record: CorpusRecord } | { skip: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a candidate record the way the corpus reader will (schema, a user turn in the replay
 * prefix), so an imported corpus never fails `deploysim run` on a line import wrote.
 */
export function finish(record: { id: string; messages: unknown; tools?: unknown; metadata?: Record<string, unknown> }): Converted {
  const parsed = corpusRecordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
    return { skip: `not a valid chat conversation (${field || 'record'}: ${issue.message})` };
  }
  const prefix = derivePrefix(parsed.data.messages);
  if ('error' in prefix) return { skip: 'no user turn to replay' };
  return { record: parsed.data };
}

/** Drops fine-tuning-only keys (`weight`) that the Chat Completions API does not accept. */
function cleanMessages(messages: unknown[]): unknown[] {
  return messages.map((m) => {
    if (!isObject(m)) return m;
    const { weight: _weight, ...rest } = m;
    return rest;
  });
}

/** OpenAI chat fine-tuning JSONL: `{"messages":[…],"tools":[…]}` per line. */
export function fromOpenAIChat(json: unknown, id: string): Converted {
  if (!isObject(json)) return { skip: 'not a JSON object' };
  if (!Array.isArray(json.messages) || json.messages.length === 0) return { skip: 'no "messages" list' };
  const tools = Array.isArray(json.tools) ? json.tools : undefined;
  return finish({ id, messages: cleanMessages(json.messages), ...(tools ? { tools } : {}), metadata: { source: 'openai-chat' } });
}

/**
 * OpenAI Evals samples JSONL: `{"input": [chat messages] | "prompt text", "ideal": …}` per line. The
 * `ideal` answer is not needed (the candidate's reply is graded, not compared) and is dropped.
 */
export function fromOpenAIEvals(json: unknown, id: string): Converted {
  if (!isObject(json)) return { skip: 'not a JSON object' };
  const input = json.input;
  if (typeof input === 'string') {
    if (input.trim() === '') return { skip: 'empty prompt' };
    return finish({ id, messages: [{ role: 'user', content: input }], metadata: { source: 'openai-evals' } });
  }
  if (Array.isArray(input) && input.length > 0) return finish({ id, messages: cleanMessages(input), metadata: { source: 'openai-evals' } });
  return { skip: 'no "input" (a string or a list of chat messages)' };
}

/** CSV row (header → value): the prompt column becomes a user turn; `id` and `system` are used; the rest is metadata. */
export function fromCsvRow(row: Record<string, string>, column: string, id: string): Converted {
  const prompt = row[column];
  if (prompt === undefined || prompt.trim() === '') return { skip: `empty "${column}"` };
  const messages: ChatMessage[] = [];
  if (row.system?.trim()) messages.push({ role: 'system', content: row.system });
  messages.push({ role: 'user', content: prompt });
  const metadata: Record<string, unknown> = { source: 'csv' };
  for (const [k, v] of Object.entries(row)) if (k !== column && k !== 'id' && k !== 'system' && v !== '') metadata[k] = v;
  return finish({ id: row.id?.trim() || id, messages, metadata });
}

/** The first header among these names is the prompt column unless `--column` says otherwise. */
export const CSV_PROMPT_COLUMNS = ['prompt', 'input', 'question', 'text', 'message'];

/** Substitutes `{{ var }}` / `{{var}}` (promptfoo's Nunjucks subset that matters here). */
function render(template: string, vars: Record<string, unknown>): { text: string; missing: string[] } {
  const missing: string[] = [];
  const text = template.replace(/\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) {
      missing.push(name);
      return '';
    }
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
  return { text, missing };
}

const PROMPT_VARS = ['prompt', 'question', 'input', 'query', 'message', 'text'];

/**
 * A promptfoo config or test file (parsed YAML/JSON): `prompts` × `tests[].vars`, or, for a bare test
 * list, the test's prompt-like variable. Chat-style prompts (a JSON list of messages) are kept as chats.
 */
export function* fromPromptfoo(doc: unknown, idPrefix: string): Generator<{ item: string } & Converted> {
  const tests: unknown[] = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.tests) ? doc.tests : [];
  const rawPrompts: unknown[] = isObject(doc) && doc.prompts !== undefined ? (Array.isArray(doc.prompts) ? doc.prompts : [doc.prompts]) : [];
  const prompts: { label: string; template?: string; skip?: string }[] = rawPrompts.map((p, i) => {
    const template = typeof p === 'string' ? p : isObject(p) && typeof p.raw === 'string' ? p.raw : isObject(p) && typeof p.prompt === 'string' ? p.prompt : undefined;
    const label = isObject(p) && typeof p.id === 'string' ? p.id : `prompt ${i + 1}`;
    if (template === undefined) return { label, skip: 'prompt is not a string' };
    if (/^(file|package|python|exec):/.test(template.trim())) return { label, skip: 'prompt refers to an external file (inline it first)' };
    return { label, template };
  });
  const defaultVars = isObject(doc) && isObject(doc.defaultTest) && isObject(doc.defaultTest.vars) ? doc.defaultTest.vars : {};
  let n = 0;
  const testList = tests.length > 0 ? tests : prompts.length > 0 ? [{}] : [];
  for (const [t, test] of testList.entries()) {
    const where = tests.length > 0 ? `tests[${t}]` : 'prompts';
    if (!isObject(test)) {
      yield { item: where, skip: 'test is not a mapping' };
      continue;
    }
    const vars = { ...defaultVars, ...(isObject(test.vars) ? test.vars : {}) };
    if (prompts.length === 0) {
      const name = PROMPT_VARS.find((k) => typeof vars[k] === 'string') ?? (Object.keys(vars).length === 1 && typeof Object.values(vars)[0] === 'string' ? Object.keys(vars)[0] : undefined);
      if (!name) {
        yield { item: where, skip: 'no prompts and no prompt-like variable (prompt, question, input, query, message, text)' };
        continue;
      }
      n++;
      yield { item: where, ...finish({ id: `${idPrefix}-${n}`, messages: [{ role: 'user', content: vars[name] }], metadata: { source: 'promptfoo', test: t } }) };
      continue;
    }
    for (const p of prompts) {
      const item = `${where} × ${p.label}`;
      if (p.skip || p.template === undefined) {
        yield { item, skip: p.skip ?? 'prompt is not a string' };
        continue;
      }
      const { text, missing } = render(p.template, vars);
      if (missing.length > 0) {
        yield { item, skip: `variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set` };
        continue;
      }
      let messages: unknown = [{ role: 'user', content: text }];
      const trimmed = text.trim();
      if (trimmed.startsWith('[')) {
        try {
          const parsed: unknown = JSON.parse(trimmed);
          if (Array.isArray(parsed)) messages = parsed;
        } catch {
          // not a chat-format prompt: keep the text as one user turn
        }
      }
      n++;
      yield { item, ...finish({ id: `${idPrefix}-${n}`, messages, metadata: { source: 'promptfoo', test: t, prompt: p.label } }) };
    }
  }
}

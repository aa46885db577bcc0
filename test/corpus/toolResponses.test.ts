import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/corpus/record.js';
import { canonicalArguments, recordedCalls, ToolResponseDatabase } from '../../src/corpus/toolResponses.js';

const call = (id: string, name: string, args: string) => ({ id, type: 'function' as const, function: { name, arguments: args } });

describe('canonical arguments', () => {
  it('sorts keys at every level and ignores whitespace; arrays keep their order', () => {
    expect(canonicalArguments('{ "b": 1, "a": {"d": [2, 1], "c": null} }')).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalArguments('{"a":{"c":null,"d":[2,1]},"b":1}')).toBe(canonicalArguments('{"b":1,"a":{"d":[2,1],"c":null}}'));
    expect(canonicalArguments('{"d":[1,2]}')).not.toBe(canonicalArguments('{"d":[2,1]}'));
  });
  it('compares arguments that are not JSON as raw strings', () => {
    expect(canonicalArguments('not json')).toBe('raw:not json');
  });
});

describe('recordedCalls', () => {
  it('pairs each tool message with its call, including parallel calls and ids reused later in the trajectory', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [call('a', 't1', '{"x":1}'), call('b', 't2', '{}')] },
      { role: 'tool', tool_call_id: 'b', content: 'B' },
      { role: 'tool', tool_call_id: 'a', content: 'A' },
      { role: 'assistant', content: null, tool_calls: [call('a', 't3', '{"y":2}')] },
      { role: 'tool', tool_call_id: 'a', content: 'A2' },
      { role: 'tool', tool_call_id: 'orphan', content: 'ignored' },
    ];
    expect(recordedCalls(messages).map((c) => [c.name, c.arguments, c.content, c.callTurn, c.responseTurn])).toEqual([
      ['t2', '{}', 'B', 1, 2],
      ['t1', '{"x":1}', 'A', 1, 3],
      ['t3', '{"y":2}', 'A2', 4, 5],
    ]);
  });
});

describe('ToolResponseDatabase', () => {
  it('looks up by tool name + canonical arguments and returns the recorded content unchanged', () => {
    const db = new ToolResponseDatabase();
    const content = '{"a":  1}\n\u2028 é';
    db.add({ name: 'get', arguments: '{"id":"1","v":2}', content });
    expect(db.lookup('get', '{ "v": 2, "id": "1" }')).toBe(content);
    expect(db.lookup('other', '{"id":"1","v":2}')).toBeUndefined();
    expect(db.lookup('get', '{"id":"2","v":2}')).toBeUndefined();
  });

  it('keeps the first response for a key and counts conflicts', () => {
    const db = new ToolResponseDatabase();
    db.add({ name: 't', arguments: '{}', content: 'first' });
    db.add({ name: 't', arguments: '{ }', content: 'second' });
    expect(db.lookup('t', '{}')).toBe('first');
    expect(db.stats).toMatchObject({ entries: 1, conflicts: 1, responses_seen: 2, capped: false });
  });

  it('caps entries and bytes and reports it', () => {
    const byEntries = new ToolResponseDatabase({ maxEntries: 2, maxBytes: 1e9, examplesPerTool: 5, maxTools: 10 });
    for (let i = 0; i < 5; i++) byEntries.add({ name: 't', arguments: `{"i":${i}}`, content: `r${i}` });
    expect(byEntries.stats).toMatchObject({ entries: 2, dropped: 3, capped: true });
    expect(byEntries.lookup('t', '{"i":1}')).toBe('r1');
    expect(byEntries.lookup('t', '{"i":2}')).toBeUndefined();

    const byBytes = new ToolResponseDatabase({ maxEntries: 100, maxBytes: 40, examplesPerTool: 5, maxTools: 10 });
    byBytes.add({ name: 't', arguments: '{}', content: 'x'.repeat(20) });
    byBytes.add({ name: 't', arguments: '{"a":1}', content: 'y'.repeat(20) });
    expect(byBytes.stats).toMatchObject({ entries: 1, dropped: 1, capped: true });
    expect(byBytes.stats.bytes).toBeLessThanOrEqual(40);
  });

  it('keeps up to K examples per tool and can leave one call out', () => {
    const db = new ToolResponseDatabase({ maxEntries: 100, maxBytes: 1e9, examplesPerTool: 2, maxTools: 10 });
    db.add({ name: 't', arguments: '{"i":0}', content: 'same' });
    db.add({ name: 't', arguments: '{"i":1}', content: 'r1' });
    db.add({ name: 't', arguments: '{"i":2}', content: 'r2' });
    expect(db.examples('t').map((e) => e.content)).toEqual(['same', 'r1']);
    expect(db.examples('t', { name: 't', arguments: '{ "i": 1 }', content: 'r1' }).map((e) => e.content)).toEqual(['same']);
    // Another call with identical content is left out too (it would reveal the answer).
    expect(db.examples('t', { name: 't', arguments: '{"i":9}', content: 'same' }).map((e) => e.content)).toEqual(['r1']);
  });

  it('addRecord counts records that declare tools', () => {
    const db = new ToolResponseDatabase();
    db.addRecord({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 't' } }] });
    db.addRecord({ messages: [{ role: 'user', content: 'x' }] });
    expect(db.stats.records_with_tools).toBe(1);
  });
});

/**
 * A strict JSON reader for file headers (RFC 8259). Unlike `JSON.parse` it refuses a repeated key,
 * bounds the nesting (a header of 100 000 '[' is a ConvError, not a stack overflow), and builds
 * null-prototype objects, so that a `__proto__` key is an ordinary key. Browser safe.
 */
import { ConvError, fmt } from '../spec/errors.js';

/** Deepest nesting accepted (a safetensors header needs 3). */
export const MAX_JSON_DEPTH = 64;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses `text`; errors are ConvErrors `"<op>: <param> must be JSON (…)"`. Objects have a null
 * prototype; strings and numbers are decoded as `JSON.parse` decodes them.
 */
export function parseStrictJson(op: string, param: string, text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new ConvError(op, param, `must be UTF-8 JSON (${what} at character ${i}); got ${text.length} characters starting ${fmt(text.slice(0, 40))}`);
  };
  const ws = () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
  };
  const string = (): string => {
    const start = i;
    for (i++; ; i++) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail('an unterminated string');
      if (c === 0x22) break;
      if (c === 0x5c) i++;
      else if (c < 0x20) fail('a control character in a string');
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('an invalid escape in a string');
    }
  };
  const value = (depth: number): unknown => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
      i++;
      ws();
      if (c === '[') {
        const list: unknown[] = [];
        if (text[i] === ']') { i++; return list; }
        for (;;) {
          list.push(value(depth + 1));
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === ']') { i++; return list; }
          fail("a missing ',' or ']'");
        }
      }
      const obj = Object.create(null) as Record<string, unknown>;
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a missing key');
        const at = i;
        const key = string();
        if (Object.hasOwn(obj, key)) { i = at; fail(`the key ${fmt(key)} repeated`); }
        ws();
        if (text[i] !== ':') fail("a missing ':'");
        i++;
        obj[key] = value(depth + 1);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail("a missing ',' or '}'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const)
      if (text.startsWith(word, i)) { i += word.length; return v; }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail(i >= text.length ? 'an unexpected end' : `an unexpected ${fmt(text[i])}`);
    i += m[0].length;
    return Number(m[0]);
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}

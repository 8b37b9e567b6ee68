/**
 * Running the documentation's code blocks (test/docs-examples.test.ts).
 *
 * Conventions for a fenced block in README.md or docs/*.md:
 *
 * - ```ts / ```js (also typescript, javascript, mts, mjs) blocks are run, each on its own, as an ES
 *   module through tsx. `'convkit'` and `'convkit/node'` resolve to src/index.ts and src/io/node.ts;
 *   a relative specifier (`'./examples/models/hifigan.js'`) is relative to the repository root. The
 *   working directory is a fresh temporary folder, so a block may write files.
 * - An expected value is an expression statement at the top level (the last one of its line; the `;`
 *   may be left out) followed by a comment whose text is a literal (numbers, strings, arrays, objects,
 *   true/false/null), on the same line or alone on the next line; the literal may also follow a last
 *   `→ ` or `: ` in the comment:
 *       conv1d(x, w).shape;            // [20, 33, 24]
 *       m.forward(x).toArray();        // [[[60, 16, 99, 75, 4]]]
 *       f(x).shape;                    // outputSize picks the output padding: [1, 8, 19]
 *   A tensor is compared through `toArray()`, numbers within 1e-5 · max(1, |expected|). Any other
 *   comment is prose.
 * - ```ts excerpt=PATH marks a block quoted from a file of the repository: every line of it (other
 *   than `...` elisions and comment-only lines) must occur in PATH, in order.
 * - ```ts no-run marks a block that cannot run on its own (it needs a user's file, a browser, a
 *   bundler); the test lists them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocBlock {
  /** Path relative to the repository root, e.g. 'docs/porting.md'. */
  readonly file: string;
  /** 1-based line of the block's first code line. */
  readonly line: number;
  readonly lang: string;
  /** Words of the info string after the language ('no-run', 'excerpt=PATH'). */
  readonly flags: readonly string[];
  readonly code: string;
}

const RUNNABLE = new Set(['ts', 'typescript', 'js', 'javascript', 'mts', 'mjs']);

/** README.md and every docs/*.md, listed when called (a page added later is included). */
export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** The fenced blocks of a Markdown text (``` or ~~~ fences, CommonMark's closing rule). */
export function extractBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const info = open[3].trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(lines[j]);
    }
    blocks.push({ file, line: i + 2, lang: (info[0] ?? '').toLowerCase(), flags: info.slice(1), code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** Blocks that are JavaScript or TypeScript. */
export function codeBlocks(root: string): DocBlock[] {
  return docFiles(root)
    .flatMap((f) => extractBlocks(f, readFileSync(join(root, f), 'utf8')))
    .filter((b) => RUNNABLE.has(b.lang));
}

export function isNoRun(b: DocBlock): boolean {
  return b.flags.includes('no-run');
}

export function excerptOf(b: DocBlock): string | undefined {
  const flag = b.flags.find((f) => f.startsWith('excerpt='));
  return flag?.slice('excerpt='.length);
}

// ---------------------------------------------------------------------------------------------
// Literals

/** Parses `text` as one literal (JSON plus single quotes, unquoted keys, trailing commas, NaN, Infinity). */
export function parseLiteral(text: string): { ok: true; value: unknown } | { ok: false } {
  let i = 0;
  const ws = (): void => { while (i < text.length && /\s/.test(text[i])) i++; };
  const fail = (): never => { throw new SyntaxError('not a literal'); };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '[') {
      i++;
      const out: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === ']') { i++; return out; }
        out.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail();
      }
    }
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      for (;;) {
        ws();
        if (text[i] === '}') { i++; return out; }
        let key: string;
        if (text[i] === "'" || text[i] === '"') key = str();
        else {
          const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(i));
          if (!m) fail();
          key = m![0];
          i += key.length;
        }
        ws();
        if (text[i] !== ':') fail();
        i++;
        out[key] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail();
      }
    }
    if (c === "'" || c === '"') return str();
    const m = /^(?:-?(?:\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)|-?Infinity|NaN|true|false|null)/i.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
    const word = m![0];
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    return Number(word);
  };
  const str = (): string => {
    const q = text[i++];
    let s = '';
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\\') i++;
      s += text[i++];
    }
    if (text[i] !== q) fail();
    i++;
    return s;
  };
  try {
    const v = value();
    ws();
    return i === text.length ? { ok: true, value: v } : { ok: false };
  } catch {
    return { ok: false };
  }
}

/** The expected value a trailing comment states, if it states one (see the conventions above). */
export function expectedIn(comment: string): { ok: true; value: unknown } | { ok: false } {
  const text = comment.trim().replace(/^→\s*/, '');
  const whole = parseLiteral(text);
  if (whole.ok) return whole;
  for (const sep of ['→ ', ': ']) {
    const at = text.lastIndexOf(sep);
    if (at >= 0) {
      const tail = parseLiteral(text.slice(at + sep.length));
      if (tail.ok) return tail;
    }
  }
  return { ok: false };
}

// ---------------------------------------------------------------------------------------------
// Turning a block into a module

const NOT_EXPRESSION = /^(?:const|let|var|import|export|for|while|do|if|else|return|function|async\s+function|class|type|interface|throw|try|switch|\}|\/\/)\b/;

export interface Instrumented {
  readonly source: string;
  /** The doc lines whose values are asserted. */
  readonly checked: readonly number[];
}

/**
 * Rewrites a block's import specifiers to files of the repository and its expected-value comments
 * to calls of `expectValue` (imported at the end, as ES imports are hoisted, so that line n of the
 * module is line n of the block).
 */
export function instrument(b: DocBlock, root: string): Instrumented {
  const spec = (s: string): string => {
    if (s === 'convkit') return join(root, 'src/index.js');
    if (s === 'convkit/node') return join(root, 'src/io/node.js');
    if (s.startsWith('./') || s.startsWith('../')) return join(root, s);
    return s;
  };
  const lines = b.code.split('\n').map((l) =>
    l.replace(/(\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\2/g, (_m, pre: string, q: string, s: string) => `${pre}${q}${spec(s)}${q}`));
  const checked: number[] = [];
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k];
    if (/^\s/.test(l) || NOT_EXPRESSION.test(l)) continue;
    let code: string, comment: string;
    const split = splitComment(l);
    if (split) [code, comment] = split;
    else {
      const next = k + 1 < lines.length ? /^\/\/\s?(.*)$/.exec(lines[k + 1]) : null;
      if (!next || !/;\s*$/.test(l)) continue;
      [code, comment] = [l, next[1]];
    }
    const stmt = lastStatement(code);
    if (!stmt) continue;
    const expected = expectedIn(comment);
    if (!expected.ok) continue;
    const docLine = b.line + k;
    lines[k] = `${stmt.before}__expectValue(${JSON.stringify(`${b.file}:${docLine}`)}, (${stmt.expr}), ${JSON.stringify(expected.value)}, ${JSON.stringify(stmt.expr)});`;
    checked.push(docLine);
  }
  lines.push(`import { expectValue as __expectValue } from ${JSON.stringify(join(root, 'test/helpers/docs.js'))};`);
  return { source: lines.join('\n') + '\n', checked };
}

/** A line's code and its trailing `//` comment (a `//` after whitespace, outside strings), if it has one. */
function splitComment(line: string): [string, string] | null {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '/' && line[i + 1] === '/' && i > 0 && /\s/.test(line[i - 1])) return [line.slice(0, i), line.slice(i + 2).replace(/^ /, '')];
  }
  return null;
}

/**
 * The last statement of a line's code (`a; b;` → `b`), if it can be an expression statement: the
 * code before it is kept. Undefined when the line ends inside brackets or with an operator.
 */
function lastStatement(code: string): { before: string; expr: string } | undefined {
  const text = code.trimEnd().replace(/;$/, '');
  let depth = 0, quote = '', cut = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ';' && depth === 0) cut = i;
  }
  if (depth !== 0 || quote || /[{([,=+\-*/&|?:<>]$/.test(text) || text.trim() === '') return undefined;
  const expr = text.slice(cut + 1).trim();
  if (NOT_EXPRESSION.test(expr)) return undefined;
  return { before: cut < 0 ? '' : `${text.slice(0, cut + 1)} `, expr };
}

/** The comparable form of a value: tensors through toArray(), typed arrays as arrays. */
function plain(v: unknown): unknown {
  if (v !== null && typeof v === 'object') {
    const o = v as { toArray?: () => unknown };
    if (typeof o.toArray === 'function') return plain(o.toArray());
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
    if (Array.isArray(v)) return v.map(plain);
  }
  return v;
}

function differs(a: unknown, e: unknown, path: string): string | null {
  if (typeof e === 'number') {
    if (typeof a !== 'number') return `${path}: got ${String(a)}, expected the number ${e}`;
    if (Number.isNaN(e)) return Number.isNaN(a) ? null : `${path}: got ${a}, expected NaN`;
    if (!Number.isFinite(e)) return a === e ? null : `${path}: got ${a}, expected ${e}`;
    return Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)) ? null : `${path}: got ${a}, expected ${e}`;
  }
  if (Array.isArray(e)) {
    if (!Array.isArray(a)) return `${path}: got ${JSON.stringify(a)}, expected an array`;
    if (a.length !== e.length) return `${path}: length ${a.length}, expected ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = differs(a[i], e[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (e !== null && typeof e === 'object') {
    if (a === null || typeof a !== 'object') return `${path}: got ${JSON.stringify(a)}, expected an object`;
    const ka = Object.keys(a).sort(), ke = Object.keys(e).sort();
    if (ka.join('\0') !== ke.join('\0')) return `${path}: keys ${JSON.stringify(ka)}, expected ${JSON.stringify(ke)}`;
    for (const k of ke) {
      const d = differs((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === e ? null : `${path}: got ${JSON.stringify(a)}, expected ${JSON.stringify(e)}`;
}

/** Throws when `actual` is not `expected` (called by the instrumented blocks). */
export function expectValue(where: string, actual: unknown, expected: unknown, expr: string): void {
  const d = differs(plain(actual), expected, 'value');
  if (d) throw new Error(`${where}: ${expr}: ${d}`);
}

// ---------------------------------------------------------------------------------------------
// Excerpts

/**
 * Lines of an excerpt block missing from (or out of order in) the quoted file; [] when it matches.
 * Whitespace and `//` comments are ignored on both sides, so a doc line may wrap a long source line
 * and skip source lines; `...` lines and comment-only lines stand for omitted code.
 */
export function excerptMismatch(b: DocBlock, source: string): string[] {
  const squeeze = (l: string): string => l.replace(/(^|\s)\/\/.*$/, '').replace(/\s+/g, '');
  const src = source.split('\n').map(squeeze).join('');
  const missing: string[] = [];
  let at = 0;
  for (const raw of b.code.split('\n')) {
    const l = squeeze(raw);
    if (l === '' || l === '...') continue;
    const found = src.indexOf(l, at);
    if (found < 0) missing.push(raw);
    else at = found + l.length;
  }
  return missing;
}

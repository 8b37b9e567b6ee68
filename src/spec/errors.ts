/** The one error type convkit throws for invalid calls: `"<op>: <param> <rule>; got <values>"`. */
export class ConvError extends Error {
  constructor(
    readonly op: string,
    readonly param: string,
    rule: string,
  ) {
    super(`${op}: ${param} ${rule}`);
    this.name = 'ConvError';
  }
}

/** Longest list a message prints in full; longer ones show their head and their length. */
const MAX_ITEMS = 32;
/** Deepest nesting a message prints; deeper (or cyclic) lists show as `[…]`. */
const MAX_DEPTH = 6;

function format(v: unknown, depth: number, seen: Set<unknown>): string {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    if (depth >= MAX_DEPTH || seen.has(v)) return '[…]';
    if (v instanceof DataView) return `DataView(${v.byteLength} bytes)`;
    seen.add(v);
    const list = v as unknown as ArrayLike<unknown>;
    const n = list.length, parts: string[] = [];
    // An index loop, so that holes print as `<empty>` instead of vanishing.
    for (let i = 0; i < Math.min(n, MAX_ITEMS); i++)
      parts.push(Array.isArray(v) && !(i in v) ? '<empty>' : format(list[i], depth + 1, seen));
    seen.delete(v);
    if (n > MAX_ITEMS) parts.push(`… (${n} items)`);
    return `[${parts.join(', ')}]`;
  }
  if (typeof v === 'string') return `'${v.length > 200 ? `${v.slice(0, 200)}…` : v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (v !== null && typeof v === 'object') {
    try {
      const s = JSON.stringify(v);
      if (s !== undefined) return s.length > 200 ? `${s.slice(0, 200)}…` : s;
    } catch {
      // cyclic or throwing getters: fall through
    }
    return Object.prototype.toString.call(v);
  }
  return String(v); // numbers (NaN, Infinity), booleans, symbols, null, undefined
}

/**
 * Formats a value for a message: arrays as `[a, b]`, strings quoted. Never throws, whatever it is
 * given (cyclic arrays, Proxies whose traps throw, symbols, huge lists), so that building a message
 * cannot hide the error it describes.
 */
export function fmt(v: unknown): string {
  try {
    return format(v, 0, new Set());
  } catch {
    return '<unprintable value>';
  }
}

/** Lazy assert: the message is built only on failure. */
export function check(cond: boolean, op: string, param: string, rule: () => string): asserts cond {
  if (!cond) throw new ConvError(op, param, rule());
}

/**
 * Runs `read` (code that reads a caller's value: array elements, getters, Proxy traps) and turns
 * whatever it throws, other than a ConvError, into a ConvError naming `op` and `param`.
 */
export function guarded<T>(op: string, param: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ConvError) throw e;
    throw new ConvError(op, param, `could not be read (${errorText(e)})`);
  }
}

/**
 * A plain copy of a caller's list (each element read once, holes as undefined), or null where `v`
 * is not an array or is longer than `max`; whatever reading it throws (a Proxy, a getter) becomes
 * a ConvError naming `op` and `param`.
 */
export function readList(op: string, param: string, v: unknown, max = 2 ** 24): unknown[] | null {
  return guarded(op, param, () => {
    if (!Array.isArray(v)) return null;
    const n = v.length;
    return n > max ? null : Array.from({ length: n }, (_, i) => v[i]);
  });
}

/** The message of anything thrown, without throwing again. */
export function errorText(e: unknown): string {
  try {
    return e instanceof Error ? e.message : fmt(e);
  } catch {
    return 'an unprintable error';
  }
}

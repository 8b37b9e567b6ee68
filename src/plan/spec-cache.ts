/**
 * The spec of the last call of one op, reused while the options of `fields` repeat (with the same
 * set of keys): parsing options into a
 * ConvSpec is a pure function of their values, and handing back the same spec object lets the plan
 * cache (plan/cache.ts) answer by identity.
 *
 * Each option is read exactly once, into a copy (nested arrays copied too); the comparison with the
 * last call, the parse and the cache key all use that copy. An option object whose getters answer
 * differently on each read therefore cannot pair one spec with another call's key.
 */
import type { ConvSpec } from '../spec/types.js';

interface LastSpec { readonly keys: readonly string[]; readonly values: readonly unknown[]; readonly spec: ConvSpec }

/** Marks a value that is not plain data (an object, a function): calls holding one are never cached. */
const OPAQUE = Symbol('opaque');

/** Deepest list nesting an option has ([[before, after], …] pairs); anything deeper is never cached. */
const MAX_DEPTH = 3;

/**
 * A copy of plain option values (numbers, strings, booleans, null, undefined, lists of them nested
 * at most MAX_DEPTH deep, holes kept as holes); OPAQUE for anything else (a cyclic list included).
 */
function snapshot(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? OPAQUE : v;
  if (!Array.isArray(v) || depth >= MAX_DEPTH) return OPAQUE;
  const n = v.length, out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    if (!(i in v)) continue;
    const e = snapshot(v[i], depth + 1);
    if (e === OPAQUE) return OPAQUE;
    out[i] = e;
  }
  return out;
}

/** The options' own values and those of `fields` they inherit, each read once; null where reading throws (a Proxy, a getter). */
function readOnce(o: object, fields: readonly string[]): Record<string, unknown> | null {
  try {
    const rec = o as Record<string, unknown>, copy: Record<string, unknown> = {};
    for (const k of Object.keys(o)) copy[k] = rec[k];
    for (const f of fields) if (!(f in copy) && f in o) copy[f] = rec[f];
    return copy;
  } catch {
    return null;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  return Object.is(a, b);
}

/**
 * Wraps `parse` (options → spec, throwing a ConvError on bad options) so that a call whose option
 * values equal the previous call's gets the previous spec back. `parse` receives the copy: the
 * object's own options, and those of `fields` it inherits (a getter on a class), each read once.
 */
export function specCache<O extends object>(fields: readonly string[], parse: (o: O) => ConvSpec): (o: O) => ConvSpec {
  let last: LastSpec | null = null;
  return (o) => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return parse(o);
    const copy = readOnce(o, fields);
    // Options that cannot be read plainly go to the parser as they are: it reports them (a ConvError).
    if (copy === null) { last = null; return parse(o); }
    const keys = Object.keys(copy); // unknown keys make parse throw, so they must match too
    const values = fields.map((f) => snapshot(copy[f]));
    const opaque = values.includes(OPAQUE);
    if (!opaque) {
      if (last && sameValue(keys, last.keys) && values.every((v, i) => sameValue(v, last!.values[i]))) return last.spec;
      fields.forEach((f, i) => { if (f in copy) copy[f] = values[i]; });
    }
    const spec = parse(copy as O);
    last = opaque ? null : { keys, values, spec };
    return spec;
  };
}

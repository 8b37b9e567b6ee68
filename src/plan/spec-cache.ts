/**
 * The spec of the last call of one op, reused while the options of `fields` repeat (with the same
 * set of keys): parsing options into a
 * ConvSpec is a pure function of their values, and handing back the same spec object lets the plan
 * cache (plan/cache.ts) answer by identity.
 *
 * Each option is read exactly once, into a copy (nested arrays copied too); the comparison with the
 * last call, the parse and the cache key all use that copy. An option object whose getters answer
 * differently on each read therefore cannot pair one spec with another call's key.
 *
 * A hit (the common case: the same options call after call) allocates only the key list and the
 * values read; nothing is parsed, and no object is built.
 */
import type { ConvSpec } from '../spec/types.js';

/** The last call: its keys (own, then the inherited ones of `fields`), the index of each field among them (-1: absent), their snapshots. */
interface LastSpec { readonly keys: readonly string[]; readonly at: readonly number[]; readonly values: readonly unknown[]; readonly spec: ConvSpec }

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

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if ((i in a) !== (i in b) || !sameValue(a[i], b[i])) return false;
    return true;
  }
  return Object.is(a, b);
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
    // Read every own value, then each inherited field, once; the field values as snapshots.
    let keys: string[], values: unknown[], opaque = false;
    try {
      keys = Object.keys(o);
      const rec = o as Record<string, unknown>, own = keys.length;
      values = new Array<unknown>(own);
      for (let i = 0; i < own; i++) values[i] = rec[keys[i]];
      for (let f = 0; f < fields.length; f++) {
        const k = fields[f];
        if (keys.indexOf(k) < 0 && k in o) {
          if (keys.length === own) keys = keys.slice(); // Object.keys' array stays the own keys
          keys.push(k);
          values.push(rec[k]);
        }
      }
      for (let f = 0; f < fields.length; f++) {
        const i = keys.indexOf(fields[f]);
        if (i < 0) continue;
        const s = snapshot(values[i]);
        if (s === OPAQUE) opaque = true;
        else values[i] = s;
      }
    } catch {
      // Options that cannot be read plainly go to the parser as they are: it reports them (a ConvError).
      last = null;
      return parse(o);
    }
    if (!opaque && last !== null && sameKeys(keys, last.keys)) {
      let same = true;
      for (let f = 0; f < last.at.length && same; f++) {
        const i = last.at[f];
        if (i >= 0) same = sameValue(values[i], last.values[f]);
      }
      if (same) return last.spec;
    }
    const copy: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) copy[keys[i]] = values[i];
    const spec = parse(copy as O);
    if (opaque) last = null;
    else {
      const at = fields.map((f) => keys.indexOf(f));
      last = { keys, at, values: at.map((i) => (i >= 0 ? values[i] : undefined)), spec };
    }
    return spec;
  };
}

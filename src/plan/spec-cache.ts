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

/**
 * snapshot(v), or `prev` itself (an earlier snapshot) where the two are equal: holes at the same
 * places, the same values (Object.is). Each element of v is read once either way, and the call
 * after call case of equal lists allocates nothing.
 */
function snapshotLike(v: unknown, prev: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object') {
    const s = snapshot(v, depth);
    return Object.is(s, prev) ? prev : s;
  }
  if (!Array.isArray(v) || depth >= MAX_DEPTH) return OPAQUE;
  if (!Array.isArray(prev)) return snapshot(v, depth);
  const n = v.length;
  // The copy, made at the first difference from prev (whose elements before it are this copy's too).
  let out: unknown[] | null = n === prev.length ? null : prefixOf(prev, 0, n);
  for (let i = 0; i < n; i++) {
    const has = i in v, had = out === null && i in prev;
    const e = has ? snapshotLike(v[i], had ? prev[i] : undefined, depth + 1) : undefined;
    if (e === OPAQUE) return OPAQUE;
    if (out === null && (has !== had || !Object.is(e, prev[i]))) out = prefixOf(prev, i, n);
    if (out !== null && has) out[i] = e;
  }
  return out ?? prev;
}

/** A list of n slots holding prev's first `end` elements (holes kept). */
function prefixOf(prev: readonly unknown[], end: number, n: number): unknown[] {
  const out = new Array<unknown>(n);
  for (let i = 0; i < end; i++) if (i in prev) out[i] = prev[i];
  return out;
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
    let keys: string[], values: unknown[], opaque = false, prev: LastSpec | null = null;
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
      // Compared with the last call's snapshot as they are taken: equal lists come back as that snapshot.
      prev = last !== null && sameKeys(keys, last.keys) ? last : null;
      for (let f = 0; f < fields.length; f++) {
        const i = prev ? prev.at[f] : keys.indexOf(fields[f]);
        if (i < 0) continue;
        const s = prev ? snapshotLike(values[i], prev.values[f]) : snapshot(values[i]);
        if (s === OPAQUE) opaque = true;
        else values[i] = s;
      }
    } catch {
      // Options that cannot be read plainly go to the parser as they are: it reports them (a ConvError).
      last = null;
      return parse(o);
    }
    if (!opaque && prev !== null) {
      let same = true;
      for (let f = 0; f < prev.at.length && same; f++) if (prev.at[f] >= 0) same = Object.is(values[prev.at[f]], prev.values[f]);
      if (same) return prev.spec;
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

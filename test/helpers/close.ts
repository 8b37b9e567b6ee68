/**
 * The one closeness check of the tests. |actual − expected| ≤ atol + rtol · max(floor, s) per element,
 * where s is |expected| of that element ('element') or the largest |expected| of the array
 * ('largest'); NaN must meet NaN. A plain number is { rtol, relativeTo: 'largest' }.
 */
import assert from 'node:assert/strict';

export type Nested = number | readonly Nested[];
export type Values = Nested | ArrayLike<number>;

export interface Tolerance {
  readonly rtol: number;
  readonly atol?: number;
  readonly relativeTo: 'element' | 'largest';
  /** The smallest scale (1 makes rtol absolute for values below 1); 0 when absent. */
  readonly floor?: number;
}

/** Flattens nested arrays (or a typed array) row-major. */
export function flat(v: Values): number[] {
  if (typeof v === 'number') return [v];
  if (ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<number>);
  const out: number[] = [];
  const walk = (e: Nested): void => {
    if (typeof e === 'number') out.push(e);
    else for (const c of e) walk(c);
  };
  walk(v as Nested);
  return out;
}

export interface Mismatch {
  /** |actual − expected| over the allowed difference at the worst element (≤ 1 passes). */
  readonly ratio: number;
  readonly index: number;
  readonly actual: number;
  readonly expected: number;
  readonly allowed: number;
}

/** The worst element of `actual` against `expected` under `tol`. */
export function worstMismatch(actual: Values, expected: Values, tol: number | Tolerance): Mismatch {
  const a = flat(actual), e = flat(expected);
  const t: Tolerance = typeof tol === 'number' ? { rtol: tol, relativeTo: 'largest' } : tol;
  let largest = 0;
  if (t.relativeTo === 'largest') for (const v of e) if (Math.abs(v) > largest) largest = Math.abs(v);
  let worst: Mismatch = { ratio: 0, index: -1, actual: NaN, expected: NaN, allowed: 0 };
  for (let i = 0; i < e.length; i++) {
    const scale = Math.max(t.floor ?? 0, t.relativeTo === 'largest' ? largest : Math.abs(e[i]));
    const allowed = (t.atol ?? 0) + t.rtol * scale, diff = Math.abs(a[i] - e[i]);
    const ratio = Number.isNaN(a[i]) !== Number.isNaN(e[i]) ? Infinity : Number.isNaN(e[i]) || diff === 0 ? 0 : diff / allowed;
    if (ratio > worst.ratio || worst.index < 0) worst = { ratio, index: i, actual: a[i], expected: e[i], allowed };
  }
  return worst;
}

/** Asserts equal length and every element within `tol` (see the file comment). */
export function assertClose(actual: Values, expected: Values, tol: number | Tolerance, what = 'values'): void {
  const n = flat(actual).length, m = flat(expected).length;
  assert.equal(n, m, `${what}: length ${n}, expected ${m}`);
  const w = worstMismatch(actual, expected, tol);
  if (!(w.ratio <= 1))
    assert.fail(`${what}: element ${w.index} is ${w.actual}, expected ${w.expected} (allowed difference ${w.allowed.toExponential(2)})`);
}

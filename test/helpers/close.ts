/** Comparing arrays with a tolerance relative to the expected values' max-abs scale. */
import assert from 'node:assert/strict';

export interface Mismatch {
  /** max |actual − expected| / max(max |expected|, tiny). */
  readonly relErr: number;
  readonly index: number;
  readonly actual: number;
  readonly expected: number;
}

/** The worst element of `actual` against `expected`, relative to max |expected|. */
export function worstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>): Mismatch {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  scale = Math.max(scale, Number.MIN_VALUE);
  let worst: Mismatch = { relErr: 0, index: -1, actual: NaN, expected: NaN };
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const err = Number.isNaN(a) !== Number.isNaN(e) ? Infinity : Number.isNaN(e) ? 0 : Math.abs(a - e) / scale;
    if (err > worst.relErr || (worst.index < 0 && err === 0)) worst = { relErr: err, index: i, actual: a, expected: e };
  }
  return worst;
}

/** Asserts equal length and every |actual − expected| ≤ rtol · max |expected| (NaN must match NaN). */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  const m = worstMismatch(actual, expected);
  if (!(m.relErr <= rtol))
    assert.fail(`${what}: relative error ${m.relErr.toExponential(2)} > ${rtol} at index ${m.index} (got ${m.actual}, expected ${m.expected})`);
}

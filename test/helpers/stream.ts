/** Helpers of the stream tests: cut a signal into chunks along time, stream it, join the results. */
import assert from 'node:assert/strict';
import { Tensor, type Stream } from '../../src/index.js';

export type TimeLayout = 'channelsFirst' | 'channelsLast';

const axisOf = (t: Tensor, layout: TimeLayout) => (layout === 'channelsLast' ? t.ndim - 2 : t.ndim - 1);

/** Positions [a, a + n) of `x` along its time axis, as a new tensor. */
export function sliceTime(x: Tensor, layout: TimeLayout, a: number, n: number): Tensor {
  const ax = axisOf(x, layout), L = x.shape[ax];
  const outer = x.shape.slice(0, ax).reduce((p, q) => p * q, 1), inner = x.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
  const d = x.dtype === 'float64' ? new Float64Array(outer * n * inner) : new Float32Array(outer * n * inner);
  for (let o = 0; o < outer; o++) d.set(x.data.subarray((o * L + a) * inner, (o * L + a + n) * inner), o * n * inner);
  const shape = [...x.shape];
  shape[ax] = n;
  return new Tensor(d, shape);
}

/** Joins tensors along their time axis (all other sizes must agree). */
export function catTime(parts: readonly Tensor[], layout: TimeLayout): Tensor {
  const first = parts[0], ax = axisOf(first, layout);
  for (const p of parts)
    assert.deepEqual(p.shape.filter((_, i) => i !== ax), first.shape.filter((_, i) => i !== ax), 'chunks agree off the time axis');
  const T = parts.reduce((s, p) => s + p.shape[ax], 0);
  const outer = first.shape.slice(0, ax).reduce((p, q) => p * q, 1), inner = first.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
  const d = first.dtype === 'float64' ? new Float64Array(outer * T * inner) : new Float32Array(outer * T * inner);
  let at = 0;
  for (const p of parts) {
    const n = p.shape[ax];
    for (let o = 0; o < outer; o++) d.set(p.data.subarray(o * n * inner, (o + 1) * n * inner), (o * T + at) * inner);
    at += n;
  }
  const shape = [...first.shape];
  shape[ax] = T;
  return new Tensor(d, shape);
}

/**
 * Streams `x` cut into chunks of the given sizes (cycled until the input is used up; a 0 is an empty
 * push), then flushes; returns the joined output and every piece. Checks `received` and `emitted` on the way.
 */
export function streamWhole(s: Stream, x: Tensor, layout: TimeLayout, sizes: readonly number[]): { y: Tensor; pieces: Tensor[] } {
  const L = x.shape[axisOf(x, layout)];
  const pieces: Tensor[] = [];
  let at = 0, emitted = 0, i = 0;
  const cuts = sizes.some((n) => n > 0) ? sizes : [...sizes, L]; // some progress every cycle
  do {
    const n = Math.min(cuts[i++ % cuts.length], L - at);
    const y = s.push(sliceTime(x, layout, at, n));
    at += n;
    emitted += y.shape[axisOf(y, layout)];
    assert.equal(s.received, at, 'received counts pushed positions');
    assert.equal(s.emitted, emitted, 'emitted counts returned positions');
    pieces.push(y);
  } while (at < L);
  const last = s.flush();
  pieces.push(last);
  assert.equal(s.emitted, emitted + last.shape[axisOf(last, layout)]);
  return { y: catTime(pieces, layout), pieces };
}

/** Bitwise equality of shape and values (NaN-free data). */
export function assertSame(got: Tensor, want: Tensor, what: string): void {
  assert.deepEqual([...got.shape], [...want.shape], `${what}: shape`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  for (let i = 0; i < want.size; i++)
    if (!Object.is(got.data[i], want.data[i])) assert.fail(`${what}: element ${i} is ${got.data[i]}, full forward ${want.data[i]}`);
}

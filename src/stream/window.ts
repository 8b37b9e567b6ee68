/**
 * The buffer a stream keeps: the last few positions of a signal, contiguous so that a window can be
 * handed to the functional convolution as it is.
 *
 * A signal of layout `(outer, time, inner)`: channels-first `(N, C, t)` is outer = N·C, inner = 1;
 * channels-last `(N, t, C)` is outer = N, inner = C. Element (o, τ, q) of a block of `w` positions
 * sits at `(o·w + τ)·inner + q`. Two arrays take turns (each append or drop copies what is kept into
 * the other one), so that after warm-up no push allocates.
 */
import { allocate, type TypedArray } from '../autograd/tensor.js';
import type { DType } from '../spec/types.js';

export class TimeWindow {
  private a: TypedArray;
  private b: TypedArray;
  /** Absolute position of the first position held. May run ahead of `end` (positions up to it are skipped as they arrive). */
  start = 0;
  /** Absolute position one past the last position received. */
  end = 0;

  constructor(private readonly dtype: DType, readonly outer: number, readonly inner: number) {
    this.a = allocate(dtype, 0);
    this.b = allocate(dtype, 0);
  }

  /** Positions held now. */
  get length(): number {
    return Math.max(0, this.end - this.start);
  }

  /** Elements held now, as one contiguous `(outer, length, inner)` block. */
  view(): TypedArray {
    return this.a.subarray(0, this.outer * this.length * this.inner);
  }

  /** Bytes allocated for the kept positions (both arrays). */
  get bytes(): number {
    return this.a.byteLength + this.b.byteLength;
  }

  /** Copies held position `from` onto held position `to` (absolute positions), for every (o, q). */
  copyPosition(to: number, from: number): void {
    const w = this.length, inner = this.inner, d = this.a;
    const ti = to - this.start, fi = from - this.start;
    for (let o = 0; o < this.outer; o++)
      for (let q = 0; q < inner; q++) d[(o * w + ti) * inner + q] = d[(o * w + fi) * inner + q];
  }

  /** Appends `t` positions given as an `(outer, t, inner)` block (positions before `start` are skipped). */
  append(src: TypedArray, t: number): void {
    const skip = Math.min(t, Math.max(0, this.start - this.end));
    const keep = this.length, add = t - skip, w = keep + add;
    this.end += t;
    if (add === 0) return;
    const { outer, inner } = this;
    const need = outer * w * inner;
    if (this.b.length < need) this.b = allocate(this.dtype, Math.max(need, 2 * this.b.length));
    const a = this.a, b = this.b;
    for (let o = 0; o < outer; o++) {
      if (keep) b.set(a.subarray(o * keep * inner, (o + 1) * keep * inner), o * w * inner);
      b.set(src.subarray((o * t + skip) * inner, (o + 1) * t * inner), (o * w + keep) * inner);
    }
    this.a = b;
    this.b = a;
  }

  /** Appends `t` positions that are all zero. */
  appendZeros(t: number): void {
    this.append(allocate(this.dtype, this.outer * t * this.inner), t);
  }

  /** Drops every position before `p` (absolute); `p` may lie beyond `end`. */
  dropBefore(p: number): void {
    if (p <= this.start) return;
    const keep = Math.max(0, this.end - p), old = this.length, cut = old - keep;
    this.start = p;
    if (keep === 0 || cut === 0) return;
    const { outer, inner } = this;
    const a = this.a;
    if (outer === 1) { a.copyWithin(0, cut * inner, old * inner); return; }
    let b = this.b;
    if (b.length < outer * keep * inner) b = allocate(this.dtype, Math.max(outer * keep * inner, 2 * b.length));
    for (let o = 0; o < outer; o++) b.set(a.subarray((o * old + cut) * inner, (o + 1) * old * inner), o * keep * inner);
    this.a = b;
    this.b = a;
  }

  /** Counts `t` positions as received and already consumed (only while nothing is held). */
  pass(t: number): void {
    this.end += t;
    this.start = Math.max(this.start, this.end);
  }

  /** Empties the window (the arrays stay for reuse). */
  clear(): void {
    this.start = 0;
    this.end = 0;
  }
}

/**
 * The buffer a stream keeps: the last few positions of a signal, contiguous so that a window can be
 * handed to the functional convolution as it is.
 *
 * A signal of layout `(outer, time, inner)`: channels-first `(N, C, t)` is outer = N·C, inner = 1;
 * channels-last `(N, t, C)` is outer = N, inner = C. Element (o, τ, q) of a block of `w` positions
 * sits at `(o·w + τ)·inner + q`. Two arrays take turns: an append copies what is kept and the new
 * positions into the other one; a drop only moves an offset. After warm-up no push allocates.
 */
import { allocate, type TypedArray } from '../autograd/tensor.js';
import type { DType } from '../spec/types.js';

export class TimeWindow {
  private a: TypedArray;
  private b: TypedArray;
  /** Layout of `a`: block o holds the kept positions at [o·stride + offset, o·stride + offset + length) (times inner). */
  private stride = 0;
  private offset = 0;
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

  private spare(n: number): TypedArray {
    if (this.b.length < n) this.b = allocate(this.dtype, Math.max(n, 2 * this.b.length));
    return this.b;
  }

  /** Elements held now, as one contiguous `(outer, length, inner)` block (compacting a drop not yet applied). */
  view(): TypedArray {
    const { outer, inner } = this, w = this.length;
    if (this.offset !== 0 || this.stride !== w) {
      const a = this.a;
      if (outer === 1) a.copyWithin(0, this.offset * inner, (this.offset + w) * inner);
      else {
        const b = this.spare(outer * w * inner);
        for (let o = 0; o < outer; o++) b.set(a.subarray((o * this.stride + this.offset) * inner, (o * this.stride + this.offset + w) * inner), o * w * inner);
        this.a = b;
        this.b = a;
      }
      this.stride = w;
      this.offset = 0;
    }
    return this.a.subarray(0, outer * w * inner);
  }

  /** Copies held position `from` onto held position `to` (absolute positions), for every (o, q). */
  copyPosition(to: number, from: number): void {
    const inner = this.inner, d = this.a, base = this.offset - this.start;
    for (let o = 0; o < this.outer; o++) {
      const row = o * this.stride + base;
      for (let q = 0; q < inner; q++) d[(row + to) * inner + q] = d[(row + from) * inner + q];
    }
  }

  /** Appends `t` positions given as an `(outer, t, inner)` block (positions before `start` are skipped). */
  append(src: TypedArray, t: number): void {
    const skip = Math.min(t, Math.max(0, this.start - this.end));
    const keep = this.length, add = t - skip, w = keep + add;
    this.end += t;
    if (add === 0) return;
    const { outer, inner } = this;
    const a = this.a, b = this.spare(outer * w * inner), from = this.offset, stride = this.stride;
    for (let o = 0; o < outer; o++) {
      if (keep) b.set(a.subarray((o * stride + from) * inner, (o * stride + from + keep) * inner), o * w * inner);
      b.set(src.subarray((o * t + skip) * inner, (o + 1) * t * inner), (o * w + keep) * inner);
    }
    this.a = b;
    this.b = a;
    this.stride = w;
    this.offset = 0;
  }

  /** Appends `t` positions that are all zero. */
  appendZeros(t: number): void {
    this.append(allocate(this.dtype, this.outer * t * this.inner), t);
  }

  /** Drops every position before `p` (absolute; may lie beyond `end`). Only bookkeeping: the next append or view moves the data. */
  dropBefore(p: number): void {
    if (p <= this.start) return;
    const keep = Math.max(0, this.end - p);
    if (keep === 0) { this.stride = 0; this.offset = 0; }
    else this.offset += this.length - keep;
    this.start = p;
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
    this.stride = 0;
    this.offset = 0;
  }
}

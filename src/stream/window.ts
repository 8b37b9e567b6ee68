/**
 * The buffer a stream keeps: the last few positions of a signal, contiguous so that a window can be
 * handed to the functional convolution as it is.
 *
 * A signal of layout `(outer, time, inner)`: channels-first `(N, C, t)` is outer = N·C, inner = 1;
 * channels-last `(N, t, C)` is outer = N, inner = C. Element (o, τ, q) of a block of `w` positions
 * sits at `(o·w + τ)·inner + q`. A drop only moves an offset; an append moves what is kept to the
 * start of its block and writes the new positions after it — in place while the width stays the
 * same, else into a second array that takes turns with the first. After warm-up no push allocates.
 */
import { allocate, type Tensor, type TypedArray } from '../autograd/tensor.js';
import type { DType } from '../spec/types.js';

/** dst[di …] = src[si …], n elements: a plain loop for short runs (no subarray objects), set() for long ones. */
function copyRun(dst: TypedArray, di: number, src: TypedArray, si: number, n: number): void {
  if (n > 64) dst.set(src.subarray(si, si + n), di);
  else for (let i = 0; i < n; i++) dst[di + i] = src[si + i];
}

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

  /** The array holding the positions (read with `base`; valid until the next append or view). */
  get data(): TypedArray {
    return this.a;
  }

  /** Index in `data` of the first held position of block o. */
  base(o: number): number {
    return (o * this.stride + this.offset) * this.inner;
  }

  private spare(n: number): TypedArray {
    if (this.b.length < n) this.b = allocate(this.dtype, Math.max(n, 2 * this.b.length));
    return this.b;
  }

  /** Elements held now, as one contiguous `(outer, length, inner)` block (compacting a drop not yet applied). */
  view(): TypedArray {
    const { outer, inner } = this, w = this.length;
    if (this.offset !== 0 || this.stride !== w) {
      // In place, block by block in order: block o moves down to o·w, never past the start of block o + 1 (w ≤ stride).
      const a = this.a;
      for (let o = 0; o < outer; o++) a.copyWithin(o * w * inner, (o * this.stride + this.offset) * inner, (o * this.stride + this.offset + w) * inner);
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

  /**
   * Appends `t` positions given as an `(outer, t, inner)` block (positions before `start` are
   * skipped). The result is contiguous (stride = length). When the width stays the same (a steady
   * stream: as many positions dropped as added) each block's kept positions move down within its
   * own row and the new ones follow: one array, no allocation; otherwise two arrays take turns.
   */
  append(src: TypedArray, t: number): void {
    const skip = Math.min(t, Math.max(0, this.start - this.end));
    const keep = this.length, add = t - skip, w = keep + add;
    this.end += t;
    if (add === 0) return;
    const { outer, inner } = this, from = this.offset, stride = this.stride;
    const inPlace = keep === 0 ? this.a.length >= outer * w * inner : outer === 1 ? this.a.length >= w * inner : stride === w;
    const dst = inPlace ? this.a : this.spare(outer * w * inner), a = this.a;
    for (let o = 0; o < outer; o++) {
      if (keep) {
        if (inPlace) { if (from) a.copyWithin(o * w * inner, (o * stride + from) * inner, (o * stride + from + keep) * inner); }
        else copyRun(dst, o * w * inner, a, (o * stride + from) * inner, keep * inner);
      }
      copyRun(dst, (o * w + keep) * inner, src, (o * t + skip) * inner, add * inner);
    }
    if (!inPlace) { this.b = a; this.a = dst; }
    this.stride = w;
    this.offset = 0;
  }

  /** Appends a chunk of `t` positions in the window's block layout (see append). */
  appendChunk(x: Tensor, t: number): void {
    this.append(x.data, t);
  }

  /** Elements held now. */
  get elements(): number {
    return this.length * this.outer * this.inner;
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

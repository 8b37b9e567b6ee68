/**
 * Conv1d as a stream. The signal the convolution slides over is kept from the first position the
 * next output reads; each push convolves that window with padding 0 (or the zero padding at the
 * ends) through the functional op, so every output is one full sum computed once.
 *
 * Index relation (docs/behaviour.md): output o reads padded positions o·s + j·δ, j < k, i.e. the span
 * [o·s, o·s + span) of the padded input, where raw position r sits at r + p0. Output o is final
 * once padded position o·s + span − 1 has arrived (or, at flush(), lies in the end padding).
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { ConvSpec, Layout, PaddingMode } from '../spec/types.js';
import { allocate, Tensor, type Device } from '../autograd/tensor.js';
import { add } from '../autograd/ops.js';
import { gpuFull } from '../autograd/gpu-ops.js';
import { TimeWindow } from './window.js';
import { chunkFrame, emptyLike, frameShape, timeOf, type Frame } from './base.js';
import { ConvStreamBase } from './conv-base.js';

/** Output values where a window holds no input at all (every tap in the zero padding): the bias, or 0 (on the bias's device). */
export function biasOnly(f: Frame, layout: Layout, bias: Tensor | null, dtype: Tensor['dtype'], c: number, t: number, device: Device = 'cpu'): Tensor {
  if (device !== 'cpu') {
    const z = gpuFull(frameShape(f, layout, c, t), 0);
    return bias ? add(z, bias.reshape(layout === 'channelsLast' ? [c] : [c, 1])) : z;
  }
  const y = allocate(dtype, f.n * c * t);
  if (bias)
    for (let n = 0; n < f.n; n++)
      for (let co = 0; co < c; co++)
        for (let i = 0; i < t; i++) y[layout === 'channelsLast' ? (n * t + i) * c + co : (n * c + co) * t + i] = bias.data[co];
  return new Tensor(y, frameShape(f, layout, c, t));
}

export class ConvStream extends ConvStreamBase {
  readonly lookahead: number;
  readonly rate: number;
  private readonly mode: PaddingMode;
  /** Zero positions before / after the kept signal that each window call pads itself (zeros mode). */
  private readonly lead: number;
  private readonly trail: number;
  /** Raw positions reflect/replicate need at the end for the end padding. */
  private readonly keepTail: number;
  // The signal (`win`): raw input (zeros mode) or the padded input (reflect/replicate: the pads are written into it).
  private tail: TimeWindow | null = null;
  private padReady = false;

  constructor(op: string, spec: ConvSpec, weight: Tensor, bias: Tensor | null) {
    super(op, false, spec, weight, bias);
    this.mode = spec.paddingMode;
    const zeros = this.mode === 'zeros';
    this.lead = zeros ? this.p0 : 0;
    this.trail = zeros ? this.p1 : 0;
    this.keepTail = zeros || this.p1 === 0 ? 0 : this.mode === 'reflect' ? this.p1 + 1 : 1;
    this.lookahead = this.span - 1 - this.p0;
    this.rate = 1 / this.s;
    this.padReady = zeros || this.p0 === 0;
  }

  get stateBytes(): number {
    const e = this.weight.dtype === 'float64' ? 8 : 4;
    return ((this.win?.elements ?? 0) + (this.tail?.elements ?? 0)) * e;
  }

  outLength(L: number): number {
    return Math.floor((L + this.p0 + this.p1 - this.span) / this.s) + 1;
  }

  clear(): void {
    this.frame = null;
    this.win?.clear();
    this.tail?.clear();
    this.raw = 0;
    this.out = 0;
    this.padReady = this.mode === 'zeros' || this.p0 === 0;
  }

  /** Appends a checked chunk to the signal (and, for reflect/replicate, writes the start padding once it is known). */
  private ingest(chunk: Tensor): void {
    if (!this.frame) {
      const f = chunkFrame(this.op, chunk, this.layout, null, null);
      this.frame = f;
      this.win = this.windowFor(f, this.cIn, this.win);
      // Reflect and replicate stream on the CPU only (check()): their windows are TimeWindows.
      if (this.keepTail) this.tail = this.windowFor(f, this.cIn, this.tail) as TimeWindow;
      if (!this.padReady) (this.win as TimeWindow).appendZeros(this.p0); // placeholders for the start padding
    }
    const t = timeOf(chunk, this.layout), win = this.win!;
    if (t === 0) return;
    win.appendChunk(chunk, t);
    if (this.tail) { this.tail.append(chunk.data, t); this.tail.dropBefore(this.tail.end - this.keepTail); }
    this.raw += t;
    if (!this.padReady && this.raw >= (this.mode === 'reflect' ? this.p0 + 1 : 1)) {
      // Padded position m < p0 is raw p0 − m (reflect) or raw 0 (replicate); raw r is padded r + p0.
      for (let m = 0; m < this.p0; m++) (win as TimeWindow).copyPosition(m, this.mode === 'reflect' ? 2 * this.p0 - m : this.p0);
      this.padReady = true;
    }
  }

  /** Emits outputs [out, o1) from the kept signal; at the end, `pa` zero positions may follow it. */
  private emit(o1: number, atEnd: boolean): Tensor {
    const f = this.frame!, win = this.win!, dtype = this.weight.dtype, device = this.weight.device;
    const n = o1 - this.out;
    if (n <= 0) return emptyLike(dtype, frameShape(f, this.layout, this.cOut, 0), this.layout, device);
    const S = win.end;
    const ws = this.out * this.s - this.lead; // first signal position output `out` reads (negative: in the zero lead)
    const we = (o1 - 1) * this.s - this.lead + this.span;
    let y: Tensor;
    if (ws >= S || we <= 0) y = biasOnly(f, this.layout, this.bias, dtype, this.cOut, n, device);
    else {
      const pb = Math.max(0, -ws), pa = atEnd ? Math.max(0, we - S) : 0;
      y = this.convolve(this.specs.get(pb, pa), this.windowTensor(win, this.cIn));
    }
    this.out = o1;
    win.dropBefore(o1 * this.s - this.lead);
    return y;
  }

  advance(chunk: Tensor): Tensor {
    this.check(chunk);
    this.ingest(chunk);
    const S = this.padReady ? this.win!.end : 0, span = this.span, s = this.s;
    return this.emit(S + this.lead >= span ? Math.floor((S + this.lead - span) / s) + 1 : 0, false);
  }

  finish(chunk: Tensor | null): Tensor {
    if (chunk) this.check(chunk);
    const L = this.raw + (chunk ? timeOf(chunk, this.layout) : 0);
    const { p0, p1, mode, span, s, op } = this;
    if (L < 1) throw new ConvError(op, 'input', `must have at least one position over the whole stream; got ${L}`);
    if (mode === 'reflect' && (p0 >= L || p1 >= L))
      throw new ConvError(op, 'padding', `must be smaller than the input size for paddingMode 'reflect'; got padding ${fmt([[p0, p1]])} for a stream of ${L} positions`);
    const total = this.outLength(L);
    if (total <= 0)
      throw new ConvError(op, 'input', `is too small: the kernel (dilated span ${span}) is larger than the padded stream; ${L} positions, padding ${fmt([[p0, p1]])} give output size ${total}`);
    if (chunk) this.ingest(chunk);
    if (this.keepTail) {
      // End padding: padded position p0 + L + m is raw L − 2 − m (reflect) or raw L − 1 (replicate).
      const tail = this.tail!, win = this.win as TimeWindow, w = tail.length, { outer, inner } = tail;
      const src = tail.view(), pad = allocate(this.weight.dtype, outer * p1 * inner);
      for (let m = 0; m < p1; m++) {
        const r = (mode === 'reflect' ? L - 2 - m : L - 1) - tail.start;
        for (let o = 0; o < outer; o++)
          for (let q = 0; q < inner; q++) pad[(o * p1 + m) * inner + q] = src[(o * w + r) * inner + q];
      }
      win.append(pad, p1);
    }
    return this.emit(total, true);
  }
}

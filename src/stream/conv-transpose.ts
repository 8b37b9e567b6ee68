/**
 * ConvTranspose1d as a stream. Input position i scatters into full-output positions t = i·s + j·δ
 * (j < k); output u is full position t = u + p0 (docs/behaviour.md). Once R input positions have arrived, every
 * t < R·s has all its contributors, so those outputs are final. Each push convolves the inputs that
 * contribute to the outputs it emits, from i = ⌈(t0 − span + 1)/s⌉, cropping with the padding
 * argument: every output is one full sum over the same terms as the full forward, computed once
 * (no overlap-add across calls, hence no change of summation order).
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { ConvSpec } from '../spec/types.js';
import type { Tensor } from '../autograd/tensor.js';
import { chunkFrame, emptyLike, frameShape, timeOf } from './base.js';
import { ConvStreamBase } from './conv-base.js';
import { biasOnly } from './conv.js';

export class ConvTransposeStream extends ConvStreamBase {
  readonly lookahead: number;
  readonly rate: number;
  private readonly outPad: number;

  constructor(op: string, spec: ConvSpec, weight: Tensor, bias: Tensor | null) {
    super(op, true, spec, weight, bias);
    this.outPad = spec.outputPadding[0];
    this.rate = this.s;
    // Output u = q·s + r needs input ⌊(r + p0)/s⌋ + q (all contributors) and, while u ≥ lengthAfter(R)
    // could still move, input ⌊(r − c)/s⌋ + 1 + q; u stands at input position u/s.
    const s = this.s, c = this.span - this.p0 - this.p1 + this.outPad;
    let la = -Infinity;
    for (let r = 0; r < s; r++) la = Math.max(la, Math.max(Math.floor((r + this.p0) / s), Math.floor((r - c) / s) + 1) - r / s);
    this.lookahead = la;
  }

  get stateBytes(): number {
    return (this.win?.elements ?? 0) * (this.weight.dtype === 'float64' ? 8 : 4);
  }

  clear(): void {
    this.frame = null;
    this.win?.clear();
    this.raw = 0;
    this.out = 0;
  }

  /** Output length of the full forward over R input positions: (R − 1)·s − p0 − p1 + span + op. */
  outLength(R: number): number {
    return (R - 1) * this.s - this.p0 - this.p1 + this.span + this.outPad;
  }

  private ingest(chunk: Tensor): void {
    if (!this.frame) {
      const f = chunkFrame(this.op, chunk, this.layout, null, null);
      this.frame = f;
      this.win = this.windowFor(f, this.cIn, this.win);
    }
    const t = timeOf(chunk, this.layout);
    if (t === 0) return;
    this.win!.appendChunk(chunk, t);
    this.raw += t;
  }

  /** First input position that contributes to full-output position t (or later ones). */
  private firstInput(t: number): number {
    return Math.max(0, Math.ceil((t - this.span + 1) / this.s));
  }

  private emit(e1: number): Tensor {
    const f = this.frame!, win = this.win!, dtype = this.weight.dtype, device = this.weight.device;
    const n = e1 - this.out;
    if (n <= 0) return emptyLike(dtype, frameShape(f, this.layout, this.cOut, 0), this.layout, device);
    const t0 = this.out + this.p0, t1 = e1 + this.p0;
    const ia = this.firstInput(t0), R = this.raw;
    win.dropBefore(ia); // inputs before ia touch only cropped positions (large p0)
    let y: Tensor;
    if (ia >= R) y = biasOnly(f, this.layout, this.bias, dtype, this.cOut, n, device); // only output padding or gaps left: no contributor
    else {
      // The window [ia, R) gives full positions [ia·s, (R − 1)·s + span); crop to [t0, t1).
      const W = R - ia, full = (W - 1) * this.s + this.span;
      const pb = t0 - ia * this.s;
      let pa = full - pb - (t1 - t0), op = 0;
      if (pa < 0) [op, pa] = [-pa, 0]; // positions past the last tap (gaps, output padding): zeros plus bias
      y = this.convolve(this.specs.get(pb, pa, op), this.windowTensor(win, this.cIn));
    }
    this.out = e1;
    win.dropBefore(this.firstInput(e1 + this.p0));
    return y;
  }

  advance(chunk: Tensor): Tensor {
    this.check(chunk);
    this.ingest(chunk);
    const R = this.raw;
    return this.emit(R === 0 ? 0 : Math.max(0, Math.min(R * this.s - this.p0, this.outLength(R))));
  }

  finish(chunk: Tensor | null): Tensor {
    if (chunk) this.check(chunk);
    const L = this.raw + (chunk ? timeOf(chunk, this.layout) : 0);
    if (L < 1) throw new ConvError(this.op, 'input', `must have at least one position over the whole stream; got ${L}`);
    const total = this.outLength(L);
    if (total <= 0)
      throw new ConvError(this.op, 'input', `is too small: padding crops the whole output; ${L} positions, padding ${fmt([[this.p0, this.p1]])} give output size ${total}`);
    if (chunk) this.ingest(chunk);
    return this.emit(total);
  }
}

/**
 * Streams of composite and pointwise modules: a Sequential chains its parts' streams; a Residual
 * delays its skip path until the inner stream has caught up, so that x + inner(x) stays aligned.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { Layout } from '../spec/types.js';
import { allocate, Tensor, type TypedArray } from '../autograd/tensor.js';
import { add } from '../autograd/ops.js';
import { div } from '../autograd/shape-ops.js';
import { TimeWindow } from './window.js';
import { DeviceWindow } from './device-window.js';
import { blocks, checkSameFrame, chunkFrame, StreamBase, timeAxis, timeOf, withTime, type Frame } from './base.js';

/** A queue for a signal shaped like `x` in `layout`: typed arrays on the CPU, a device tensor on a device. */
function queueFor(x: Tensor, layout: Layout, old: TimeWindow | DeviceWindow | null): TimeWindow | DeviceWindow {
  if (x.device !== 'cpu') return new DeviceWindow(timeAxis(x.ndim, layout), (t) => withTime(x.shape, layout, t));
  const { outer, inner } = blocks(chunkFrame('stream', x, layout, null, null), layout);
  return old instanceof TimeWindow && old.outer === outer && old.inner === inner ? old : new TimeWindow(x.dtype, outer, inner);
}

/** A step that maps each time position on its own (activations): its stream applies it to each chunk, delay 0. */
export class PointwiseStream extends StreamBase {
  readonly lookahead = 0;
  readonly rate = 1;
  /** Time layout, taken from the neighbouring convolutions in a Sequential (only counts positions). */
  layout: Layout | null = null;
  private inCount = 0;

  constructor(op: string, private readonly fn: (chunk: Tensor) => Tensor) {
    super(op);
  }

  get received(): number { return this.inCount; }
  get emitted(): number { return this.inCount; }
  get stateBytes(): number { return 0; }
  outLength(L: number): number { return L; }

  check(chunk: unknown): void {
    if (!(chunk instanceof Tensor)) throw new ConvError(this.op, 'chunk', `must be a Tensor; got ${fmt(typeof chunk)}`);
  }

  clear(): void {
    this.inCount = 0;
  }

  advance(chunk: Tensor): Tensor {
    this.check(chunk);
    const y = this.fn(chunk), t = chunk.ndim ? timeOf(chunk, this.layout) : 0;
    if (!(y instanceof Tensor) || y.ndim !== chunk.ndim || timeOf(y, this.layout) !== t)
      throw new ConvError(this.op, 'fn', `must map each time position on its own (keep the chunk's rank and time length); got ${y instanceof Tensor ? `shape ${fmt(y.shape)} for a chunk of shape ${fmt(chunk.shape)}` : fmt(typeof y)}`);
    this.inCount += t;
    return y;
  }

  finish(chunk: Tensor | null): Tensor | null {
    return chunk ? this.advance(chunk) : null;
  }
}

/**
 * Reads positions [0, m) of the signal `q` ++ `y` (the queued positions, then the `t` positions of
 * the block `y`), plus `add`'s positions [0, m) when given, into `out` (`(outer, m, inner)`;
 * assigned when `first`, else added), then drops them and queues what is left of `y`. One pass;
 * only the positions not used at once are copied into the queue. Each sum is stored (rounded to
 * the dtype) before the next add, so it equals the forward's add and div op by op.
 */
function takeInto(out: TypedArray, first: boolean, q: TimeWindow, y: TypedArray | null, t: number, m: number, add: TypedArray | null = null): void {
  const { outer, inner } = q, a = Math.min(q.length, m), an = a * inner, bn = (m - a) * inner, qd = q.data;
  for (let o = 0; o < outer; o++) {
    const base = o * m * inner, qs = q.base(o), ys = o * t * inner;
    if (add) {
      for (let i = 0; i < an; i++) out[base + i] = qd[qs + i] + add[base + i];
      for (let i = 0; i < bn; i++) out[base + an + i] = y![ys + i] + add[base + an + i];
    } else if (first) {
      for (let i = 0; i < an; i++) out[base + i] = qd[qs + i];
      for (let i = 0; i < bn; i++) out[base + an + i] = y![ys + i];
    } else {
      for (let i = 0; i < an; i++) out[base + i] += qd[qs + i];
      for (let i = 0; i < bn; i++) out[base + an + i] += y![ys + i];
    }
  }
  q.dropBefore(q.start + m); // past the queue's end when part of y was used: append skips that part
  if (y && t > 0) q.append(y, t);
}

/** Runs `f`; if it throws after the stream may have changed, marks `s` failed (reset() clears it). */
function guarded<T>(s: { markFailed(why: string): void }, changed: () => boolean, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (changed()) s.markFailed(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

/** Sequential: each part's output chunk is the next part's input chunk; flush() flushes them in order. */
export class SequentialStream extends StreamBase {
  readonly layout: Layout | null;
  readonly lookahead: number;
  readonly rate: number;

  constructor(op: string, private readonly stages: readonly StreamBase[]) {
    super(op);
    for (const s of stages) s.part = true;
    stages.slice(0, -1).forEach((s) => s.markIntermediate()); // each output is the next part's input
    // Look-ahead of part i, in its own input positions, is part i's over the rate before it.
    let rate = 1, la = 0;
    for (const s of stages) { la += s.lookahead / rate; rate *= s.rate; }
    this.lookahead = la;
    this.rate = rate;
    const layouts = stages.map((s) => s.layout);
    this.layout = layouts.find((l) => l !== null) ?? null;
    // Pointwise parts count positions in the layout of the nearest convolution before them (or after).
    let current: Layout | null = this.layout;
    for (const s of stages) {
      if (s instanceof PointwiseStream) s.layout = current;
      else if (s.layout !== null) current = s.layout;
    }
  }

  override markIntermediate(): void {
    super.markIntermediate();
    this.stages[this.stages.length - 1]?.markIntermediate();
  }

  get received(): number { return this.stages.length ? this.stages[0].received : 0; }
  get emitted(): number { return this.stages.length ? this.stages[this.stages.length - 1].emitted : 0; }
  get stateBytes(): number { return this.stages.reduce((a, s) => a + s.stateBytes, 0); }
  outLength(L: number): number {
    for (const s of this.stages) if (L > 0) L = s.outLength(L);
    return L;
  }

  markFailed(why: string): void {
    this.broken = why;
  }

  check(chunk: unknown): void {
    // Pointwise parts keep the shape, so the first other part's checks apply to the chunk as it is.
    for (const s of this.stages) {
      s.check(chunk);
      if (!(s instanceof PointwiseStream)) return;
    }
    if (!(chunk instanceof Tensor)) throw new ConvError(this.op, 'chunk', `must be a Tensor; got ${fmt(typeof chunk)}`);
  }

  clear(): void {
    for (const s of this.stages) s.resetPart();
  }

  advance(chunk: Tensor): Tensor {
    // push() has checked the chunk (each part checks its own input); a failure here means the parts are out of step
    return guarded(this, () => true, () => {
      let y = chunk;
      for (const s of this.stages) y = s.advance(y);
      return y;
    });
  }

  finish(chunk: Tensor | null): Tensor | null {
    if (chunk) this.check(chunk);
    let i = 0;
    return guarded(this, () => i > 0 || this.stages[0]?.failed, () => {
      let y = chunk;
      for (; i < this.stages.length; i++) y = this.stages[i].finish(y);
      return y;
    });
  }
}

/** Input lengths 1 … this are checked for a Residual's inner part (covers every residue of strides up to 16 several times). */
const RESIDUAL_LENGTHS = 256;

/**
 * Residual: x + inner(x). The inner stream emits later than it receives (its look-ahead), so the
 * skip path keeps the inputs it has not yet matched: at most the inner stream's delay.
 */
export class ResidualStream extends StreamBase {
  readonly layout: Layout | null;
  readonly lookahead: number;
  readonly rate = 1;
  private skip: TimeWindow | DeviceWindow | null = null;
  private frame: Frame | null = null;
  private out = 0;

  constructor(op: string, private readonly inner: StreamBase) {
    super(op);
    if (Math.abs(inner.rate - 1) > 1e-12)
      throw new ConvError(op, 'inner', `must keep the rate for x + inner(x) (as many output positions as input positions); got rate ${inner.rate}`);
    // The skip path pairs input position i with inner output i: that is x + inner(x) only where the
    // inner part keeps every length (strided parts may keep some lengths only: refused).
    for (let L = 1; L <= RESIDUAL_LENGTHS; L++) {
      const out = inner.outLength(L);
      if (out > 0 && out !== L)
        throw new ConvError(op, 'inner', `must keep the length for x + inner(x); got ${L} input positions → ${out} output positions`);
    }
    this.layout = inner.layout;
    this.lookahead = inner.lookahead;
    inner.part = true;
    inner.markIntermediate(); // its output is added to the skip path at once
  }

  get received(): number { return this.inner.received; }
  get emitted(): number { return this.out; }
  outLength(L: number): number { return this.inner.outLength(L) > 0 ? L : 0; }
  get stateBytes(): number {
    return this.inner.stateBytes + (this.skip?.elements ?? 0) * (this.lastDtype === 'float64' ? 8 : 4);
  }

  markFailed(why: string): void {
    this.broken = why;
  }

  check(chunk: unknown): void {
    this.inner.check(chunk);
    const f = chunkFrame(this.op, chunk, this.layout, null, null);
    if (this.frame) checkSameFrame(this.op, this.frame, f, (chunk as Tensor).shape);
  }

  clear(): void {
    this.inner.resetPart();
    this.skip?.clear();
    this.frame = null;
    this.out = 0;
  }

  /** skip[first m positions] + y, where y holds m positions; drops them from the skip path. */
  private combine(x: Tensor | null, y: Tensor): Tensor {
    const layout = this.layout ?? 'channelsFirst';
    const m = timeOf(y, layout), fy = chunkFrame(this.op, y, layout, null, null), f = this.frame!;
    if (fy.c !== f.c || fy.n !== f.n || fy.batched !== f.batched)
      throw new ConvError(this.op, 'inner', `must keep the input's batch and channels for x + inner(x); got input ${fmt(f)} and inner output shape ${fmt(y.shape)}`);
    const t = x ? timeOf(x, layout) : 0, skip = this.skip!;
    if (m > skip.length + t)
      throw new ConvError(this.op, 'inner', `emitted ${this.out + m} positions after ${skip.end + t} input positions; x + inner(x) needs the inner output aligned with its input`);
    this.out += m;
    if (skip instanceof DeviceWindow) return add(skip.take(x, t, m, y.shape), y);
    const out = allocate(y.dtype, y.size);
    takeInto(out, true, skip, x ? x.data : null, t, m, y.data); // x + inner(x)
    return new Tensor(out, y.shape);
  }

  private ensureFrame(x: Tensor): void {
    if (this.frame) return;
    this.frame = chunkFrame(this.op, x, this.layout, null, null);
    this.skip = queueFor(x, this.layout ?? 'channelsFirst', this.skip);
    this.lastDtype = x.dtype;
  }

  advance(chunk: Tensor): Tensor {
    this.ensureFrame(chunk);
    const before = this.inner.received;
    return guarded(this, () => this.inner.received !== before || this.inner.failed, () => this.combine(chunk, this.inner.advance(chunk)));
  }

  finish(chunk: Tensor | null): Tensor | null {
    if (chunk) { this.check(chunk); this.ensureFrame(chunk); }
    let started = false;
    return guarded(this, () => started || this.inner.failed, () => {
      const y = this.inner.finish(chunk);
      started = true;
      if (y === null) return null; // a pointwise inner part: nothing was held back
      const out = this.combine(chunk, y);
      if (this.skip!.length !== 0)
        throw new ConvError(this.op, 'inner', `must keep the length for x + inner(x); got ${this.inner.received} input positions and ${this.out} output positions`);
      return out;
    });
  }
}

/**
 * Parallel: ((b0(x) + b1(x)) + …) [/ K]. Each branch stream gets every chunk; the outputs of the
 * branches that are ahead wait in a queue until the slowest branch has caught up.
 */
export class ParallelStream extends StreamBase {
  readonly layout: Layout | null;
  readonly lookahead: number;
  readonly rate: number;
  private queues: (TimeWindow | DeviceWindow | null)[];
  private framed = false;
  private out = 0;

  constructor(op: string, private readonly branches: readonly StreamBase[], private readonly mean: boolean) {
    super(op);
    const rate = branches[0].rate;
    branches.forEach((b, i) => {
      if (Math.abs(b.rate - rate) > 1e-12)
        throw new ConvError(op, `branches[${i}]`, `must have the rate of branch 0 to be added (${rate} output positions per input position); got rate ${b.rate}`);
      for (let L = 1; L <= RESIDUAL_LENGTHS; L++)
        if (b.outLength(L) !== branches[0].outLength(L))
          throw new ConvError(op, `branches[${i}]`, `must give the length of branch 0 for every input length; got ${b.outLength(L)} and ${branches[0].outLength(L)} output positions for ${L} input positions`);
    });
    this.rate = rate;
    this.lookahead = Math.max(...branches.map((b) => b.lookahead));
    this.layout = branches.map((b) => b.layout).find((l) => l !== null) ?? null;
    this.queues = branches.map(() => null);
    for (const b of branches) { b.part = true; b.markIntermediate(); } // outputs summed (or queued) at once
  }

  get received(): number { return this.branches[0].received; }
  get emitted(): number { return this.out; }
  get stateBytes(): number {
    const e = this.lastDtype === 'float64' ? 8 : 4;
    return this.branches.reduce((a, b) => a + b.stateBytes, 0) + this.queues.reduce((a, q) => a + (q ? q.elements * e : 0), 0);
  }
  outLength(L: number): number { return this.branches[0].outLength(L); }

  markFailed(why: string): void {
    this.broken = why;
  }

  check(chunk: unknown): void {
    for (const b of this.branches) b.check(chunk);
  }

  clear(): void {
    for (const b of this.branches) b.resetPart();
    for (const q of this.queues) q?.clear();
    this.framed = false;
    this.out = 0;
  }

  /** Queues each branch output, then emits the positions every branch has reached. */
  private combine(ys: readonly (Tensor | null)[]): Tensor | null {
    const layout = this.layout ?? 'channelsFirst';
    const shape = ys.find((y) => y !== null)?.shape;
    if (!shape) return null;
    ys.forEach((y, i) => {
      if (!y) return;
      const ax = timeAxis(shape.length, layout);
      if (y.ndim !== shape.length || y.shape.some((s, a) => a !== ax && s !== shape[a]))
        throw new ConvError(this.op, `branches[${i}]`, `must give the batch and channels of the other branches; got shape ${fmt(y.shape)} and ${fmt(shape)}`);
      if (!this.framed) this.queues[i] = queueFor(y, layout, this.queues[i]); // the first push's frame and device
      this.lastDtype = y.dtype;
    });
    this.framed = true;
    const qs = this.queues as (TimeWindow | DeviceWindow)[]; // every branch gave a tensor on the first push
    const ts = ys.map((y) => (y ? timeOf(y, layout) : 0));
    const m = Math.min(...qs.map((q, j) => q.length + ts[j])), K = qs.length;
    this.out += m;
    if (qs[0] instanceof DeviceWindow) {
      let sum: Tensor | null = null;
      qs.forEach((q, j) => { const p = (q as DeviceWindow).take(ys[j], ts[j], m, withTime(shape, layout, m)); sum = sum ? add(sum, p) : p; });
      return this.mean ? div(sum!, K) : sum!;
    }
    const outShape = [...shape];
    outShape[timeAxis(shape.length, layout)] = m;
    const { outer, inner } = qs[0];
    const out = allocate(this.lastDtype, outer * m * inner);
    qs.forEach((q, j) => takeInto(out, j === 0, q as TimeWindow, ys[j] ? ys[j]!.data : null, ts[j], m));
    if (this.mean) for (let i = 0; i < out.length; i++) out[i] = out[i] / K;
    return new Tensor(out, outShape);
  }

  advance(chunk: Tensor): Tensor {
    let i = 0;
    return guarded(this, () => i > 0 || this.branches[0].failed, () => {
      const ys: Tensor[] = [];
      for (; i < this.branches.length; i++) ys.push(this.branches[i].advance(chunk));
      return this.combine(ys)!;
    });
  }

  finish(chunk: Tensor | null): Tensor | null {
    if (chunk) this.check(chunk);
    let i = 0;
    return guarded(this, () => i > 0 || this.branches[0].failed, () => {
      const ys: (Tensor | null)[] = [];
      for (; i < this.branches.length; i++) ys.push(this.branches[i].finish(chunk));
      const y = this.combine(ys);
      if (this.queues.some((q) => q && q.length !== 0))
        throw new ConvError(this.op, 'branches', `must give equal lengths; got ${fmt(this.queues.map((q) => (q ? q.length : 0)))} positions left over`);
      return y;
    });
  }
}

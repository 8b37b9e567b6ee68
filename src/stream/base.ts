/** What the streams share: the push/flush/reset life cycle, chunk checks, and the shapes of chunks. */
import { ConvError, fmt } from '../spec/errors.js';
import type { DType, Layout } from '../spec/types.js';
import { allocate, Tensor, type Device } from '../autograd/tensor.js';
import { gpuFull } from '../autograd/gpu-ops.js';
import { noGrad } from '../autograd/graph.js';
import type { Stream } from './types.js';

/**
 * Arrays a stream reuses from push to push for an output that the next step of a composite
 * consumes at once (see StreamBase.markIntermediate). A result handed to the user is never one of
 * them: push() and flush() copy it out if a step passed it through unchanged.
 */
const scratchArrays = new WeakSet<object>();
export const markScratch = <T extends object>(a: T): T => { scratchArrays.add(a); return a; };

/** A CPU tensor whose data is a reused array, copied; any other tensor as it is. */
function owned(y: Tensor): Tensor {
  return y.device === 'cpu' && scratchArrays.has(y.data) ? new Tensor(y.data.slice(), y.shape) : y;
}

/** Index of the time axis of a 1-D signal tensor (`(N?, C, t)` or `(N?, t, C)`). */
export const timeAxis = (ndim: number, layout: Layout | null): number => (layout === 'channelsLast' ? ndim - 2 : ndim - 1);

/** Time length of a chunk. */
export const timeOf = (x: Tensor, layout: Layout | null): number => x.shape[timeAxis(x.ndim, layout)];

/** `shape` with its time axis set to `t`. */
export function withTime(shape: readonly number[], layout: Layout | null, t: number): number[] {
  const s = [...shape];
  s[timeAxis(s.length, layout)] = t;
  return s;
}

/** A tensor of `shape` with time length 0, on `device`. */
export const emptyLike = (dtype: DType, shape: readonly number[], layout: Layout | null, device: Device = 'cpu'): Tensor =>
  device === 'cpu' ? new Tensor(allocate(dtype, 0), withTime(shape, layout, 0)) : gpuFull(withTime(shape, layout, 0), 0);

/**
 * The batch and channel sizes fixed by the first chunk, and the block structure of a signal in that
 * layout (see TimeWindow): channels-first is (outer = N·C, t, inner = 1), channels-last (outer = N, t, inner = C).
 */
export interface Frame {
  readonly batched: boolean;
  readonly n: number;
  readonly c: number;
}

export const blocks = (f: Frame, layout: Layout, c = f.c): { outer: number; inner: number } =>
  layout === 'channelsLast' ? { outer: f.n, inner: c } : { outer: f.n * c, inner: 1 };

/** The shape of a signal of `t` positions with `c` channels in the frame's batch and layout. */
export function frameShape(f: Frame, layout: Layout, c: number, t: number): number[] {
  const s = layout === 'channelsLast' ? [t, c] : [c, t];
  return f.batched ? [f.n, ...s] : s;
}

/** Reads a chunk's frame, checking it is a 1-D signal tensor of `dtype` with `channels` channels (when given). */
export function chunkFrame(op: string, x: unknown, layout: Layout | null, dtype: DType | null, channels: number | null): Frame {
  if (!(x instanceof Tensor)) throw new ConvError(op, 'chunk', `must be a Tensor; got ${fmt(typeof x)}`);
  if (x.ndim !== 2 && x.ndim !== 3)
    throw new ConvError(op, 'chunk', `must be 3-D (N, C, t) or 2-D (C, t) (channels last: (N, t, C) or (t, C)); got shape ${fmt(x.shape)}`);
  if (dtype !== null && x.dtype !== dtype) throw new ConvError(op, 'chunk', `must have dtype ${dtype} (the weight's); got ${x.dtype}`);
  const batched = x.ndim === 3;
  const c = x.shape[layout === 'channelsLast' ? x.ndim - 1 : x.ndim - 2];
  if (channels !== null && c !== channels)
    throw new ConvError(op, 'chunk', `must have ${channels} channels${layout === 'channelsLast' ? ' (last axis)' : ''}; got shape ${fmt(x.shape)}`);
  return { batched, n: batched ? x.shape[0] : 1, c };
}

/** The frame of a later chunk must equal the first one's. */
export function checkSameFrame(op: string, first: Frame, f: Frame, shape: readonly number[]): void {
  if (f.batched !== first.batched || f.n !== first.n || f.c !== first.c)
    throw new ConvError(op, 'chunk', `must keep the first chunk's ${first.batched ? `batch size ${first.n}, ` : 'unbatched form, '}and ${first.c} channels; got shape ${fmt(shape)}`);
}

/**
 * The life cycle every stream shares. `advance` and `finish` are the steps a composite stream drives
 * on its parts; users call `push`, `flush` and `reset`.
 */
export abstract class StreamBase implements Stream {
  private done = false;
  /** Set when a composite stream failed half-way; cleared by reset(). */
  protected broken: string | null = null;
  /** The shape of the last chunk pushed (for an empty result where nothing else gives one). */
  protected lastShape: readonly number[] | null = null;
  protected lastDtype: DType = 'float32';
  protected lastDevice: Device = 'cpu';
  /** True once a composite stream has taken this one as a part (it is then driven by the composite only). */
  part = false;

  constructor(readonly op: string) {}

  /**
   * Set by a composite whose next step consumes this stream's output before this stream runs
   * again: the output may then live in an array reused from push to push (no allocation).
   */
  protected intermediate = false;

  markIntermediate(): void {
    this.intermediate = true;
  }

  /** True once a chunk has been pushed (until reset()). */
  get started(): boolean {
    return this.lastShape !== null || this.received > 0;
  }

  /** Time layout of the stream's input and output; null for a pointwise stream (any layout). */
  abstract readonly layout: Layout | null;
  abstract readonly lookahead: number;
  abstract readonly rate: number;
  abstract readonly received: number;
  abstract readonly emitted: number;
  abstract readonly stateBytes: number;
  /** Output length the full forward gives for an input of L positions (≤ 0: the forward refuses it). */
  abstract outLength(L: number): number;

  get latency(): number {
    return Math.max(0, Math.round(this.lookahead * 1e9) / 1e9);
  }

  /** True when an earlier call failed half-way (a composite stream); reset() clears it. */
  get failed(): boolean {
    return this.broken !== null;
  }

  get ended(): boolean {
    return this.done;
  }

  /** Throws the ConvError that `push(chunk)` would throw for this chunk; changes nothing. */
  abstract check(chunk: unknown): void;
  /** Takes a checked chunk; returns the output positions now final. */
  abstract advance(chunk: Tensor): Tensor;
  /** Takes a checked chunk (or none), ends the input and returns the rest; null when there is nothing to say (pointwise, nothing pushed). */
  abstract finish(chunk: Tensor | null): Tensor | null;
  /** Forgets the signal. */
  abstract clear(): void;

  private live(what: string): void {
    if (this.part) throw new ConvError(this.op, what, 'is not allowed on a stream that is part of a composite stream (it is driven by the composite); push to the composite');
    if (this.done) throw new ConvError(this.op, what, 'is not allowed after flush(); call reset() to start a new stream');
    if (this.broken) throw new ConvError(this.op, what, `is not allowed: an earlier call failed half-way (${this.broken}); call reset()`);
  }

  push(chunk: Tensor): Tensor {
    this.live('push');
    this.check(chunk);
    this.lastShape = chunk.shape;
    this.lastDtype = chunk.dtype;
    this.lastDevice = chunk.device;
    return owned(noGrad(() => this.advance(chunk)));
  }

  flush(): Tensor {
    this.live('flush');
    if (this.lastShape === null)
      throw new ConvError(this.op, 'flush', 'needs at least one pushed chunk first (it fixes the batch and channel sizes); got none');
    const y = owned(noGrad(() => this.finish(null)) ?? emptyLike(this.lastDtype, this.lastShape, this.layout, this.lastDevice));
    this.done = true;
    return y;
  }

  reset(): void {
    if (this.part) throw new ConvError(this.op, 'reset', 'is not allowed on a stream that is part of a composite stream (it is driven by the composite); reset the composite');
    this.resetPart();
  }

  /** reset() as a composite drives it on its parts. */
  resetPart(): void {
    this.done = false;
    this.broken = null;
    this.lastShape = null;
    this.clear();
  }
}

/**
 * Tensor: contiguous row-major storage (Float32Array or Float64Array) plus a shape.
 * Tensors that take part in autograd carry `requiresGrad`, `grad` and the node that made them.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { DType, Shape } from '../spec/types.js';
import { generatorFor } from '../util/random.js';
import { section } from '../profile/profile.js';

export type TypedArray = Float32Array | Float64Array;
export type NestedArray = number | readonly NestedArray[];

/**
 * Write counts of storages (the `data` arrays): a reshape or detach shares its tensor's array, so
 * the count belongs to the array, and a write through any view is seen by all of them.
 */
const versions = new WeakMap<TypedArray, number>();

/** Largest number of elements convkit allocates for one tensor (2^31 − 1: typed-array indexing limit). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/** A record of how a tensor was computed: its inputs and the vector–Jacobian product. */
export interface GradNode {
  readonly name: string;
  readonly parents: readonly Tensor[];
  /** Given the gradient of the output, returns one gradient per parent (null where not needed). */
  readonly vjp: (gy: Tensor) => readonly (Tensor | null)[];
}

export class Tensor {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
  requiresGrad: boolean;
  /** Accumulated gradient (after `backward`), same shape and dtype as this tensor. */
  grad: Tensor | null = null;
  /** The node that produced this tensor, when it was computed from tensors that need gradients. */
  gradFn: GradNode | null = null;

  constructor(data: TypedArray, shape: Shape, requiresGrad = false) {
    const n = numel('tensor', shape);
    if (data.length !== n)
      throw new ConvError('tensor', 'data', `has ${data.length} elements but shape ${fmt(shape)} needs ${n}`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = data instanceof Float64Array ? 'float64' : 'float32';
    this.requiresGrad = requiresGrad;
  }

  /**
   * How many times `data` has been written in place through an API that says so: optimizer
   * steps, `Module.loadStateDict`, in-place ops (`relu(x, true)` …), `markChanged()` and
   * `update()`. Caches of forms derived from a tensor (the packed weights of the convolution
   * kernels) compare it to see a change. Shared by every tensor on the same storage.
   */
  get version(): number {
    return versions.get(this.data) ?? 0;
  }

  /**
   * Declares that `data` was written in place by the caller, so that whatever convkit derived from
   * the old values (packed weights) is rebuilt on next use. Call it after any direct write:
   * `w.data.set(values); w.markChanged();` — or write through `update`, which calls it. Returns this.
   */
  markChanged(): this {
    versions.set(this.data, this.version + 1);
    return this;
  }

  /**
   * Writes the values in place: `fn(data)`, then `markChanged()`. Returns this.
   * @example weight.update((d) => d.set(newValues))
   * @example weight.update((d) => { for (let i = 0; i < d.length; i++) d[i] *= 0.5; })
   */
  update(fn: (data: TypedArray) => void): this {
    try {
      fn(this.data);
    } finally {
      this.markChanged();
    }
    return this;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const { data, shape } = this;
    if (shape.length === 0) return data[0];
    const build = (dim: number, offset: number): NestedArray[] => {
      const out: NestedArray[] = [];
      const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      for (let i = 0; i < shape[dim]; i++)
        out.push(dim === shape.length - 1 ? data[offset + i] : build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** Same storage, new shape; one entry may be −1. Shares data (no copy). */
  reshape(shape: readonly number[]): Tensor {
    const resolved = resolveReshape(this.shape, shape);
    return reshapeHook(this, resolved);
  }

  /** A tensor with the same data that is cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A deep copy (not recorded by autograd). */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /**
   * Back-propagates from this tensor; leaves with `requiresGrad` accumulate into `.grad`.
   * A one-element tensor needs no `gradOutput`.
   */
  backward(gradOutput?: Tensor): void {
    backwardHook(this, gradOutput);
  }

  /** Clears `.grad`. */
  zeroGrad(): void {
    this.grad = null;
  }

  item(): number {
    if (this.size !== 1) throw new ConvError('item', 'tensor', `must have exactly one element; got shape ${fmt(this.shape)}`);
    return this.data[0];
  }

  toString(): string {
    return `Tensor(shape=${fmt(this.shape)}, dtype=${this.dtype})`;
  }
}

/**
 * How `reshape` builds its result; autograd replaces this so that reshape is differentiable.
 * Kept as a hook so that this file does not import the autograd engine.
 */
let reshapeHook = (t: Tensor, shape: number[]): Tensor => new Tensor(t.data, shape);
let backwardHook = (_t: Tensor, _g?: Tensor): void => {
  throw new Error('autograd engine not loaded');
};
export function setBackwardHook(f: (t: Tensor, g?: Tensor) => void): void {
  backwardHook = f;
}
export function setReshapeHook(f: (t: Tensor, shape: number[]) => Tensor): void {
  reshapeHook = f;
}

export function resolveReshape(from: Shape, shape: readonly number[]): number[] {
  const n = from.reduce((a, b) => a * b, 1);
  const free = shape.filter((s) => s === -1).length;
  if (free > 1 || shape.some((s) => !Number.isInteger(s) || s < -1))
    throw new ConvError('reshape', 'shape', `must hold non-negative integers and at most one -1; got ${fmt(shape)}`);
  const known = shape.reduce((a, b) => (b === -1 ? a : a * b), 1);
  const out = shape.map((s) => (s === -1 ? (known === 0 ? 0 : n / known) : s));
  if (out.reduce((a, b) => a * b, 1) !== n || out.some((s) => !Number.isInteger(s)))
    throw new ConvError('reshape', 'shape', `${fmt(shape)} is invalid for a tensor of ${n} elements (shape ${fmt(from)})`);
  return out;
}

/** Element count of a shape, checking every entry is a non-negative safe integer and the total fits. */
export function numel(op: string, shape: Shape): number {
  if (!Array.isArray(shape)) throw new ConvError(op, 'shape', `must be an array of integers; got ${fmt(shape)}`);
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0)
      throw new ConvError(op, 'shape', `must hold non-negative integers; got ${fmt(shape)}`);
    n *= s;
  }
  if (n > MAX_ELEMENTS)
    throw new ConvError(op, 'shape', `${fmt(shape)} has ${n} elements, more than the ${MAX_ELEMENTS} one tensor can hold`);
  return n;
}

export function allocate(dtype: DType, n: number): TypedArray {
  const end = section('allocation/copy');
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  end();
  return out;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], out: TypedArray): void {
  let k = 0;
  const walk = (v: NestedArray, dim: number) => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new ConvError('tensor', 'data', `is ragged or holds a non-number (${fmt(v)}); expected shape ${fmt(shape)}`);
      out[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim])
      throw new ConvError('tensor', 'data', `is ragged: expected ${shape[dim]} elements at depth ${dim}; got ${fmt(v)}`);
    for (const e of v) walk(e, dim + 1);
  };
  walk(data, 0);
}

/**
 * Builds a tensor from nested arrays or a flat (typed) array.
 * dtype defaults to the typed array's (Float64Array → 'float64') or 'float32'.
 * @example tensor([[1, 2], [3, 4]]) // shape [2, 2], float32
 * @example tensor(new Float64Array(6), [2, 3])
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], shape?: Shape, opts: TensorOptions = {}): Tensor {
  const dtype: DType = opts.dtype ?? (data instanceof Float64Array ? 'float64' : 'float32');
  if (dtype !== 'float32' && dtype !== 'float64')
    throw new ConvError('tensor', 'dtype', `must be 'float32' or 'float64'; got ${fmt(dtype)}`);
  let flat: TypedArray;
  let sh: number[];
  if (ArrayBuffer.isView(data)) {
    const src = data as unknown as ArrayLike<number>;
    sh = shape ? [...shape] : [src.length];
    numel('tensor', sh);
    flat = allocate(dtype, src.length);
    flat.set(src);
  } else {
    const inferred = inferShape(data as NestedArray);
    const n = numel('tensor', inferred);
    flat = allocate(dtype, n);
    flatten(data as NestedArray, inferred, flat);
    sh = shape ? [...shape] : inferred;
  }
  return new Tensor(flat, sh, opts.requiresGrad ?? false);
}

export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  const t = new Tensor(allocate(opts.dtype ?? 'float32', numel('full', shape)), shape, opts.requiresGrad ?? false);
  if (value !== 0) t.data.fill(value);
  return t;
}

export const zeros = (shape: Shape, opts: TensorOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: TensorOptions = {}): Tensor => full(shape, 1, opts);

export interface RandomOptions extends TensorOptions {
  /** Seed for a fresh generator; without it the global generator (see `manualSeed`) is used. */
  seed?: number;
}

/** Standard-normal samples. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  const t = zeros(shape, opts);
  const g = generatorFor(opts.seed);
  for (let i = 0; i < t.size; i++) t.data[i] = g.normal();
  return t;
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  const t = zeros(shape, opts);
  const g = generatorFor(opts.seed);
  for (let i = 0; i < t.size; i++) t.data[i] = g.uniform();
  return t;
}

/**
 * Tensor: contiguous row-major storage (Float32Array or Float64Array) plus a shape.
 * Tensors that take part in autograd carry `requiresGrad`, `grad` and the node that made them.
 */
import { ConvError, errorText, fmt, guarded } from '../spec/errors.js';
import type { DType, Shape } from '../spec/types.js';
import { generatorFor, type Generator } from '../util/random.js';
import { parseDType, readOptions } from '../spec/normalize.js';
import { section } from '../profile/profile.js';

import type { F as TypedArray } from '../kernels/types.js';

/** The storage of a tensor: the kernels' array type (`F` of src/kernels/types.ts). */
export type { TypedArray };
export type NestedArray = number | readonly NestedArray[];

/**
 * Write counts of storages (the `data` arrays, or a device tensor's buffer): a reshape or detach
 * shares its tensor's storage, so the count belongs to the storage, and a write through any view is
 * seen by all of them.
 */
const versions = new WeakMap<object, number>();

/**
 * Shapes frozen once and shared by every tensor made with them (sharedShape): the constructor keeps
 * such a shape as it is rather than freezing a copy, the larger part of making a small tensor.
 */
const sharedShapes = new WeakSet<readonly number[]>();

/**
 * A frozen copy of `shape` that tensors may share, for a shape made once and used call after call
 * (a planned convolution's output). Each call registers a new shape: keep what it returns.
 */
export function sharedShape(shape: Shape): readonly number[] {
  const s = Object.freeze(Array.from(shape));
  sharedShapes.add(s);
  return s;
}

/** Largest number of elements convkit allocates for one tensor (2^31 − 1: typed-array indexing limit). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Options of `tensor`, `zeros`, `ones` and `full`. */
export interface TensorOptions {
  /** `'float32'` or `'float64'` (default: a Float64Array's `'float64'`, else `'float32'`); any other name is refused. */
  dtype?: DType;
  /** Whether autograd records operations on the tensor, so that `backward` fills its `.grad` (default false). */
  requiresGrad?: boolean;
}

/** A record of how a tensor was computed: its inputs and the vector–Jacobian product. */
export interface GradNode {
  readonly name: string;
  readonly parents: readonly Tensor[];
  /** Given the gradient of the output, returns one gradient per parent (null where not needed). */
  readonly vjp: (gy: Tensor) => readonly (Tensor | null)[];
}

/** What `backward` accepts besides the gradient. */
export interface BackwardOptions {
  /**
   * Keep the graph after this backward so that it can be back-propagated through again (PyTorch's
   * `retain_graph`; default false: a second backward through the same graph is an error).
   */
  retainGraph?: boolean;
}

function checkFlag(op: string, param: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConvError(op, param, `must be true or false; got ${fmt(v)}`);
  return v;
}

/** Where a tensor's values live: 'cpu' (a typed array) or 'webgpu' (a GPU buffer; float32 only). */
export type Device = 'cpu' | 'webgpu';

/** Values held by a device other than the CPU (a WebGPU buffer): float32, `length` elements. */
export interface DeviceStorage {
  readonly device: Exclude<Device, 'cpu'>;
  readonly length: number;
  /** Copies the values back to the CPU. */
  read(): Promise<Float32Array>;
}

/** What a device backend provides to tensors: upload and copy (installed by `initWebGPU`). */
export interface DeviceHooks {
  upload(t: Tensor): DeviceStorage;
  clone(s: DeviceStorage): DeviceStorage;
  /** Overwrites the storage with `values` (loadStateDict on a moved module). */
  write(s: DeviceStorage, values: TypedArray): void;
  /** Overwrites `dst` with `src`'s values on the device (same length; loadStateDict of device tensors). */
  copy(dst: DeviceStorage, src: DeviceStorage): void;
}

const deviceHooks = new Map<string, DeviceHooks>();
/** Registers the upload/copy functions of a device backend. */
export function setDeviceHooks(device: Exclude<Device, 'cpu'>, hooks: DeviceHooks): void {
  deviceHooks.set(device, hooks);
}
function hooksFor(op: string, device: Exclude<Device, 'cpu'>): DeviceHooks {
  const h = deviceHooks.get(device);
  if (!h) throw new ConvError(op, 'device', `'${device}' is not initialised: call \`await initWebGPU()\` first; got device ${fmt(device)}`);
  return h;
}
const isDeviceStorage = (v: unknown): v is DeviceStorage =>
  v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && typeof (v as DeviceStorage).read === 'function'
  && (v as DeviceStorage).device === 'webgpu';

/** Replaces a CPU tensor's storage by a device's (Module.to: the same tensor moves once). */
let replaceStorage: (t: Tensor, s: DeviceStorage) => void;

export class Tensor {
  // Storage, shape and dtype are fixed at construction (a parameter moved by Module.to changes
  // device once, keeping its values): every later call can trust them.
  #data: TypedArray | null;
  #device: DeviceStorage | null;
  readonly #shape: readonly number[];
  #requiresGrad: boolean;
  #grad: Tensor | null = null;
  /** The node that produced this tensor, when it was computed from tensors that need gradients. */
  gradFn: GradNode | null = null;

  static {
    replaceStorage = (t, s) => { t.#data = null; t.#device = s; };
  }

  /** `data`: a Float32Array or Float64Array of exactly `prod(shape)` elements (kept, not copied), or a device's storage. */
  constructor(data: TypedArray | DeviceStorage, shape: Shape, requiresGrad = false) {
    let storage: boolean;
    try {
      storage = data instanceof Float32Array || data instanceof Float64Array || isDeviceStorage(data);
    } catch (e) {
      storage = guarded('tensor', 'data', () => { throw e; });
    }
    if (!storage)
      throw new ConvError('tensor', 'data', `must be a Float32Array or Float64Array (use tensor() for other values); got ${describeValue(data)}`);
    const n = numel('tensor', shape);
    if (data.length !== n)
      throw new ConvError('tensor', 'data', `has ${data.length} elements but shape ${fmt(shape)} needs ${n}`);
    const onDevice = isDeviceStorage(data);
    this.#data = onDevice ? null : data;
    this.#device = onDevice ? data : null;
    this.#shape = sharedShapes.has(shape) ? shape : Object.freeze(Array.from(shape));
    this.#requiresGrad = checkFlag('tensor', 'requiresGrad', requiresGrad);
  }

  /** A real Tensor (made by this constructor), not an object that only borrows its prototype. */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && #data in v;
  }

  /**
   * The storage: contiguous, row-major. Its values may be changed in place; the array itself cannot be replaced.
   * CPU tensors only: a GPU tensor is read with `await t.cpu()`.
   */
  get data(): TypedArray {
    if (this.#data === null)
      throw new ConvError('tensor', 'data', `is on device '${this.device}': read it with \`await t.cpu()\` or \`await t.toArrayAsync()\`; got ${this.toString()}`);
    return this.#data;
  }

  /** The typed array of a CPU tensor or the buffer of a device tensor. */
  get storage(): TypedArray | DeviceStorage {
    return this.#data ?? this.#device!;
  }

  /** 'cpu' or the device holding the values ('webgpu'). */
  get device(): Device {
    return this.#device ? this.#device.device : 'cpu';
  }

  /**
   * `to('webgpu')` uploads (float32 only; needs `initWebGPU()`), returning a new tensor cut from the
   * graph; `await t.to('cpu')` reads back. A tensor already on the device is returned as is.
   */
  to(device: 'webgpu'): Tensor;
  to(device: 'cpu'): Promise<Tensor>;
  to(device: Device): Tensor | Promise<Tensor>;
  to(device: Device): Tensor | Promise<Tensor> {
    if (device === 'cpu') return this.cpu();
    if (device !== 'webgpu') throw new ConvError('to', 'device', `must be 'cpu' or 'webgpu'; got ${fmt(device)}`);
    if (this.device === device) return this;
    return new Tensor(uploadStorage('to', this, device), this.#shape);
  }

  /** A CPU tensor with this tensor's values (itself when already on the CPU). */
  async cpu(): Promise<Tensor> {
    if (!this.#device) return this;
    return new Tensor(await this.#device.read(), this.#shape);
  }

  /** `toArray()` for a tensor on any device. */
  async toArrayAsync(): Promise<NestedArray> {
    return (await this.cpu()).toArray();
  }

  /** The sizes of each dimension (frozen). */
  get shape(): readonly number[] {
    return this.#shape;
  }

  /** 'float32' or 'float64', from the storage. */
  get dtype(): DType {
    return this.#data instanceof Float64Array ? 'float64' : 'float32';
  }

  /** Whether autograd records operations on this tensor (true or false). */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }
  set requiresGrad(v: boolean) {
    this.#requiresGrad = checkFlag('Tensor', 'requiresGrad', v);
  }

  /** Accumulated gradient (after `backward`): null, or a tensor of this tensor's shape and dtype. */
  get grad(): Tensor | null {
    return this.#grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null && !(g instanceof Tensor))
      throw new ConvError('Tensor', 'grad', `must be null or a Tensor; got ${describeValue(g)}`);
    if (g !== null && (g.dtype !== this.dtype || g.shape.length !== this.#shape.length || g.shape.some((s, i) => s !== this.#shape[i])))
      throw new ConvError('Tensor', 'grad', `must have the tensor's shape ${fmt(this.#shape)} and dtype ${this.dtype}; got shape ${fmt(g.shape)}, dtype ${g.dtype}`);
    this.#grad = g;
  }

  /**
   * How many times `data` has been written in place through an API that says so: optimizer
   * steps, `Module.loadStateDict`, in-place ops (`relu(x, true)` …), `markChanged()` and
   * `update()`. Caches of forms derived from a tensor (the packed weights of the convolution
   * kernels) compare it to see a change. Shared by every tensor on the same storage.
   */
  get version(): number {
    return versions.get(this.storage) ?? 0;
  }

  /**
   * Declares that `data` was written in place by the caller, so that whatever convkit derived from
   * the old values (packed weights) is rebuilt on next use. Call it after any direct write:
   * `w.data.set(values); w.markChanged();` — or write through `update`, which calls it. Returns this.
   */
  markChanged(): this {
    versions.set(this.storage, this.version + 1);
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
    return this.storage.length;
  }

  get ndim(): number {
    return this.#shape.length;
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
    return new Tensor(this.storage, this.shape);
  }

  /** A deep copy (not recorded by autograd), on the same device. */
  clone(): Tensor {
    if (this.#device) return new Tensor(hooksFor('clone', this.#device.device).clone(this.#device), this.shape);
    return new Tensor(this.data.slice(), this.shape);
  }

  /**
   * Back-propagates from this tensor; leaves with `requiresGrad` accumulate into `.grad`.
   * A one-element tensor needs no `gradOutput`; otherwise it must have this tensor's shape and dtype.
   * The graph is freed as in PyTorch: a second backward through it throws unless the first was
   * given `{ retainGraph: true }`.
   */
  backward(gradOutput?: Tensor | null, options?: BackwardOptions): void {
    backwardHook(this, gradOutput ?? undefined, options);
  }

  /** Clears `.grad`. */
  zeroGrad(): void {
    this.#grad = null;
  }

  item(): number {
    if (this.size !== 1) throw new ConvError('item', 'tensor', `must have exactly one element; got shape ${fmt(this.shape)}`);
    return this.data[0];
  }

  toString(): string {
    return `Tensor(shape=${fmt(this.shape)}, dtype=${this.dtype})`;
  }
}

// Assigning `data`, `shape` or `dtype` is an error that says so (not a silent no-op, not a TypeError).
for (const key of ['data', 'shape', 'dtype'] as const) {
  const get = Object.getOwnPropertyDescriptor(Tensor.prototype, key)!.get;
  Object.defineProperty(Tensor.prototype, key, {
    get,
    set(this: Tensor) {
      throw new ConvError('Tensor', key, `is read-only (fixed when the tensor is made, so that every call can trust it); make a new tensor instead, e.g. tensor(values, shape) or t.reshape(shape)`);
    },
    configurable: false,
    enumerable: false,
  });
}

/** Uploads `t`'s values to `device` (float32 only). */
function uploadStorage(op: string, t: Tensor, device: Exclude<Device, 'cpu'>): DeviceStorage {
  if (t.dtype !== 'float32')
    throw new ConvError(op, 'dtype', `must be float32 on '${device}' (WGSL has no float64); got ${t.dtype} — convert with tensor(t.data, t.shape, { dtype: 'float32' })`);
  return hooksFor(op, device).upload(t);
}

/**
 * Moves a tensor's values to `device` in place (the same object: optimizers and modules keep it).
 * Used by `Module.to`; a tensor already there is left alone.
 */
export function moveInPlace(t: Tensor, device: Device): void {
  if (t.device === device) return;
  if (device !== 'webgpu') throw new ConvError('to', 'device', `must be 'cpu' or 'webgpu' (Module.to moves parameters to the GPU); got ${fmt(device)}`);
  replaceStorage(t, uploadStorage('to', t, device));
}

/** Overwrites a tensor's values in place on whatever device holds them. */
export function writeInPlace(t: Tensor, values: TypedArray): void {
  const s = t.storage;
  if (isDeviceStorage(s)) hooksFor('write', s.device).write(s, values);
  else s.set(values);
}

/**
 * Overwrites device tensor `t`'s values with device tensor `src`'s by a copy on the device (no
 * readback); both on the same device with the same number of elements (checked by the caller).
 */
export function copyInPlace(t: Tensor, src: Tensor): void {
  const d = t.storage, s = src.storage;
  if (!isDeviceStorage(d) || !isDeviceStorage(s) || d.device !== s.device)
    throw new ConvError('copy', 'tensor', `must be on the destination's device ('${t.device}'); got device '${src.device}'`);
  hooksFor('copy', d.device).copy(d, s);
}

/**
 * Gives a CPU tensor made for the purpose (a fresh module's parameter) the device storage `s` of
 * the same length instead of its values: `foldBatchNorm` on the GPU places the folded weights so,
 * without uploading the initial ones.
 */
export function placeOnDevice(t: Tensor, s: DeviceStorage): void {
  if (t.device !== 'cpu' || !isDeviceStorage(s) || s.length !== t.size)
    throw new ConvError('to', 'tensor', `must be a CPU tensor of ${t.size} elements given a device storage of as many; got device '${t.device}'`);
  replaceStorage(t, s);
}

/** A short description of a value of the wrong kind, for messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') {
    try {
      const name = (v as object).constructor?.name;
      if (typeof name === 'string' && name) return `a ${name}`;
    } catch {
      // a Proxy whose traps throw
    }
    return fmt(v);
  }
  return `${typeof v} ${fmt(v)}`;
}

/**
 * How `reshape` builds its result; autograd replaces this so that reshape is differentiable.
 * Kept as a hook so that this file does not import the autograd engine.
 */
let reshapeHook = (t: Tensor, shape: number[]): Tensor => new Tensor(t.storage, shape);
let backwardHook = (_t: Tensor, _g?: Tensor, _o?: BackwardOptions): void => {
  throw new Error('autograd engine not loaded');
};
export function setBackwardHook(f: (t: Tensor, g?: Tensor, o?: BackwardOptions) => void): void {
  backwardHook = f;
}
export function setReshapeHook(f: (t: Tensor, shape: number[]) => Tensor): void {
  reshapeHook = f;
}

export function resolveReshape(from: Shape, shape: readonly number[]): number[] {
  return guarded('reshape', 'shape', () => resolve(from, shape));
}

function resolve(from: Shape, shape: readonly number[]): number[] {
  const n = from.reduce((a, b) => a * b, 1);
  if (!Array.isArray(shape))
    throw new ConvError('reshape', 'shape', `must be an array of integers; got ${fmt(shape)}`);
  const list = Array.from({ length: shape.length }, (_, i) => shape[i] as unknown);
  const free = list.filter((s) => s === -1).length;
  if (free > 1 || list.some((s) => typeof s !== 'number' || !Number.isSafeInteger(s) || s < -1))
    throw new ConvError('reshape', 'shape', `must hold non-negative integers and at most one -1; got ${fmt(shape)}`);
  const ints = list as number[];
  const known = ints.reduce((a, b) => (b === -1 ? a : a * b), 1);
  const out = ints.map((s) => (s === -1 ? (known === 0 ? 0 : n / known) : s));
  if (out.reduce((a, b) => a * b, 1) !== n || out.some((s) => !Number.isInteger(s)))
    throw new ConvError('reshape', 'shape', `${fmt(shape)} is invalid for a tensor of ${n} elements (shape ${fmt(from)})`);
  return out;
}

/** Most dimensions a tensor may have (PyTorch's limit is 64; convkit's ops need at most 5). */
export const MAX_DIMS = 32;

/** Element count of a shape, checking every entry is a non-negative safe integer and the total fits. */
export function numel(op: string, shape: Shape): number {
  return guarded(op, 'shape', () => numelOf(op, shape));
}

function numelOf(op: string, shape: Shape): number {
  if (!Array.isArray(shape)) throw new ConvError(op, 'shape', `must be an array of integers; got ${fmt(shape)}`);
  if (shape.length > MAX_DIMS) throw new ConvError(op, 'shape', `must have at most ${MAX_DIMS} dims; got ${shape.length}`);
  let n = 1;
  // An index loop: a hole is an undefined entry, not a skipped one.
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i] as unknown;
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0)
      throw new ConvError(op, 'shape', `must hold non-negative integers; got ${fmt(shape)}`);
    n *= s;
  }
  if (n > MAX_ELEMENTS)
    throw new ConvError(op, 'shape', `${fmt(shape)} has ${n} elements, more than the ${MAX_ELEMENTS} one tensor can hold`);
  return n;
}

/** A zero-filled array of `n` elements; a failed allocation (out of memory) is a ConvError naming the size. */
export function allocate(dtype: DType, n: number): TypedArray {
  const end = section('allocation/copy');
  try {
    return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ConvError('allocate', 'size', `of ${n} ${dtype} elements (${n * (dtype === 'float64' ? 8 : 4)} bytes) could not be allocated (${e.message})`);
  } finally {
    end();
  }
}

/** Reads `v[i]`, turning a throwing getter or Proxy trap into a ConvError. */
function elementOf(v: readonly unknown[], i: number): unknown {
  return guarded('tensor', 'data', () => v[i]);
}

function inferShape(data: unknown): number[] {
  const shape: number[] = [];
  let cur: unknown = data;
  while (Array.isArray(cur)) {
    // A cyclic list ([a] with a[0] === a) would otherwise nest forever.
    if (shape.length === MAX_DIMS) throw new ConvError('tensor', 'data', `nests deeper than ${MAX_DIMS} levels (or contains itself)`);
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = elementOf(cur, 0);
  }
  return shape;
}

function flatten(data: unknown, shape: number[], out: TypedArray): void {
  let k = 0;
  const walk = (v: unknown, dim: number) => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new ConvError('tensor', 'data', `is ragged or holds a non-number (${fmt(v)}); expected shape ${fmt(shape)}`);
      out[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim])
      throw new ConvError('tensor', 'data', `is ragged: expected ${shape[dim]} elements at depth ${dim}; got ${fmt(v)}`);
    for (let i = 0; i < shape[dim]; i++) walk(elementOf(v, i), dim + 1);
  };
  walk(data, 0);
}

/** `{ dtype, requiresGrad }` (and `seed` where `withSeed`), read once and checked. */
function tensorOptions(op: string, opts: unknown, withSeed = false): { dtype?: DType; requiresGrad: boolean; seed?: number } {
  const o = readOptions(op, opts, withSeed ? ['dtype', 'requiresGrad', 'seed'] : ['dtype', 'requiresGrad']);
  return {
    dtype: parseDType(op, o.dtype),
    requiresGrad: o.requiresGrad === undefined ? false : checkFlag(op, 'requiresGrad', o.requiresGrad),
    seed: o.seed as number | undefined,
  };
}

/**
 * Builds a tensor from nested arrays or a flat (typed) array.
 * dtype defaults to the typed array's (Float64Array → 'float64') or 'float32'.
 * @example tensor([[1, 2], [3, 4]]) // shape [2, 2], float32
 * @example tensor(new Float64Array(6), [2, 3])
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], shape?: Shape, opts: TensorOptions = {}): Tensor {
  return guarded('tensor', 'data', () => tensorOf(data, shape, opts));
}

function tensorOf(data: unknown, shape: Shape | undefined, opts: unknown): Tensor {
  const o = tensorOptions('tensor', opts);
  const dtype: DType = o.dtype ?? (data instanceof Float64Array ? 'float64' : 'float32');
  let flat: TypedArray;
  let sh: number[];
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array)
      throw new ConvError('tensor', 'data', `must be nested arrays of numbers or a typed array of numbers (not a ${data.constructor.name}: convert BigInt values with Number() first); got ${data.constructor.name} of ${data.byteLength} bytes`);
    const src = data as unknown as ArrayLike<number>;
    sh = shape !== undefined ? [...numelChecked(shape)] : [src.length];
    flat = allocate(dtype, src.length);
    flat.set(src);
  } else {
    if (!Array.isArray(data) && typeof data !== 'number')
      throw new ConvError('tensor', 'data', `must be a number, nested arrays of numbers or a typed array; got ${describeValue(data)}`);
    let inferred: number[];
    try {
      inferred = inferShape(data);
      flat = allocate(dtype, numel('tensor', inferred));
      flatten(data, inferred, flat);
    } catch (e) {
      if (e instanceof ConvError) throw e;
      throw new ConvError('tensor', 'data', `could not be read (${errorText(e)})`);
    }
    sh = shape !== undefined ? [...numelChecked(shape)] : inferred;
  }
  return new Tensor(flat, sh, o.requiresGrad);
}

/** The shape itself once `numel` has checked it. */
function numelChecked(shape: Shape): Shape {
  numel('tensor', shape);
  return shape;
}

/** A tensor of `shape` filled with `value` (a number: NaN and ±Infinity are values too). */
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  return filled('full', shape, value, opts);
}

function filled(op: string, shape: Shape, value: number, opts: unknown): Tensor {
  const o = tensorOptions(op, opts);
  if (typeof value !== 'number') throw new ConvError(op, 'value', `must be a number; got ${describeValue(value)}`);
  const t = new Tensor(allocate(o.dtype ?? 'float32', numel(op, shape)), shape, o.requiresGrad);
  if (value !== 0 || Object.is(value, -0)) t.data.fill(value);
  return t;
}

export const zeros = (shape: Shape, opts: TensorOptions = {}): Tensor => filled('zeros', shape, 0, opts);
export const ones = (shape: Shape, opts: TensorOptions = {}): Tensor => filled('ones', shape, 1, opts);

export interface RandomOptions extends TensorOptions {
  /** Seed for a fresh generator; without it the global generator (see `manualSeed`) is used. */
  seed?: number;
}

function random(op: string, shape: Shape, opts: unknown, draw: (g: Generator) => number): Tensor {
  const o = tensorOptions(op, opts, true);
  const g = generatorFor(o.seed, op);
  const t = new Tensor(allocate(o.dtype ?? 'float32', numel(op, shape)), shape, o.requiresGrad);
  for (let i = 0; i < t.size; i++) t.data[i] = draw(g);
  return t;
}

/** Standard-normal samples. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  return random('randn', shape, opts, (g) => g.normal());
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  return random('rand', shape, opts, (g) => g.uniform());
}

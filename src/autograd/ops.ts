/**
 * A small set of differentiable tensor ops around the convolutions: broadcasting arithmetic,
 * activations, reductions and losses (PyTorch semantics and names in camelCase).
 * Each op computes its result and records one node whose VJP returns one gradient per parent.
 */
import { ConvError, fmt, readList } from '../spec/errors.js';
import type { Shape } from '../spec/types.js';
import { forEachRow } from '../util/shape.js';
import { isGradEnabled, record } from './graph.js';
import { allocate, Tensor, type TypedArray } from './tensor.js';
import { activationGrad, activationInto, binaryInto, type Activation } from '../kernels/wasm/elementwise.js';
import { section } from '../profile/profile.js';
import { traceOp, tracing } from '../profile/trace.js';
import { checkSameDevice, gpuActivation, gpuActivationInPlace, gpuBinary, gpuLoss, gpuReduce, gpuScalar } from './gpu-ops.js';

/** A tensor operand or a plain number (treated as a 0-d constant of the other operand's dtype). */
export type Operand = Tensor | number;
export type Reduction = 'mean' | 'sum' | 'none';

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((s, i) => s === b[i]);
const numelOf = (s: Shape) => s.reduce((x, y) => x * y, 1);

/** A copy of a shape given by the caller: a list of non-negative integers (a ConvError otherwise). */
function shapeOf(op: string, s: unknown): number[] {
  const list = readList(op, 'shape', s, 64);
  if (list === null || !list.every((v) => Number.isSafeInteger(v) && (v as number) >= 0))
    throw new ConvError(op, 'shape', `must be a list of non-negative integers; got ${fmt(s)}`);
  return list as number[];
}

/** NumPy/PyTorch broadcasting: align trailing dims; each pair must be equal or contain a 1. */
export function broadcastShapes(op: string, shapeA: Shape, shapeB: Shape): number[] {
  const a = shapeOf(op, shapeA), b = shapeOf(op, shapeB);
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1, db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new ConvError(op, 'shape', `operands must be broadcastable (sizes equal or 1 in each trailing dim); got ${fmt(a)} and ${fmt(b)}`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For each element of a tensor of shape `to` (row-major), the flat index of the element of a
 * tensor of shape `from` that broadcasting reads there. `from` must broadcast to `to`.
 */
export function broadcastIndex(from: Shape, to: Shape): Int32Array {
  const r = to.length, lead = r - from.length;
  const strides = new Array<number>(r).fill(0);
  for (let a = from.length - 1, s = 1; a >= 0; a--) {
    strides[lead + a] = from[a] === 1 ? 0 : s;
    s *= from[a];
  }
  const n = numelOf(to);
  const index = new Int32Array(n);
  if (n === 0 || r === 0) return index;
  const rowLen = to[r - 1], rowStride = strides[r - 1];
  forEachRow(to, strides, (i, src) => {
    for (let t = 0; t < rowLen; t++) index[i + t] = src + t * rowStride;
  });
  return index;
}

/** Sums `g` (shape `to`) down to shape `from`, the adjoint of broadcasting `from` → `to`. */
export function sumTo(g: Tensor, from: Shape): Tensor {
  if (sameShape(g.shape, from)) return g;
  const out = allocate(g.dtype, numelOf(from));
  const index = broadcastIndex(from, g.shape);
  for (let i = 0; i < index.length; i++) out[index[i]] += g.data[i];
  return new Tensor(out, from);
}

/** Broadcasts `x` to `shape` (a copy). */
function expandTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const out = allocate(x.dtype, numelOf(shape));
  const index = broadcastIndex(x.shape, shape);
  for (let i = 0; i < index.length; i++) out[i] = x.data[index[i]];
  return new Tensor(out, shape);
}

/** An argument that must be a Tensor. */
export function checkTensor(op: string, param: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) throw new ConvError(op, param, `must be a Tensor; got ${fmt(typeof v)}`);
  return v;
}

/** Turns the operands of a broadcasting binary op into tensors of one dtype and device (a number becomes a 0-d constant). */
export function operands(op: string, a: Operand, b: Operand): [Tensor, Tensor] {
  const isNum = (v: unknown): v is number => typeof v === 'number';
  if (isNum(a) && isNum(b)) throw new ConvError(op, 'input', `needs at least one Tensor operand; got ${a} and ${b}`);
  const ta = isNum(a) ? null : checkTensor(op, 'input', a);
  const tb = isNum(b) ? null : checkTensor(op, 'other', b);
  const dtype = (ta ?? tb)!.dtype;
  const onGpu = (ta ?? tb)!.device === 'webgpu';
  const scalar = (v: number) => (onGpu ? gpuScalar(v) : new Tensor(dtype === 'float64' ? new Float64Array([v]) : new Float32Array([v]), []));
  const x = ta ?? scalar(a as number), y = tb ?? scalar(b as number);
  checkSameDevice(op, 'other', x, y);
  if (x.dtype !== y.dtype) throw new ConvError(op, 'other', `must have the input's dtype ${x.dtype}; got ${y.dtype}`);
  return [x, y];
}

function binary(op: 'add' | 'sub' | 'mul', a: Operand, b: Operand, f: (x: number, y: number) => number,
  vjp: (gy: Tensor, x: Tensor, y: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  const [x, y] = operands(op, a, b);
  const shape = broadcastShapes(op, x.shape, y.shape);
  if (x.device === 'webgpu') return gpuBinary(op as 'add' | 'sub' | 'mul', x, y, shape);
  const n = numelOf(shape);
  const out = allocate(x.dtype, n);
  const xd = x.data, yd = y.data, end = section('elementwise');
  if (binaryInto(op, xd, x.shape, yd, y.shape, shape, out)) {
    // WebAssembly SIMD (the same values as the loops below).
  } else if (sameShape(x.shape, shape) && sameShape(y.shape, shape)) for (let i = 0; i < n; i++) out[i] = f(xd[i], yd[i]);
  else {
    const xi = broadcastIndex(x.shape, shape), yi = broadcastIndex(y.shape, shape);
    for (let i = 0; i < n; i++) out[i] = f(xd[xi[i]], yd[yi[i]]);
  }
  end();
  const z = new Tensor(out, shape);
  if (tracing()) traceOp(op, [x, y], z);
  return record(z, op, [x, y], (gy) => {
    const [gx, gyy] = vjp(gy, x, y);
    return [gx && x.requiresGrad ? sumTo(gx, x.shape) : null, gyy && y.requiresGrad ? sumTo(gyy, y.shape) : null];
  });
}

/** A new tensor of `t`'s shape and dtype with f(value, index) at each element. */
function mapData(t: Tensor, f: (v: number, i: number) => number): Tensor {
  const out = allocate(t.dtype, t.size);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = f(d[i], i);
  return new Tensor(out, t.shape);
}

/** `a + b` with broadcasting. @example add(x, bias.reshape([1, -1, 1])) // per-channel bias */
export const add = (a: Operand, b: Operand): Tensor =>
  binary('add', a, b, (x, y) => x + y, (gy) => [gy, gy]);

/** `a − b` with broadcasting. */
export const sub = (a: Operand, b: Operand): Tensor =>
  binary('sub', a, b, (x, y) => x - y, (gy) => [gy, mapData(gy, (v) => -v)]);

/** `a · b` (elementwise) with broadcasting. @example mul(x, scale) // scale of shape (C, 1) on (N, C, L) */
export const mul = (a: Operand, b: Operand): Tensor =>
  binary('mul', a, b, (x, y) => x * y, (gy, x, y) => {
    const s = gy.shape;
    const ye = x.requiresGrad ? expandTo(y, s).data : null, xe = y.requiresGrad ? expandTo(x, s).data : null;
    return [ye && mapData(gy, (v, i) => v * ye[i]), xe && mapData(gy, (v, i) => v * xe[i])];
  });

/** Same data, new shape (one entry may be −1); differentiable. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return checkTensor('reshape', 'input', x).reshape(shape);
}

/**
 * Elementwise op whose derivative is written with the input `x` and the output `y` (`slope`:
 * leakyRelu's). `inplace`: write the result into x's storage and return x (no autograd record, so
 * only where none is needed: under noGrad or for an x that does not require a gradient), bumping
 * x's version; on a 'webgpu' tensor by one pass over its own GPU buffer, under the same rules.
 */
function unary(op: Activation, x: Tensor, f: (v: number) => number, df: (x: number, y: number) => number, slope: number | undefined, inplace: boolean): Tensor {
  checkTensor(op, 'input', x);
  if (typeof inplace !== 'boolean') throw new ConvError(op, 'inplace', `must be a boolean; got ${fmt(inplace)}`);
  if (inplace && isGradEnabled() && x.requiresGrad)
    throw new ConvError(op, 'inplace', `needs an input that does not require a gradient, or noGrad (autograd would lose the values it differentiates); got a tensor with requiresGrad`);
  if (x.device === 'webgpu') return inplace ? gpuActivationInPlace(op, x, slope ?? 0) : gpuActivation(op, x, slope ?? 0);
  const xd = x.data, out = inplace ? xd : allocate(x.dtype, x.size), end = section('elementwise');
  if (!activationInto(op, xd, out, slope)) for (let i = 0; i < out.length; i++) out[i] = f(xd[i]);
  end();
  const y = inplace ? x.markChanged() : new Tensor(out, x.shape);
  if (tracing()) traceOp(op, [x], y, slope === undefined ? {} : { negativeSlope: slope });
  if (inplace) return y;
  const byInput = op === 'relu' || op === 'leakyRelu';
  return record(y, op, [x], (gy) => {
    const end = section('elementwise');
    const g = activationGrad(op, gy.data, byInput ? x.data : y.data, slope);
    const gx = g ? new Tensor(g, gy.shape) : mapData(gy, (v, i) => v * df(x.data[i], y.data[i]));
    end();
    return [gx];
  });
}

/** max(x, 0). The gradient at 0 is 0, as in PyTorch. `inplace`: overwrite x, a CPU or a GPU tensor (see unary). */
export const relu = (x: Tensor, inplace = false): Tensor =>
  unary('relu', x, (v) => (v <= 0 ? 0 : v), (v) => (v > 0 ? 1 : 0), undefined, inplace);

/** x for x > 0, `negativeSlope`·x otherwise (default 0.01). `inplace`: overwrite x (as PyTorch's `inplace=True`; CPU or GPU). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01, inplace = false): Tensor {
  if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope))
    throw new ConvError('leakyRelu', 'negativeSlope', `must be a finite number; got ${fmt(negativeSlope)}`);
  return unary('leakyRelu', x, (v) => (v > 0 ? v : v * negativeSlope), (v) => (v > 0 ? 1 : negativeSlope), negativeSlope, inplace);
}

/** tanh(x); d/dx = 1 − y². float32 runs a WebAssembly SIMD approximation within 4 ulp of Math.tanh; float64 is Math.tanh. `inplace`: overwrite x (PyTorch's `tanh_`; CPU or GPU). */
export const tanh = (x: Tensor, inplace = false): Tensor => unary('tanh', x, Math.tanh, (_, y) => 1 - y * y, undefined, inplace);

/** 1 / (1 + e^−x); d/dx = y(1 − y). float32 within 4 ulp (+2^−126 absolute) of the exact value. `inplace`: overwrite x (PyTorch's `sigmoid_`; CPU or GPU). */
export const sigmoid = (x: Tensor, inplace = false): Tensor =>
  unary('sigmoid', x, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))), (_, y) => y * (1 - y), undefined, inplace);

/** Normalises `dim` (an int or a list, negatives count from the end) into a sorted unique list. */
function reduceDims(op: string, shape: Shape, dim: number | readonly number[] | undefined): number[] {
  const r = shape.length;
  // As in PyTorch, no dim (or an empty list) reduces over every dimension.
  const list = typeof dim === 'number' ? [dim] : readList(op, 'dim', dim, 64);
  if (dim === undefined || list?.length === 0) return [...Array(r).keys()];
  const lo = -Math.max(r, 1), hi = Math.max(r, 1) - 1;
  if (list === null || list.some((d) => !Number.isInteger(d) || (d as number) < lo || (d as number) > hi))
    throw new ConvError(op, 'dim', `must be an integer or a list of integers in [${lo}, ${hi}] for shape ${fmt(shape)}; got ${fmt(dim)}`);
  const dims = (list as number[]).map((d) => (d < 0 ? d + Math.max(r, 1) : d)).filter((d) => d < r);
  if (new Set(dims).size !== dims.length) throw new ConvError(op, 'dim', `must not repeat a dimension; got ${fmt(dim)}`);
  return dims.sort((a, b) => a - b);
}

function reduce(op: string, x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean, scaleByCount: boolean): Tensor {
  checkTensor(op, 'input', x);
  const dims = reduceDims(op, x.shape, dim), end = section('elementwise');
  const keptShape = x.shape.map((s, a) => (dims.includes(a) ? 1 : s));
  const outShape = keepdim ? keptShape : x.shape.filter((_, a) => !dims.includes(a));
  const count = dims.reduce((c, a) => c * x.shape[a], 1);
  const scale = scaleByCount ? 1 / count : 1;
  if (x.device === 'webgpu') return gpuReduce(op, x, keptShape, outShape, scale);
  const summed = sumTo(x, keptShape);
  const out: TypedArray = summed === x ? x.data.slice() : summed.data;
  if (scale !== 1) for (let i = 0; i < out.length; i++) out[i] *= scale;
  end();
  const y = new Tensor(out, outShape);
  if (tracing()) traceOp(op, [x], y, { dims, keepdim });
  return record(y, op, [x], (gy) => {
    const g = expandTo(new Tensor(gy.data, keptShape), x.shape);
    return [scale === 1 ? g : mapData(g, (v) => v * scale)];
  });
}

/** Σ over all elements (a 0-d tensor), or over `dim` (int or list); `keepdim` keeps them as size 1. */
export const sum = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => reduce('sum', x, dim, keepdim, false);

/** Mean over all elements, or over `dim` (int or list); `keepdim` keeps them as size 1. */
export const mean = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => reduce('mean', x, dim, keepdim, true);

function lossOperands(op: string, input: Tensor, target: Tensor, reduction: Reduction): void {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  if (!sameShape(input.shape, target.shape))
    throw new ConvError(op, 'target', `must have the input's shape ${fmt(input.shape)}; got ${fmt(target.shape)}`);
  if (input.dtype !== target.dtype) throw new ConvError(op, 'target', `must have the input's dtype ${input.dtype}; got ${target.dtype}`);
  checkSameDevice(op, 'target', input, target);
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none')
    throw new ConvError(op, 'reduction', `must be 'mean', 'sum' or 'none'; got ${fmt(reduction)}`);
}

/** Pointwise loss ℓ(d) of d = input − target with derivative ℓ'(d), then the reduction. */
function pointwiseLoss(op: string, input: Tensor, target: Tensor, reduction: Reduction,
  l: (d: number) => number, dl: (d: number) => number): Tensor {
  lossOperands(op, input, target, reduction);
  if (input.device === 'webgpu') return gpuLoss(op as 'mseLoss', input, target, reduction);
  const n = input.size, x = input.data, t = target.data, end = section('elementwise');
  const scale = reduction === 'mean' ? 1 / n : 1;
  let out: Tensor;
  if (reduction === 'none') out = mapData(input, (v, i) => l(v - t[i]));
  else {
    let s = 0;
    for (let i = 0; i < n; i++) s += l(x[i] - t[i]);
    out = new Tensor(allocate(input.dtype, 1), []);
    out.data[0] = s * scale;
  }
  end();
  return record(out, op, [input, target], (gy) => {
    const g = (i: number) => (reduction === 'none' ? gy.data[i] : gy.data[0]) * scale * dl(x[i] - t[i]);
    const gi = mapData(input, (_, i) => g(i));
    return [input.requiresGrad ? gi : null, target.requiresGrad ? mapData(gi, (v) => -v) : null];
  });
}

/** Mean (or summed) squared error, `torch.nn.functional.mse_loss`; input and target of one shape. */
export const mseLoss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  pointwiseLoss('mseLoss', input, target, reduction, (d) => d * d, (d) => 2 * d);

/** Mean (or summed) absolute error, `torch.nn.functional.l1_loss`; the gradient at 0 is 0. */
export const l1Loss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  pointwiseLoss('l1Loss', input, target, reduction, Math.abs, (d) => (d > 0 ? 1 : d < 0 ? -1 : 0));

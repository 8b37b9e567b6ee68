/**
 * The ops a ported model needs beyond arithmetic: joining and cutting tensors along a dimension
 * (`cat`, `narrow`, `slice`) and broadcasting division (`div`), with PyTorch's semantics and
 * autograd. Each op computes its result and records one node whose VJP returns one gradient per parent.
 */
import { ConvError, fmt, readList } from '../spec/errors.js';
import type { Shape } from '../spec/types.js';
import { record } from './graph.js';
import { broadcastIndex, broadcastShapes, checkTensor, operands, sumTo, type Operand } from './ops.js';
import { allocate, Tensor, type TypedArray } from './tensor.js';
import { checkSameDevice, gpuCat, gpuDiv, gpuTake } from './gpu-ops.js';
import { binaryInto } from '../kernels/wasm/elementwise.js';
import { section } from '../profile/profile.js';
import { traceOp, tracing } from '../profile/trace.js';

const prodOf = (s: Shape, from = 0, to = s.length) => {
  let n = 1;
  for (let a = from; a < to; a++) n *= s[a];
  return n;
};

/** `dim` in [−rank, rank − 1] → [0, rank − 1]. */
function normDim(op: string, dim: unknown, rank: number): number {
  if (!Number.isInteger(dim) || (dim as number) < -rank || (dim as number) >= rank)
    throw new ConvError(op, 'dim', `must be an integer in [${-rank}, ${rank - 1}] for a ${rank}-D tensor; got ${fmt(dim)}`);
  return (dim as number) < 0 ? (dim as number) + rank : (dim as number);
}

/**
 * Copies the index range [start, start + step·count) of `dim` between a tensor of shape `big`
 * (the source or destination with the full extent) and one of shape `small` (extent `count` in
 * `dim`). `toSmall` reads big → small; otherwise it adds small into big (the adjoint).
 */
function strided(bigData: TypedArray, big: Shape, smallData: TypedArray, dim: number, start: number, step: number, count: number,
  toSmall: boolean): void {
  const outer = prodOf(big, 0, dim), inner = prodOf(big, dim + 1), bigDim = big[dim];
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < count; j++) {
      const bi = (o * bigDim + start + j * step) * inner, si = (o * count + j) * inner;
      if (toSmall) for (let i = 0; i < inner; i++) smallData[si + i] = bigData[bi + i];
      else for (let i = 0; i < inner; i++) bigData[bi + i] += smallData[si + i];
    }
}

/** x[…, start : start + step·count : step, …] along `dim` (a copy) and its adjoint as the VJP. */
function take(op: string, x: Tensor, dim: number, start: number, step: number, count: number): Tensor {
  if (x.device === 'webgpu') return gpuTake(op, x, dim, start, step, count);
  const shape = x.shape.map((s, a) => (a === dim ? count : s));
  const out = allocate(x.dtype, prodOf(shape));
  strided(x.data, x.shape, out, dim, start, step, count, true);
  return record(new Tensor(out, shape), op, [x], (gy) => {
    const gx = allocate(x.dtype, x.size);
    strided(gx, x.shape, gy.data, dim, start, step, count, false);
    return [new Tensor(gx, x.shape)];
  });
}

/**
 * Concatenates tensors along `dim` (PyTorch `torch.cat`): every tensor has the same rank, dtype
 * and sizes except in `dim`; the result's `dim` size is the sum. The gradient of each input is its
 * slice of the output's gradient.
 * @example cat([up, skip], 1) // (N, C1, L) and (N, C2, L) → (N, C1 + C2, L): a U-Net skip connection
 */
export function cat(list: readonly Tensor[], dim = 0): Tensor {
  const op = 'cat';
  const copy = readList(op, 'tensors', list);
  if (copy === null || copy.length === 0)
    throw new ConvError(op, 'tensors', `must be a non-empty array of Tensors; got ${copy ? 'an empty array' : fmt(typeof list)}`);
  const tensors = copy as Tensor[];
  tensors.forEach((t, i) => checkTensor(op, `tensors[${i}]`, t));
  const first = tensors[0], rank = first.ndim;
  if (rank === 0) throw new ConvError(op, 'tensors', `must be at least 1-D; got tensors[0] of shape ${fmt(first.shape)}`);
  const d = normDim(op, dim, rank);
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype) throw new ConvError(op, `tensors[${i}]`, `must have tensors[0]'s dtype ${first.dtype}; got ${t.dtype}`);
    if (t.ndim !== rank || t.shape.some((s, a) => a !== d && s !== first.shape[a]))
      throw new ConvError(op, `tensors[${i}]`, `must match tensors[0]'s shape ${fmt(first.shape)} except in dim ${d}; got ${fmt(t.shape)}`);
  });
  const total = tensors.reduce((n, t) => n + t.shape[d], 0);
  const shape = first.shape.map((s, a) => (a === d ? total : s));
  tensors.forEach((t, i) => checkSameDevice(op, `tensors[${i}]`, first, t));
  if (first.device === 'webgpu') return gpuCat(tensors, d, shape);
  const out = allocate(first.dtype, prodOf(shape));
  const outer = prodOf(shape, 0, d), inner = prodOf(shape, d + 1), row = total * inner;
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    const len = t.shape[d] * inner;
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * len, (o + 1) * len), o * row + at * inner);
    at += t.shape[d];
  }
  const y = new Tensor(out, shape);
  if (tracing()) traceOp('cat', tensors, y, { dim: d });
  return record(y, op, tensors, (gy) => tensors.map((t, i) => {
    if (!t.requiresGrad) return null;
    const g = allocate(t.dtype, t.size);
    strided(gy.data, shape, g, d, offsets[i], 1, t.shape[d], true);
    return new Tensor(g, t.shape);
  }));
}

/**
 * `length` consecutive entries of `dim` from `start` (PyTorch `torch.narrow`; a negative start
 * counts from the end). The result is a copy; its gradient flows back into that range.
 * @example narrow(x, 2, 0, 16) // the first 16 samples of (N, C, L)
 */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const op = 'narrow';
  checkTensor(op, 'input', x);
  if (x.ndim === 0) throw new ConvError(op, 'input', `must be at least 1-D; got shape ${fmt(x.shape)}`);
  const d = normDim(op, dim, x.ndim), size = x.shape[d];
  if (!Number.isInteger(start) || start < -size || start > size)
    throw new ConvError(op, 'start', `must be an integer in [${-size}, ${size}] for dim ${d} of size ${size}; got ${fmt(start)}`);
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(length) || length < 0 || s + length > size)
    throw new ConvError(op, 'length', `must be an integer in [0, ${size - s}] (start ${s} + length must not exceed dim ${d} of size ${size}); got ${fmt(length)}`);
  const y = take(op, x, d, s, 1, length);
  if (tracing()) traceOp('narrow', [x], y, { dim: d, start: s, length });
  return y;
}

/**
 * Python slicing along one dimension, `x[…, start:end:step, …]` (PyTorch's `aten::slice`):
 * negative `start`/`end` count from the end and out-of-range bounds are clamped, so an empty range
 * gives a size-0 dim; `step` is a positive integer. The result is a copy; its gradient is scattered
 * back (zeros elsewhere).
 * @example slice(x, 2, 1, -1, 2) // x[:, :, 1:-1:2]
 */
export function slice(x: Tensor, dim: number, start = 0, end = Infinity, step = 1): Tensor {
  const op = 'slice';
  checkTensor(op, 'input', x);
  if (x.ndim === 0) throw new ConvError(op, 'input', `must be at least 1-D; got shape ${fmt(x.shape)}`);
  const d = normDim(op, dim, x.ndim), size = x.shape[d];
  const isBound = (v: number) => Number.isInteger(v) || v === Infinity || v === -Infinity;
  if (!isBound(start)) throw new ConvError(op, 'start', `must be an integer; got ${fmt(start)}`);
  if (!isBound(end)) throw new ConvError(op, 'end', `must be an integer (or Infinity); got ${fmt(end)}`);
  if (!Number.isInteger(step) || step < 1) throw new ConvError(op, 'step', `must be a positive integer; got ${fmt(step)}`);
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = clamp(start), e = clamp(end);
  const count = e > s ? Math.ceil((e - s) / step) : 0;
  return take(op, x, d, s, step, count);
}

/**
 * `a / b` (elementwise, true division) with broadcasting, like add/sub/mul; a number is a constant.
 * Gradients: ∂/∂a = 1/b, ∂/∂b = −a/b²; division by zero gives ±Infinity or NaN
 * as IEEE arithmetic does.
 * @example div(x, std.reshape([1, -1, 1])) // per-channel scale of (N, C, L)
 */
export function div(a: Operand, b: Operand): Tensor {
  const op = 'div';
  const [x, y] = operands(op, a, b);
  const dtype = x.dtype, onGpu = x.device === 'webgpu';
  const shape = broadcastShapes(op, x.shape, y.shape);
  if (onGpu) return gpuDiv(x, y, shape);
  const n = prodOf(shape);
  const out = allocate(dtype, n);
  const xd = x.data, yd = y.data;
  // The index maps of the broadcast, built where a loop below needs them (not on the SIMD path).
  let xi: Int32Array | undefined, yi: Int32Array | undefined;
  const index = (): [Int32Array, Int32Array] => [xi ??= broadcastIndex(x.shape, shape), yi ??= broadcastIndex(y.shape, shape)];
  const end = section('elementwise');
  if (!binaryInto('div', xd, x.shape, yd, y.shape, shape, out)) {
    const [xs, ys] = index();
    for (let i = 0; i < n; i++) out[i] = xd[xs[i]] / yd[ys[i]];
  }
  end();
  const z = new Tensor(out, shape);
  if (tracing()) traceOp('div', [x, y], z);
  return record(z, op, [x, y], (gy) => {
    const g = gy.data;
    const [xi, yi] = index();
    let gx: Tensor | null = null, gyy: Tensor | null = null;
    if (x.requiresGrad) {
      const d = allocate(dtype, n);
      for (let i = 0; i < n; i++) d[i] = g[i] / yd[yi[i]];
      gx = sumTo(new Tensor(d, shape), x.shape);
    }
    if (y.requiresGrad) {
      const d = allocate(dtype, n);
      for (let i = 0; i < n; i++) d[i] = (-g[i] * xd[xi[i]]) / (yd[yi[i]] * yd[yi[i]]);
      gyy = sumTo(new Tensor(d, shape), y.shape);
    }
    return [gx, gyy];
  });
}

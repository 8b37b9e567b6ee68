/**
 * The differentiable ops on 'webgpu' tensors: each enqueues its kernels at once (shapes and
 * arguments are checked before anything is dispatched) and records the same autograd node as its
 * CPU form, whose VJP runs on the GPU too. Only reading values (`await t.cpu()`) waits.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { Geometry, Pair, PaddingMode, Shape } from '../spec/types.js';
import { prod } from '../util/shape.js';
import { record } from './graph.js';
import { setDeviceHooks, Tensor, type DeviceStorage } from './tensor.js';
import {
  allocStorage, cloneStorage, GpuStorage, openWebGPU, uploadArray, writeStorage, type InitWebGPUOptions, type WebGPUInfo,
} from '../kernels/webgpu/device.js';
import { webgpuBackend } from '../kernels/webgpu/backend.js';
import { registerBackend } from '../plan/select.js';
import {
  adamKernel, batchNormBackwardKernel, binaryKernel, blendKernel, channelAffineKernel, fillBias, gatherKernel, padAxisAdjointKernel, padAxisKernel, reduceKernel, sgdKernel, stridedCopyKernel, unaryInPlaceKernel, unaryKernel,
  type BinaryKind, type UnaryKind,
} from '../kernels/webgpu/elementwise.js';

/**
 * Starts the WebGPU backend: `await initWebGPU()` uses `navigator.gpu`, `{ gpu }` a GPU object,
 * `{ device }` a device of the caller's. Throws a ConvError saying why when there is no WebGPU,
 * no adapter, or the device request fails or takes longer than `timeoutMs`. On success the
 * 'webgpu' backend's device candidates are registered with plan/select.ts.
 * @example import { create, globals } from 'webgpu'; Object.assign(globalThis, globals);
 *          await initWebGPU({ gpu: create([]) });
 */
export async function initWebGPU(opts: InitWebGPUOptions = {}): Promise<WebGPUInfo> {
  const info = await openWebGPU(opts);
  registerBackend(webgpuBackend);
  return info;
}

/** The GPU storage of a 'webgpu' tensor. */
export function storageOf(t: Tensor): GpuStorage {
  const s = t.storage;
  if (!(s instanceof GpuStorage)) throw new ConvError('webgpu', 'tensor', `must be on 'webgpu'; got device '${t.device}'`);
  return s;
}

setDeviceHooks('webgpu', {
  upload: (t: Tensor) => uploadArray('to', t.data),
  clone: (src: DeviceStorage) => cloneStorage(src as GpuStorage),
  write: (dst: DeviceStorage, values) => writeStorage(dst as GpuStorage, values),
  copy: (dst: DeviceStorage, src: DeviceStorage) => (dst as GpuStorage).copyFrom('copy', src as GpuStorage),
});

/** SGD's hyper-parameters for one GPU step (see optim/sgd.ts). */
export interface GpuSgdStep { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; sign: number }

/** The optimizer state a GPU parameter keeps on the GPU (float32 buffers of its size). */
export type GpuBuffer = GpuStorage;

/** A zero-filled GPU buffer of `n` float32 (optimizer state). */
export const gpuStateBuffer = (op: string, n: number): GpuBuffer => allocStorage(op, n);

/** One SGD step of a GPU parameter in place; `buf` the momentum buffer (null without momentum). */
export function gpuSgdStep(p: Tensor, g: Tensor, buf: GpuBuffer | null, first: boolean, h: GpuSgdStep): void {
  sgdKernel('SGD', storageOf(p), storageOf(g), buf, { ...h, first });
}

/** One Adam step of a GPU parameter in place with its moments (and AMSGrad's running max). */
export function gpuAdamStep(p: Tensor, g: Tensor, m: GpuBuffer, v: GpuBuffer, vMax: GpuBuffer | null,
  h: { b1: number; b2: number; eps: number; weightDecay: number; stepSize: number; bc2Sqrt: number; sign: number }): void {
  adamKernel('Adam', storageOf(p), storageOf(g), m, v, vMax, h);
}
import { selectCandidate } from '../plan/select.js';
import type { Activation, DeviceKernels } from '../kernels/types.js';

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((s, i) => s === b[i]);

/** A fresh GPU tensor of `shape` filled by `fill(storage)`. */
function make(op: string, shape: Shape, fill: (y: GpuStorage) => void): Tensor {
  const y = allocStorage(op, prod(shape));
  fill(y);
  return new Tensor(y, shape);
}

/** Throws when a tensor of a call is not on the GPU, naming both devices. */
export function checkSameDevice(op: string, param: string, ref: Tensor, t: Tensor): void {
  if (t.device !== ref.device)
    throw new ConvError(op, param, `must be on the same device as the input ('${ref.device}'); got device '${t.device}' — move it with .to('${ref.device}')${ref.device === 'cpu' ? ' / await t.cpu()' : ''}`);
}

/** A 0-d GPU constant. */
export const gpuScalar = (v: number): Tensor => new Tensor(uploadArray('scalar', [v]), []);

/** Sums `g` down to `from` (the adjoint of broadcasting). */
export function gpuSumTo(g: Tensor, from: Shape): Tensor {
  if (sameShape(g.shape, from)) return g;
  const lead = g.shape.length - from.length;
  const kept = g.shape.map((_, a) => (a < lead ? 1 : from[a - lead]));
  return make('sum', from, (y) => reduceKernel('sum', storageOf(g), g.shape, kept, y));
}

/** Broadcasts x to `shape` (a copy). */
export function gpuExpand(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const r = shape.length, lead = r - x.shape.length;
  const strides = new Array<number>(r).fill(0);
  for (let a = x.shape.length - 1, s = 1; a >= 0; a--) {
    strides[lead + a] = x.shape[a] === 1 ? 0 : s;
    s *= x.shape[a];
  }
  return make('expand', shape, (y) => gatherKernel('expand', storageOf(x), y, shape, strides));
}

/** A binary map with no autograd node. */
export function gpuMap2(op: string, kind: BinaryKind, a: Tensor, b: Tensor, shape: Shape, alpha = 0): Tensor {
  return make(op, shape, (y) => binaryKernel(op, kind, storageOf(a), a.shape, storageOf(b), b.shape, y, shape, alpha));
}

/** A unary map with no autograd node. */
export function gpuMap1(op: string, kind: UnaryKind, x: Tensor, alpha = 0): Tensor {
  return make(op, x.shape, (y) => unaryKernel(op, kind, storageOf(x), y, alpha));
}

/** add / sub / mul with broadcasting (shape already checked by the caller). */
export function gpuBinary(op: 'add' | 'sub' | 'mul', x: Tensor, y: Tensor, shape: Shape): Tensor {
  const out = gpuMap2(op, op, x, y, shape);
  return record(out, op, [x, y], (gy) => {
    let gx: Tensor | null = null, gyy: Tensor | null = null;
    if (x.requiresGrad) gx = gpuSumTo(op === 'mul' ? gpuMap2('mul', 'mul', gy, y, gy.shape) : gy, x.shape);
    if (y.requiresGrad)
      gyy = gpuSumTo(op === 'add' ? gy : op === 'sub' ? gpuMap1('sub', 'scale', gy, -1) : gpuMap2('mul', 'mul', gy, x, gy.shape), y.shape);
    return [gx, gyy];
  });
}

/** The activations: forward kind, and the backward kind with the operand it reads (x or y). */
const ACTIVATIONS: Record<string, { fwd: UnaryKind; back: BinaryKind; uses: 'x' | 'y' }> = {
  relu: { fwd: 'relu', back: 'reluBack', uses: 'x' },
  leakyRelu: { fwd: 'leakyRelu', back: 'leakyReluBack', uses: 'x' },
  tanh: { fwd: 'tanh', back: 'tanhBack', uses: 'y' },
  sigmoid: { fwd: 'sigmoid', back: 'sigmoidBack', uses: 'y' },
  abs: { fwd: 'abs', back: 'absBack', uses: 'x' },
};

export function gpuActivation(op: 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid' | 'abs', x: Tensor, alpha = 0): Tensor {
  const a = ACTIVATIONS[op];
  const y = gpuMap1(op, a.fwd, x, alpha);
  return record(y, op, [x], (gy) => [gpuMap2(op, a.back, gy, a.uses === 'x' ? x : y, gy.shape, alpha)]);
}

/**
 * The `inplace` form of an activation on a GPU tensor: x ← f(x) by one pass over x's own buffer
 * (no new buffer, no autograd record: the caller has checked that none is needed), x's version
 * bumped so that caches keyed on it see the write. Returns x itself.
 */
export function gpuActivationInPlace(op: 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid', x: Tensor, alpha = 0): Tensor {
  unaryInPlaceKernel(op, ACTIVATIONS[op].fwd, storageOf(x), alpha);
  return x.markChanged();
}

/** Multiplies by a constant (differentiable). */
export function gpuScale(x: Tensor, alpha: number): Tensor {
  return record(gpuMap1('scale', 'scale', x, alpha), 'scale', [x], (gy) => [gpuMap1('scale', 'scale', gy, alpha)]);
}

/** sum / mean over `keptShape`'s size-1 dims, result in `outShape` (dims already checked). */
export function gpuReduce(op: string, x: Tensor, keptShape: Shape, outShape: Shape, scale: number): Tensor {
  const y = make(op, outShape, (o) => reduceKernel(op, storageOf(x), x.shape, keptShape, o, scale));
  return record(y, op, [x], (gy) => {
    const g = gpuExpand(new Tensor(gy.storage, keptShape), x.shape);
    return [scale === 1 ? g : gpuMap1(op, 'scale', g, scale)];
  });
}

/** Pointwise losses as compositions of differentiable GPU ops (their gradients follow). */
export function gpuLoss(op: 'mseLoss' | 'l1Loss', input: Tensor, target: Tensor, reduction: 'mean' | 'sum' | 'none'): Tensor {
  const d = gpuBinary('sub', input, target, input.shape);
  const e = op === 'mseLoss' ? gpuBinary('mul', d, d, d.shape) : gpuActivation('abs', d);
  if (reduction === 'none') return e;
  const kept = e.shape.map(() => 1);
  return gpuReduce(op, e, kept, [], reduction === 'mean' ? 1 / Math.max(e.size, 1) : 1);
}

/** Differentiable permutation (perm already checked): out.shape[i] = x.shape[perm[i]]. */
export function gpuPermute(x: Tensor, perm: readonly number[]): Tensor {
  const d = x.shape.length;
  const rowStrides = new Array<number>(d);
  for (let a = d - 1, s = 1; a >= 0; a--) { rowStrides[a] = s; s *= x.shape[a]; }
  const shape = perm.map((p) => x.shape[p]);
  const y = make('permute', shape, (o) => gatherKernel('permute', storageOf(x), o, shape, perm.map((p) => rowStrides[p])));
  const inverse = new Array<number>(d);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(y, 'permute', [x], (gy) => [gpuPermute(gy, inverse)]);
}

/** Differentiable padding of the trailing dims with a padding mode, one axis at a time. */
export function gpuPad(x: Tensor, p: { readonly pads: readonly Pair[]; readonly mode: PaddingMode; readonly inSize: readonly number[]; readonly value?: number }): Tensor {
  const d = p.inSize.length, r = x.shape.length;
  const padOnce = (t: Tensor, a: number, adjoint: boolean): Tensor => {
    const axis = r - d + a, L = p.inSize[a], Lp = L + p.pads[a][0] + p.pads[a][1];
    const inner = prod(t.shape.slice(axis + 1));
    const shape = t.shape.map((s, i) => (i === axis ? (adjoint ? L : Lp) : s));
    const op = `pad(${p.mode})`;
    return make(op, shape, (o) => (adjoint ? padAxisAdjointKernel(op, p.mode, storageOf(t), o, L, Lp, inner, p.pads[a][0])
      : padAxisKernel(op, p.mode, storageOf(t), o, L, Lp, inner, p.pads[a][0], p.value ?? 0)));
  };
  let y = x;
  for (let a = 0; a < d; a++) if (p.pads[a][0] || p.pads[a][1]) y = padOnce(y, a, false);
  if (y === x) return x;
  return record(y, `pad(${p.mode})`, [x], (gy) => {
    let g = gy;
    for (let a = d - 1; a >= 0; a--) if (p.pads[a][0] || p.pads[a][1]) g = padOnce(g, a, true);
    return [g];
  });
}

/** The device kernels plan/select.ts picks for (g, dir): a 'webgpu' candidate (the registry admits device ones here). */
function deviceKernels(op: string, g: Geometry, dir: 'conv' | 'convT' | 'weightGrad'): DeviceKernels<GpuStorage> {
  const c = selectCandidate(g, 'float32', dir, true);
  if (c.location !== 'device') throw new ConvError(op, 'device', `has no WebGPU kernels registered for ${dir}; call \`await initWebGPU()\` first`);
  return c.kernels as DeviceKernels<GpuStorage>;
}

/** The epilogue of the GPU primitive (as functional/conv.ts's PrimitiveEpilogue). */
export interface GpuEpilogue {
  readonly bias?: Tensor | null;
  readonly residual?: Tensor;
  readonly activation?: Activation;
  readonly negativeSlope?: number;
}

/**
 * The convolution primitive on GPU tensors (channels-first, batched): the bias is written with the
 * output, the residual and activation follow as differentiable GPU ops (gradients equal the unfused
 * composition). The backward runs the SPEC's other direction and the weight-gradient kernel.
 */
export function gpuConvPrimitive(x: Tensor, w: Tensor, g: Geometry, transposed: boolean, op: string, ep: GpuEpilogue = {}): Tensor {
  const b = ep.bias ?? null;
  for (const [name, t] of [['weight', w], ['bias', b], ['residual', ep.residual]] as const) if (t) checkSameDevice(op, name, x, t);
  const yChannels = transposed ? g.cIn : g.cOut;
  const ySize = transposed ? g.inSize : g.outSize;
  const xs = storageOf(x), ws = storageOf(w), bs = b ? storageOf(b) : null;
  const fwd = deviceKernels(op, g, transposed ? 'convT' : 'conv');
  const out = make(op, [g.n, yChannels, ...ySize], (y) => fwd[transposed ? 'convT' : 'conv'](xs, ws, y, g, bs ? { bias: bs } : undefined));
  const parents = b ? [x, w, b] : [x, w];
  let y = record(out, op, parents, (gy) => {
    const gys = storageOf(gy);
    const back = transposed ? 'conv' : 'convT';
    const grads: (Tensor | null)[] = [
      x.requiresGrad ? make(op, x.shape, (gx) => deviceKernels(op, g, back)[back](gys, ws, gx, g)) : null,
      w.requiresGrad ? make(op, w.shape, (gw) => {
        const k = deviceKernels(op, g, 'weightGrad');
        if (transposed) k.weightGrad(gys, xs, gw, g);
        else k.weightGrad(xs, gys, gw, g);
      }) : null,
    ];
    if (b) grads.push(b.requiresGrad ? gpuSumTo(gy, [1, yChannels, ...ySize.map(() => 1)]).reshape([yChannels]) : null);
    return grads;
  });
  if (ep.residual) y = gpuBinary('add', y, ep.residual, y.shape);
  if (ep.activation) y = gpuActivation(ep.activation, y, ep.activation === 'leakyRelu' ? ep.negativeSlope ?? 0.01 : 0);
  return y;
}

/** Σ of two gradients (autograd's accumulation on the GPU). */
export const gpuAddGrads = (a: Tensor, b: Tensor): Tensor => gpuMap2('backward', 'add', a, b, a.shape);

/** A GPU tensor of `shape` filled with `v`. */
export function gpuFull(shape: Shape, v: number): Tensor {
  const one = uploadArray('full', [v]);
  return make('full', shape, (y) => fillBias('full', y, one, 1, 1, prod(shape)));
}

export function checkGpuRank(op: string, t: Tensor): void {
  if (t.shape.length > 8) throw new ConvError(op, 'input', `must have at most 8 dims on WebGPU; got shape ${fmt(t.shape)}`);
}

const prodOf = (s: Shape, from = 0, to = s.length) => s.slice(from, to).reduce((a, b) => a * b, 1);

/** The range [start, start + step·count) of `dim` of a GPU tensor (a copy), differentiable. */
export function gpuTake(op: string, x: Tensor, dim: number, start: number, step: number, count: number): Tensor {
  const shape = x.shape.map((s, a) => (a === dim ? count : s));
  const outer = prodOf(x.shape, 0, dim), inner = prodOf(x.shape, dim + 1);
  const y = make(op, shape, (o) => stridedCopyKernel(op, storageOf(x), o, outer, x.shape[dim], inner, start, step, count, true));
  return record(y, op, [x], (gy) => [make(op, x.shape, (gx) => {
    if (step !== 1 || count !== x.shape[dim]) fillBias(op, gx, null, 1, 1, gx.length);
    stridedCopyKernel(op, gx, storageOf(gy), outer, x.shape[dim], inner, start, step, count, false);
  })]);
}

/** Concatenation of GPU tensors along `dim` (shapes already checked), differentiable. */
export function gpuCat(tensors: readonly Tensor[], d: number, shape: Shape): Tensor {
  const outer = prodOf(shape, 0, d), inner = prodOf(shape, d + 1), total = shape[d];
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) { checkSameDevice('cat', 'tensors', tensors[0], t); offsets.push(at); at += t.shape[d]; }
  const y = make('cat', shape, (o) => tensors.forEach((t, i) =>
    stridedCopyKernel('cat', o, storageOf(t), outer, total, inner, offsets[i], 1, t.shape[d], false)));
  return record(y, 'cat', tensors, (gy) => tensors.map((t, i) => (t.requiresGrad
    ? make('cat', t.shape, (g) => stridedCopyKernel('cat', storageOf(gy), g, outer, total, inner, offsets[i], 1, t.shape[d], true)) : null)));
}

/** a / b with broadcasting on GPU tensors: ∂/∂a = gy / b, ∂/∂b = −gy · (a / b) / b. */
export function gpuDiv(x: Tensor, y: Tensor, shape: Shape): Tensor {
  const out = gpuMap2('div', 'div', x, y, shape);
  return record(out, 'div', [x, y], (gy) => [
    x.requiresGrad ? gpuSumTo(gpuMap2('div', 'div', gy, y, gy.shape), x.shape) : null,
    y.requiresGrad ? gpuSumTo(gpuMap1('div', 'scale', gpuMap2('div', 'div', gpuMap2('div', 'mul', gy, out, gy.shape), y, gy.shape), -1), y.shape) : null,
  ]);
}

/** The options of `gpuBatchNorm` (checked by autograd/batch-norm.ts). */
export interface GpuBatchNormOptions { readonly training: boolean; readonly momentum: number; readonly eps: number }

/**
 * batchNorm on a GPU tensor x (N, C, *) with GPU running statistics, weight and bias (any may be
 * null where batch-norm.ts allows it). Training: the batch mean and biased variance per channel by
 * two fixed-order reductions (x, then (x − mean)²), the running statistics updated in place on the
 * GPU (r ← (1 − m)·r + m·mean, v ← (1 − m)·v + m·var·n/(n − 1)); eval: the running ones. The VJP
 * is autograd/batch-norm.ts's, on the GPU: Σ gy and Σ gy·x̂ per channel, then one pass for gx.
 */
export function gpuBatchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  { training, momentum, eps }: GpuBatchNormOptions): Tensor {
  const op = 'batchNorm';
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const)
    if (t) checkSameDevice(op, name, x, t);
  const n = x.shape[0], c = x.shape[1], inner = x.size / Math.max(n * c, 1), count = n * inner;
  const v3 = [n, c, inner], kept = [1, c, 1];
  const xs = storageOf(x);
  const perChannel = (src: GpuStorage, alpha: number) => make(op, [c], (o) => reduceKernel(op, src, v3, kept, o, alpha));
  let mean: Tensor, variance: Tensor;
  if (training) {
    mean = perChannel(xs, 1 / count);
    const centred = gpuMap2(op, 'sub', new Tensor(xs, v3), new Tensor(mean.storage, kept), v3);
    variance = perChannel(storageOf(gpuMap1(op, 'square', centred)), 1 / count);
    if (runningMean) blendKernel(op, storageOf(runningMean), storageOf(mean), 1 - momentum, momentum);
    if (runningVar) blendKernel(op, storageOf(runningVar), storageOf(variance), 1 - momentum, (momentum * count) / (count - 1));
  } else {
    // Copies: a later training call updates the running statistics in place, this call's backward must not see it.
    mean = new Tensor(cloneStorage(storageOf(runningMean!)), [c]);
    variance = runningVar!;
  }
  const invstd = gpuMap1(op, 'rsqrtPlus', variance, eps);
  const scale = weight ? gpuMap2(op, 'mul', invstd, weight, [c]) : invstd;
  const zeros = storageOf(gpuFull([c], 0));
  const shift = bias ? storageOf(bias) : zeros;
  const y = make(op, x.shape, (o) => channelAffineKernel(op, xs, storageOf(mean), storageOf(scale), shift, o, c, inner));
  const parents = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return record(y, op, parents, (gy) => {
    const gys = storageOf(gy);
    const xhat = make(op, v3, (o) => channelAffineKernel(op, xs, storageOf(mean), storageOf(invstd), zeros, o, c, inner));
    const needStats = training || weight?.requiresGrad || bias?.requiresGrad;
    const sumG = needStats ? perChannel(gys, 1) : null;
    const sumGX = needStats ? perChannel(storageOf(gpuMap2(op, 'mul', new Tensor(gys, v3), xhat, v3)), 1) : null;
    let gx: Tensor | null = null;
    if (x.requiresGrad)
      gx = training
        ? make(op, x.shape, (o) => batchNormBackwardKernel(op, gys, storageOf(xhat), storageOf(scale),
          storageOf(gpuMap1(op, 'scale', sumG!, 1 / count)), storageOf(gpuMap1(op, 'scale', sumGX!, 1 / count)), o, c, inner))
        : make(op, x.shape, (o) => channelAffineKernel(op, gys, zeros, storageOf(scale), zeros, o, c, inner));
    return [gx, ...(weight ? [weight.requiresGrad ? sumGX : null] : []), ...(bias ? [bias.requiresGrad ? sumG : null] : [])];
  });
}

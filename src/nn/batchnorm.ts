/**
 * BatchNorm1d/2d/3d (PyTorch `torch.nn.BatchNorm*d`) and `foldBatchNorm`, which merges an
 * eval-mode BatchNorm into the convolution before it.
 */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import type { DType } from '../spec/types.js';
import { parseDType, type PaddingArg } from '../spec/normalize.js';
import { allocate, placeOnDevice, Tensor, writeInPlace, type Device, type DeviceStorage } from '../autograd/tensor.js';
import { gpuMap1, gpuMap2 } from '../autograd/gpu-ops.js';
import { batchNorm, checkBatchNormInput } from '../autograd/batch-norm.js';
import { Module } from './module.js';
import { Conv1d, Conv2d, Conv3d, ConvNdBase, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d } from './conv.js';

export interface BatchNormModuleOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /**
   * Weight of each batch in the running statistics (default 0.1); `null` gives the cumulative
   * average over every batch seen (factor 1 / num_batches_tracked), as PyTorch's `momentum=None`.
   */
  momentum?: number | null;
  /** Learnable per-channel `weight` (ones) and `bias` (zeros) (default true). */
  affine?: boolean;
  /**
   * Keep `running_mean`, `running_var` and `num_batches_tracked` buffers and use them in eval mode
   * (default true). Without them batch statistics are used in both modes.
   */
  trackRunningStats?: boolean;
  dtype?: DType;
}

abstract class BatchNormNd extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** γ (ones), or null without `affine`. */
  readonly weight: Tensor | null;
  /** β (zeros), or null without `affine`. */
  readonly bias: Tensor | null;
  /** Buffers (null without `trackRunningStats`). */
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  /** Batches seen in training (PyTorch's int64 buffer, held as a 0-d float64 tensor: exact to 2^53). */
  readonly numBatchesTracked: Tensor | null;
  readonly #op: string;
  readonly #ranks: readonly number[];

  constructor(op: string, ranks: readonly number[], numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super();
    // Each option read once; a throwing getter or Proxy becomes a ConvError naming the option.
    const o: BatchNormModuleOptions = opts ?? {};
    if (typeof o !== 'object' || guarded(op, 'options', () => Array.isArray(o))) throw new ConvError(op, 'options', `must be an object; got ${fmt(o)}`);
    const read = <K extends keyof BatchNormModuleOptions>(k: K, dflt: BatchNormModuleOptions[K]) => {
      const v = guarded(op, k, () => o[k]);
      return v === undefined ? dflt : v;
    };
    const eps = read('eps', 1e-5), momentum = read('momentum', 0.1), affine = read('affine', true);
    const trackRunningStats = read('trackRunningStats', true), dtypeOption = read('dtype', 'float32');
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new ConvError(op, 'numFeatures', `must be a positive integer; got ${fmt(numFeatures)}`);
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new ConvError(op, 'eps', `must be a non-negative finite number; got ${fmt(eps)}`);
    if (momentum !== null && (typeof momentum !== 'number' || !Number.isFinite(momentum)))
      throw new ConvError(op, 'momentum', `must be a finite number or null; got ${fmt(momentum)}`);
    if (typeof affine !== 'boolean') throw new ConvError(op, 'affine', `must be a boolean; got ${fmt(affine)}`);
    if (typeof trackRunningStats !== 'boolean') throw new ConvError(op, 'trackRunningStats', `must be a boolean; got ${fmt(trackRunningStats)}`);
    const dtype = parseDType(op, dtypeOption) ?? 'float32';
    this.#op = op;
    this.#ranks = ranks;
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    const vec = (v: number, grad: boolean) => new Tensor(allocate(dtype, numFeatures).fill(v), [numFeatures], grad);
    this.weight = affine ? vec(1, true) : null;
    this.bias = affine ? vec(0, true) : null;
    this.runningMean = trackRunningStats ? vec(0, false) : null;
    this.runningVar = trackRunningStats ? vec(1, false) : null;
    this.numBatchesTracked = trackRunningStats ? new Tensor(new Float64Array(1), []) : null;
  }

  /** Resets the running statistics (mean 0, variance 1, no batches), as PyTorch `reset_running_stats`. */
  resetRunningStats(): void {
    // On whatever device holds them (Module.to moves the float32 running statistics to the GPU).
    if (this.runningMean) writeInPlace(this.runningMean, allocate(this.runningMean.dtype, this.numFeatures).fill(0));
    if (this.runningVar) writeInPlace(this.runningVar, allocate(this.runningVar.dtype, this.numFeatures).fill(1));
    this.numBatchesTracked?.data.fill(0);
  }

  /**
   * Normalises (N, C, *). In training mode (or without running statistics) with the batch's mean
   * and biased variance, updating the running statistics; in eval mode with the running ones.
   */
  override forward(x: Tensor): Tensor {
    const useBatch = this.training || !this.trackRunningStats;
    checkBatchNormInput(this.#op, x, this.numFeatures, this.#ranks, useBatch);
    let factor = 0;
    const counting = this.training && this.numBatchesTracked !== null;
    const batches = counting ? this.numBatchesTracked!.data[0] + 1 : 0;
    if (counting) factor = this.momentum === null ? 1 / batches : this.momentum;
    const y = batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, { training: useBatch, momentum: factor, eps: this.eps });
    // Counted once the call has passed every check (a refused call, e.g. mixed devices, changes nothing).
    if (counting) this.numBatchesTracked!.data[0] = batches;
    return y;
  }

  protected override ownParameters(): [string, Tensor][] {
    return this.weight && this.bias ? [['weight', this.weight], ['bias', this.bias]] : [];
  }

  protected override ownBuffers(): [string, Tensor][] {
    return this.runningMean && this.runningVar && this.numBatchesTracked
      ? [['running_mean', this.runningMean], ['running_var', this.runningVar], ['num_batches_tracked', this.numBatchesTracked]]
      : [];
  }

  override toString(): string {
    return `${this.constructor.name}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats})`;
  }
}

/** `torch.nn.BatchNorm1d`: input (N, C) or (N, C, L). @example new BatchNorm1d(16).forward(randn([8, 16, 50])) */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, opts?: BatchNormModuleOptions) { super('BatchNorm1d', [2, 3], numFeatures, opts); }
}
/** `torch.nn.BatchNorm2d`: input (N, C, H, W). */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, opts?: BatchNormModuleOptions) { super('BatchNorm2d', [4], numFeatures, opts); }
}
/** `torch.nn.BatchNorm3d`: input (N, C, D, H, W). */
export class BatchNorm3d extends BatchNormNd {
  constructor(numFeatures: number, opts?: BatchNormModuleOptions) { super('BatchNorm3d', [5], numFeatures, opts); }
}

export type BatchNorm = BatchNorm1d | BatchNorm2d | BatchNorm3d;

/**
 * A new convolution (Conv1d … ConvTranspose3d of the same rank and options, always with a bias;
 * a Paddle layer gives the PyTorch class of its rank)
 * whose output equals `bn.forward(conv.forward(x))` with `bn` in eval mode: per output channel
 * `co`, with s = γ / √(running_var + eps), weight′ = weight · s (dim 0 for a convolution, the
 * output channels of each group in dim 1 for a transposed one) and
 * bias′ = (bias − running_mean) · s + β. Neither argument changes; the folded weights are plain
 * tensors (requiresGrad like the conv's weight), computed in float64 and rounded once.
 *
 * On the GPU (both modules moved with `.to('webgpu')`) the fold runs as GPU ops on the device's
 * buffers, nothing read back: the result is a module on 'webgpu' whose weight and bias are GPU
 * tensors, equal to the CPU fold within float32 rounding (float32 arithmetic, a few ulp). The
 * conv's and the BatchNorm's tensors must all be on one device: mixing them is a ConvError naming
 * both devices.
 * @example const fused = foldBatchNorm(conv, bn); // in a Sequential: replace conv by fused, bn by new Identity()
 * @example const fused = foldBatchNorm(conv.to('webgpu'), bn.to('webgpu')); // fused.weight.device === 'webgpu'
 */
export function foldBatchNorm(conv: ConvNdBase, bn: BatchNorm): ConvNdBase {
  const op = 'foldBatchNorm';
  if (!guarded(op, 'conv', () => conv instanceof ConvNdBase)) throw new ConvError(op, 'conv', `must be a convolution module (Conv1d … ConvTranspose3d); got ${nameOf(conv)}`);
  if (!guarded(op, 'bn', () => bn instanceof BatchNormNd)) throw new ConvError(op, 'bn', `must be a BatchNorm1d/2d/3d; got ${nameOf(bn)}`);
  if (bn.numFeatures !== conv.outChannels)
    throw new ConvError(op, 'bn', `must normalise the conv's ${conv.outChannels} output channels; got numFeatures=${bn.numFeatures}`);
  if (!bn.runningMean || !bn.runningVar)
    throw new ConvError(op, 'bn', 'must track running statistics (eval mode uses batch statistics otherwise); got trackRunningStats=false');
  const device = checkFoldDevices(conv, bn);
  const s = conv.spec;
  if (s.padding.kind === 'same' && s.padding.flavour === 'paddle')
    throw new ConvError(op, 'conv', `must use explicit or PyTorch 'same' padding (Paddle's 'SAME' depends on the input size); got ${fmt(s.op)} with 'SAME'`);
  const padding: PaddingArg = s.padding.kind === 'same' ? 'same' : s.padding.pads.map(([a, b]) => [a, b] as [number, number]);
  const common = { stride: [...s.stride], padding, dilation: [...s.dilation], groups: s.groups, bias: true, dtype: conv.weight.dtype,
    dataFormat: s.layout, seed: 0 }; // a fixed seed: the initial weights are overwritten, the global generator is left alone
  const args = [conv.inChannels, conv.outChannels, [...conv.kernelSize]] as const;
  const out: ConvNdBase = s.transposed
    ? new [ConvTranspose1d, ConvTranspose2d, ConvTranspose3d][s.rank - 1](...args, { ...common, outputPadding: [...s.outputPadding] })
    : new [Conv1d, Conv2d, Conv3d][s.rank - 1](...args, { ...common, paddingMode: s.paddingMode });
  if (device === 'webgpu') {
    foldOnGpu(conv, bn, out);
    out.weight.requiresGrad = conv.weight.requiresGrad;
    out.bias!.requiresGrad = conv.weight.requiresGrad;
    return out;
  }
  const cOut = conv.outChannels, g = s.groups, cog = cOut / g;
  const scale = new Float64Array(cOut);
  for (let co = 0; co < cOut; co++) scale[co] = (bn.weight ? bn.weight.data[co] : 1) / Math.sqrt(bn.runningVar.data[co] + bn.eps);
  const w = conv.weight, wOut = out.weight.data;
  const rows = w.shape[0], perRow = w.size / rows, kVol = perRow / w.shape[1];
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < perRow; j++) {
      // conv weight (cOut, cIn/g, …k): row r is channel r; transposed (cIn, cOut/g, …k): column j/kVol of group ⌊r/(cIn/g)⌋.
      const co = s.transposed ? Math.floor(r / (conv.inChannels / g)) * cog + Math.floor(j / kVol) : r;
      wOut[r * perRow + j] = w.data[r * perRow + j] * scale[co];
    }
  for (let co = 0; co < cOut; co++)
    out.bias!.data[co] = ((conv.bias ? conv.bias.data[co] : 0) - bn.runningMean.data[co]) * scale[co] + (bn.bias ? bn.bias.data[co] : 0);
  out.weight.requiresGrad = w.requiresGrad;
  out.bias!.requiresGrad = w.requiresGrad;
  return out;
}

/**
 * The one device holding every tensor the fold reads (the conv's weight and bias, the BatchNorm's
 * weight, bias and running statistics), or a ConvError naming the tensor and both devices.
 */
function checkFoldDevices(conv: ConvNdBase, bn: BatchNorm): Device {
  const device = conv.weight.device;
  const tensors: [string, string, Tensor | null][] = [
    ['conv', 'bias', conv.bias], ['bn', 'weight', bn.weight], ['bn', 'bias', bn.bias],
    ['bn', 'running_mean', bn.runningMean], ['bn', 'running_var', bn.runningVar],
  ];
  for (const [param, key, t] of tensors)
    if (t && t.device !== device)
      throw new ConvError('foldBatchNorm', param, `must be on the device of the conv's weight ('${device}'); got its ${key} on device '${t.device}' — move both modules with .to('webgpu')`);
  return device;
}

/**
 * The fold as GPU ops (float32), written into `out`'s parameters without uploading their initial
 * values: s = γ / √(running_var + eps), weight′ = weight · s broadcast over the output-channel axis
 * (dim 0; for a transposed weight (cIn, cOut/g, …k) viewed as (g, cIn/g, cOut/g, kVol), the
 * group's channels in dim 2), bias′ = (bias − running_mean) · s + β.
 */
function foldOnGpu(conv: ConvNdBase, bn: BatchNorm, out: ConvNdBase): void {
  const op = 'foldBatchNorm', s = conv.spec, w = conv.weight;
  const cOut = conv.outChannels, g = s.groups, cog = cOut / g, kVol = w.size / (w.shape[0] * w.shape[1]);
  const rm = bn.runningMean!, rv = bn.runningVar!;
  const inv = gpuMap1(op, 'rsqrtPlus', rv, bn.eps);
  const scale = bn.weight ? gpuMap2(op, 'mul', inv, bn.weight, [cOut]) : inv;
  const wShape = s.transposed ? [g, conv.inChannels / g, cog, kVol] : [cOut, w.size / cOut];
  const sShape = s.transposed ? [g, 1, cog, 1] : [cOut, 1];
  const weight = gpuMap2(op, 'mul', new Tensor(w.storage, wShape), new Tensor(scale.storage, sShape), wShape);
  const centred = conv.bias ? gpuMap2(op, 'sub', conv.bias, rm, [cOut]) : gpuMap1(op, 'scale', rm, -1);
  const shifted = gpuMap2(op, 'mul', centred, scale, [cOut]);
  const bias = bn.bias ? gpuMap2(op, 'add', shifted, bn.bias, [cOut]) : shifted;
  placeOnDevice(out.weight, weight.storage as DeviceStorage);
  placeOnDevice(out.bias!, bias.storage as DeviceStorage);
}

const nameOf = (v: unknown): string =>
  v !== null && typeof v === 'object' ? guarded('foldBatchNorm', 'module', () => String((v as object).constructor?.name)) : fmt(typeof v);

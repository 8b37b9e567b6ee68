/**
 * Conv1d … ConvTranspose3d: PyTorch's modules, constructor order and defaults; options as an object.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { convSpec, convTransposeSpec, perDim, type DataFormat, type IntOrTuple, type PaddingArg } from '../spec/normalize.js';
import type { ConvSpec, DType, PaddingMode, Rank } from '../spec/types.js';
import { allocate, Tensor } from '../autograd/tensor.js';
import { applyConv } from '../functional/conv.js';
import type { Activation } from '../kernels/types.js';
import { DEFAULT_NEGATIVE_SLOPE } from '../kernels/ref/epilogue.js';
import { applyConvAsync } from '../async/conv.js';
import { Generator, generatorFor } from '../util/random.js';
import { prod } from '../util/shape.js';
import { Module } from './module.js';

export interface ConvModuleOptions {
  stride?: IntOrTuple;
  padding?: PaddingArg;
  dilation?: IntOrTuple;
  groups?: number;
  /** Adds a learnable bias (default true). */
  bias?: boolean;
  paddingMode?: PaddingMode;
  dataFormat?: DataFormat;
  dtype?: DType;
  /** Seed of the generator used for the initial weights (default: the global generator). */
  seed?: number;
}

export interface ConvTransposeModuleOptions extends Omit<ConvModuleOptions, 'paddingMode'> {
  outputPadding?: IntOrTuple;
  paddingMode?: 'zeros';
}

/** What an initialiser knows about the layer. `fanIn = weight.shape[1] · prod(kernelSize)`. */
export interface InitInfo { fanIn: number; inChannels: number; outChannels: number; groups: number; kVol: number }

/** Weight init: how the parameters are filled at construction and by `resetParameters`. */
export type Init = (weight: Tensor, bias: Tensor | null, gen: Generator, info: InitInfo) => void;

/** PyTorch's `reset_parameters`: kaiming_uniform_(a=√5) ⇒ U(−1/√fanIn, 1/√fanIn) for weight and bias. */
export const torchInit: Init = (weight, bias, gen, { fanIn }) => {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  for (let i = 0; i < weight.size; i++) weight.data[i] = gen.uniformRange(-bound, bound);
  if (bias) for (let i = 0; i < bias.size; i++) bias.data[i] = gen.uniformRange(-bound, bound);
};

export abstract class ConvNdBase extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly number[];
  readonly spec: ConvSpec;
  weight: Tensor;
  bias: Tensor | null;
  protected readonly init: Init;
  protected readonly gen: Generator;

  constructor(op: string, rank: Rank, spec: ConvSpec, inChannels: number, outChannels: number, kernelSize: IntOrTuple,
    opts: { bias?: boolean; dtype?: DType; seed?: number }, init: Init) {
    super();
    const isPos = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
    if (!isPos(inChannels)) throw new ConvError(op, 'inChannels', `must be a positive integer; got ${fmt(inChannels)}`);
    if (!isPos(outChannels)) throw new ConvError(op, 'outChannels', `must be a positive integer; got ${fmt(outChannels)}`);
    const k = perDim(op, 'kernelSize', kernelSize, rank, 1);
    const g = spec.groups;
    if (inChannels % g !== 0) throw new ConvError(op, 'groups', `must divide inChannels; got inChannels=${inChannels}, groups=${g}`);
    if (outChannels % g !== 0) throw new ConvError(op, 'groups', `must divide outChannels; got outChannels=${outChannels}, groups=${g}`);
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') throw new ConvError(op, 'dtype', `must be 'float32' or 'float64'; got ${fmt(dtype)}`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.spec = spec;
    const wShape = spec.transposed ? [inChannels, outChannels / g, ...k] : [outChannels, inChannels / g, ...k];
    this.weight = new Tensor(allocate(dtype, prod(wShape)), wShape, true);
    this.bias = opts.bias === false ? null : new Tensor(allocate(dtype, outChannels), [outChannels], true);
    this.init = init;
    this.gen = generatorFor(opts.seed);
    this.resetParameters();
  }

  get stride(): readonly number[] { return this.spec.stride; }
  get dilation(): readonly number[] { return this.spec.dilation; }
  get groups(): number { return this.spec.groups; }
  get paddingMode(): PaddingMode { return this.spec.paddingMode; }

  /**
   * `forward` without blocking the calling thread: the same result and autograd node, as a Promise
   * (see src/async/). `outputSize` applies to transposed convolutions, as in their `forward`.
   */
  override forwardAsync(x: Tensor, outputSize?: readonly number[]): Promise<Tensor> {
    return applyConvAsync(this.spec, x, this.weight, this.bias, this.spec.transposed ? outputSize : undefined);
  }

  /**
   * Applies the layer to (N, C_in, *spatial) or unbatched (C_in, *spatial). For a transposed layer,
   * `outputSize` (spatial sizes or the full shape) picks this call's output padding, within
   * `[min, min + stride − 1]`; a convolution takes no `outputSize`.
   */
  override forward(x: Tensor, outputSize?: readonly number[]): Tensor {
    if (outputSize !== undefined && !this.spec.transposed)
      throw new ConvError(this.spec.op, 'outputSize', `is accepted only by transposed convolutions; got ${fmt(outputSize)}`);
    return applyConv(this.spec, x, this.weight, this.bias, outputSize);
  }

  /**
   * `forward` with an activation written as the output is stored (the epilogue of docs/epilogue.md):
   * the values and gradients of `activation(this.forward(x))`. Sequential calls it for a
   * convolution followed by an activation module.
   */
  forwardActivated(x: Tensor, activation: Activation, negativeSlope?: number): Tensor {
    return applyConv(this.spec, x, this.weight, this.bias, undefined,
      activation === 'leakyRelu' ? { activation, negativeSlope: negativeSlope ?? DEFAULT_NEGATIVE_SLOPE } : { activation });
  }

  /** Re-draws weight and bias from the module's generator (PyTorch's rule unless a subclass says otherwise). */
  resetParameters(): void {
    const kVol = prod(this.kernelSize);
    this.init(this.weight, this.bias, this.gen, {
      fanIn: this.weight.shape[1] * kVol, inChannels: this.inChannels, outChannels: this.outChannels, groups: this.groups, kVol,
    });
  }

  protected override ownParameters(): [string, Tensor][] {
    return this.bias ? [['weight', this.weight], ['bias', this.bias]] : [['weight', this.weight]];
  }

  /** PyTorch-style summary of the constructor arguments. */
  extraRepr(): string {
    const s = this.spec, parts = [`${this.inChannels}, ${this.outChannels}`, `kernelSize=${fmt(this.kernelSize)}`];
    const nonDefault = (v: readonly number[], d: number) => v.some((x) => x !== d);
    if (nonDefault(s.stride, 1)) parts.push(`stride=${fmt(s.stride)}`);
    if (s.padding.kind === 'same') parts.push(`padding='same'`);
    else if (s.padding.pads.some(([a, b]) => a || b)) parts.push(`padding=${fmt(s.padding.pads)}`);
    if (nonDefault(s.outputPadding, 0)) parts.push(`outputPadding=${fmt(s.outputPadding)}`);
    if (nonDefault(s.dilation, 1)) parts.push(`dilation=${fmt(s.dilation)}`);
    if (s.groups !== 1) parts.push(`groups=${s.groups}`);
    if (!this.bias) parts.push('bias=false');
    if (s.paddingMode !== 'zeros') parts.push(`paddingMode='${s.paddingMode}'`);
    if (s.layout === 'channelsLast') parts.push(`dataFormat='channelsLast'`);
    return parts.join(', ');
  }

  override toString(): string {
    return `${this.constructor.name}(${this.extraRepr()})`;
  }
}

abstract class ConvNd extends ConvNdBase {
  constructor(rank: Rank, inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvModuleOptions = {}) {
    const op = `Conv${rank}d`;
    const { bias, dtype, seed, ...rest } = opts ?? {};
    super(op, rank, convSpec(op, rank, rest), inChannels, outChannels, kernelSize, { bias, dtype, seed }, torchInit);
  }
}

abstract class ConvTransposeNd extends ConvNdBase {
  constructor(rank: Rank, inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvTransposeModuleOptions = {}) {
    const op = `ConvTranspose${rank}d`;
    const { bias, dtype, seed, ...rest } = opts ?? {};
    super(op, rank, convTransposeSpec(op, rank, rest), inChannels, outChannels, kernelSize, { bias, dtype, seed }, torchInit);
  }

  get outputPadding(): readonly number[] { return this.spec.outputPadding; }
}

/** `torch.nn.Conv1d`. @example new Conv1d(16, 33, 3, { stride: 2 }).forward(randn([20, 16, 50])).shape // [20, 33, 24] */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: ConvModuleOptions) { super(1, inChannels, outChannels, kernelSize, opts); }
}
/** `torch.nn.Conv2d`. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: ConvModuleOptions) { super(2, inChannels, outChannels, kernelSize, opts); }
}
/** `torch.nn.Conv3d`. */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: ConvModuleOptions) { super(3, inChannels, outChannels, kernelSize, opts); }
}
/** `torch.nn.ConvTranspose1d`. @example new ConvTranspose1d(16, 8, 3, { stride: 2, padding: 1, outputPadding: 1 }).forward(randn([1, 16, 10])).shape // [1, 8, 20] */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: ConvTransposeModuleOptions) { super(1, inChannels, outChannels, kernelSize, opts); }
}
/** `torch.nn.ConvTranspose2d`. */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: ConvTransposeModuleOptions) { super(2, inChannels, outChannels, kernelSize, opts); }
}
/** `torch.nn.ConvTranspose3d`. */
export class ConvTranspose3d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: ConvTransposeModuleOptions) { super(3, inChannels, outChannels, kernelSize, opts); }
}

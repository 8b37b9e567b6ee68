/**
 * Conv1d … ConvTranspose3d: PyTorch's modules, constructor order and defaults; options as an object.
 */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import { convSpecFrom, convTransposeSpecFrom, isInt, parseDType, perDim, readOptions, type DataFormat, type IntOrTuple, type PaddingArg } from '../spec/normalize.js';
import { MAX_OUTPUT_ELEMENTS } from '../plan/plan.js';
import type { ConvSpec, DType, PaddingMode, Rank } from '../spec/types.js';
import { weightShapeFor } from '../spec/shape.js';
import { checkGroupsDivide } from '../spec/validate.js';
import { allocate, Tensor } from '../autograd/tensor.js';
import { applyConv } from '../functional/apply.js';
import { DEFAULT_NEGATIVE_SLOPE, type Activation } from '../functional/apply.js';
import { applyConvAsync } from '../async/conv.js';
import { Generator, generatorFor } from '../util/random.js';
import { prod } from '../util/shape.js';
import { Module } from './module.js';

/** Options of `Conv1d` / `Conv2d` / `Conv3d` (PyTorch's `torch.nn.Conv*d` keyword arguments). */
export interface ConvModuleOptions {
  /** Step of the sliding window per spatial dim: a positive integer or one per dim (default 1). */
  stride?: IntOrTuple;
  /**
   * Padding added around the input (default 0): an integer for every side, one per dim, one
   * `[before, after]` pair per dim, `'valid'` or `'same'` (stride 1 only; the odd element goes after).
   */
  padding?: PaddingArg;
  /** Spacing between kernel taps per spatial dim (default 1). */
  dilation?: IntOrTuple;
  /** Channel groups; must divide `inChannels` and `outChannels`; `groups = inChannels` is depthwise (default 1). */
  groups?: number;
  /** Adds a learnable bias (default true). */
  bias?: boolean;
  /** How the padding is filled: `'zeros'` (default), `'reflect'`, `'replicate'` or `'circular'`. */
  paddingMode?: PaddingMode;
  /** Layout of input and output (default channels-first). The weight is always `(outChannels, inChannels/groups, *kernel)`. */
  dataFormat?: DataFormat;
  /** Element type of the parameters and of the inputs the layer takes: `'float32'` (default) or `'float64'`. */
  dtype?: DType;
  /** Seed of the generator used for the initial weights (default: the global generator, see `manualSeed`). */
  seed?: number;
}

/** Options of `ConvTranspose1d` / `ConvTranspose2d` / `ConvTranspose3d` (PyTorch's `torch.nn.ConvTranspose*d`). */
export interface ConvTransposeModuleOptions {
  /** Step between the positions each input element scatters to, per spatial dim (default 1). */
  stride?: IntOrTuple;
  /**
   * Cropped from the full output (default 0): an integer, one per dim, or `[before, after]` pairs.
   * The strings `'same'` / `'valid'` are refused (PyTorch's transposed ops take none).
   */
  padding?: PaddingArg;
  /** Extra elements on the trailing side of each dim (default 0); each smaller than the stride or the dilation of its dim. */
  outputPadding?: IntOrTuple;
  /** Spacing between kernel taps per spatial dim (default 1). */
  dilation?: IntOrTuple;
  /** Channel groups; must divide `inChannels` and `outChannels` (default 1). */
  groups?: number;
  /** Adds a learnable bias (default true). */
  bias?: boolean;
  /** Only `'zeros'` (the default), as in PyTorch. */
  paddingMode?: 'zeros';
  /** Layout of input and output (default channels-first). The weight is always `(inChannels, outChannels/groups, *kernel)`. */
  dataFormat?: DataFormat;
  /** Element type of the parameters: `'float32'` (default) or `'float64'`. */
  dtype?: DType;
  /** Seed of the generator used for the initial weights (default: the global generator). */
  seed?: number;
}

/** The constructor options of the PyTorch modules, and why some names are not among them. */
const MODULE_KEYS: readonly string[] = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode', 'dataFormat', 'dtype', 'seed'];
const MODULE_T_KEYS: readonly string[] = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'bias', 'paddingMode', 'dataFormat', 'dtype', 'seed'];
/** Names users try in a constructor that belong elsewhere. */
export const MODULE_HINTS: Readonly<Record<string, string>> = {
  outputSize: 'it is an argument of forward(x, outputSize), given per call',
  inChannels: 'it is the first constructor argument',
  outChannels: 'it is the second constructor argument',
  kernelSize: 'it is the third constructor argument',
};

/** A caller's list copied once (a Proxy or getter read here, not in plan/); anything else as given. */
function readList<T>(op: string, param: string, v: T): T {
  return guarded(op, param, () => (Array.isArray(v) ? (Array.from({ length: v.length }, (_, i) => v[i]) as T) : v));
}

/** What an initialiser knows about the layer. `fanIn = weight.shape[1] · prod(kernelSize)`. */
export interface InitInfo { fanIn: number; inChannels: number; outChannels: number; groups: number; kVol: number }

/** Weight init: how the parameters are filled at construction and by `resetParameters`. */
export type Init = (weight: Tensor, bias: Tensor | null, gen: Generator, info: InitInfo) => void;

/** PyTorch's `reset_parameters`: kaiming_uniform_(a=√5) ⇒ U(−1/√fanIn, 1/√fanIn) for weight and bias. */
const torchInit: Init = (weight, bias, gen, { fanIn }) => {
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
    if (!isInt(inChannels) || inChannels < 1) throw new ConvError(op, 'inChannels', `must be a positive integer; got ${fmt(inChannels)}`);
    if (!isInt(outChannels) || outChannels < 1) throw new ConvError(op, 'outChannels', `must be a positive integer; got ${fmt(outChannels)}`);
    const k = perDim(op, 'kernelSize', kernelSize, rank, 1);
    const g = spec.groups;
    checkGroupsDivide(op, 'inChannels', inChannels, g);
    checkGroupsDivide(op, 'outChannels', outChannels, g);
    const dtype = parseDType(op, opts.dtype) ?? 'float32';
    if (opts.bias !== undefined && typeof opts.bias !== 'boolean') throw new ConvError(op, 'bias', `must be true or false; got ${fmt(opts.bias)}`);
    const wShape = weightShapeFor(spec.transposed, inChannels, outChannels, g, k);
    // Checked before allocating: a huge channel or kernel count is an error, not an out-of-memory crash.
    const wSize = prod(wShape);
    if (wSize > MAX_OUTPUT_ELEMENTS)
      throw new ConvError(op, 'weight', `would have ${wSize} elements (shape ${fmt(wShape)}), more than the ${MAX_OUTPUT_ELEMENTS} convkit allocates for one tensor; got inChannels=${inChannels}, outChannels=${outChannels}, kernelSize ${fmt(k)}`);
    this.gen = generatorFor(opts.seed, op);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.spec = spec;
    this.weight = new Tensor(allocate(dtype, wSize), wShape, true);
    this.bias = opts.bias === false ? null : new Tensor(allocate(dtype, outChannels), [outChannels], true);
    this.init = init;
    this.resetParameters();
  }

  get stride(): readonly number[] { return this.spec.stride; }
  get dilation(): readonly number[] { return this.spec.dilation; }
  get groups(): number { return this.spec.groups; }
  get paddingMode(): PaddingMode { return this.spec.paddingMode; }

  /**
   * `forward` without blocking the calling thread: the same result and autograd node, as a Promise
   * (see src/async/). `outputSize` applies to transposed convolutions; a convolution refuses it, as `forward` does.
   */
  override forwardAsync(x: Tensor, outputSize?: readonly number[]): Promise<Tensor> {
    // The same refusal as forward, as a rejected Promise.
    if (outputSize !== undefined && !this.spec.transposed)
      return Promise.reject(new ConvError(this.spec.op, 'outputSize', `is accepted only by transposed convolutions; got ${fmt(outputSize)}`));
    try {
      return applyConvAsync(this.spec, x, this.weight, this.bias, readList(this.spec.op, 'outputSize', outputSize));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Applies the layer to (N, C_in, *spatial) or unbatched (C_in, *spatial). For a transposed layer,
   * `outputSize` (spatial sizes or the full shape) picks this call's output padding, within
   * `[min, min + stride − 1]`; a convolution takes no `outputSize`.
   */
  override forward(x: Tensor, outputSize?: readonly number[]): Tensor {
    if (outputSize !== undefined && !this.spec.transposed)
      throw new ConvError(this.spec.op, 'outputSize', `is accepted only by transposed convolutions; got ${fmt(outputSize)}`);
    return applyConv(this.spec, x, this.weight, this.bias, readList(this.spec.op, 'outputSize', outputSize));
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
    const { bias, dtype, seed, ...rest } = readOptions(op, opts, MODULE_KEYS, MODULE_HINTS);
    super(op, rank, convSpecFrom(op, rank, rest), inChannels, outChannels, kernelSize,
      { bias: bias as boolean | undefined, dtype: dtype as DType | undefined, seed: seed as number | undefined }, torchInit);
  }
}

abstract class ConvTransposeNd extends ConvNdBase {
  constructor(rank: Rank, inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvTransposeModuleOptions = {}) {
    const op = `ConvTranspose${rank}d`;
    const { bias, dtype, seed, ...rest } = readOptions(op, opts, MODULE_T_KEYS, MODULE_HINTS);
    super(op, rank, convTransposeSpecFrom(op, rank, rest), inChannels, outChannels, kernelSize,
      { bias: bias as boolean | undefined, dtype: dtype as DType | undefined, seed: seed as number | undefined }, torchInit);
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

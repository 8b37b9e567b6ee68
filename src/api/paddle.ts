/**
 * Paddle's spellings: Conv1D … Conv3DTranspose and `paddle.nn.functional`'s conv1d … conv3dTranspose,
 * `dataFormat` 'NCL' | 'NLC' | …, 'SAME' / 'VALID' (Paddle's rule), Paddle's padding lists,
 * `biasAttr: false` and Paddle's default initialisation. Everything becomes a ConvSpec here.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { checkOutputPadding, convSpecFrom, convTransposeSpecFrom, isInt, parseLayout, readOptions, type DataFormat, type IntOrTuple } from '../spec/normalize.js';
import type { ConvSpec, Layout, Pair, PaddingMode, PadRule, Rank, DType } from '../spec/types.js';
import type { Tensor } from '../autograd/tensor.js';
import { applyConv } from '../functional/apply.js';
import { describeSpec, type ConvDescription } from '../functional/describe.js';
import { specCache } from '../plan/spec-cache.js';
import { ConvNdBase, MODULE_HINTS, type Init } from '../nn/conv.js';
import { applyConvAsync } from '../async/conv.js';

/**
 * Paddle's padding: an int; `[p_1, …, p_d]` (one per dim; `[p]` for a 1-D op); `[b_1, a_1, …, b_d, a_d]`;
 * `[[0,0],[0,0],[b_1,a_1], …]` with the batch and channel pairs (`[[0,0],[b_1,a_1], …,[0,0]]` for
 * channels last); or 'SAME' / 'VALID' in any case.
 */
export type PaddlePadding = number | string | readonly number[] | readonly (readonly number[])[];

/** A plain array's elements, read once by index (holes read as undefined); null for anything else. */
function listOf(v: unknown): unknown[] | null {
  try {
    if (!Array.isArray(v)) return null;
    return Array.from({ length: v.length }, (_, i) => v[i]);
  } catch {
    return null;
  }
}

/** Paddle's padding spellings → PadRule (Paddle's `_update_padding_nd`: exactly these forms, nothing else). */
export function paddlePadding(op: string, padding: unknown, rank: Rank, layout: Layout): PadRule {
  const zero = (): PadRule => ({ kind: 'explicit', pads: new Array<Pair>(rank).fill([0, 0]) });
  if (padding === undefined) return zero();
  if (typeof padding === 'string') {
    const up = padding.toUpperCase();
    if (up === 'SAME') return { kind: 'same', flavour: 'paddle' };
    if (up === 'VALID') return zero();
    throw new ConvError(op, 'padding', `must be 'SAME' or 'VALID' when a string; got ${fmt(padding)}`);
  }
  const pairsForm = layout === 'channelsLast' ? `[[0, 0], ${Array(rank).fill('[b, a]').join(', ')}, [0, 0]]` : `[[0, 0], [0, 0], ${Array(rank).fill('[b, a]').join(', ')}]`;
  const bad = (why = '') => new ConvError(op, 'padding',
    `must be an integer, ${rank} integers, ${2 * rank} integers [before, after per dim], ${rank + 2} [before, after] pairs ${pairsForm} or 'SAME'/'VALID'${why}; got ${fmt(padding)}`);
  let pads: Pair[];
  const list = listOf(padding);
  if (isInt(padding)) pads = new Array<Pair>(rank).fill([padding, padding]);
  else if (list === null) throw bad();
  else if (list.every(isInt)) {
    const p = list as number[];
    if (p.length === 2 * rank) pads = Array.from({ length: rank }, (_, a) => [p[2 * a], p[2 * a + 1]] as Pair);
    else if (p.length === rank) pads = p.map((v) => [v, v] as Pair);
    else throw bad(p.length === 1 ? ` (Paddle repeats no one-element list over ${rank} dims)` : '');
  } else if (list.some((e) => Array.isArray(e))) {
    const pairs = list.map(listOf);
    if (!pairs.every((e) => e !== null && e.length === 2 && e.every(isInt))) throw bad();
    if (pairs.length !== rank + 2) throw bad(` (the pair form lists the batch and channel dims too)`);
    const spatialAt = layout === 'channelsLast' ? 1 : 2;
    const batchChannel = layout === 'channelsLast' ? [pairs[0], pairs[rank + 1]] : [pairs[0], pairs[1]];
    if (batchChannel.some((e) => e![0] !== 0 || e![1] !== 0))
      throw new ConvError(op, 'padding', `pairs for the batch and channel dims must be [0, 0]; got ${fmt(padding)}`);
    pads = (pairs as number[][]).slice(spatialAt, spatialAt + rank).map(([a, b]) => [a, b] as Pair);
  } else throw bad();
  if (pads.some(([a, b]) => a < 0 || b < 0)) throw new ConvError(op, 'padding', `must be non-negative; got ${fmt(padding)}`);
  return { kind: 'explicit', pads };
}

/**
 * Paddle's `output_size`: one integer for every spatial dim, or one per spatial dim (Paddle takes
 * spatial sizes only, never the full shape). Returns the per-dim list plan/ checks against
 * `[L′, L′ + stride)`.
 */
export function paddleOutputSize(op: string, v: unknown, rank: Rank): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = isInt(v) ? new Array<number>(rank).fill(v) : listOf(v);
  if (list === null || list.length !== rank || !list.every(isInt))
    throw new ConvError(op, 'outputSize', `must be an integer or ${rank} integers (the spatial sizes; Paddle takes no full shape); got ${fmt(v)}`);
  return list as number[];
}

/** Paddle's layout names: `'NCL'`/`'NLC'` (1-D), `'NCHW'`/`'NHWC'` (2-D), `'NCDHW'`/`'NDHWC'` (3-D). */
export type PaddleDataFormat = Exclude<DataFormat, 'channelsFirst' | 'channelsLast'>;

/** Options of `paddle.conv1d` / `conv2d` / `conv3d` (`paddle.nn.functional.conv*d`). */
export interface PaddleConvOptions {
  /** Step of the sliding window: an integer, or one per spatial dim (default 1). */
  stride?: IntOrTuple;
  /** Paddle's padding forms (see `PaddlePadding`; default 0). 'SAME' works with any stride and takes dilation as 1. */
  padding?: PaddlePadding;
  /** Spacing between kernel taps: an integer, or one per spatial dim (default 1). */
  dilation?: IntOrTuple;
  /** Channel groups; must divide the input and output channels (default 1). */
  groups?: number;
  /** `'NCL'`/`'NLC'`, `'NCHW'`/`'NHWC'`, `'NCDHW'`/`'NDHWC'` (Paddle's names only; default channels-first); the output keeps the input's layout. */
  dataFormat?: PaddleDataFormat;
}
/** Options of `paddle.conv1dTranspose` / `conv2dTranspose` / `conv3dTranspose`. */
export interface PaddleConvTransposeOptions extends PaddleConvOptions {
  /**
   * Extra elements at the end of each spatial dim (default 0): smaller than max(stride, dilation)
   * per dim, and for a 1-D op not greater than the stride. Not together with `outputSize`.
   */
  outputPadding?: IntOrTuple;
  /** The spatial output size: one integer for every dim or one per dim, each in `[L′, L′ + stride)`. */
  outputSize?: number | readonly number[];
}

const CONV_KEYS = ['stride', 'padding', 'dilation', 'groups', 'dataFormat'];
const CONVT_KEYS = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'outputSize', 'dataFormat'];
const MODULE_KEYS = ['stride', 'padding', 'dilation', 'groups', 'paddingMode', 'dataFormat', 'biasAttr', 'dtype', 'seed'];
const MODULE_T_KEYS = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'dataFormat', 'biasAttr', 'dtype', 'seed'];
const HINTS: Readonly<Record<string, string>> = {
  ...MODULE_HINTS,
  outputSize: 'it is an argument of forward(x, outputSize), given per call',
  paddingMode: 'Paddle has it only on Conv1D, Conv2D and Conv3D layers',
  bias: "Paddle's name is biasAttr",
};

/** Paddle options (read once with `readOptions`) → ConvSpec: PyTorch's parser for every shared check, then Paddle's rules. */
/** Paddle's layout names per rank (the channels-first one is the default). */
const PADDLE_FORMATS: Record<Rank, readonly [string, string]> = { 1: ['NCL', 'NLC'], 2: ['NCHW', 'NHWC'], 3: ['NCDHW', 'NDHWC'] };

function paddleSpec(op: string, rank: Rank, transposed: boolean, o: Readonly<Record<string, unknown>>): ConvSpec {
  const names = PADDLE_FORMATS[rank];
  if (o.dataFormat !== undefined && !names.includes(o.dataFormat as string))
    throw new ConvError(op, 'dataFormat', `must be '${names[0]}' or '${names[1]}' for a ${rank}-D op (Paddle's names); got ${fmt(o.dataFormat)}`);
  const layout = parseLayout(op, o.dataFormat, rank);
  const rule = paddlePadding(op, o.padding, rank, layout);
  const shared = { stride: o.stride, dilation: o.dilation, groups: o.groups, dataFormat: o.dataFormat, paddingMode: o.paddingMode };
  // Paddle's lists have one value per dim (convert_to_list): no one-element lists repeated.
  const base = transposed
    ? convTransposeSpecFrom(op, rank, { ...shared, outputPadding: o.outputPadding }, false)
    : convSpecFrom(op, rank, shared, false);
  // Paddle's 'SAME' takes dilation as 1 (UpdatePaddingAndDilation).
  const dilation = rule.kind === 'same' ? new Array<number>(rank).fill(1) : base.dilation;
  if (transposed) {
    checkOutputPadding(op, base.outputPadding, base.stride, dilation);
    // conv1d_transpose also refuses an output padding greater than the stride, whatever the dilation.
    if (rank === 1 && base.outputPadding[0] > base.stride[0])
      throw new ConvError(op, 'outputPadding', `must not be greater than the stride for a 1-D transposed convolution (Paddle); got outputPadding ${fmt(base.outputPadding)}, stride ${fmt(base.stride)}`);
  }
  return { ...base, padding: rule, dilation, paddleRules: true };
}

const SPEC_FIELDS = ['stride', 'padding', 'dilation', 'groups', 'dataFormat'];
const SPEC_T_FIELDS = [...SPEC_FIELDS, 'outputPadding'];

// Options are read once (a copy, Proxies and getters read here) before the spec cache sees them.
type Options = Record<string, unknown>;

function makeConv(rank: Rank) {
  const op = `conv${rank}d`;
  const specOf = specCache<Options>(SPEC_FIELDS, (o) => paddleSpec(op, rank, false, o));
  return (x: Tensor, weight: Tensor, bias?: Tensor | null, options: PaddleConvOptions = {}): Tensor =>
    applyConv(specOf(readOptions(op, options, CONV_KEYS)), x, weight, bias);
}
function makeConvTranspose(rank: Rank) {
  const op = `conv${rank}dTranspose`;
  // outputSize is not part of the spec: plan/ checks it on every call.
  const specOf = specCache<Options>(SPEC_T_FIELDS, (o) => paddleSpec(op, rank, true, o));
  return (x: Tensor, weight: Tensor, bias?: Tensor | null, options: PaddleConvTransposeOptions = {}): Tensor => {
    const o = readOptions(op, options, CONVT_KEYS);
    return applyConv(specOf(o), x, weight, bias, paddleOutputSize(op, o.outputSize, rank));
  };
}

/**
 * `paddle.nn.functional.conv1d` (x, weight, bias, { stride, padding, dilation, groups, dataFormat }).
 * x must be batched: (N, C, L) or (N, L, C).
 */
export const conv1d = makeConv(1);
/** `paddle.nn.functional.conv2d`; x (N, C, H, W) or (N, H, W, C). */
export const conv2d = makeConv(2);
/** `paddle.nn.functional.conv3d`; x (N, C, D, H, W) or (N, D, H, W, C). */
export const conv3d = makeConv(3);
/**
 * `paddle.nn.functional.conv1d_transpose`; weight (C_in, C_out/groups, k).
 * @example paddle.conv1dTranspose(randn([1, 2, 4]), randn([2, 1, 2]), null, { stride: 2, outputSize: 9 }).shape // [1, 1, 9]
 */
export const conv1dTranspose = makeConvTranspose(1);
/** `paddle.nn.functional.conv2d_transpose`; an integer `outputSize` applies to both dims. */
export const conv2dTranspose = makeConvTranspose(2);
/** `paddle.nn.functional.conv3d_transpose`. */
export const conv3dTranspose = makeConvTranspose(3);

/** Paddle's default conv weight: Normal(0, √(2 / (C_in · prod(k)))); bias zero. */
export const paddleConvInit: Init = (weight, bias, gen, { inChannels, kVol }) => {
  const std = Math.sqrt(2 / (inChannels * kVol));
  for (let i = 0; i < weight.size; i++) weight.data[i] = gen.normal() * std;
  if (bias) bias.data.fill(0);
};

/** Paddle's default transposed-conv weight: Xavier-uniform, fanIn = (C_out/g)·prod(k), fanOut = C_in·prod(k); bias zero. */
export const paddleConvTransposeInit: Init = (weight, bias, gen, { inChannels, outChannels, groups, kVol }) => {
  const fanIn = (outChannels / groups) * kVol, fanOut = inChannels * kVol;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  for (let i = 0; i < weight.size; i++) weight.data[i] = gen.uniformRange(-limit, limit);
  if (bias) bias.data.fill(0);
};

/** Constructor options of `Conv1D` / `Conv2D` / `Conv3D` (`paddle.nn.Conv*D`). */
export interface PaddleModuleOptions extends PaddleConvOptions {
  /**
   * How the padding is filled: `'zeros'` (default), `'reflect'`, `'replicate'` or `'circular'`. A mode
   * other than `'zeros'` needs an integer `padding` (Paddle's rule).
   */
  paddingMode?: PaddingMode;
  /** `false` means no bias (Paddle's `bias_attr=False`); `null`, `true` or absent: a bias initialised to zero. */
  biasAttr?: boolean | null;
  /** Element type of the parameters: `'float32'` (default) or `'float64'`. */
  dtype?: DType;
  /** Seed of the generator used for the initial weights (default: the global generator). */
  seed?: number;
}
/** Constructor options of `Conv1DTranspose` / `Conv2DTranspose` / `Conv3DTranspose` (`paddle.nn.Conv*DTranspose`). */
export interface PaddleTransposeModuleOptions extends PaddleConvOptions {
  /**
   * Extra elements at the end of each spatial dim (default 0). A 2-D/3-D layer called with an
   * `outputSize` drops it (as Paddle's layers do); a 1-D layer refuses both together.
   */
  outputPadding?: IntOrTuple;
  /** `false` means no bias (Paddle's `bias_attr=False`); `null`, `true` or absent: a bias initialised to zero. */
  biasAttr?: boolean | null;
  /** Element type of the parameters: `'float32'` (default) or `'float64'`. */
  dtype?: DType;
  /** Seed of the generator used for the initial weights (default: the global generator). */
  seed?: number;
}

function parseBiasAttr(op: string, v: unknown): boolean {
  if (v === undefined || v === null || v === true) return true;
  if (v === false) return false;
  throw new ConvError(op, 'biasAttr', `must be false (no bias), true, null or absent; got ${fmt(v)}`);
}

abstract class PaddleConvNd extends ConvNdBase {
  constructor(rank: Rank, inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: PaddleModuleOptions = {}) {
    const op = `Conv${rank}D`;
    const { biasAttr, dtype, seed, ...rest } = readOptions(op, opts, MODULE_KEYS, HINTS);
    const mode = rest.paddingMode;
    // Paddle's _ConvNd: "when padding_mode in ['reflect', 'replicate', 'circular'], type of padding must be int".
    if (mode !== undefined && mode !== 'zeros' && rest.padding !== undefined && !isInt(rest.padding))
      throw new ConvError(op, 'padding', `must be an integer when paddingMode is ${fmt(mode)} (Paddle); got ${fmt(rest.padding)}`);
    super(op, rank, paddleSpec(op, rank, false, rest), inChannels, outChannels, kernelSize,
      { bias: parseBiasAttr(op, biasAttr), dtype: dtype as DType | undefined, seed: seed as number | undefined }, paddleConvInit);
  }
}

/** Paddle's transposed layers: `forward(x, outputSize?)` with `outputSize` in `[L′, L′ + stride)`. */
abstract class PaddleConvTransposeNd extends ConvNdBase {
  /** The spec with no output padding: what a 2-D/3-D layer runs when given an outputSize. */
  private withoutOutputPadding: ConvSpec | null = null;

  constructor(rank: Rank, inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: PaddleTransposeModuleOptions = {}) {
    const op = `Conv${rank}DTranspose`;
    const { biasAttr, dtype, seed, ...rest } = readOptions(op, opts, MODULE_T_KEYS, HINTS);
    super(op, rank, paddleSpec(op, rank, true, rest), inChannels, outChannels, kernelSize,
      { bias: parseBiasAttr(op, biasAttr), dtype: dtype as DType | undefined, seed: seed as number | undefined }, paddleConvTransposeInit);
  }

  get outputPadding(): readonly number[] { return this.spec.outputPadding; }

  /** The spec one call runs, and its outputSize as spatial sizes (Paddle's layers, see the options). */
  private callSpec(outputSize: unknown): [ConvSpec, number[] | undefined] {
    const size = paddleOutputSize(this.spec.op, outputSize, this.spec.rank);
    // Conv2DTranspose / Conv3DTranspose pass output_padding = 0 when output_size is given;
    // Conv1DTranspose passes its own, which conv1d_transpose refuses together with output_size.
    if (size === undefined || this.spec.rank === 1 || this.spec.outputPadding.every((p) => p === 0)) return [this.spec, size];
    this.withoutOutputPadding ??= { ...this.spec, outputPadding: this.spec.outputPadding.map(() => 0) };
    return [this.withoutOutputPadding, size];
  }

  /**
   * Applies the layer to a batched input. `outputSize`: one integer for every spatial dim or one per
   * dim, each in `[L′, L′ + stride)`.
   */
  override forward(x: Tensor, outputSize?: number | readonly number[]): Tensor {
    const [spec, size] = this.callSpec(outputSize);
    return applyConv(spec, x, this.weight, this.bias, size);
  }

  override forwardAsync(x: Tensor, outputSize?: number | readonly number[]): Promise<Tensor> {
    try {
      const [spec, size] = this.callSpec(outputSize);
      return applyConvAsync(spec, x, this.weight, this.bias, size);
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

/** `paddle.nn.Conv1D`. */
export class Conv1D extends PaddleConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: PaddleModuleOptions) { super(1, inChannels, outChannels, kernelSize, opts); }
}
export class Conv2D extends PaddleConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: PaddleModuleOptions) { super(2, inChannels, outChannels, kernelSize, opts); }
}
export class Conv3D extends PaddleConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: PaddleModuleOptions) { super(3, inChannels, outChannels, kernelSize, opts); }
}
/** `paddle.nn.Conv1DTranspose`. @example new Conv1DTranspose(2, 1, 2, { biasAttr: false }) */
export class Conv1DTranspose extends PaddleConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: PaddleTransposeModuleOptions) { super(1, inChannels, outChannels, kernelSize, opts); }
}
export class Conv2DTranspose extends PaddleConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: PaddleTransposeModuleOptions) { super(2, inChannels, outChannels, kernelSize, opts); }
}
export class Conv3DTranspose extends PaddleConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts?: PaddleTransposeModuleOptions) { super(3, inChannels, outChannels, kernelSize, opts); }
}

/** Paddle options → ConvSpec, as the functional ops above build it (options read once; used by src/stream). */
export function paddleConvSpec(op: string, rank: Rank, transposed: boolean, options: PaddleConvOptions | PaddleConvTransposeOptions): ConvSpec {
  return paddleSpec(op, rank, transposed, readOptions(op, options, transposed ? CONVT_KEYS : CONV_KEYS));
}

/**
 * Plans a Paddle functional op (conv1d … conv3dTranspose) for the given shapes without running it:
 * the output shape and the pads, dilation and output padding Paddle's rules resolve ('SAME' takes
 * dilation 1), as convkit's describeConv does for PyTorch's ops.
 * @example paddle.describeConv('conv1dTranspose', [1, 2, 5], [2, 1, 3], { stride: 2, padding: 'SAME' }).outputShape // [1, 1, 9]
 */
export function describeConv(op: 'conv1d' | 'conv2d' | 'conv3d' | 'conv1dTranspose' | 'conv2dTranspose' | 'conv3dTranspose',
  inputShape: readonly number[], weightShape: readonly number[], options: PaddleConvOptions | PaddleConvTransposeOptions = {}): Omit<ConvDescription, 'op'> & { readonly op: string } {
  const m = typeof op === 'string' ? /^conv([123])d(Transpose)?$/.exec(op) : null;
  if (!m) throw new ConvError('paddle.describeConv', 'op', `must be one of conv1d … conv3d, conv1dTranspose … conv3dTranspose; got ${fmt(op)}`);
  const rank = Number(m[1]) as Rank, transposed = m[2] !== undefined;
  const spec = paddleConvSpec(op, rank, transposed, options);
  const outputSize = transposed ? paddleOutputSize(op, (options as PaddleConvTransposeOptions).outputSize, rank) : undefined;
  return describeSpec(op, spec, inputShape, weightShape, outputSize);
}

/**
 * Paddle's spellings: Conv1D … Conv3DTranspose and `paddle.nn.functional`'s conv1d … conv3dTranspose,
 * `dataFormat` 'NCL' | 'NLC' | …, 'SAME' / 'VALID' (Paddle's rule), Paddle's padding lists,
 * `biasAttr: false` and Paddle's default initialisation. Everything becomes a ConvSpec here.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { checkOutputPadding, convSpec, convTransposeSpec, parseLayout, type DataFormat, type IntOrTuple } from '../spec/normalize.js';
import type { ConvSpec, Layout, Pair, PaddingMode, PadRule, Rank, DType } from '../spec/types.js';
import type { Tensor } from '../autograd/tensor.js';
import { applyConv } from '../functional/apply.js';
import { specCache } from '../plan/spec-cache.js';
import { ConvNdBase, type Init } from '../nn/conv.js';

/** int | [p] | [p1, …, pd] | [b1, a1, …, bd, ad] | [[0,0],[0,0],[b1,a1],…] | 'SAME' | 'VALID' (any case). */
export type PaddlePadding = number | string | readonly number[] | readonly (readonly number[])[];

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Paddle's padding spellings → PadRule (Paddle's `_update_padding_nd`). */
export function paddlePadding(op: string, padding: PaddlePadding | undefined, rank: Rank, layout: Layout): PadRule {
  const zero = (): PadRule => ({ kind: 'explicit', pads: new Array<Pair>(rank).fill([0, 0]) });
  if (padding === undefined) return zero();
  if (typeof padding === 'string') {
    const up = padding.toUpperCase();
    if (up === 'SAME') return { kind: 'same', flavour: 'paddle' };
    if (up === 'VALID') return zero();
    throw new ConvError(op, 'padding', `must be 'SAME' or 'VALID' when a string; got ${fmt(padding)}`);
  }
  const bad = () => new ConvError(op, 'padding',
    `must be an integer, ${rank} integers, ${2 * rank} integers [before, after per dim], or ${rank + 2} [before, after] pairs; got ${fmt(padding)}`);
  let pads: Pair[];
  if (isInt(padding)) pads = new Array<Pair>(rank).fill([padding, padding]);
  else if (!Array.isArray(padding)) throw bad();
  else if (padding.every(isInt)) {
    const p = padding as number[];
    if (p.length === 1) pads = new Array<Pair>(rank).fill([p[0], p[0]]);
    else if (p.length === 2 * rank) pads = Array.from({ length: rank }, (_, a) => [p[2 * a], p[2 * a + 1]] as Pair);
    else if (p.length === rank) pads = p.map((v) => [v, v] as Pair);
    else throw bad();
  } else if (padding.every((e) => Array.isArray(e) && e.length === 2 && e.every(isInt))) {
    const pairs = padding as number[][];
    if (pairs.length === rank + 2) {
      const spatialAt = layout === 'channelsLast' ? 1 : 2;
      const batchChannel = layout === 'channelsLast' ? [pairs[0], pairs[rank + 1]] : [pairs[0], pairs[1]];
      if (batchChannel.some(([a, b]) => a !== 0 || b !== 0))
        throw new ConvError(op, 'padding', `pairs for the batch and channel dims must be [0, 0]; got ${fmt(padding)}`);
      pads = pairs.slice(spatialAt, spatialAt + rank).map(([a, b]) => [a, b] as Pair);
    } else if (pairs.length === rank) pads = pairs.map(([a, b]) => [a, b] as Pair);
    else throw bad();
  } else throw bad();
  if (pads.some(([a, b]) => a < 0 || b < 0)) throw new ConvError(op, 'padding', `must be non-negative; got ${fmt(padding)}`);
  return { kind: 'explicit', pads };
}

export interface PaddleConvOptions {
  stride?: IntOrTuple;
  padding?: PaddlePadding;
  dilation?: IntOrTuple;
  groups?: number;
  dataFormat?: DataFormat;
}
export interface PaddleConvTransposeOptions extends PaddleConvOptions {
  outputPadding?: IntOrTuple;
  outputSize?: readonly number[];
}

/** Builds the spec from PyTorch's parser (for every check) and then applies Paddle's padding rules. */
function paddleSpec(op: string, rank: Rank, transposed: boolean, o: PaddleConvTransposeOptions & { paddingMode?: PaddingMode }): ConvSpec {
  if (o === null || typeof o !== 'object') throw new ConvError(op, 'options', `must be an object; got ${fmt(o)}`);
  // outputSize is read per call by the transposed ops; a convolution has no such option, so it stays and is rejected.
  const { padding, outputSize, ...others } = o;
  const rest = transposed || outputSize === undefined ? others : { ...others, outputSize };
  const layout = parseLayout(op, o.dataFormat, rank);
  const rule = paddlePadding(op, padding, rank, layout);
  const base = transposed ? convTransposeSpec(op, rank, rest) : convSpec(op, rank, rest);
  // Paddle's 'SAME' takes dilation as 1 (UpdatePaddingAndDilation).
  const dilation = rule.kind === 'same' ? new Array<number>(rank).fill(1) : base.dilation;
  if (transposed) checkOutputPadding(op, base.outputPadding, base.stride, dilation);
  return { ...base, padding: rule, dilation, paddleRules: true };
}

const CONV_FIELDS = ['stride', 'padding', 'dilation', 'groups', 'dataFormat'];
const CONVT_FIELDS = [...CONV_FIELDS, 'outputPadding'];

function makeConv(rank: Rank) {
  const op = `conv${rank}d`;
  const specOf = specCache<PaddleConvOptions>(CONV_FIELDS, (o) => paddleSpec(op, rank, false, o));
  return (x: Tensor, weight: Tensor, bias?: Tensor | null, options: PaddleConvOptions = {}): Tensor =>
    applyConv(specOf(options), x, weight, bias);
}
function makeConvTranspose(rank: Rank) {
  const op = `conv${rank}dTranspose`;
  // outputSize is not part of the spec: plan/ checks it on every call.
  const specOf = specCache<PaddleConvTransposeOptions>(CONVT_FIELDS, (o) => paddleSpec(op, rank, true, o));
  return (x: Tensor, weight: Tensor, bias?: Tensor | null, options: PaddleConvTransposeOptions = {}): Tensor =>
    applyConv(specOf(options), x, weight, bias, options.outputSize);
}

/** `paddle.nn.functional.conv1d` (x, weight, bias, { stride, padding, dilation, groups, dataFormat }). */
export const conv1d = makeConv(1);
export const conv2d = makeConv(2);
export const conv3d = makeConv(3);
/** `paddle.nn.functional.conv1d_transpose`. */
export const conv1dTranspose = makeConvTranspose(1);
export const conv2dTranspose = makeConvTranspose(2);
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

export interface PaddleModuleOptions extends PaddleConvOptions {
  paddingMode?: PaddingMode;
  /** `false` means no bias (Paddle's `bias_attr=False`). */
  biasAttr?: false | null | undefined;
  dtype?: DType;
  seed?: number;
}
export interface PaddleTransposeModuleOptions extends PaddleConvOptions {
  outputPadding?: IntOrTuple;
  biasAttr?: false | null | undefined;
  dtype?: DType;
  seed?: number;
}

abstract class PaddleConvNd extends ConvNdBase {
  constructor(rank: Rank, inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: PaddleModuleOptions = {}) {
    const op = `Conv${rank}D`;
    const { biasAttr, dtype, seed, ...rest } = opts ?? {};
    super(op, rank, paddleSpec(op, rank, false, rest), inChannels, outChannels, kernelSize,
      { bias: biasAttr !== false, dtype, seed }, paddleConvInit);
  }
}

/** Paddle's transposed layers: `forward(x, outputSize?)` with `outputSize` in `[L′, L′ + stride)`, not allowed with a non-zero outputPadding. */
abstract class PaddleConvTransposeNd extends ConvNdBase {
  constructor(rank: Rank, inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: PaddleTransposeModuleOptions = {}) {
    const op = `Conv${rank}DTranspose`;
    const { biasAttr, dtype, seed, ...rest } = opts ?? {};
    super(op, rank, paddleSpec(op, rank, true, rest), inChannels, outChannels, kernelSize,
      { bias: biasAttr !== false, dtype, seed }, paddleConvTransposeInit);
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

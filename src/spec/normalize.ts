/**
 * User arguments → ConvSpec (PyTorch spellings; api/paddle.ts maps Paddle's onto these).
 * Every option value is checked here, before any tensor is looked at.
 */
import { ConvError, fmt } from './errors.js';
import type { ConvSpec, Layout, Pair, PaddingMode, PadRule, Rank } from './types.js';

export type IntOrTuple = number | readonly number[];
/** int | per-dim ints | per-dim [before, after] pairs | 'same' | 'valid'. */
export type PaddingArg = number | readonly number[] | readonly (readonly [number, number])[] | 'same' | 'valid';
export type DataFormat = 'NCL' | 'NLC' | 'NCHW' | 'NHWC' | 'NCDHW' | 'NDHWC' | 'channelsFirst' | 'channelsLast';

export interface ConvOptions {
  /** Step of the sliding window per spatial dim (default 1). */
  stride?: IntOrTuple;
  /** Zero padding (or `paddingMode` padding) added around the input (default 0). */
  padding?: PaddingArg;
  /** Spacing between kernel taps (default 1). */
  dilation?: IntOrTuple;
  /** Channel groups; `groups = inChannels` is depthwise (default 1). */
  groups?: number;
  /** How the padding is filled (default 'zeros'). */
  paddingMode?: PaddingMode;
  /** Layout of input and output (default channels-first). Weights are always channels-first. */
  dataFormat?: DataFormat;
}

export interface ConvTransposeOptions {
  stride?: IntOrTuple;
  /** Cropped from each side of the full output; `[before, after]` pairs allowed. */
  padding?: PaddingArg;
  /** Extra elements on the trailing side of each spatial dim; must be < stride or < dilation. */
  outputPadding?: IntOrTuple;
  dilation?: IntOrTuple;
  groups?: number;
  /** Requested spatial output size (or the full output shape); sets the output padding. */
  outputSize?: readonly number[];
  /** Only 'zeros' is allowed for transposed convolution (as in PyTorch). */
  paddingMode?: PaddingMode;
  dataFormat?: DataFormat;
}

const FORMATS: Record<Rank, { first: string; last: string }> = {
  1: { first: 'NCL', last: 'NLC' },
  2: { first: 'NCHW', last: 'NHWC' },
  3: { first: 'NCDHW', last: 'NDHWC' },
};

const MODES: readonly PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** An int or a list of `rank` ints, each satisfying `min`; returns the per-dim list. */
export function perDim(op: string, param: string, v: unknown, rank: number, min: number): number[] {
  const list = isInt(v) ? new Array<number>(rank).fill(v) : Array.isArray(v) ? (v as unknown[]) : null;
  if (list === null || list.length !== rank || !list.every(isInt))
    throw new ConvError(op, param, `must be an integer or a list of ${rank} integers; got ${fmt(v)}`);
  if (list.some((x) => x < min))
    throw new ConvError(op, param, min === 1 ? `must be positive; got ${fmt(v)}` : `must be non-negative; got ${fmt(v)}`);
  return [...list]; // a copy: the spec never shares an array with the caller's options
}

/** PyTorch's padding forms → PadRule. `same` is allowed only where `allowSame`. */
function parsePadding(op: string, v: PaddingArg | undefined, rank: number, allowSame: boolean): PadRule {
  if (v === undefined || v === 'valid') return { kind: 'explicit', pads: new Array<Pair>(rank).fill([0, 0]) };
  if (v === 'same') {
    if (!allowSame) throw new ConvError(op, 'padding', `'same' is not supported for transposed convolution; got 'same'`);
    return { kind: 'same', flavour: 'torch' };
  }
  if (typeof v === 'string')
    throw new ConvError(op, 'padding', `must be 'same', 'valid', an integer, ${rank} integers or ${rank} [before, after] pairs; got ${fmt(v)}`);
  if (Array.isArray(v) && v.length === rank && v.every((e) => Array.isArray(e))) {
    const pairs = v as readonly (readonly unknown[])[];
    if (!pairs.every((p) => p.length === 2 && p.every(isInt)))
      throw new ConvError(op, 'padding', `pairs must be [before, after] integers; got ${fmt(v)}`);
    if (pairs.some((p) => (p as number[]).some((x) => x < 0)))
      throw new ConvError(op, 'padding', `must be non-negative; got ${fmt(v)}`);
    return { kind: 'explicit', pads: pairs.map((p) => [p[0], p[1]] as Pair) };
  }
  const sym = perDim(op, 'padding', v, rank, 0);
  return { kind: 'explicit', pads: sym.map((p) => [p, p] as Pair) };
}

export function parseLayout(op: string, f: DataFormat | undefined, rank: Rank): Layout {
  if (f === undefined || f === 'channelsFirst') return 'channelsFirst';
  if (f === 'channelsLast') return 'channelsLast';
  const { first, last } = FORMATS[rank];
  if (f === first) return 'channelsFirst';
  if (f === last) return 'channelsLast';
  throw new ConvError(op, 'dataFormat', `must be '${first}' or '${last}' for a ${rank}-D op; got ${fmt(f)}`);
}

function parseGroups(op: string, g: unknown): number {
  if (g === undefined) return 1;
  if (!isInt(g) || g < 1) throw new ConvError(op, 'groups', `must be a positive integer; got ${fmt(g)}`);
  return g;
}

function parseMode(op: string, m: unknown, transposed: boolean): PaddingMode {
  if (m === undefined) return 'zeros';
  if (!MODES.includes(m as PaddingMode))
    throw new ConvError(op, 'paddingMode', `must be one of ${fmt(MODES)}; got ${fmt(m)}`);
  if (transposed && m !== 'zeros')
    throw new ConvError(op, 'paddingMode', `must be 'zeros' for transposed convolution; got ${fmt(m)}`);
  return m as PaddingMode;
}

function checkKeys(op: string, o: object, allowed: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) throw new ConvError(op, k, `is not an option of ${op}; options are ${allowed.join(', ')}`);
}

const CONV_KEYS = ['stride', 'padding', 'dilation', 'groups', 'paddingMode', 'dataFormat'];
const CONVT_KEYS = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'outputSize', 'paddingMode', 'dataFormat'];

/** Convolution options → ConvSpec. */
export function convSpec(op: string, rank: Rank, o: ConvOptions = {}): ConvSpec {
  if (o === null || typeof o !== 'object') throw new ConvError(op, 'options', `must be an object; got ${fmt(o)}`);
  checkKeys(op, o, CONV_KEYS);
  const stride = perDim(op, 'stride', o.stride ?? 1, rank, 1);
  const dilation = perDim(op, 'dilation', o.dilation ?? 1, rank, 1);
  const padding = parsePadding(op, o.padding, rank, true);
  if (padding.kind === 'same' && stride.some((s) => s !== 1))
    throw new ConvError(op, 'padding', `'same' requires stride 1 in every dim; got stride ${fmt(stride)}`);
  return {
    op, rank, transposed: false, stride, dilation, padding,
    paddingMode: parseMode(op, o.paddingMode, false),
    outputPadding: new Array<number>(rank).fill(0),
    groups: parseGroups(op, o.groups),
    layout: parseLayout(op, o.dataFormat, rank),
    paddleRules: false,
  };
}

/** Transposed-convolution options → ConvSpec (outputSize is handled per call, in plan/). */
export function convTransposeSpec(op: string, rank: Rank, o: ConvTransposeOptions = {}): ConvSpec {
  if (o === null || typeof o !== 'object') throw new ConvError(op, 'options', `must be an object; got ${fmt(o)}`);
  checkKeys(op, o, CONVT_KEYS);
  const stride = perDim(op, 'stride', o.stride ?? 1, rank, 1);
  const dilation = perDim(op, 'dilation', o.dilation ?? 1, rank, 1);
  const outputPadding = perDim(op, 'outputPadding', o.outputPadding ?? 0, rank, 0);
  checkOutputPadding(op, outputPadding, stride, dilation);
  return {
    op, rank, transposed: true, stride, dilation,
    padding: parsePadding(op, o.padding, rank, false),
    paddingMode: parseMode(op, o.paddingMode, true),
    outputPadding,
    groups: parseGroups(op, o.groups),
    layout: parseLayout(op, o.dataFormat, rank),
    paddleRules: false,
  };
}

/** PyTorch: `op < s or op < δ` per dim. Paddle: `op < max(s, δ)` — the same rule. */
export function checkOutputPadding(op: string, outPad: readonly number[], stride: readonly number[], dilation: readonly number[]): void {
  if (outPad.some((p, i) => p >= stride[i] && p >= dilation[i]))
    throw new ConvError(op, 'outputPadding',
      `must be smaller than either stride or dilation in each dim; got outputPadding ${fmt(outPad)}, stride ${fmt(stride)}, dilation ${fmt(dilation)}`);
}

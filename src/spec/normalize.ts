/**
 * User arguments → ConvSpec (PyTorch spellings; api/paddle.ts maps Paddle's onto these).
 * Every option value is checked here, before any tensor is looked at.
 */
import { ConvError, fmt, guarded } from './errors.js';
import type { ConvSpec, DType, Layout, Pair, PaddingMode, PadRule, Rank } from './types.js';

/** One integer for every spatial dim, or one per spatial dim (first spatial dim first). */
export type IntOrTuple = number | readonly number[];
/** int | per-dim ints | per-dim [before, after] pairs | 'same' | 'valid'. */
export type PaddingArg = number | readonly number[] | readonly (readonly [number, number])[] | 'same' | 'valid';
/** Paddle's layout names, or convkit's own `'channelsFirst'` / `'channelsLast'` for any rank. */
export type DataFormat = 'NCL' | 'NLC' | 'NCHW' | 'NHWC' | 'NCDHW' | 'NDHWC' | 'channelsFirst' | 'channelsLast';

/** Options of `conv1d` / `conv2d` / `conv3d` (PyTorch's `torch.nn.functional.conv*d` keyword arguments). */
export interface ConvOptions {
  /** Step of the sliding window per spatial dim: a positive integer or one per dim (default 1). */
  stride?: IntOrTuple;
  /**
   * Padding added around the input (default 0): an integer for every side, one integer per dim,
   * one `[before, after]` pair per dim (asymmetric), `'valid'` (no padding) or `'same'` (the output
   * keeps the input's size; needs stride 1; the odd element goes after).
   */
  padding?: PaddingArg;
  /** Spacing between kernel taps per spatial dim: a positive integer or one per dim (default 1). */
  dilation?: IntOrTuple;
  /** Channel groups; must divide the input and output channels; `groups = inChannels` is depthwise (default 1). */
  groups?: number;
  /** How the padding is filled: `'zeros'` (default), `'reflect'` (pad < input size), `'replicate'` or `'circular'` (pad ≤ input size). */
  paddingMode?: PaddingMode;
  /** Layout of input and output (default channels-first, `(N, C, *spatial)`). Weights are always channels-first. */
  dataFormat?: DataFormat;
}

/** Options of `convTranspose1d` / `convTranspose2d` / `convTranspose3d` (PyTorch's `conv_transpose*d`). */
export interface ConvTransposeOptions {
  /** Step between the positions each input element scatters to, per spatial dim (default 1). */
  stride?: IntOrTuple;
  /**
   * Cropped from the full output (default 0): an integer for every side, one per dim, or one
   * `[before, after]` pair per dim. The strings `'same'` / `'valid'` are refused: PyTorch's
   * transposed ops take no padding strings.
   */
  padding?: PaddingArg;
  /**
   * Extra elements on the trailing side of each spatial dim (default 0); each must be smaller than
   * the stride or the dilation of its dim.
   */
  outputPadding?: IntOrTuple;
  /** Spacing between kernel taps per spatial dim (default 1). */
  dilation?: IntOrTuple;
  /** Channel groups; must divide the input and output channels (default 1). */
  groups?: number;
  /**
   * The output size wanted: the spatial sizes, or the full output shape. Each size must lie in
   * `[min, min + stride − 1]` where `min` is the size with no output padding; it sets the output
   * padding (and overrides `outputPadding`), as PyTorch's `output_size`.
   */
  outputSize?: readonly number[];
  /** Only `'zeros'` (the default) is allowed for transposed convolution (as in PyTorch). */
  paddingMode?: PaddingMode;
  /** Layout of input and output (default channels-first). Weights are always channels-first. */
  dataFormat?: DataFormat;
}

const FORMATS: Record<Rank, { first: string; last: string }> = {
  1: { first: 'NCL', last: 'NLC' },
  2: { first: 'NCHW', last: 'NHWC' },
  3: { first: 'NCDHW', last: 'NDHWC' },
};

const MODES: readonly PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];

/** Sizes, strides and pads are integers that a double holds exactly (below 2^53). */
export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * A copy of an option object's own enumerable values, read once each: later reads of a getter or
 * Proxy cannot change what was checked. Keys outside `allowed` are refused with the accepted set
 * (`hints` may explain a key, e.g. that it belongs to `forward`). Whatever reading the object
 * throws becomes a ConvError.
 */
export function readOptions(op: string, o: unknown, allowed: readonly string[], hints: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || guarded(op, 'options', () => Array.isArray(o)))
    throw new ConvError(op, 'options', `must be an object; got ${fmt(o)}`);
  const out: Record<string, unknown> = Object.create(null);
  const keys = guarded(op, 'options', () => Object.keys(o));
  for (const k of keys) {
    if (!allowed.includes(k)) {
      const hint = Object.prototype.hasOwnProperty.call(hints, k) ? ` (${hints[k]})` : '';
      throw new ConvError(op, k, `is not an option of ${op}${hint}; options are ${allowed.join(', ')}`);
    }
    out[k] = guarded(op, k, () => copyValue((o as Record<string, unknown>)[k], 0));
  }
  return out;
}

/** Deepest list nesting an option needs ([[b, a], …] pairs); deeper levels stay as given (and are refused later). */
const COPY_DEPTH = 3;

/** Plain lists are copied element by element (holes stay holes, for the message), so that a Proxy or getter is read once, here. */
function copyValue(v: unknown, depth: number): unknown {
  if (depth >= COPY_DEPTH || !Array.isArray(v)) return v;
  const n = v.length, out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) if (i in v) out[i] = copyValue(v[i], depth + 1);
  return out;
}

/** A plain array's elements, read once by index (holes read as undefined); null for anything else. */
function listOf(v: unknown): unknown[] | null {
  try {
    if (!Array.isArray(v)) return null;
    const n = v.length, out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = v[i];
    return out;
  } catch {
    return null;
  }
}

/**
 * An int or a list of `rank` ints, each satisfying `min`; returns the per-dim list. With `single`
 * (PyTorch's rule for stride, padding, dilation and output padding) a one-element list is also
 * repeated for every dim; Paddle's lists must have one value per dim.
 */
export function perDim(op: string, param: string, v: unknown, rank: number, min: number, single = false): number[] {
  let list = isInt(v) ? new Array<number>(rank).fill(v) : listOf(v);
  if (single && list !== null && list.length === 1 && rank > 1) list = new Array<unknown>(rank).fill(list[0]);
  if (list === null || list.length !== rank || !list.every(isInt))
    throw new ConvError(op, param, `must be an integer or a list of ${single && rank > 1 ? `1 or ${rank}` : rank} integers (each below 2^53); got ${fmt(v)}`);
  if (list.some((x) => (x as number) < min))
    throw new ConvError(op, param, min === 1 ? `must be positive; got ${fmt(v)}` : `must be non-negative; got ${fmt(v)}`);
  return list as number[]; // a fresh array: the spec never shares one with the caller's options
}

/** PyTorch's padding forms → PadRule. Strings are allowed only where `allowStrings` (not for transposed ops). */
function parsePadding(op: string, v: unknown, rank: number, allowStrings: boolean): PadRule {
  if (v === undefined) return { kind: 'explicit', pads: new Array<Pair>(rank).fill([0, 0]) };
  if (typeof v === 'string') {
    if (!allowStrings)
      throw new ConvError(op, 'padding', `must be an integer, ${rank} integers or ${rank} [before, after] pairs (transposed convolution takes no padding strings, as in PyTorch); got ${fmt(v)}`);
    if (v === 'valid') return { kind: 'explicit', pads: new Array<Pair>(rank).fill([0, 0]) };
    if (v === 'same') return { kind: 'same', flavour: 'torch' };
    throw new ConvError(op, 'padding', `must be 'same', 'valid', an integer, ${rank} integers or ${rank} [before, after] pairs; got ${fmt(v)}`);
  }
  const list = listOf(v);
  if (list !== null && list.length === rank && list.some((e) => Array.isArray(e))) {
    const pairs = list.map(listOf);
    if (!pairs.every((p) => p !== null && p.length === 2 && p.every(isInt)))
      throw new ConvError(op, 'padding', `pairs must be ${rank} [before, after] pairs of integers; got ${fmt(v)}`);
    const pads = (pairs as number[][]).map((p) => [p[0], p[1]] as Pair);
    if (pads.some((p) => p[0] < 0 || p[1] < 0))
      throw new ConvError(op, 'padding', `must be non-negative; got ${fmt(v)}`);
    return { kind: 'explicit', pads };
  }
  const sym = perDim(op, 'padding', v, rank, 0, true);
  return { kind: 'explicit', pads: sym.map((p) => [p, p] as Pair) };
}

export function parseLayout(op: string, f: unknown, rank: Rank): Layout {
  if (f === undefined || f === 'channelsFirst') return 'channelsFirst';
  if (f === 'channelsLast') return 'channelsLast';
  const { first, last } = FORMATS[rank];
  if (f === first) return 'channelsFirst';
  if (f === last) return 'channelsLast';
  throw new ConvError(op, 'dataFormat', `must be '${first}' or '${last}' (or 'channelsFirst' / 'channelsLast') for a ${rank}-D op; got ${fmt(f)}`);
}

const DTYPES: readonly DType[] = ['float32', 'float64'];

/**
 * A `dtype` option → DType, or undefined where it is not given: only the two types convkit computes
 * in; anything else is refused, not defaulted. `param` names it in the message (the CLI's '--dtype').
 */
export function parseDType(op: string, v: unknown, param = 'dtype'): DType | undefined {
  if (v === undefined) return undefined;
  if (!DTYPES.includes(v as DType)) throw new ConvError(op, param, `must be 'float32' or 'float64'; got ${fmt(v)}`);
  return v as DType;
}

function parseGroups(op: string, g: unknown): number {
  if (g === undefined) return 1;
  if (!isInt(g) || g < 1) throw new ConvError(op, 'groups', `must be a positive integer; got ${fmt(g)}`);
  return g;
}

export function parseMode(op: string, m: unknown, transposed: boolean): PaddingMode {
  if (m === undefined) return 'zeros';
  if (!MODES.includes(m as PaddingMode))
    throw new ConvError(op, 'paddingMode', `must be one of ${fmt(MODES)}; got ${fmt(m)}`);
  if (transposed && m !== 'zeros')
    throw new ConvError(op, 'paddingMode', `must be 'zeros' for transposed convolution; got ${fmt(m)}`);
  return m as PaddingMode;
}

/** The options `conv1d` … `conv3d` accept. */
export const CONV_KEYS: readonly string[] = ['stride', 'padding', 'dilation', 'groups', 'paddingMode', 'dataFormat'];
/** The options `convTranspose1d` … `convTranspose3d` accept (`outputSize` is read per call, in plan/). */
export const CONVT_KEYS: readonly string[] = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'outputSize', 'paddingMode', 'dataFormat'];

/** Convolution options (already read with `readOptions`) → ConvSpec. `single`: PyTorch's one-element lists (see `perDim`). */
export function convSpecFrom(op: string, rank: Rank, o: Readonly<Record<string, unknown>>, single = true): ConvSpec {
  const stride = perDim(op, 'stride', o.stride ?? 1, rank, 1, single);
  const dilation = perDim(op, 'dilation', o.dilation ?? 1, rank, 1, single);
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

/** Transposed-convolution options (already read with `readOptions`) → ConvSpec (outputSize is handled per call, in plan/). */
export function convTransposeSpecFrom(op: string, rank: Rank, o: Readonly<Record<string, unknown>>, single = true): ConvSpec {
  const stride = perDim(op, 'stride', o.stride ?? 1, rank, 1, single);
  const dilation = perDim(op, 'dilation', o.dilation ?? 1, rank, 1, single);
  const outputPadding = perDim(op, 'outputPadding', o.outputPadding ?? 0, rank, 0, single);
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

/** Convolution options → ConvSpec. */
export function convSpec(op: string, rank: Rank, o: ConvOptions = {}): ConvSpec {
  return convSpecFrom(op, rank, readOptions(op, o, CONV_KEYS));
}

/** Transposed-convolution options → ConvSpec (outputSize is handled per call, in plan/). */
export function convTransposeSpec(op: string, rank: Rank, o: ConvTransposeOptions = {}): ConvSpec {
  return convTransposeSpecFrom(op, rank, readOptions(op, o, CONVT_KEYS));
}

/** PyTorch: `op < s or op < δ` per dim. Paddle: `op < max(s, δ)` — the same rule. */
export function checkOutputPadding(op: string, outPad: readonly number[], stride: readonly number[], dilation: readonly number[]): void {
  if (outPad.some((p, i) => p >= stride[i] && p >= dilation[i]))
    throw new ConvError(op, 'outputPadding',
      `must be smaller than either stride or dilation in each dim; got outputPadding ${fmt(outPad)}, stride ${fmt(stride)}, dilation ${fmt(dilation)}`);
}

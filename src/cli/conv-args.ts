/**
 * Command-line words → what the library takes: op names, integer lists, padding spellings, and the
 * options object of the PyTorch functional API or of Paddle's. Also plans a call in either spelling.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { convSpec, convTransposeSpec, type ConvOptions, type ConvTransposeOptions, type DataFormat, type PaddingArg } from '../spec/normalize.js';
import type { ConvSpec, PaddingMode, Rank } from '../spec/types.js';
import { planConv, type ConvPlan } from '../plan/plan.js';
import type { ConvOpName } from '../functional/describe.js';
import * as functional from '../functional/conv.js';
import * as paddle from '../api/paddle.js';
import type { Tensor } from '../autograd/tensor.js';

export interface OpInfo {
  readonly name: ConvOpName;
  readonly rank: Rank;
  readonly transposed: boolean;
}

/** Accepts conv2d, Conv2d, convTranspose1d, conv_transpose1d, conv1d_transpose, Conv1DTranspose, … */
export function parseOp(s: string): OpInfo {
  const k = String(s).toLowerCase().replace(/[_-]/g, '');
  const m = /^conv([123])d(transpose)?$/.exec(k) ?? /^conv(transpose)([123])d$/.exec(k);
  if (!m) throw new ConvError('convkit', 'op', `must be one of conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d; got ${fmt(s)}`);
  const rank = Number(m[1] === 'transpose' ? m[2] : m[1]) as Rank;
  const transposed = m[1] === 'transpose' || m[2] === 'transpose';
  return { name: `${transposed ? 'convTranspose' : 'conv'}${rank}d` as ConvOpName, rank, transposed };
}

/** "1,16,10" → [1, 16, 10]. */
export function intList(param: string, s: string, min = 0): number[] {
  const parts = String(s).split(',').map((p) => p.trim());
  const v = parts.map(Number);
  if (parts.some((p) => p === '') || v.some((x) => !Number.isInteger(x) || x < min))
    throw new ConvError('convkit', param, `must be ${min > 0 ? 'positive' : 'non-negative'} integers separated by commas; got ${fmt(s)}`);
  return v;
}

/** "1,2.5,-3" → numbers (values of a small example). */
export function numberList(param: string, s: string): number[] {
  const parts = String(s).split(',').map((p) => p.trim());
  const v = parts.map(Number);
  if (parts.some((p) => p === '') || v.some((x) => Number.isNaN(x)))
    throw new ConvError('convkit', param, `must be numbers separated by commas; got ${fmt(s)}`);
  return v;
}

/** One int, or a comma list: "2" → 2, "2,1" → [2, 1]. */
const intOrList = (param: string, s: string | undefined): number | number[] | undefined => {
  if (s === undefined) return undefined;
  const v = intList(param, s);
  return v.length === 1 ? v[0] : v;
};

/** Raw option values as commander hands them over. */
export interface RawConvArgs {
  stride?: string;
  padding?: string;
  dilation?: string;
  groups?: string;
  outputPadding?: string;
  outputSize?: string;
  paddingMode?: string;
  dataFormat?: string;
  paddle?: boolean;
}

/** '--padding' accepts an int, a comma list, JSON pairs ('[[1,0],[0,1]]') or 'same'/'valid' ('SAME'/'VALID' with --paddle). */
function parsePaddingArg(s: string | undefined): PaddingArg | string | number[] | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t.startsWith('[')) {
    try {
      return JSON.parse(t) as PaddingArg;
    } catch {
      throw new ConvError('convkit', '--padding', `must be valid JSON when it starts with '['; got ${fmt(s)}`);
    }
  }
  if (/^[a-z]+$/i.test(t)) return t;
  return intOrList('--padding', t);
}

export type AnyOptions = ConvOptions & ConvTransposeOptions & paddle.PaddleConvTransposeOptions;

/** The options object for the op, in PyTorch's or (with --paddle) Paddle's spelling. */
export function convOptions(info: OpInfo, raw: RawConvArgs): AnyOptions {
  const o: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => { if (v !== undefined) o[k] = v; };
  set('stride', intOrList('--stride', raw.stride));
  set('padding', parsePaddingArg(raw.padding));
  set('dilation', intOrList('--dilation', raw.dilation));
  if (raw.groups !== undefined) set('groups', intList('--groups', raw.groups, 1)[0]);
  set('dataFormat', raw.dataFormat as DataFormat | undefined);
  if (raw.paddingMode !== undefined) {
    if (raw.paddle) throw new ConvError('convkit', '--padding-mode', `is not an option of Paddle's functional ${info.name}; got ${fmt(raw.paddingMode)}`);
    set('paddingMode', raw.paddingMode as PaddingMode);
  }
  if (!info.transposed) {
    for (const [flag, v] of [['--output-padding', raw.outputPadding], ['--output-size', raw.outputSize]] as const)
      if (v !== undefined) throw new ConvError(info.name, flag, `applies to transposed convolution only; got ${fmt(v)}`);
  } else {
    set('outputPadding', intOrList('--output-padding', raw.outputPadding));
    if (raw.outputSize !== undefined) set('outputSize', intList('--output-size', raw.outputSize));
  }
  return o as AnyOptions;
}

/** Paddle's op name for messages and its functional entry point. */
const paddleName = (info: OpInfo) => `conv${info.rank}d${info.transposed ? 'Transpose' : ''}`;

/**
 * The spec of a call in either spelling. Paddle's comes from api/paddle.ts's own parser under the
 * layer's name (Conv1D, Conv2DTranspose, …), as its module would build it, without constructing
 * one: no weights are allocated or initialised, and the global random generator does not move.
 */
export function specFor(info: OpInfo, o: AnyOptions, paddleRules: boolean): ConvSpec {
  if (!paddleRules) {
    const { outputSize: _size, ...rest } = o;
    return info.transposed ? convTransposeSpec(info.name, info.rank, rest) : convSpec(info.name, info.rank, rest as ConvOptions);
  }
  const { outputSize: _size, paddingMode: _mode, ...rest } = o;
  return paddle.paddleConvSpec(`Conv${info.rank}D${info.transposed ? 'Transpose' : ''}`, info.rank, info.transposed, rest as never);
}

/** Plans a call without running it (validating exactly as the op would). */
export function planFor(info: OpInfo, o: AnyOptions, paddleRules: boolean, xShape: readonly number[], wShape: readonly number[], bShape: readonly number[] | null = null): ConvPlan {
  const d = info.rank;
  if (wShape.length !== d + 2)
    throw new ConvError(paddleRules ? paddleName(info) : info.name, 'weight', `must be ${d + 2}-D; got shape ${fmt(wShape)}`);
  const spec = specFor(info, o, paddleRules);
  return planConv(spec, xShape, wShape, bShape, info.transposed ? o.outputSize : undefined);
}

/** Runs the op through the public functional API (PyTorch's, or `paddle.*` with --paddle). */
export function runOp(info: OpInfo, o: AnyOptions, paddleRules: boolean, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  if (paddleRules) {
    const fn = (paddle as unknown as Record<string, (x: Tensor, w: Tensor, b: Tensor | null, o: object) => Tensor>)[paddleName(info)];
    return fn(x, w, b, o);
  }
  const fn = (functional as unknown as Record<string, (x: Tensor, w: Tensor, b: Tensor | null, o: object) => Tensor>)[info.name];
  return fn(x, w, b, o);
}

/**
 * The public, checked forms of the shape helpers of `shape.ts`. The plan and the streams call the
 * unchecked formulas on values already validated; a caller of these gets a ConvError naming the
 * parameter, the rule and the value for anything outside the formulas' domain (NaN, strings,
 * negative or fractional sizes, a padding that is not a `[before, after]` pair, sizes whose result
 * passes 2^53 − 1) instead of NaN, a silently wrong number or a raw TypeError.
 */
import { ConvError, fmt, readList } from './errors.js';
import * as raw from './shape.js';
import type { Pair } from './types.js';

/** `v` as an integer ≥ `min` (a safe integer), or a ConvError naming `op` and `param`. */
function int(op: string, param: string, v: unknown, min: 0 | 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new ConvError(op, param, `must be ${min ? 'a positive' : 'a non-negative'} integer; got ${fmt(v)}`);
  return v;
}

/** A plain copy of a `[before, after]` pair of non-negative integers, read once. */
function pair(op: string, v: unknown): Pair {
  const list = readList(op, 'padding', v, 2);
  if (list === null || list.length !== 2 || !list.every((p) => typeof p === 'number' && Number.isSafeInteger(p) && p >= 0))
    throw new ConvError(op, 'padding', `must be a [before, after] pair of non-negative integers; got ${fmt(v)}`);
  return list as unknown as Pair;
}

/** The checks shared by the conv and transposed-conv sizes; returns a plain copy of the padding. */
function checkAll(op: string, L: number, k: number, s: number, d: number, pad: unknown): Pair {
  int(op, 'inSize', L, 0);
  int(op, 'kernelSize', k, 1);
  int(op, 'stride', s, 1);
  int(op, 'dilation', d, 1);
  return pair(op, pad);
}

/** `(L − 1)·s − p0 − p1 + span + outPad`: positive terms and negative terms (−s when L = 0) each exact. */
function transposeFits(op: string, L: number, k: number, s: number, d: number, p: Pair, outPad: number, args: readonly unknown[]): void {
  fits(op, '(inSize, kernelSize, stride, dilation, padding, outputPadding)', args,
    Math.max(L - 1, 0) * s + raw.span(k, d) + outPad, p[0] + p[1] + (L === 0 ? s : 0));
}

/**
 * Refuses arguments whose sums pass 2^53 − 1. The formulas add and subtract non-negative terms;
 * when the positive and the negative terms each sum to a safe integer, every intermediate value
 * is an exact integer, and so is the result.
 */
function fits(op: string, names: string, args: readonly unknown[], ...totals: number[]): void {
  if (!totals.every((t) => Number.isSafeInteger(t)))
    throw new ConvError(op, names, `must together keep the formula's sums within 2^53 − 1, so that the result is exact; got ${fmt(args)}`);
}

/**
 * Dilated kernel extent: `span(k, δ) = δ·(k − 1) + 1`.
 * @param k kernel size, a positive integer.
 * @param d dilation, a positive integer.
 * @example span(3, 2) // 5
 */
export function span(k: number, d: number): number {
  const op = 'span';
  const r = raw.span(int(op, 'kernelSize', k, 1), int(op, 'dilation', d, 1));
  fits(op, '(kernelSize, dilation)', [k, d], r);
  return r;
}

/**
 * Output length of a convolution along one dimension:
 * `L_out = floor((L + p0 + p1 − δ·(k − 1) − 1) / s) + 1` (≤ 0 where the kernel does not fit).
 * @param L input length, a non-negative integer.
 * @param k kernel size, a positive integer.
 * @param s stride, a positive integer.
 * @param d dilation, a positive integer.
 * @param pad `[before, after]`, non-negative integers.
 * @example convOutSize(50, 3, 2, 1, [0, 0]) // 24
 */
export function convOutSize(L: number, k: number, s: number, d: number, pad: Pair): number {
  const op = 'convOutSize';
  const p = checkAll(op, L, k, s, d, pad);
  fits(op, '(inSize, kernelSize, stride, dilation, padding)', [L, k, s, d, p], L + p[0] + p[1], raw.span(k, d));
  return raw.convOutSize(L, k, s, d, p);
}

/**
 * Output length of a transposed convolution along one dimension:
 * `L_out = (L − 1)·s − p0 − p1 + δ·(k − 1) + op + 1` (≤ 0 where the padding crops everything).
 * @param L input length, a non-negative integer.
 * @param k kernel size, a positive integer.
 * @param s stride, a positive integer.
 * @param d dilation, a positive integer.
 * @param pad `[before, after]`, non-negative integers.
 * @param outPad output padding, a non-negative integer.
 * @example convTransposeOutSize(10, 3, 2, 1, [1, 1], 1) // 20
 */
export function convTransposeOutSize(L: number, k: number, s: number, d: number, pad: Pair, outPad: number): number {
  const op = 'convTransposeOutSize';
  const p = checkAll(op, L, k, s, d, pad);
  int(op, 'outputPadding', outPad, 0);
  transposeFits(op, L, k, s, d, p, outPad, [L, k, s, d, p, outPad]);
  return raw.convTransposeOutSize(L, k, s, d, p, outPad);
}

/**
 * The `outputSize` values a transposed convolution accepts along one dimension:
 * `[min, min + s − 1]` where `min` is the size with no output padding (PyTorch; Paddle's `[L′, L′ + s)`).
 * Arguments as for {@link convTransposeOutSize}, without the output padding.
 * @example outputSizeRange(10, 3, 2, 1, [1, 1]) // { min: 19, max: 20 }
 */
export function outputSizeRange(L: number, k: number, s: number, d: number, pad: Pair): { min: number; max: number } {
  const op = 'outputSizeRange';
  const p = checkAll(op, L, k, s, d, pad);
  transposeFits(op, L, k, s, d, p, s - 1, [L, k, s, d, p]);
  return raw.outputSizeRange(L, k, s, d, p);
}

/**
 * PyTorch's `padding='same'` (stride 1): total `δ·(k − 1)`, `before = total // 2`, the odd one after.
 * @param k kernel size, a positive integer.
 * @param d dilation, a positive integer.
 * @example torchSamePads(4, 1) // [1, 2]
 */
export function torchSamePads(k: number, d: number): Pair {
  const op = 'torchSamePads';
  fits(op, '(kernelSize, dilation)', [k, d], raw.span(int(op, 'kernelSize', k, 1), int(op, 'dilation', d, 1)));
  return raw.torchSamePads(k, d);
}

/**
 * Paddle's `padding='SAME'` (any stride; dilation taken as 1): `o = ceil(L / s)`,
 * `padSum = max((o − 1)·s + k − L, 0)`, `before = floor(padSum / 2)`.
 * @param L input length, a non-negative integer.
 * @param k kernel size, a positive integer.
 * @param s stride, a positive integer.
 * @example paddleSamePads(4, 2, 2) // [0, 0]
 */
export function paddleSamePads(L: number, k: number, s: number): Pair {
  const op = 'paddleSamePads';
  int(op, 'inSize', L, 0);
  int(op, 'kernelSize', k, 1);
  int(op, 'stride', s, 1);
  // (ceil(L/s) − 1)·s < L, so every intermediate is below L + k.
  fits(op, '(inSize, kernelSize, stride)', [L, k, s], L + k);
  return raw.paddleSamePads(L, k, s);
}

/**
 * The only output-size formulas of convkit, and the 'same' rules. Pure functions of numbers.
 * These are the formulas of the seed pages, corrected (see SPEC).
 */
import { ConvError, fmt } from './errors.js';
import type { Pair } from './types.js';

/** Dilated kernel extent: `span(k, δ) = δ·(k − 1) + 1`. */
export const span = (k: number, d: number): number => d * (k - 1) + 1;

/**
 * Output length of a convolution along one dimension:
 * `L_out = floor((L + p0 + p1 − δ·(k − 1) − 1) / s) + 1`.
 * @example convOutSize(50, 3, 2, 1, [0, 0]) // 24
 */
export const convOutSize = (L: number, k: number, s: number, d: number, [p0, p1]: Pair): number =>
  Math.floor((L + p0 + p1 - span(k, d)) / s) + 1;

/**
 * Output length of a transposed convolution along one dimension:
 * `L_out = (L − 1)·s − p0 − p1 + δ·(k − 1) + op + 1`.
 * @example convTransposeOutSize(10, 3, 2, 1, [1, 1], 1) // 20
 */
export const convTransposeOutSize = (L: number, k: number, s: number, d: number, [p0, p1]: Pair, outPad: number): number =>
  (L - 1) * s - p0 - p1 + span(k, d) + outPad;

/**
 * The `outputSize` values a transposed convolution accepts along one dimension:
 * `[min, min + s − 1]` where `min` is the size with no output padding (PyTorch; Paddle's `[L′, L′ + s)`).
 */
export function outputSizeRange(L: number, k: number, s: number, d: number, pad: Pair): { min: number; max: number } {
  const min = convTransposeOutSize(L, k, s, d, pad, 0);
  return { min, max: min + s - 1 };
}

/**
 * PyTorch's `padding='same'` (stride 1): total `δ·(k − 1)`, `before = total // 2`, the odd one after.
 * @example torchSamePads(4, 1) // [1, 2]
 */
export function torchSamePads(k: number, d: number): Pair {
  const total = d * (k - 1);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * Paddle's `padding='SAME'` (any stride; dilation taken as 1): `o = ceil(L / s)`,
 * `padSum = max((o − 1)·s + k − L, 0)`, `before = floor(padSum / 2)`.
 * @example paddleSamePads(4, 2, 2) // [0, 0]
 */
export function paddleSamePads(L: number, k: number, s: number): Pair {
  const o = Math.ceil(L / s);
  const padSum = Math.max((o - 1) * s + k - L, 0);
  const before = Math.floor(padSum / 2);
  return [before, padSum - before];
}

/**
 * `forward(x, outputSize)`: spatial sizes, or the full `(N?, C, *spatial)` shape → output padding per dim.
 * `min` is the output size with no output padding; each requested size must lie in `[min, min + s − 1]`.
 */
export function outputPaddingFor(
  op: string,
  min: readonly number[],
  stride: readonly number[],
  requested: readonly number[],
  inSize: readonly number[],
): number[] {
  const d = min.length;
  if (requested.length !== d && requested.length !== d + 1 && requested.length !== d + 2)
    throw new ConvError(op, 'outputSize', `must have ${d} (spatial) or ${d + 2} (full shape) elements; got ${fmt(requested)}`);
  const size = requested.slice(-d);
  if (size.some((v) => !Number.isInteger(v)))
    throw new ConvError(op, 'outputSize', `must be integers; got ${fmt(requested)}`);
  const max = min.map((m, i) => m + stride[i] - 1);
  if (size.some((v, i) => v < min[i] || v > max[i]))
    throw new ConvError(op, 'outputSize',
      `must lie between ${fmt(min)} and ${fmt(max)} (inclusive) for input size ${fmt(inSize)} and stride ${fmt(stride)}; got ${fmt(size)}`);
  return size.map((v, i) => v - min[i]);
}

/**
 * The only output-size formulas of convkit, and the 'same' rules. Pure functions of numbers.
 * These are the formulas of the seed pages, corrected (see docs/behaviour.md).
 * Unchecked, for the plan's validated values; the public API exports the checked forms of
 * `shape-checked.ts`.
 */
import { ConvError, fmt } from './errors.js';
import type { Geometry, Layout, Pair } from './types.js';

/**
 * The weight's shape: `(outChannels, inChannels/groups, *kernel)` for a convolution,
 * `(inChannels, outChannels/groups, *kernel)` for a transposed one (`groups` divides both counts).
 */
export const weightShapeFor = (transposed: boolean, inChannels: number, outChannels: number, groups: number, kernelSize: readonly number[]): number[] =>
  transposed ? [inChannels, outChannels / groups, ...kernelSize] : [outChannels, inChannels / groups, ...kernelSize];

/** The channel counts a weight of shape `w` implies with `groups` (the inverse of `weightShapeFor`). */
export const weightChannels = (transposed: boolean, w: readonly number[], groups: number): { inChannels: number; outChannels: number } =>
  transposed ? { inChannels: w[0], outChannels: w[1] * groups } : { inChannels: w[1] * groups, outChannels: w[0] };

/**
 * Multiply-accumulates of a convolution, in the convolution direction (a transposed one is its
 * adjoint, the same count): `N·Cout·prod(outSize)·(Cin/g)·prod(k)`, without the products with padding
 * or inserted zeros.
 */
export const macCount = (g: Pick<Geometry, 'n' | 'cIn' | 'cOut' | 'groups' | 'outSize' | 'kSize'>): number =>
  g.n * g.cOut * g.outSize.reduce((a, b) => a * b, 1) * (g.cIn / g.groups) * g.kSize.reduce((a, b) => a * b, 1);

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

/** What outputPaddingFor checks a requested output size against. */
export interface OutputSizeContext {
  /** The output's spatial size with no output padding. */
  readonly min: readonly number[];
  readonly stride: readonly number[];
  readonly inSize: readonly number[];
  readonly batched: boolean;
  /** The batch size (checked only when batched). */
  readonly n: number;
  /** The output's channels. */
  readonly channels: number;
  readonly layout: Layout;
}

/**
 * PyTorch's `forward(x, outputSize)` → the output padding per dim. `requested` is the d spatial
 * sizes, or the full output shape — d + 2 elements for a batched input, d + 1 for an unbatched one,
 * (N?, C, *spatial) or (N?, *spatial, C) in the call's layout — whose batch and channels must be
 * the output's. Each spatial size must lie in `[min, min + s − 1]`; the output padding is the
 * difference to `min`, so it is always smaller than the stride.
 */
export function outputPaddingFor(op: string, requested: readonly number[], c: OutputSizeContext): number[] {
  const d = c.min.length, full = d + (c.batched ? 2 : 1);
  if (!Array.isArray(requested))
    throw new ConvError(op, 'outputSize', `must be a list of ${d} spatial sizes or the full output shape; got ${fmt(requested)}`);
  if (requested.length !== d && requested.length !== full)
    throw new ConvError(op, 'outputSize', `must have ${d} (spatial) or ${full} (full shape of a${c.batched ? ' batched' : 'n unbatched'} input) elements; got ${fmt(requested)}`);
  let size = requested;
  if (requested.length === full) {
    const channels = c.layout === 'channelsLast' ? requested[full - 1] : requested[full - d - 1];
    if (channels !== c.channels || (c.batched && requested[0] !== c.n))
      throw new ConvError(op, 'outputSize', `as a full shape must match the output's batch and channels (${c.batched ? `N=${c.n}, ` : ''}C=${c.channels}); got ${fmt(requested)}`);
    size = c.layout === 'channelsLast' ? requested.slice(full - d - 1, full - 1) : requested.slice(full - d);
  }
  if (size.some((v) => !Number.isInteger(v)))
    throw new ConvError(op, 'outputSize', `must be integers; got ${fmt(requested)}`);
  const max = c.min.map((m, i) => m + c.stride[i] - 1);
  if (size.some((v, i) => v < c.min[i] || v > max[i]))
    throw new ConvError(op, 'outputSize',
      `must lie between ${fmt(c.min)} and ${fmt(max)} (inclusive) for input size ${fmt(c.inSize)} and stride ${fmt(c.stride)}; got ${fmt(size)}`);
  return size.map((v, i) => v - c.min[i]);
}

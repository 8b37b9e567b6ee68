/** Pure types shared by every layer of convkit. Nothing here touches tensors or I/O. */

export type DType = 'float32' | 'float64';
export type Pair = readonly [before: number, after: number];
export type Layout = 'channelsFirst' | 'channelsLast';
export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';
export type Rank = 1 | 2 | 3;

export type PadRule =
  | { readonly kind: 'explicit'; readonly pads: readonly Pair[] }
  | { readonly kind: 'same'; readonly flavour: 'torch' | 'paddle' };

/** What the user asked for, normalised. Independent of tensor sizes. */
export interface ConvSpec {
  /** 'conv2d', 'convTranspose1d', 'Conv1DTranspose', … (names the op in errors). */
  readonly op: string;
  readonly rank: Rank;
  readonly transposed: boolean;
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly padding: PadRule;
  readonly paddingMode: PaddingMode;
  /** zeros unless transposed */
  readonly outputPadding: readonly number[];
  readonly groups: number;
  readonly layout: Layout;
  /** Paddle's rules: batched input only; no outputSize together with a non-zero outputPadding. */
  readonly paddleRules: boolean;
}

/**
 * What a kernel needs: numbers only, channels-first, in the *convolution* direction (in → out).
 * A transposed convolution reuses the geometry of the convolution it transposes: its input lives
 * in `outSize` with `cOut` channels and its output in `inSize` with `cIn` channels.
 * The trailing pad and the output padding show up only as sizes.
 */
export interface Geometry {
  readonly n: number;
  readonly cIn: number;
  readonly cOut: number;
  readonly groups: number;
  readonly inSize: readonly number[];
  readonly outSize: readonly number[];
  readonly kSize: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly padBefore: readonly number[];
}

export type Shape = readonly number[];

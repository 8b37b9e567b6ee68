/**
 * `describeConv`: the plan of a call without running it — output shape, resolved pads, output
 * padding and the convolution-direction Geometry. For tools (CLI `shape`/`explain`, the explainer page).
 */
import { convSpec, convTransposeSpec, type ConvOptions, type ConvTransposeOptions } from '../spec/normalize.js';
import { ConvError, fmt } from '../spec/errors.js';
import type { ConvSpec, Geometry, Pair, Rank } from '../spec/types.js';
import { planConv } from '../plan/plan.js';

export type ConvOpName = 'conv1d' | 'conv2d' | 'conv3d' | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d';

export interface ConvDescription {
  readonly op: ConvOpName;
  readonly transposed: boolean;
  readonly rank: Rank;
  readonly inputShape: readonly number[];
  readonly weightShape: readonly number[];
  readonly outputShape: readonly number[];
  /** Resolved [before, after] padding per spatial dim ('same' applied). */
  readonly pads: readonly Pair[];
  readonly outputPadding: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly groups: number;
  /** Convolution-direction geometry (for a transposed op: the conv it transposes). */
  readonly geometry: Geometry;
}

/**
 * Plans `op` for the given shapes and options, validating exactly as the op itself would.
 * @example describeConv('convTranspose1d', [1, 16, 10], [16, 8, 3], { stride: 2, padding: 1, outputPadding: 1 }).outputShape // [1, 8, 20]
 */
export function describeConv(op: ConvOpName, inputShape: readonly number[], weightShape: readonly number[],
  options: ConvOptions | ConvTransposeOptions = {}): ConvDescription {
  const m = typeof op === 'string' ? /^(conv|convTranspose)([123])d$/.exec(op) : null;
  if (!m) throw new ConvError('describeConv', 'op', `must be one of conv1d … conv3d, convTranspose1d … convTranspose3d; got ${fmt(op)}`);
  const rank = Number(m[2]) as Rank, transposed = m[1] === 'convTranspose';
  const spec = transposed ? convTransposeSpec(op, rank, options as ConvTransposeOptions) : convSpec(op, rank, options as ConvOptions);
  return describeSpec(op, spec, inputShape, weightShape, transposed ? (options as ConvTransposeOptions).outputSize : undefined);
}

/** The description of a parsed spec (Paddle's describeConv in api/paddle.ts shares it). */
export function describeSpec<Op extends string>(op: Op, spec: ConvSpec, inputShape: readonly number[], weightShape: readonly number[],
  outputSize: readonly number[] | undefined): Omit<ConvDescription, 'op'> & { readonly op: Op } {
  const plan = planConv(spec, inputShape, weightShape, null, outputSize);
  return {
    op, transposed: spec.transposed, rank: spec.rank, inputShape: [...inputShape], weightShape: [...weightShape], outputShape: plan.outShape,
    pads: plan.pads, outputPadding: plan.outputPadding, stride: spec.stride, dilation: spec.dilation, groups: spec.groups,
    geometry: plan.geometry,
  };
}

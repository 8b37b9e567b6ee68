/**
 * The functional API: conv1d … convTranspose3d, PyTorch's `torch.nn.functional` names in camelCase.
 * Each op parses its options into a spec (the last call's spec is reused while the options repeat,
 * plan/spec-cache.ts) and runs the one shared path (apply.ts).
 */
import { convSpec, convTransposeSpec, type ConvOptions, type ConvTransposeOptions } from '../spec/normalize.js';
import type { ConvSpec, Rank } from '../spec/types.js';
import { specCache } from '../plan/spec-cache.js';
import type { Tensor } from '../autograd/tensor.js';
import { applyConv, epilogueOf, type EpilogueOptions } from './apply.js';

const CONV_FIELDS = ['stride', 'padding', 'dilation', 'groups', 'paddingMode', 'dataFormat'];
const CONVT_FIELDS = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'paddingMode', 'dataFormat'];

const ranks: readonly Rank[] = [1, 2, 3];
/** The spec of conv{1,2,3}d's options, one cache per op, shared by the sync and async forms. */
export const convSpecs = Object.fromEntries(ranks.map((rank) =>
  [rank, specCache<ConvOptions>(CONV_FIELDS, (o) => convSpec(`conv${rank}d`, rank, o))])) as Record<Rank, (o: ConvOptions) => ConvSpec>;
/** The spec of convTranspose{1,2,3}d's options (outputSize is not part of it: plan/ checks it on every call). */
export const convTransposeSpecs = Object.fromEntries(ranks.map((rank) =>
  [rank, specCache<ConvTransposeOptions>(CONVT_FIELDS, (o) => convTransposeSpec(`convTranspose${rank}d`, rank, o))])) as Record<Rank, (o: ConvTransposeOptions) => ConvSpec>;

function makeConv(rank: Rank) {
  const op = `conv${rank}d`, specOf = convSpecs[rank];
  return (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions & EpilogueOptions = {}): Tensor => {
    const { conv, epilogue } = epilogueOf<ConvOptions>(op, options);
    return applyConv(specOf(conv), input, weight, bias, undefined, epilogue);
  };
}

function makeConvTranspose(rank: Rank) {
  const op = `convTranspose${rank}d`, specOf = convTransposeSpecs[rank];
  return (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions & EpilogueOptions = {}): Tensor => {
    const { conv, epilogue } = epilogueOf<ConvTransposeOptions>(op, options);
    return applyConv(specOf(conv), input, weight, bias, conv.outputSize, epilogue);
  };
}

/**
 * 1-D convolution (cross-correlation). input (N, C_in, L) or (C_in, L); weight (C_out, C_in/groups, k).
 * `L_out = floor((L + 2p − δ(k−1) − 1)/s) + 1`.
 * @example conv1d(randn([20, 16, 50]), randn([33, 16, 3]), null, { stride: 2 }).shape // [20, 33, 24]
 */
export const conv1d = makeConv(1);
/** 2-D convolution; input (N, C_in, H, W); weight (C_out, C_in/groups, kH, kW). */
export const conv2d = makeConv(2);
/** 3-D convolution; input (N, C_in, D, H, W); weight (C_out, C_in/groups, kD, kH, kW). */
export const conv3d = makeConv(3);
/**
 * 1-D transposed convolution. input (N, C_in, L); weight (C_in, C_out/groups, k).
 * `L_out = (L − 1)·s − 2p + δ(k−1) + outputPadding + 1`.
 * @example convTranspose1d(randn([1, 16, 10]), randn([16, 8, 3]), null, { stride: 2, padding: 1, outputPadding: 1 }).shape // [1, 8, 20]
 */
export const convTranspose1d = makeConvTranspose(1);
/** 2-D transposed convolution; weight (C_in, C_out/groups, kH, kW). */
export const convTranspose2d = makeConvTranspose(2);
/** 3-D transposed convolution; weight (C_in, C_out/groups, kD, kH, kW). */
export const convTranspose3d = makeConvTranspose(3);

/**
 * conv1dAsync … convTranspose3dAsync: the functional API with the same arguments, returning a
 * Promise<Tensor> whose value and autograd node equal the synchronous call's. The forward kernels
 * run on the driver worker (see driver.ts), so the calling thread (a browser's main thread, Node's
 * event loop) stays responsive; backward runs synchronously like every other backward.
 */
import { convSpec, convTransposeSpec, type ConvOptions, type ConvTransposeOptions } from '../spec/normalize.js';
import type { ConvSpec, Rank } from '../spec/types.js';
import { planConvCached } from '../plan/cache.js';
import { checkTensors, convPrimitive, fromChannelsFirst, padInput, toChannelsFirst } from '../functional/conv.js';
import { isGradEnabled, noGrad } from '../autograd/graph.js';
import type { Tensor } from '../autograd/tensor.js';
import { forwardAsync } from './driver.js';

/**
 * Validates, plans and runs one call like applyConv, awaiting the forward kernels. Errors in the
 * arguments reject the promise with the synchronous call's ConvError. Whether gradients are
 * recorded is decided when the call is made (noGrad around the call holds for its result).
 */
export async function applyConvAsync(spec: ConvSpec, x: Tensor, w: Tensor, b: Tensor | null | undefined, outputSize?: readonly number[]): Promise<Tensor> {
  checkTensors(spec.op, x, w, b);
  const plan = planConvCached(spec, x.shape, w.shape, b ? b.shape : null, outputSize);
  const grad = isGradEnabled(), g = plan.geometry, rank = spec.rank;
  let h = spec.layout === 'channelsLast' ? toChannelsFirst(x, rank) : x;
  if (!plan.batched) h = h.reshape([1, ...h.shape]);
  if (plan.inputPad) h = padInput(h, plan.inputPad);
  const data = await forwardAsync(h.data, w.data, b ? b.data : null, g, spec.transposed);
  const finish = () => {
    let y = convPrimitive(h, w, g, spec.transposed, spec.op, { bias: b }, data);
    if (!plan.batched) y = y.reshape(y.shape.slice(1));
    return spec.layout === 'channelsLast' ? fromChannelsFirst(y, rank) : y;
  };
  return grad ? finish() : noGrad(finish);
}

function makeConvAsync(rank: Rank) {
  const op = `conv${rank}d`;
  return async (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Promise<Tensor> =>
    applyConvAsync(convSpec(op, rank, options), input, weight, bias);
}

function makeConvTransposeAsync(rank: Rank) {
  const op = `convTranspose${rank}d`;
  return async (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): Promise<Tensor> =>
    applyConvAsync(convTransposeSpec(op, rank, options), input, weight, bias, options.outputSize);
}

/**
 * conv1d without blocking: the same arguments and result, as a Promise.
 * @example const y = await conv1dAsync(randn([20, 16, 50]), randn([33, 16, 3]), null, { stride: 2 }) // y.shape [20, 33, 24]
 */
export const conv1dAsync = makeConvAsync(1);
/** conv2d without blocking. */
export const conv2dAsync = makeConvAsync(2);
/** conv3d without blocking. */
export const conv3dAsync = makeConvAsync(3);
/**
 * convTranspose1d without blocking.
 * @example const y = await convTranspose1dAsync(randn([1, 16, 10]), randn([16, 8, 3]), null, { stride: 2 }) // y.shape [1, 8, 21]
 */
export const convTranspose1dAsync = makeConvTransposeAsync(1);
/** convTranspose2d without blocking. */
export const convTranspose2dAsync = makeConvTransposeAsync(2);
/** convTranspose3d without blocking. */
export const convTranspose3dAsync = makeConvTransposeAsync(3);

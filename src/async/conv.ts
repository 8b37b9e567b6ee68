/**
 * conv1dAsync … convTranspose3dAsync: the functional API with the same arguments, returning a
 * Promise<Tensor> whose value and autograd node equal the synchronous call's. The forward kernels
 * run on the driver worker (see driver.ts), so the calling thread (a browser's main thread, Node's
 * event loop) stays responsive; backward runs synchronously like every other backward.
 */
import type { ConvOptions, ConvTransposeOptions } from '../spec/normalize.js';
import type { ConvSpec, Rank } from '../spec/types.js';
import { epilogueOf, planCall, prepare, type EpilogueOptions, type TensorEpilogue } from '../functional/apply.js';
import { convSpecs, convTransposeSpecs } from '../functional/conv.js';
import { isGradEnabled, noGrad } from '../autograd/graph.js';
import type { Tensor } from '../autograd/tensor.js';
import { selectCandidate } from '../plan/select.js';
import { forwardAsync } from './driver.js';
import { forwardOnDevice } from './device.js';
import type { F } from '../kernels/types.js';

/**
 * Validates, plans and runs one call on the path of applyConv (the same spec and plan caches, the
 * same layout, padding and epilogue ops), awaiting the forward kernels: the conv and its bias run
 * on the driver, the rest of the epilogue here. Errors in the arguments reject the promise with
 * the synchronous call's ConvError. Whether gradients are recorded is decided when the call is
 * made (noGrad around the call holds for its result).
 */
export async function applyConvAsync(spec: ConvSpec, x: Tensor, w: Tensor, b: Tensor | null | undefined, outputSize?: readonly number[], ep: TensorEpilogue = {}): Promise<Tensor> {
  const grad = isGradEnabled();
  const plan = planCall(spec, x, w, b, outputSize, ep);
  const call = prepare(plan, x, w, b ?? null, ep);
  // GPU tensors: enqueueing does not block (only reading does), so the call is the synchronous one.
  if (call.h.device === 'webgpu') return grad ? call.run() : noGrad(() => call.run());
  const g = plan.geometry, dir = spec.transposed ? 'convT' : 'conv';
  const c = selectCandidate(g, x.dtype, dir, true);
  const data = c.location === 'device'
    ? await forwardOnDevice(c.kernels, call.h.data, w.data, b ? b.data : null, g, spec.transposed)
    : await forwardAsync(own(call.h.data), own(w.data), b ? own(b.data) : null, g, spec.transposed);
  return grad ? call.run(data) : noGrad(() => call.run(data));
}

/**
 * An operand as the driver may receive it: postMessage would share a SharedArrayBuffer-backed
 * array (a write after the call would reach the call) and clone the whole buffer behind a small
 * view, so those are copied here, their own bytes only. A whole ordinary array is cloned by
 * postMessage itself (and a call that runs inline reads it before returning).
 */
export function own(a: F): F {
  const shared = typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;
  return shared || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength ? a.slice() : a;
}

function makeConvAsync(rank: Rank) {
  const op = `conv${rank}d`, specOf = convSpecs[rank];
  return async (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions & EpilogueOptions = {}): Promise<Tensor> => {
    const { conv, epilogue } = epilogueOf<ConvOptions>(op, options);
    return applyConvAsync(specOf(conv), input, weight, bias, undefined, epilogue);
  };
}

function makeConvTransposeAsync(rank: Rank) {
  const op = `convTranspose${rank}d`, specOf = convTransposeSpecs[rank];
  return async (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions & EpilogueOptions = {}): Promise<Tensor> => {
    const { conv, epilogue } = epilogueOf<ConvTransposeOptions>(op, options);
    return applyConvAsync(specOf(conv), input, weight, bias, conv.outputSize, epilogue);
  };
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

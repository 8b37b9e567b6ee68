/**
 * The forward of an async call on a device-resident candidate (WebGPU): the host operands are
 * uploaded, the kernel queued with the bias fused or added by the generic epilogue, and the result
 * downloaded into a fresh host array, so the tensor, its autograd node and the public API are those
 * of every other call. Buffers are released once the result is on the host.
 */
import type { Geometry } from '../spec/types.js';
import type { DeviceKernels, F } from '../kernels/types.js';
import { applyEpilogue } from '../kernels/ref/epilogue.js';
import { prod } from '../util/shape.js';

export async function forwardOnDevice(k: DeviceKernels, x: F, w: F, b: F | null, g: Geometry, transposed: boolean): Promise<F> {
  const dtype = x instanceof Float64Array ? 'float64' : 'float32';
  const c = transposed ? g.cIn : g.cOut, vol = prod(transposed ? g.inSize : g.outSize);
  const fuse = b !== null && k.fuses?.bias === true;
  const xb = k.upload(x), wb = k.upload(w), bb = fuse ? k.upload(b) : null, yb = k.allocate(dtype, g.n * c * vol);
  const y = dtype === 'float64' ? new Float64Array(g.n * c * vol) : new Float32Array(g.n * c * vol);
  try {
    k[transposed ? 'convT' : 'conv'](xb, wb, yb, g, bb ? { bias: bb } : undefined);
    await k.download(yb, y);
  } finally {
    for (const buf of [xb, wb, bb, yb]) if (buf !== null) k.release(buf);
  }
  if (b && !fuse) applyEpilogue(y, { bias: b }, g.n, c, vol);
  return y;
}

/**
 * The WebGPU backend ('webgpu'): device-resident candidates registered with plan/select.ts when
 * `initWebGPU` succeeds. Their operands are GPU buffers (GpuStorage); calls are queued, only
 * `download` waits. The bias is written with the output; residual and activation follow as GPU ops.
 */
import { ConvError } from '../../spec/errors.js';
import type { Backend, DeviceKernels } from '../types.js';
import { allocStorage, flush, gpu, uploadArray, type GpuStorage } from './device.js';
import { gpuConv, gpuConvT, gpuDepthwise, gpuWeightGrad } from './conv.js';

const common: Omit<DeviceKernels<GpuStorage>, 'name' | 'conv'> = {
  fuses: { bias: true },
  upload: (a) => uploadArray('upload', a),
  allocate: (dtype, length) => {
    if (dtype !== 'float32') throw new ConvError('webgpu', 'dtype', `must be float32 on the GPU (WGSL has no float64); got ${dtype}`);
    return allocStorage('allocate', length);
  },
  download: async (b, out) => { out.set(await b.read()); },
  release: (b) => {
    flush(gpu('release')); // recorded passes that read b are submitted first
    b.buffer.destroy();
  },
  convT: (x, w, y, g, ep) => gpuConvT('convT', x, w, ep?.bias ?? null, y, g),
  weightGrad: (x, gy, gw, g) => gpuWeightGrad('weightGrad', x, gy, gw, g),
};

/** Implicit GEMM (conv), polyphase GEMMs (convT), split-K GEMM (weight gradient). */
export const webgpuGemmKernels: DeviceKernels<GpuStorage> = {
  ...common, name: 'webgpu-gemm', conv: (x, w, y, g, ep) => gpuConv('conv', x, w, ep?.bias ?? null, y, g),
};
/** One input channel per group: the direct depthwise kernel for conv, the GEMMs for the rest. */
export const webgpuDepthwiseKernels: DeviceKernels<GpuStorage> = {
  ...common, name: 'webgpu-depthwise', conv: (x, w, y, g, ep) => gpuDepthwise('conv', x, w, ep?.bias ?? null, y, g),
};

export const webgpuBackend: Backend = {
  name: 'webgpu',
  priority: 30,
  candidates: [
    { name: 'webgpu-depthwise', location: 'device', algorithm: 'depthwise', dtypes: ['float32'], kernels: webgpuDepthwiseKernels as DeviceKernels },
    { name: 'webgpu-gemm', location: 'device', algorithm: 'gemm', dtypes: ['float32'], kernels: webgpuGemmKernels as DeviceKernels },
  ],
};

/** The plain TypeScript backend ('js'): im2col + GEMM for every geometry, where WebAssembly is missing or restricted away. */
import type { Backend } from '../types.js';
import { im2colKernels } from './im2col.js';

export const jsBackend: Backend = {
  name: 'js',
  priority: 10,
  candidates: [{ name: 'js-im2col', location: 'host', algorithm: 'gemm', dtypes: ['float32', 'float64'], kernels: im2colKernels }],
};

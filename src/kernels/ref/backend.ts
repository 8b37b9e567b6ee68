/** The reference backend: the literal definition, for every geometry, dtype and direction. */
import type { Backend } from '../types.js';
import { refKernels } from './taps.js';

export const refBackend: Backend = {
  name: 'ref',
  priority: 0,
  candidates: [{ name: 'ref', location: 'host', algorithm: 'direct', dtypes: ['float32', 'float64'], kernels: refKernels }],
};

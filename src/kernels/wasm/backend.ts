/**
 * The WebAssembly SIMD backend ('wasm'): its candidates and the limits they honour. The worker
 * threads (kernels/threads/) run the same units; importing this file installs their runner where
 * Node's worker_threads exist.
 */
import type { Geometry } from '../../spec/types.js';
import type { Backend, ConvKernels } from '../types.js';
import { GEMM_DEPTH_BLOCK, wasmAvailable, wasmDepthwiseKernels, wasmGemmKernels, wasmPolyphaseKernels } from './glue.js';
import '../threads/pool.js';

/** Every number of the geometry fits the Int32Array parameter block of the WebAssembly kernels (stride 2^31 would wrap). */
const fitsInt32 = (g: Geometry): boolean =>
  [g.stride, g.dilation, g.padBefore, g.inSize, g.outSize, g.kSize].every((v) => v.every((x) => x <= 0x7fffffff));
/** A geometry that fits i32 and the WebAssembly SIMD module validates here (the pure-TS kernels remain the fallback). */
const wasmFits = (g: Geometry): boolean => fitsInt32(g) && wasmAvailable();

/**
 * GEMM + col2im multiplies over the convT input's channels per group (cOut/groups in conv terms):
 * shallower than one packed block (256) it spends more on the column buffer and its scatter than
 * on arithmetic, and the phases (depth cOut/groups · T) win; deeper, one large GEMM wins.
 */
const shallowCol2im = (g: Geometry): boolean => g.cOut / g.groups < GEMM_DEPTH_BLOCK;
/** Stride 1 in every dim: the one phase is the conv with the flipped kernel, at the conv's GEMM rate whatever the depth. */
const unstrided = (g: Geometry): boolean => g.stride.every((s) => s === 1);
/** Phases rather than GEMM + col2im: shallow, or unstrided (no scatter of overlapping columns to pay for). */
const phasesWin = (g: Geometry): boolean => wasmFits(g) && (shallowCol2im(g) || unstrided(g));

const wasmDepthwise: ConvKernels = { ...wasmGemmKernels, ...wasmDepthwiseKernels, name: 'wasm-depthwise' };

export const wasmBackend: Backend = {
  name: 'wasm',
  priority: 20,
  candidates: [
    { name: 'wasm-polyphase', location: 'host', algorithm: 'polyphase', dtypes: ['float32'], fits: phasesWin, kernels: wasmPolyphaseKernels },
    { name: 'wasm-depthwise', location: 'host', algorithm: 'depthwise', dtypes: ['float32'], fits: wasmFits, kernels: wasmDepthwise },
    { name: 'wasm-gemm', location: 'host', algorithm: 'gemm', dtypes: ['float32'], fits: wasmFits, kernels: wasmGemmKernels },
    // The same kernels on Float64Arrays run the f64x2 instantiations; the choice between them follows the same shapes.
    { name: 'wasm-f64-polyphase', location: 'host', algorithm: 'polyphase', dtypes: ['float64'], fits: phasesWin, kernels: wasmPolyphaseKernels },
    { name: 'wasm-f64-depthwise', location: 'host', algorithm: 'depthwise', dtypes: ['float64'], fits: wasmFits, kernels: wasmDepthwise },
    { name: 'wasm-f64-gemm', location: 'host', algorithm: 'gemm', dtypes: ['float64'], fits: wasmFits, kernels: wasmGemmKernels },
  ],
};

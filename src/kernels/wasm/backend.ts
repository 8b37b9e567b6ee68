/**
 * The WebAssembly SIMD backend ('wasm'): its candidates and the limits they honour. The worker
 * threads (kernels/threads/) run the same units; importing this file installs their runner where
 * Node's worker_threads exist.
 */
import type { DType, Geometry } from '../../spec/types.js';
import type { Backend, ConvKernels, Direction } from '../types.js';
import { GEMM_DEPTH_BLOCK, wasmDepthwiseKernels, wasmFits, wasmGemmKernels, wasmPolyphaseKernels, type WasmFamily } from './glue.js';
import '../threads/pool.js';

/**
 * The limits of a family for one dtype (glue.ts wasmFits): the module validates here, every
 * number the kernels derive fits 32 bits, and the call's heap fits linear memory (4 GiB); beyond
 * them the pure-TS kernels run the call.
 */
const fits = (family: WasmFamily, dtype: DType) => (g: Geometry, dir: Direction): boolean => wasmFits(family, g, dtype, dir);

/**
 * GEMM + col2im multiplies over the convT input's channels per group (cOut/groups in conv terms):
 * shallower than one packed block (256) it spends more on the column buffer and its scatter than
 * on arithmetic, and the phases (depth cOut/groups · T) win; deeper, one large GEMM wins.
 */
const shallowCol2im = (g: Geometry): boolean => g.cOut / g.groups < GEMM_DEPTH_BLOCK;
/** Stride 1 in every dim: the one phase is the conv with the flipped kernel, at the conv's GEMM rate whatever the depth. */
const unstrided = (g: Geometry): boolean => g.stride.every((s) => s === 1);
/** Phases rather than GEMM + col2im: shallow, or unstrided (no scatter of overlapping columns to pay for). */
const phasesWin = (dtype: DType) => (g: Geometry, dir: Direction): boolean => fits('polyphase', dtype)(g, dir) && (shallowCol2im(g) || unstrided(g));

const wasmDepthwise: ConvKernels = { ...wasmGemmKernels, ...wasmDepthwiseKernels, name: 'wasm-depthwise' };

export const wasmBackend: Backend = {
  name: 'wasm',
  priority: 20,
  candidates: [
    { name: 'wasm-polyphase', location: 'host', algorithm: 'polyphase', dtypes: ['float32'], fits: phasesWin('float32'), kernels: wasmPolyphaseKernels },
    { name: 'wasm-depthwise', location: 'host', algorithm: 'depthwise', dtypes: ['float32'], fits: fits('depthwise', 'float32'), kernels: wasmDepthwise },
    { name: 'wasm-gemm', location: 'host', algorithm: 'gemm', dtypes: ['float32'], fits: fits('gemm', 'float32'), kernels: wasmGemmKernels },
    // The same kernels on Float64Arrays run the f64x2 instantiations; the choice between them follows the same shapes.
    { name: 'wasm-f64-polyphase', location: 'host', algorithm: 'polyphase', dtypes: ['float64'], fits: phasesWin('float64'), kernels: wasmPolyphaseKernels },
    { name: 'wasm-f64-depthwise', location: 'host', algorithm: 'depthwise', dtypes: ['float64'], fits: fits('depthwise', 'float64'), kernels: wasmDepthwise },
    { name: 'wasm-f64-gemm', location: 'host', algorithm: 'gemm', dtypes: ['float64'], fits: fits('gemm', 'float64'), kernels: wasmGemmKernels },

  ],
};

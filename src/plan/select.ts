/**
 * Kernel selection: an ordered list of candidates, each with a named predicate; the first that
 * applies runs. Backends (WebAssembly, worker threads, WebGPU) register candidates here.
 */
import type { Geometry } from '../spec/types.js';
import { ConvError, fmt } from '../spec/errors.js';
import type { ConvKernels } from '../kernels/types.js';
import { refKernels } from '../kernels/ref/taps.js';
import { im2colKernels } from '../kernels/cpu/im2col.js';
import { GEMM_DEPTH_BLOCK, wasmDepthwiseKernels, wasmFits, wasmGemmKernels, wasmPolyphaseKernels, type WasmFamily } from '../kernels/wasm/glue.js';
import { usePolyphase } from '../kernels/cpu/polyphase.js';
import '../kernels/threads/pool.js'; // installs the worker-thread runner where Node's worker_threads exist
import type { DType } from '../spec/types.js';

export type Direction = 'conv' | 'convT' | 'weightGrad';

export interface Candidate {
  readonly name: string;
  /** The backend family this candidate belongs to ('ref', 'js', 'wasm', …). */
  readonly backend: string;
  readonly applies: (g: Geometry, dtype: DType, dir: Direction) => boolean;
  readonly kernels: ConvKernels;
}

/**
 * f32 on the WebAssembly kernels (f32x4), where they can run it (wasmFits: the module validates,
 * every derived number fits 32 bits, the heap fits linear memory; the pure-TS kernels remain the fallback).
 */
export const useWasm = (g: Geometry, dtype: DType, dir: Direction = 'conv', family: WasmFamily = 'gemm'): boolean =>
  dtype === 'float32' && wasmFits(family, g, dtype, dir);
/** f64 on the same WebAssembly kernels instantiated for f64x2 (the `…64` exports). */
export const useWasmFloat64 = (g: Geometry, dtype: DType, dir: Direction = 'conv', family: WasmFamily = 'gemm'): boolean =>
  dtype === 'float64' && wasmFits(family, g, dtype, dir);
/** One input channel per group (depthwise, any multiplier): a direct kernel beats a GEMM with M = 1. */
const oneChannelPerGroup = (g: Geometry, dir: Direction): boolean => dir === 'conv' && g.cIn === g.groups;
export const useDepthwise = (g: Geometry, dtype: DType, dir: Direction): boolean =>
  oneChannelPerGroup(g, dir) && useWasm(g, dtype, dir, 'depthwise');
export const useDepthwiseFloat64 = (g: Geometry, dtype: DType, dir: Direction): boolean =>
  oneChannelPerGroup(g, dir) && useWasmFloat64(g, dtype, dir, 'depthwise');

/** Transposed convolution as stride-1 convolutions, one per output phase (see kernels/cpu/polyphase.ts). */
export const usePolyphaseConvT = (g: Geometry, _dtype: DType, dir: Direction): boolean => dir === 'convT' && usePolyphase(g);
/**
 * GEMM + col2im multiplies over the convT input's channels per group (cOut/groups in conv terms):
 * shallower than one packed block (256) it spends more on the column buffer and its scatter than
 * on arithmetic, and the phases (depth cOut/groups · T) win; deeper, one large GEMM wins.
 */
export const shallowCol2im = (g: Geometry): boolean => g.cOut / g.groups < GEMM_DEPTH_BLOCK;
/** Stride 1 in every dim: the one phase is the conv with the flipped kernel, at the conv's GEMM rate whatever the depth. */
export const unstrided = (g: Geometry): boolean => g.stride.every((s) => s === 1);
/** Phases rather than GEMM + col2im: shallow, or unstrided (no scatter of overlapping columns to pay for). */
const phasesWin = (g: Geometry): boolean => shallowCol2im(g) || unstrided(g);

const wasmDepthwise: ConvKernels = { ...wasmGemmKernels, ...wasmDepthwiseKernels, name: 'wasm-depthwise' };
const candidates: Candidate[] = [
  { name: 'wasm-polyphase', backend: 'wasm', applies: (g, dt, dir) => usePolyphaseConvT(g, dt, dir) && phasesWin(g) && useWasm(g, dt, dir, 'polyphase'),
    kernels: wasmPolyphaseKernels },
  { name: 'wasm-depthwise', backend: 'wasm', applies: useDepthwise, kernels: wasmDepthwise },
  { name: 'wasm-gemm', backend: 'wasm', applies: (g, dt, dir) => useWasm(g, dt, dir), kernels: wasmGemmKernels },
  // The same kernels on Float64Arrays run the f64x2 instantiations; the choice between them follows the same shapes.
  { name: 'wasm-f64-polyphase', backend: 'wasm', applies: (g, dt, dir) => usePolyphaseConvT(g, dt, dir) && phasesWin(g) && useWasmFloat64(g, dt, dir, 'polyphase'),
    kernels: wasmPolyphaseKernels },
  { name: 'wasm-f64-depthwise', backend: 'wasm', applies: useDepthwiseFloat64, kernels: wasmDepthwise },
  { name: 'wasm-f64-gemm', backend: 'wasm', applies: (g, dt, dir) => useWasmFloat64(g, dt, dir), kernels: wasmGemmKernels },

  { name: 'js-im2col', backend: 'js', applies: () => true, kernels: im2colKernels },
  { name: 'ref', backend: 'ref', applies: () => true, kernels: refKernels },
];

let preferred = 'auto';

/** Adds a candidate ahead of those already registered (faster backends register last, so they run first). */
export function registerCandidate(c: Candidate): void {
  candidates.unshift(c);
}

/** The backends that have registered candidates. */
export function backends(): string[] {
  return [...new Set(candidates.map((c) => c.backend))];
}

/**
 * Restricts kernels to one backend ('ref' is the literal definition, 'js' the TypeScript fast path),
 * or 'auto' (the default) for the first applicable candidate of any backend.
 */
export function setBackend(name: string): void {
  if (name !== 'auto' && !backends().includes(name))
    throw new ConvError('setBackend', 'name', `must be 'auto' or one of ${fmt(backends())}; got ${fmt(name)}`);
  preferred = name;
}

export function getBackend(): string {
  return preferred;
}

/** Runs `fn` with the backend set to `name`, restoring the previous choice afterwards. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = preferred;
  setBackend(name);
  try {
    return fn();
  } finally {
    preferred = prev;
  }
}

export function selectKernels(g: Geometry, dtype: DType, dir: Direction): ConvKernels {
  for (const c of candidates)
    if ((preferred === 'auto' || c.backend === preferred) && c.applies(g, dtype, dir)) return c.kernels;
  return refKernels;
}

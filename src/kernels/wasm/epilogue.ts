/**
 * The rest of the convolution epilogue in WebAssembly (asm/epilogue.ts): residual and activation
 * applied to the output region in linear memory after the units wrote it (bias included) and
 * before it is copied out, so the output is stored once, already final. float32 runs every
 * activation there (the elementwise module's formulas: tanh and sigmoid within 4 ulp, the others
 * exact); float64 runs relu and leakyRelu there and tanh and sigmoid after the copy, with Math.
 */
import type { Epilogue, F, Fuses } from '../types.js';
import { activate, DEFAULT_NEGATIVE_SLOPE } from '../ref/epilogue.js';

/** What the GEMM and polyphase families write with their output. */
export const WASM_FUSES: Fuses = { bias: true, residual: true, activation: true };

interface EpilogueExports {
  epilogue(y: number, r: number, n: number, act: number, slope: number): void;
  epilogue64(y: number, r: number, n: number, act: number, slope: number): void;
}

const CODES = { relu: 1, leakyRelu: 2, tanh: 3, sigmoid: 4 } as const;

/** Whether `ep` has a part this module applies after the units (residual or activation). */
export const hasPost = (ep: Epilogue | undefined): ep is Epilogue => Boolean(ep && (ep.residual || ep.activation));

/**
 * Applies ep's residual (already copied to byte address `rp`; 0: none) and activation to the `n`
 * elements of `es` bytes at `yp`, except a float64 tanh or sigmoid (postOnHost, after the copy out).
 */
export function postInMemory(exports: unknown, yp: number, rp: number, n: number, es: number, ep: Epilogue): void {
  const ex = exports as EpilogueExports, act = ep.activation, slope = ep.negativeSlope ?? DEFAULT_NEGATIVE_SLOPE;
  const late = es === 8 && (act === 'tanh' || act === 'sigmoid');
  const code = act && !late ? CODES[act] : 0;
  if (rp || code) (es === 8 ? ex.epilogue64 : ex.epilogue)(yp, rp, n, code, slope);
}

/** The host part of the epilogue on the copied-out y: a float64 tanh or sigmoid (nothing otherwise). */
export function postOnHost(y: F, ep: Epilogue): void {
  if (y instanceof Float64Array && (ep.activation === 'tanh' || ep.activation === 'sigmoid')) activate(y, ep.activation, DEFAULT_NEGATIVE_SLOPE);
}

/**
 * Plain TypeScript matrix multiplies, row-major: C = A·B when `accumulate` is false, C += A·B when
 * it is true (a sum over several calls, such as the samples of a weight gradient). The fallback where
 * WebAssembly is missing; loops ordered so that the innermost one is contiguous. Zero factors are
 * not skipped: 0 · NaN must stay NaN (IEEE, as the reference kernels and the frameworks give).
 */
import type { F } from '../types.js';

/** C[M×N] (+)= A[M×K] · B[K×N]. */
export function gemmNN(M: number, N: number, K: number, A: F, aOff: number, B: F, bOff: number, C: F, cOff: number, accumulate: boolean): void {
  for (let i = 0; i < M; i++) {
    const ci = cOff + i * N;
    let k = 0;
    if (!accumulate) {
      // The first product row writes C (no pass to zero it first); 0 + keeps a −0 product +0, as a sum from zero gives.
      const a = K > 0 ? A[aOff + i * K] : 0;
      for (let j = 0; j < N; j++) C[ci + j] = K > 0 ? 0 + a * B[bOff + j] : 0;
      k = 1;
    }
    for (; k < K; k++) {
      const a = A[aOff + i * K + k];
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

/** C[M×N] (+)= Aᵀ · B with A stored K×M and B K×N. */
export function gemmTN(M: number, N: number, K: number, A: F, aOff: number, B: F, bOff: number, C: F, cOff: number, accumulate: boolean): void {
  if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * N, cOff + (i + 1) * N);
  for (let k = 0; k < K; k++) {
    const bk = bOff + k * N;
    for (let i = 0; i < M; i++) {
      const a = A[aOff + k * M + i];
      const ci = cOff + i * N;
      for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

/** C[M×N] (+)= A · Bᵀ with A stored M×K and B N×K. */
export function gemmNT(M: number, N: number, K: number, A: F, aOff: number, B: F, bOff: number, C: F, cOff: number, accumulate: boolean): void {
  for (let i = 0; i < M; i++) {
    const ai = aOff + i * K;
    for (let j = 0; j < N; j++) {
      const bj = bOff + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[ai + k] * B[bj + k];
      if (accumulate) C[cOff + i * N + j] += s;
      else C[cOff + i * N + j] = 0 + s;
    }
  }
}

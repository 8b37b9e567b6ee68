/** Data movement kernels: permute, bias, and the padding modes with their adjoints. */
import type { Pair, PaddingMode } from '../../spec/types.js';
import { prod, unravel } from '../../util/shape.js';
import type { F } from '../types.js';

/** out = x permuted: out.shape[i] = shape[perm[i]]. */
export function permute(x: F, shape: readonly number[], perm: readonly number[], out: F): void {
  const d = shape.length;
  const strides = new Array<number>(d);
  let s = 1;
  for (let a = d - 1; a >= 0; a--) { strides[a] = s; s *= shape[a]; }
  const outShape = perm.map((p) => shape[p]);
  const outStrides = perm.map((p) => strides[p]); // stride in x of each output axis
  const n = x.length;
  if (d === 0 || n === 0) { out.set(x); return; }
  // Walk the output in order, moving the source offset with an odometer over the last axes.
  const last = d - 1, lastLen = outShape[last], lastStride = outStrides[last];
  const idx = new Array<number>(d).fill(0);
  let src = 0;
  for (let yi = 0; yi < n; yi += lastLen) {
    for (let t = 0, xi = src; t < lastLen; t++, xi += lastStride) out[yi + t] = x[xi];
    for (let a = last - 1; a >= 0; a--) {
      idx[a]++;
      src += outStrides[a];
      if (idx[a] < outShape[a]) break;
      src -= outStrides[a] * outShape[a];
      idx[a] = 0;
    }
  }
}

/** y[n, c, …] += b[c] for a channels-first (n, c, vol) buffer. */
export function addBias(y: F, b: F, n: number, c: number, vol: number): void {
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++) {
      const v = b[ch], base = (i * c + ch) * vol;
      for (let q = 0; q < vol; q++) y[base + q] += v;
    }
}

/** gb[c] += Σ gy[n, c, …]. */
export function biasGrad(gy: F, gb: F, n: number, c: number, vol: number): void {
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * vol;
      let s = 0;
      for (let q = 0; q < vol; q++) s += gy[base + q];
      gb[ch] += s;
    }
}

/** Source index along one dim for padded index i (−1: a zero). L ≥ 1. */
export function padSource(i: number, L: number, mode: PaddingMode): number {
  if (i >= 0 && i < L) return i;
  switch (mode) {
    case 'zeros': return -1;
    case 'reflect': return i < 0 ? -i : 2 * (L - 1) - i;
    case 'replicate': return i < 0 ? 0 : L - 1;
    case 'circular': return ((i % L) + L) % L;
  }
}

/** For each padded position, the flat source offset within one (n, c) plane, −1 for zeros. */
function padMap(inSize: readonly number[], pads: readonly Pair[], mode: PaddingMode): Int32Array {
  const d = inSize.length;
  const outSize = inSize.map((L, a) => L + pads[a][0] + pads[a][1]);
  const vol = prod(outSize);
  const map = new Int32Array(vol);
  const o = new Array<number>(d);
  for (let q = 0; q < vol; q++) {
    unravel(q, outSize, o);
    let off = 0;
    for (let a = 0; a < d && off >= 0; a++) {
      const src = padSource(o[a] - pads[a][0], inSize[a], mode);
      off = src < 0 ? -1 : off * inSize[a] + src;
    }
    map[q] = off;
  }
  return map;
}

/** out = pad(x) over `planes` (n·c) planes of size inSize. */
export function pad(x: F, planes: number, inSize: readonly number[], pads: readonly Pair[], mode: PaddingMode, out: F): void {
  const map = padMap(inSize, pads, mode);
  const inVol = prod(inSize), outVol = map.length;
  for (let p = 0; p < planes; p++)
    for (let q = 0; q < outVol; q++) {
      const s = map[q];
      out[p * outVol + q] = s < 0 ? 0 : x[p * inVol + s];
    }
}

/** gx += padᵀ(gy): each padded position sends its gradient back to its source (reflect/replicate accumulate, circular wraps). */
export function padAdjoint(gy: F, planes: number, inSize: readonly number[], pads: readonly Pair[], mode: PaddingMode, gx: F): void {
  const map = padMap(inSize, pads, mode);
  const inVol = prod(inSize), outVol = map.length;
  for (let p = 0; p < planes; p++)
    for (let q = 0; q < outVol; q++) {
      const s = map[q];
      if (s >= 0) gx[p * inVol + s] += gy[p * outVol + q];
    }
}

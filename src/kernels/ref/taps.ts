/**
 * The reference kernels: the definition, literally. The only place the relation
 * `i = o·s + j·δ − p0` (input index from output index o and tap j) is written for the oracle.
 */
import type { Geometry } from '../../spec/types.js';
import { prod, unravel } from '../../util/shape.js';
import type { ConvKernels, Epilogue, F } from '../types.js';
import { applyEpilogue } from './epilogue.js';

/**
 * For every (tap kq, output position oq) of the convolution `g`, the flat input offset within one
 * channel plane, or −1 where the tap reads padding. Laid out `[kq · prod(outSize) + oq]`.
 */
export function tapTable(g: Geometry): Int32Array {
  const d = g.inSize.length, outVol = prod(g.outSize), kVol = prod(g.kSize);
  const table = new Int32Array(kVol * outVol);
  const o = new Array<number>(d), j = new Array<number>(d);
  for (let kq = 0; kq < kVol; kq++) {
    unravel(kq, g.kSize, j);
    for (let oq = 0; oq < outVol; oq++) {
      unravel(oq, g.outSize, o);
      let off = 0;
      for (let a = 0; a < d && off >= 0; a++) {
        const i = o[a] * g.stride[a] + j[a] * g.dilation[a] - g.padBefore[a]; // i = o·s + j·δ − p0
        off = i < 0 || i >= g.inSize[a] ? -1 : off * g.inSize[a] + i;
      }
      table[kq * outVol + oq] = off;
    }
  }
  return table;
}

/**
 * Some tap of `g` reads padding (before the input or past its end) in some dim. A dense kernel
 * computes such a tap as w·0, which is nothing only for finite values: ±Inf·0 and NaN·0 are NaN,
 * while in the definition (ref) a padding tap adds nothing at all.
 */
export function hasPaddingTaps(g: Geometry): boolean {
  return g.inSize.some((L, a) => g.padBefore[a] > 0 || (g.outSize[a] - 1) * g.stride[a] + (g.kSize[a] - 1) * g.dilation[a] - g.padBefore[a] >= L);
}

/** Calls `visit(xi, wi, yi)` for every (input, weight, output) triple of the convolution `g`. */
export function forEachTap(g: Geometry, visit: (xi: number, wi: number, yi: number) => void): void {
  const inVol = prod(g.inSize), outVol = prod(g.outSize), kVol = prod(g.kSize);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const table = tapTable(g);
  for (let n = 0; n < g.n; n++)
    for (let co = 0; co < g.cOut; co++) {
      const ci0 = Math.floor(co / cog) * cig;
      for (let c = 0; c < cig; c++)
        for (let oq = 0; oq < outVol; oq++)
          for (let kq = 0; kq < kVol; kq++) {
            const off = table[kq * outVol + oq];
            if (off >= 0) visit((n * g.cIn + ci0 + c) * inVol + off, (co * cig + c) * kVol + kq, (n * g.cOut + co) * outVol + oq);
          }
    }
}

/** The oracle: three one-liners over the same taps (convT reads each triple backwards), each summing into a zeroed output. */
export const refKernels: ConvKernels = {
  name: 'ref',
  fuses: { bias: true, residual: true, activation: true },
  conv: (x: F, w: F, y: F, g: Geometry, ep?: Epilogue) => {
    y.fill(0);
    forEachTap(g, (xi, wi, yi) => { y[yi] += w[wi] * x[xi]; });
    if (ep) applyEpilogue(y, ep, g.n, g.cOut, prod(g.outSize));
  },
  convT: (x: F, w: F, y: F, g: Geometry, ep?: Epilogue) => {
    y.fill(0);
    forEachTap(g, (yi, wi, xi) => { y[yi] += w[wi] * x[xi]; });
    if (ep) applyEpilogue(y, ep, g.n, g.cIn, prod(g.inSize));
  },
  weightGrad: (x: F, gy: F, gw: F, g: Geometry) => {
    gw.fill(0);
    forEachTap(g, (xi, wi, yi) => { gw[wi] += x[xi] * gy[yi]; });
  },
};

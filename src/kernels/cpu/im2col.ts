/**
 * Convolution as matrix multiplication: im2col + GEMM for conv, GEMM + col2im for its adjoint,
 * GEMM against the column matrix for the weight gradient. Columns are built one (sample, group)
 * at a time, so scratch is cIn/g · prod(k) · prod(outSize) elements.
 *
 * Padding entries of the columns are zeros, so conv multiplies w by them and the weight gradient
 * gy: for ±Inf or NaN that is NaN where the definition adds nothing. A call whose w (conv) or gy
 * (weight gradient) is not all finite and whose geometry has padding taps therefore sums the
 * definition's taps instead (the ref kernels). convT scatters only real taps (col2im) and needs no such care.
 */
import type { Geometry } from '../../spec/types.js';
import { prod } from '../../util/shape.js';
import { hasPaddingTaps, refKernels, tapTable } from '../ref/taps.js';
import type { ConvKernels, F } from '../types.js';
import { gemmNN, gemmNT, gemmTN } from './gemm.js';

/** Every element is finite (no ±Inf, no NaN). */
function allFinite(a: F): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

const scratch = (x: F, n: number): F => (x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));

interface Dims { inVol: number; outVol: number; kVol: number; cig: number; cog: number; rows: number }
const dims = (g: Geometry): Dims => {
  const kVol = prod(g.kSize), cig = g.cIn / g.groups;
  return { inVol: prod(g.inSize), outVol: prod(g.outSize), kVol, cig, cog: g.cOut / g.groups, rows: cig * kVol };
};

function im2col(x: F, xOff: number, table: Int32Array, d: Dims, col: F): void {
  const { inVol, outVol, kVol, cig } = d;
  for (let c = 0; c < cig; c++) {
    const xc = xOff + c * inVol;
    for (let kq = 0; kq < kVol; kq++) {
      const row = (c * kVol + kq) * outVol, t = kq * outVol;
      for (let oq = 0; oq < outVol; oq++) {
        const off = table[t + oq];
        col[row + oq] = off < 0 ? 0 : x[xc + off];
      }
    }
  }
}

function col2im(col: F, table: Int32Array, d: Dims, y: F, yOff: number): void {
  const { inVol, outVol, kVol, cig } = d;
  for (let c = 0; c < cig; c++) {
    const yc = yOff + c * inVol;
    for (let kq = 0; kq < kVol; kq++) {
      const row = (c * kVol + kq) * outVol, t = kq * outVol;
      for (let oq = 0; oq < outVol; oq++) {
        const off = table[t + oq];
        if (off >= 0) y[yc + off] += col[row + oq];
      }
    }
  }
}

export const im2colKernels: ConvKernels = {
  name: 'js-im2col',
  conv(x, w, y, g) {
    if (hasPaddingTaps(g) && !allFinite(w)) return refKernels.conv(x, w, y, g);
    const d = dims(g), table = tapTable(g), col = scratch(x, d.rows * d.outVol);
    for (let n = 0; n < g.n; n++)
      for (let grp = 0; grp < g.groups; grp++) {
        im2col(x, (n * g.cIn + grp * d.cig) * d.inVol, table, d, col);
        gemmNN(d.cog, d.outVol, d.rows, w, grp * d.cog * d.rows, col, 0, y, (n * g.cOut + grp * d.cog) * d.outVol, false);
      }
  },
  convT(x, w, y, g) {
    const d = dims(g), table = tapTable(g), col = scratch(x, d.rows * d.outVol);
    for (let n = 0; n < g.n; n++)
      for (let grp = 0; grp < g.groups; grp++) {
        gemmTN(d.rows, d.outVol, d.cog, w, grp * d.cog * d.rows, x, (n * g.cOut + grp * d.cog) * d.outVol, col, 0, false);
        // col2im scatters overlapping columns, so this (sample, group) block of y starts at zero.
        const y0 = (n * g.cIn + grp * d.cig) * d.inVol;
        y.fill(0, y0, y0 + d.cig * d.inVol);
        col2im(col, table, d, y, y0);
      }
  },
  weightGrad(x, gy, gw, g) {
    if (hasPaddingTaps(g) && !allFinite(gy)) return refKernels.weightGrad(x, gy, gw, g);
    const d = dims(g), table = tapTable(g), col = scratch(x, d.rows * d.outVol);
    if (g.n === 0) gw.fill(0);
    for (let n = 0; n < g.n; n++)
      for (let grp = 0; grp < g.groups; grp++) {
        im2col(x, (n * g.cIn + grp * d.cig) * d.inVol, table, d, col);
        gemmNT(d.cog, d.rows, d.outVol, gy, (n * g.cOut + grp * d.cog) * d.outVol, col, 0, gw, grp * d.cog * d.rows, n > 0);
      }
  },
};

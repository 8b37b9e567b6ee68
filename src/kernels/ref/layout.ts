/** Data movement kernels: permute, bias, and the padding modes with their adjoints. */
import type { Pair, PaddingMode } from '../../spec/types.js';
import { forEachRow, prod, unravel } from '../../util/shape.js';
import { padSource } from '../../spec/padding.js';
import type { F } from '../types.js';

/**
 * Merges axes that stay adjacent and in order under `perm` (their block moves as one), and drops
 * size-1 axes: (N, H, W, C) with perm [0, 3, 1, 2] becomes (N, H·W, C) with perm [0, 2, 1].
 */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  // Source axes numbered among the kept ones, so that axes around a dropped one count as adjacent.
  const compact = new Array<number>(shape.length);
  let next = 0;
  shape.forEach((s, a) => (compact[a] = s === 1 ? -1 : next++));
  const sizes = shape.filter((s) => s !== 1);
  const kept = perm.filter((p) => shape[p] !== 1).map((p) => compact[p]);
  const runs: number[][] = [];
  for (const p of kept) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1] + 1 === p) run.push(p);
    else runs.push([p]);
  }
  // Source order of the runs: runs[k] is output axis k of the collapsed permutation.
  const bySource = runs.map((_, k) => k).sort((a, b) => runs[a][0] - runs[b][0]);
  const outPerm = new Array<number>(runs.length);
  bySource.forEach((k, src) => (outPerm[k] = src));
  return { shape: bySource.map((k) => runs[k].reduce((v, a) => v * sizes[a], 1)), perm: outPerm };
}

/** Tile edge of the blocked transpose: a 64 × 64 f32 tile (16 KiB) of source and target stays in L1. */
const TILE = 64;

/**
 * out[b, j, i] = x[b, i, j] for `batch` planes of rows × cols, tile by tile so that reads and writes
 * both stay near. Eight source rows move together: each target row then gets 8 consecutive writes
 * per source column (measured at about twice the speed of one row at a time).
 */
export function transposePlanes(x: F, batch: number, rows: number, cols: number, out: F): void {
  const plane = rows * cols, c = cols;
  for (let b = 0; b < batch; b++) {
    const base = b * plane;
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, rows);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = Math.min(j0 + TILE, cols);
        let i = i0;
        for (; i + 8 <= i1; i += 8) {
          let xi = base + i * c + j0, yi = base + j0 * rows + i;
          for (let j = j0; j < j1; j++, xi++, yi += rows) {
            out[yi] = x[xi]; out[yi + 1] = x[xi + c]; out[yi + 2] = x[xi + 2 * c]; out[yi + 3] = x[xi + 3 * c];
            out[yi + 4] = x[xi + 4 * c]; out[yi + 5] = x[xi + 5 * c]; out[yi + 6] = x[xi + 6 * c]; out[yi + 7] = x[xi + 7 * c];
          }
        }
        for (; i < i1; i++) {
          let xi = base + i * c + j0, yi = base + j0 * rows + i;
          for (let j = j0; j < j1; j++, xi++, yi += rows) out[yi] = x[xi];
        }
      }
    }
  }
}

/** out = x permuted: out.shape[i] = shape[perm[i]]. */
export function permute(x: F, shape: readonly number[], perm: readonly number[], out: F): void {
  if (x.length > 0) {
    // Layout changes between channels-first and channels-last are a batch of 2-D transposes.
    const c = collapsePermutation(shape, perm);
    if (c.perm.length <= 1) { out.set(x); return; }
    if (c.perm.length === 2) { transposePlanes(x, 1, c.shape[0], c.shape[1], out); return; }
    if (c.perm.length === 3 && c.perm[0] === 0 && c.perm[1] === 2) { transposePlanes(x, c.shape[0], c.shape[1], c.shape[2], out); return; }
  }
  permuteStrided(x, shape, perm, out);
}

/** Any permutation: walks the output in order with an odometer over the source offsets (also the tests' model). */
export function permuteStrided(x: F, shape: readonly number[], perm: readonly number[], out: F): void {
  const d = shape.length;
  const strides = new Array<number>(d);
  let s = 1;
  for (let a = d - 1; a >= 0; a--) { strides[a] = s; s *= shape[a]; }
  const outShape = perm.map((p) => shape[p]);
  const outStrides = perm.map((p) => strides[p]); // stride in x of each output axis
  const n = x.length;
  if (d === 0 || n === 0) { out.set(x); return; }
  // Walk the output in order, a last-axis row at a time, the source offset moved by an odometer.
  const lastLen = outShape[d - 1], lastStride = outStrides[d - 1];
  forEachRow(outShape, outStrides, (yi, src) => {
    for (let t = 0, xi = src; t < lastLen; t++, xi += lastStride) out[yi + t] = x[xi];
  });
}

/** gb[c] = Σ gy[n, c, …] over the batch and space (one partial sum per sample, added in turn). */
export function biasGrad(gy: F, gb: F, n: number, c: number, vol: number): void {
  gb.fill(0, 0, c);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * vol;
      let s = 0;
      for (let q = 0; q < vol; q++) s += gy[base + q];
      gb[ch] += s;
    }
}

/**
 * Source index along one dim for output index o of a pad (p0, p1) of a dim of size L; −1: the
 * constant. Zeros, reflect and replicate read x at i = o − p0 (a negative pad crops). Circular
 * first crops by the negative pads and then wraps the remaining core of L' = L + min(p0, 0) +
 * min(p1, 0) elements, as PyTorch's circular pad does: i = max(−p0, 0) + (o − max(p0, 0)) mod L'.
 */
function padIndex(o: number, L: number, [p0, p1]: Pair, mode: PaddingMode): number {
  if (mode !== 'circular') return padSource(o - p0, L, mode);
  const core = L + Math.min(p0, 0) + Math.min(p1, 0), q = o - Math.max(p0, 0);
  return Math.max(-p0, 0) + (((q % core) + core) % core);
}

/** For each padded position, the flat source offset within one (n, c) plane, −1 for the constant. */
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
      const src = padIndex(o[a], inSize[a], pads[a], mode);
      off = src < 0 ? -1 : off * inSize[a] + src;
    }
    map[q] = off;
  }
  return map;
}

/** out = pad(x) over `planes` planes of size inSize; `value` where mode 'zeros' reads outside x. */
export function pad(x: F, planes: number, inSize: readonly number[], pads: readonly Pair[], mode: PaddingMode, out: F, value = 0): void {
  const map = padMap(inSize, pads, mode);
  const inVol = prod(inSize), outVol = map.length;
  for (let p = 0; p < planes; p++)
    for (let q = 0; q < outVol; q++) {
      const s = map[q];
      out[p * outVol + q] = s < 0 ? value : x[p * inVol + s];
    }
}

/** gx = padᵀ(gy): each padded position sends its gradient back to its source (reflect/replicate accumulate, circular wraps). */
export function padAdjoint(gy: F, planes: number, inSize: readonly number[], pads: readonly Pair[], mode: PaddingMode, gx: F): void {
  const map = padMap(inSize, pads, mode);
  const inVol = prod(inSize), outVol = map.length;
  gx.fill(0, 0, planes * inVol);
  for (let p = 0; p < planes; p++)
    for (let q = 0; q < outVol; q++) {
      const s = map[q];
      if (s >= 0) gx[p * inVol + s] += gy[p * outVol + q];
    }
}

/**
 * The units of work of the WebAssembly kernels, shared by the calling thread and the worker threads.
 * A call writes one task block (Int32, at TASK) and one geometry block (at GEOM) into linear memory;
 * every thread then claims units 0 … units−1 and runs them with its own scratch. Units write disjoint
 * parts of the output and each output element is always reduced in the same order, so results are
 * bitwise identical whatever the number of threads.
 */

export interface WasmExports {
  setTemp(p: number): void;
  packA(a: number, rs: number, cs: number, M: number, K: number, dst: number): void;
  packB(b: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  gemm(M: number, N: number, K: number, pa: number, pb: number, c: number, ldc: number): void;
  tapTile(gp: number, o0: number, nc: number, table: number): void;
  im2colB(x: number, inVol: number, cn: number, kVol: number, table: number, nc: number, dst: number): void;
  im2colBT(x: number, inVol: number, cn: number, kVol: number, table: number, nc: number, dst: number): void;
  col2im(col: number, nc: number, cn: number, kVol: number, table: number, y: number, inVol: number): void;
  depthwise(gp: number, x: number, w: number, y: number): void;
  packPhases(w: number, groups: number, cig: number, cog: number, kVol: number, tab: number): void;
  scatterPhase(src: number, y: number, planes: number, sp: number): void;
  fillBias(y: number, b: number, planes: number, c: number, vol: number): void;
}

/** Byte addresses of the fixed blocks; the heap starts at HEAP. Temps: TEMP bytes per thread below TASK. */
export const TEMP = 256;
export const TASK = 4096;
export const GEOM = TASK + 256;
export const HEAP = 8192;
export const MAX_THREADS = 16;
/** Rows per packed A panel (MR of asm/conv.ts). */
export const MR = 4;

export const enum Kind { Conv = 1, ConvT = 2, WeightGrad = 3, Depthwise = 4 }

/** Task block fields (Int32 index from TASK/4). */
export const enum T {
  kind, items, chunk, x, w, y, scratch, scratchStride, nc, cb, tiles, cblocks,
  n, cIn, cOut, groups, inVol, outVol, kVol,
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;

/** Scratch layout of one thread for a unit: [table | A panels | B panels | col]. */
export function scratchLayout(kind: Kind, t: { nc: number; cb: number; cig: number; cog: number; kVol: number }) {
  const { nc, cb, cig, cog, kVol } = t;
  const table = up(kVol * nc * 4, 64);
  let a = 0, b = 0, col = 0;
  if (kind === Kind.Conv) b = up(cig * kVol * up(nc, 8) * 4, 64);
  if (kind === Kind.ConvT) { a = up(up(cb * kVol, MR) * cog * 4, 64); b = up(cog * up(nc, 8) * 4, 64); col = cb * kVol * nc * 4; }
  if (kind === Kind.WeightGrad) { a = up(up(cog, MR) * nc * 4, 64); b = up(up(cb * kVol, 8) * nc * 4, 64); }
  return { table: 0, a: table, b: table + a, col: table + a + b, bytes: up(table + a + b + col, 64) };
}

/** Runs unit `u` (a range of items) of the task in memory on thread `tid`. */
export function runUnit(ex: WasmExports, mem: Int32Array, tid: number, u: number): void {
  const t = TASK >> 2;
  const kind = mem[t + T.kind] as Kind, items = mem[t + T.items], chunk = mem[t + T.chunk];
  const x = mem[t + T.x], w = mem[t + T.w], y = mem[t + T.y];
  const nc = mem[t + T.nc], cb = mem[t + T.cb], tiles = mem[t + T.tiles], cblocks = mem[t + T.cblocks];
  const n = mem[t + T.n], cIn = mem[t + T.cIn], cOut = mem[t + T.cOut], groups = mem[t + T.groups];
  const inVol = mem[t + T.inVol], outVol = mem[t + T.outVol], kVol = mem[t + T.kVol];
  const cig = cIn / groups, cog = cOut / groups, rows = cig * kVol;
  const base = mem[t + T.scratch] + tid * mem[t + T.scratchStride];
  const lay = scratchLayout(kind, { nc, cb, cig, cog, kVol });
  const table = base + lay.table, pa = base + lay.a, pb = base + lay.b, col = base + lay.col;
  ex.setTemp(tid * TEMP);
  const end = Math.min(items, (u + 1) * chunk);
  for (let item = u * chunk; item < end; item++) {
    if (kind === Kind.Conv) {
      // item = (sample, group, column tile); A = all packed weights, one group after another.
      const tile = item % tiles, grp = Math.floor(item / tiles) % groups, s = Math.floor(item / (tiles * groups));
      const o0 = tile * nc, m = Math.min(nc, outVol - o0);
      ex.tapTile(GEOM, o0, m, table);
      ex.im2colB(x + (s * cIn + grp * cig) * inVol * 4, inVol, cig, kVol, table, m, pb);
      ex.gemm(cog, m, rows, w + grp * up(cog, MR) * rows * 4, pb, y + ((s * cOut + grp * cog) * outVol + o0) * 4, outVol);
    } else if (kind === Kind.ConvT) {
      // item = (group, block of output channels); x lives in the conv's output space, y in its input space.
      const blk = item % cblocks, grp = Math.floor(item / cblocks);
      const c0 = blk * cb, cn = Math.min(cb, cig - c0), M = cn * kVol;
      ex.packA(w + (grp * cog * rows + c0 * kVol) * 4, 1, rows, M, cog, pa);
      for (let s = 0; s < n; s++)
        for (let tile = 0; tile < tiles; tile++) {
          const o0 = tile * nc, m = Math.min(nc, outVol - o0);
          ex.packB(x + ((s * cOut + grp * cog) * outVol + o0) * 4, outVol, 1, cog, m, pb);
          new Float32Array(mem.buffer, col, M * m).fill(0);
          ex.gemm(M, m, cog, pa, pb, col, m);
          ex.tapTile(GEOM, o0, m, table);
          ex.col2im(col, m, cn, kVol, table, y + ((s * cIn + grp * cig + c0) * inVol) * 4, inVol);
        }
    } else if (kind === Kind.WeightGrad) {
      // item = (group, block of input channels): the columns c0·kVol … of gw (cOut, cIn/g·kVol).
      const blk = item % cblocks, grp = Math.floor(item / cblocks);
      const c0 = blk * cb, cn = Math.min(cb, cig - c0), N = cn * kVol;
      for (let s = 0; s < n; s++)
        for (let tile = 0; tile < tiles; tile++) {
          const o0 = tile * nc, m = Math.min(nc, outVol - o0);
          ex.tapTile(GEOM, o0, m, table);
          ex.packA(y + ((s * cOut + grp * cog) * outVol + o0) * 4, outVol, 1, cog, m, pa);
          ex.im2colBT(x + ((s * cIn + grp * cig + c0) * inVol) * 4, inVol, cn, kVol, table, m, pb);
          ex.gemm(cog, N, m, pa, pb, w + (grp * cog * rows + c0 * kVol) * 4, rows);
        }
    } else {
      // item = (sample, output channel) with one input channel per group.
      const co = item % cOut, s = Math.floor(item / cOut), grp = Math.floor(co / cog);
      ex.depthwise(GEOM, x + (s * cIn + grp) * inVol * 4, w + co * kVol * 4, y + (s * cOut + co) * outVol * 4);
    }
  }
}

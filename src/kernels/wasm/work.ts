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
  tapTileSamples(gp: number, q0: number, nc: number, table: number, per: number, xs: number): void;
  gemmSamples(M: number, N: number, K: number, pa: number, pb: number, c: number, ldc: number, per: number, cols: number, cs: number, first: number): void;
  im2colB(x: number, inVol: number, cn: number, kVol: number, table: number, nc: number, dst: number): void;
  im2colBT(x: number, inVol: number, cn: number, kVol: number, table: number, nc: number, dst: number): void;
  col2im(col: number, nc: number, cn: number, kVol: number, table: number, y: number, inVol: number): void;
  depthwise(gp: number, x: number, w: number, y: number, buf: number): void;
  packPhases(w: number, groups: number, cig: number, cog: number, kVol: number, tab: number): void;
  fillBias(y: number, b: number, planes: number, c: number, vol: number): void;
  scatterTile(src: number, m: number, planes: number, y: number, o0: number, sp: number): void;
  packA64: WasmExports['packA']; packB64: WasmExports['packB']; gemm64: WasmExports['gemm']; gemmSamples64: WasmExports['gemmSamples'];
  im2colB64: WasmExports['im2colB']; im2colBT64: WasmExports['im2colBT']; col2im64: WasmExports['col2im'];
  depthwise64: WasmExports['depthwise']; packPhases64: WasmExports['packPhases'];
  fillBias64: WasmExports['fillBias']; scatterTile64: WasmExports['scatterTile'];
}

/** The element-typed kernels of one precision: the f32 exports, or their `…64` twins. */
export type TypedExports = Pick<WasmExports, 'packA' | 'packB' | 'gemm' | 'gemmSamples' | 'im2colB' | 'im2colBT' | 'col2im' | 'depthwise' | 'packPhases' | 'fillBias' | 'scatterTile'>;

const typed = new WeakMap<WasmExports, readonly [TypedExports, TypedExports]>();

/** The kernels for elements of `es` bytes (4: f32, 8: f64) of an instance. */
export function typedExports(ex: WasmExports, es: number): TypedExports {
  let pair = typed.get(ex);
  if (!pair) {
    pair = [ex, {
      packA: ex.packA64, packB: ex.packB64, gemm: ex.gemm64, gemmSamples: ex.gemmSamples64, im2colB: ex.im2colB64, im2colBT: ex.im2colBT64, col2im: ex.col2im64,
      depthwise: ex.depthwise64, packPhases: ex.packPhases64, fillBias: ex.fillBias64, scatterTile: ex.scatterTile64,
    }];
    typed.set(ex, pair);
  }
  return pair[es === 8 ? 1 : 0];
}

/** Byte addresses of the fixed blocks; the heap starts at HEAP. Temps: TEMP bytes per thread below TASK. */
export const TEMP = 256;
export const TASK = 4096;
export const GEOM = TASK + 256;
/** The scatter block of a polyphase phase (Q, I, s, base; 12 i32), after the geometry block. */
export const SCATTER = GEOM + 128;
export const HEAP = 8192;
export const MAX_THREADS = 16;
/** Rows per packed A panel (MR of asm/conv.ts). */
export const MR = 4;

/** Phase: a stride-1 conv unit whose tile goes to a scratch column buffer and is scattered into every s-th output position. */
/** ConvSamples: a Conv whose column tiles run over the samples side by side (columnsPerSample each), so one GEMM serves several small samples. */
export const enum Kind { Conv = 1, ConvT = 2, WeightGrad = 3, Depthwise = 4, Phase = 5, ConvSamples = 6 }

/** Task block fields (Int32 index from TASK/4). */
export const enum T {
  kind, items, chunk, x, w, y, scratch, scratchStride, nc, cb, tiles, cblocks,
  n, cIn, cOut, groups, inVol, outVol, kVol, es, bias,
  /** Streamed depthwise tasks (0 otherwise): byte address of the input-progress word, then of the per-unit done flags. */
  progress, flags,
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;
/** Columns of one sample in a ConvSamples task: its outputs rounded up to whole B panels (8 columns), so no panel spans two samples. */
export const columnsPerSample = (outVol: number): number => up(outVol, 8);

/** Scratch layout of one thread for a unit: [table | A panels | B panels | col]; `es` bytes per element. */
/** For depthwise tasks `nc` is the length of the zero-padded row copy (see asm depthwise). */
export function scratchLayout(kind: Kind, t: { nc: number; cb: number; cig: number; cog: number; kVol: number; es: number }) {
  const { nc, cb, cig, cog, kVol, es } = t;
  const table = kind === Kind.Depthwise ? 0 : up(kVol * nc * 4, 64);
  let a = 0, b = 0, col = 0;
  if (kind === Kind.Conv || kind === Kind.Phase || kind === Kind.ConvSamples) b = up(cig * kVol * up(nc, 8) * es, 64);
  if (kind === Kind.Phase) col = cog * nc * es;
  if (kind === Kind.ConvT) { a = up(up(cb * kVol, MR) * cog * es, 64); b = up(cog * up(nc, 8) * es, 64); col = cb * kVol * nc * es; }
  if (kind === Kind.WeightGrad) { a = up(up(cog, MR) * nc * es, 64); b = up(up(cb * kVol, 8) * nc * es, 64); }
  if (kind === Kind.Depthwise) b = up(nc * es, 64);
  return { table: 0, a: table, b: table + a, col: table + a + b, bytes: up(table + a + b + col, 64) };
}

let callerJob: (() => void) | null = null;
let callerAfter: ((u: number) => void) | null = null;
/**
 * Work for the calling thread (tid 0) to do once, before its first unit of the next task, and
 * after each of its units (null: none).
 */
export function setCallerJob(job: (() => void) | null, after: ((u: number) => void) | null = null): void {
  callerJob = job;
  callerAfter = after;
}

/** How long a worker waits for the calling thread to copy a unit's input in before the unit fails. */
const PROGRESS_MS = 10000;
/** Waits until the progress word (Int32 index `at`) reaches `need` input planes (streamed depthwise tasks). */
function awaitInput(mem: Int32Array, at: number, need: number): void {
  for (let spin = 0; spin < 2000; spin++) if (Atomics.load(mem, at) >= need) return;
  const until = Date.now() + PROGRESS_MS;
  for (let have = Atomics.load(mem, at); have < need; have = Atomics.load(mem, at)) {
    if (Date.now() > until) throw new Error(`the input of a unit was not copied in within ${PROGRESS_MS} ms`);
    Atomics.wait(mem, at, have, 50);
  }
}

/** Runs unit `u` (a range of items) of the task in memory on thread `tid`. */
export function runUnit(wx: WasmExports, mem: Int32Array, tid: number, u: number): void {
  if (tid === 0 && callerJob) {
    const job = callerJob;
    callerJob = null;
    job();
  }
  const t = TASK >> 2;
  const es = mem[t + T.es] === 8 ? 8 : 4, ex = typedExports(wx, es);
  const kind = mem[t + T.kind] as Kind, items = mem[t + T.items], chunk = mem[t + T.chunk];
  const x = mem[t + T.x], w = mem[t + T.w], y = mem[t + T.y];
  const nc = mem[t + T.nc], cb = mem[t + T.cb], tiles = mem[t + T.tiles], cblocks = mem[t + T.cblocks];
  const n = mem[t + T.n], cIn = mem[t + T.cIn], cOut = mem[t + T.cOut], groups = mem[t + T.groups];
  const inVol = mem[t + T.inVol], outVol = mem[t + T.outVol], kVol = mem[t + T.kVol];
  const cig = cIn / groups, cog = cOut / groups, rows = cig * kVol;
  const base = mem[t + T.scratch] + tid * mem[t + T.scratchStride];
  const lay = scratchLayout(kind, { nc, cb, cig, cog, kVol, es });
  const table = base + lay.table, pa = base + lay.a, pb = base + lay.b, col = base + lay.col;
  wx.setTemp(tid * TEMP);
  const end = Math.min(items, (u + 1) * chunk);
  const progress = mem[t + T.progress], flags = mem[t + T.flags];
  // A streamed depthwise unit waits for its last input plane (items read planes in ascending order).
  if (kind === Kind.Depthwise && progress && end > u * chunk)
    awaitInput(mem, progress >> 2, Math.floor((end - 1) / cOut) * cIn + Math.floor(((end - 1) % cOut) / cog) + 1);
  for (let item = u * chunk; item < end; item++) {
    if (kind === Kind.Conv) {
      // item = (sample, group, column tile); A = all packed weights, one group after another.
      const tile = item % tiles, grp = Math.floor(item / tiles) % groups, s = Math.floor(item / (tiles * groups));
      const o0 = tile * nc, m = Math.min(nc, outVol - o0);
      wx.tapTile(GEOM, o0, m, table);
      ex.im2colB(x + (s * cIn + grp * cig) * inVol * es, inVol, cig, kVol, table, m, pb);
      ex.gemm(cog, m, rows, w + grp * up(cog, MR) * rows * es, pb, y + ((s * cOut + grp * cog) * outVol + o0) * es, outVol);
    } else if (kind === Kind.ConvSamples) {
      // item = (group, column tile) over n samples of columnsPerSample(outVol) columns each.
      const tile = item % tiles, grp = Math.floor(item / tiles), per = columnsPerSample(outVol);
      const q0 = tile * nc, m = Math.min(nc, n * per - q0), s0 = Math.floor(q0 / per);
      wx.tapTileSamples(GEOM, q0, m, table, per, cIn * inVol);
      ex.im2colB(x + grp * cig * inVol * es, inVol, cig, kVol, table, m, pb);
      ex.gemmSamples(cog, m, rows, w + grp * up(cog, MR) * rows * es, pb, y + (s0 * cOut + grp * cog) * outVol * es, outVol,
        per, outVol, cOut * outVol, q0 - s0 * per);
    } else if (kind === Kind.Phase) {
      // As Conv, into the zeroed column buffer (cog × m), then added to the phase's positions of y (planes of the full size).
      const tile = item % tiles, grp = Math.floor(item / tiles) % groups, s = Math.floor(item / (tiles * groups));
      const o0 = tile * nc, m = Math.min(nc, outVol - o0), yVol = mem[(SCATTER >> 2) + 3] * mem[(SCATTER >> 2) + 4] * mem[(SCATTER >> 2) + 5];
      wx.tapTile(GEOM, o0, m, table);
      ex.im2colB(x + (s * cIn + grp * cig) * inVol * es, inVol, cig, kVol, table, m, pb);
      (es === 8 ? new Float64Array(mem.buffer, col, cog * m) : new Float32Array(mem.buffer, col, cog * m)).fill(0);
      ex.gemm(cog, m, rows, w + grp * up(cog, MR) * rows * es, pb, col, m);
      ex.scatterTile(col, m, cog, y + (s * cOut + grp * cog) * yVol * es, o0, SCATTER);
    } else if (kind === Kind.ConvT) {
      // item = (group, block of output channels); x lives in the conv's output space, y in its input space.
      const blk = item % cblocks, grp = Math.floor(item / cblocks);
      const c0 = blk * cb, cn = Math.min(cb, cig - c0), M = cn * kVol;
      ex.packA(w + (grp * cog * rows + c0 * kVol) * es, 1, rows, M, cog, pa);
      for (let s = 0; s < n; s++)
        for (let tile = 0; tile < tiles; tile++) {
          const o0 = tile * nc, m = Math.min(nc, outVol - o0);
          ex.packB(x + ((s * cOut + grp * cog) * outVol + o0) * es, outVol, 1, cog, m, pb);
          (es === 8 ? new Float64Array(mem.buffer, col, M * m) : new Float32Array(mem.buffer, col, M * m)).fill(0);
          ex.gemm(M, m, cog, pa, pb, col, m);
          wx.tapTile(GEOM, o0, m, table);
          ex.col2im(col, m, cn, kVol, table, y + ((s * cIn + grp * cig + c0) * inVol) * es, inVol);
        }
    } else if (kind === Kind.WeightGrad) {
      // item = (group, block of input channels): the columns c0·kVol … of gw (cOut, cIn/g·kVol).
      const blk = item % cblocks, grp = Math.floor(item / cblocks);
      const c0 = blk * cb, cn = Math.min(cb, cig - c0), N = cn * kVol;
      for (let s = 0; s < n; s++)
        for (let tile = 0; tile < tiles; tile++) {
          const o0 = tile * nc, m = Math.min(nc, outVol - o0);
          wx.tapTile(GEOM, o0, m, table);
          ex.packA(y + ((s * cOut + grp * cog) * outVol + o0) * es, outVol, 1, cog, m, pa);
          ex.im2colBT(x + ((s * cIn + grp * cig + c0) * inVol) * es, inVol, cn, kVol, table, m, pb);
          ex.gemm(cog, N, m, pa, pb, w + (grp * cog * rows + c0 * kVol) * es, rows);
        }
    } else {
      // item = (sample, output channel) with one input channel per group.
      const co = item % cOut, s = Math.floor(item / cOut), grp = Math.floor(co / cog), bias = mem[t + T.bias];
      if (bias) ex.fillBias(y + (s * cOut + co) * outVol * es, bias + co * es, 1, 1, outVol);
      ex.depthwise(GEOM, x + (s * cIn + grp) * inVol * es, w + co * kVol * es, y + (s * cOut + co) * outVol * es, pb);
    }
  }
  if (tid === 0 && callerAfter) callerAfter(u);
  else if (flags) Atomics.store(mem, (flags >> 2) + u, 1);
}

/**
 * The units of work of the WebAssembly kernels, shared by the calling thread and the worker threads.
 * A call writes one task block (Int32, at TASK) and one geometry block (at GEOM) into linear memory;
 * every thread then claims units 0 … units−1 and runs them with its own scratch. Units write disjoint
 * parts of the output and each output element is always reduced in the same order, so results are
 * bitwise identical whatever the number of threads.
 */
import { MR } from './module.generated.js';

export { MR };

export interface WasmExports {
  setTemp(p: number): void;
  packA(a: number, rs: number, cs: number, M: number, K: number, dst: number): void;
  packB(b: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  gemm(M: number, N: number, K: number, pa: number, pb: number, c: number, ldc: number): void;
  tapTile(gp: number, o0: number, nc: number, table: number): void;
  tapTileSamples(gp: number, q0: number, nc: number, table: number, per: number, xs: number): void;
  gemmSamples(M: number, N: number, K: number, pa: number, pb: number, c: number, ldc: number, per: number, cols: number, cs: number, first: number): void;
  gemmRows(m0: number, m1: number, Mp: number, N: number, K: number, pa: number, pb: number, c: number, ldc: number): void;
  gemmDirect(m0: number, m1: number, Mp: number, N: number, K: number, pa: number, xb: number, offs: number, c: number, ldc: number): void;
  im2colB(x: number, inVol: number, cn: number, kVol: number, table: number, nc: number, dst: number): void;
  im2colBT(x: number, inVol: number, cn: number, kVol: number, table: number, nc: number, dst: number): void;
  col2im(col: number, nc: number, cn: number, kVol: number, table: number, y: number, inVol: number): void;
  depthwise(gp: number, x: number, w: number, y: number, buf: number): void;
  packPhases(w: number, groups: number, cig: number, cog: number, kVol: number, tab: number): void;
  fillBias(y: number, b: number, planes: number, c: number, vol: number): void;
  scatterTile(src: number, m: number, planes: number, y: number, o0: number, sp: number): void;
  /** 1 when the n elements at p are all finite. */
  finite(p: number, n: number): number;
  /** y = act(y + r) in place (r 0: none; act 0 none, 1 relu, 2 leakyRelu). */
  epilogue(y: number, r: number, n: number, act: number, slope: number): void;
  packA64: WasmExports['packA']; packB64: WasmExports['packB']; gemm64: WasmExports['gemm']; gemmSamples64: WasmExports['gemmSamples']; gemmDirect64: WasmExports['gemmDirect']; gemmRows64: WasmExports['gemmRows'];
  im2colB64: WasmExports['im2colB']; im2colBT64: WasmExports['im2colBT']; col2im64: WasmExports['col2im'];
  depthwise64: WasmExports['depthwise']; packPhases64: WasmExports['packPhases'];
  fillBias64: WasmExports['fillBias']; scatterTile64: WasmExports['scatterTile']; finite64: WasmExports['finite']; epilogue64: WasmExports['epilogue'];
}

/** The element-typed kernels of one precision: the f32 exports, or their `…64` twins. */
export type TypedExports = Pick<WasmExports, 'packA' | 'packB' | 'gemm' | 'gemmSamples' | 'gemmDirect' | 'gemmRows' | 'im2colB' | 'im2colBT' | 'col2im' | 'depthwise' | 'packPhases' | 'fillBias' | 'scatterTile' | 'finite' | 'epilogue'>;

const typed = new WeakMap<WasmExports, readonly [TypedExports, TypedExports]>();

/** The kernels for elements of `es` bytes (4: f32, 8: f64) of an instance. */
export function typedExports(ex: WasmExports, es: number): TypedExports {
  let pair = typed.get(ex);
  if (!pair) {
    pair = [ex, {
      packA: ex.packA64, packB: ex.packB64, gemm: ex.gemm64, gemmSamples: ex.gemmSamples64, gemmDirect: ex.gemmDirect64, gemmRows: ex.gemmRows64, im2colB: ex.im2colB64, im2colBT: ex.im2colBT64, col2im: ex.col2im64,
      depthwise: ex.depthwise64, packPhases: ex.packPhases64, fillBias: ex.fillBias64, scatterTile: ex.scatterTile64, finite: ex.finite64, epilogue: ex.epilogue64,
    }];
    typed.set(ex, pair);
  }
  return pair[es === 8 ? 1 : 0];
}

/** Byte addresses of the fixed blocks; the heap starts at HEAP. Temps: TEMP bytes per thread below TASK. */
export const TEMP = 256;
export const TASK = 4096;
export const GEOM = TASK + 256;
/** Geometry block word 22 (after the 22 words of writeGeometry): 1 makes depthwise rows skip padding taps instead of adding w·0. */
export const GEOM_EXACT = 22;
/** The scatter block of a polyphase phase (14 i32, fields S), after the geometry block. */
export const SCATTER = GEOM + 128;
/**
 * Scatter block fields (Int32 index from SCATTER/4): the grid Q of the phase's columns, the output
 * plane's size I, the stride s, the phase's first position b, and the grid's valid sizes V1 ≤ Q1,
 * V2 ≤ Q2 (the phase's output size; a wider grid is a padded plane's, see phaseDirect in glue.ts).
 */
export const enum S { Q0, Q1, Q2, I0, I1, I2, S0, S1, S2, B0, B1, B2, V1, V2, LENGTH }
export const HEAP = 8192;
export const MAX_THREADS = 16;
/**
 * Most units of one task: enough to balance the threads, few enough that claiming one stays cheap.
 * A streamed task keeps one progress word and one done flag per unit (STREAM_WORDS Int32 words).
 */
export const MAX_UNITS = 256;
export const STREAM_WORDS = 1 + MAX_UNITS;

/** Phase: a stride-1 conv unit whose tile goes to a scratch column buffer and is scattered into every s-th output position. */
/** ConvSamples: a Conv whose column tiles run over the samples side by side (columnsPerSample each), so one GEMM serves several small samples. */
/** Direct: a stride-1 1-D Conv whose GEMM reads B straight from a zero-padded copy of x (gemmDirect: no tap table, no im2col). */
/** PhaseDirect: a Phase unit of a 1-D polyphase convT whose B is read from the padded x as in Direct. */
export const enum Kind { Conv = 1, ConvT = 2, WeightGrad = 3, Depthwise = 4, Phase = 5, ConvSamples = 6, Direct = 7, PhaseDirect = 8 }

/**
 * Task block fields (Int32 index from TASK/4). Byte addresses are stored as Int32 and read back
 * unsigned (`>>> 0`): linear memory reaches 4 GiB, past the signed range. A weight-gradient task
 * reads gy from the `gy` slot and writes gw into the `gw` slot (the same words as y and w).
 */
export const enum T {
  kind, items, chunk, x, w, y, scratch, scratchStride, nc, cb, tiles, cblocks,
  n, cIn, cOut, groups, inVol, outVol, kVol, es, bias,
  /** Streamed depthwise tasks (0 otherwise): byte address of the input-progress word, then of the per-unit done flags. */
  progress, flags,
  /**
   * ConvT tasks: byte address of every block's packed A (0: each unit packs its block into its
   * scratch), block (group, b) at (group·cblocks + b)·convTBlockA; with `fillA` 1 each unit first
   * packs its blocks there (the cached weights of a first call), with 0 they are already packed.
   */
  packedA, fillA,
  /** Direct tasks: byte address of the row offsets of B in the padded x (see gemmDirect); x is that padded copy, `xRow` elements per plane. */
  offs, xRow,
  gw = w, gy = y,
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;
/** Columns of one sample in a ConvSamples task: its outputs rounded up to whole B panels (8 columns), so no panel spans two samples. */
export const columnsPerSample = (outVol: number): number => up(outVol, 8);

/** Elements of one block's packed A in a ConvT task: cb·kVol rows (MR-rounded) by cog. */
export const convTBlockA = (cb: number, kVol: number, cog: number): number => up(cb * kVol, MR) * cog;

/** Scratch layout of one thread for a unit: [table | A panels | B panels | col]; `es` bytes per element. */
/** For depthwise tasks `nc` is the length of the zero-padded row copy (see asm depthwise). */
export function scratchLayout(kind: Kind, t: { nc: number; cb: number; cig: number; cog: number; kVol: number; es: number }) {
  const { nc, cb, cig, cog, kVol, es } = t;
  const table = kind === Kind.Depthwise || kind === Kind.Direct || kind === Kind.PhaseDirect ? 0 : up(kVol * nc * 4, 64);
  let a = 0, b = 0, col = 0;
  if (kind === Kind.Conv || kind === Kind.Phase || kind === Kind.ConvSamples) b = up(cig * kVol * up(nc, 8) * es, 64);
  if (kind === Kind.Phase || kind === Kind.PhaseDirect) col = cog * nc * es;
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

/** One unit's view of the task in memory: its fields, read once, and this thread's scratch regions. */
interface Unit {
  wx: WasmExports; ex: TypedExports; mem: Int32Array; es: number;
  x: number; w: number; y: number; bias: number;
  nc: number; cb: number; tiles: number; cblocks: number;
  n: number; cIn: number; cOut: number; groups: number; inVol: number; outVol: number; kVol: number;
  cig: number; cog: number; rows: number;
  table: number; pa: number; pb: number; col: number;
  /** ConvT: the blocks' packed A (T.packedA, 0: none) and whether the units pack them first (T.fillA). */
  packedA: number; fillA: boolean;
  offs: number; xRow: number;
}

/** A zeroed region of `len` elements at byte address `at`. */
function zero(u: Unit, at: number, len: number): void {
  (u.es === 8 ? new Float64Array(u.mem.buffer, at, len) : new Float32Array(u.mem.buffer, at, len)).fill(0);
}

/**
 * The item of a Direct or phase unit: (sample, group, block of cb output channels, column tile). Few
 * column tiles (a short signal or small image with many channels, e.g. DCGAN at batch 1) split the
 * channels too (see directBlock).
 */
function blockItem(u: Unit, item: number): { tile: number; s: number; grp: number; m0: number; m1: number } {
  const tile = item % u.tiles, rest = Math.floor(item / u.tiles), blk = rest % u.cblocks;
  const grp = Math.floor(rest / u.cblocks) % u.groups, s = Math.floor(rest / (u.cblocks * u.groups)), m0 = blk * u.cb;
  return { tile, s, grp, m0, m1: Math.min(u.cog, m0 + u.cb) };
}

/** Rows m0 … m1−1 of a phase unit's column buffer (row stride m) added to every s-th output position (scatterTile). */
function scatterRows(u: Unit, s: number, grp: number, m0: number, m1: number, o0: number, m: number): void {
  const sc = SCATTER >> 2, es = u.es, yVol = u.mem[sc + S.I0] * u.mem[sc + S.I1] * u.mem[sc + S.I2];
  u.ex.scatterTile(u.col + m0 * m * es, m, m1 - m0, u.y + (s * u.cOut + grp * u.cog + m0) * yVol * es, o0, SCATTER);
}

/** Runs item `item` of a task; one handler per Kind. */
type Handler = (u: Unit, item: number) => void;

const handlers: Record<Kind, Handler> = {
  // item = (sample, group, column tile); A = all packed weights, one group after another.
  [Kind.Conv](u, item) {
    const tile = item % u.tiles, grp = Math.floor(item / u.tiles) % u.groups, s = Math.floor(item / (u.tiles * u.groups));
    const o0 = tile * u.nc, m = Math.min(u.nc, u.outVol - o0), es = u.es;
    u.wx.tapTile(GEOM, o0, m, u.table);
    u.ex.im2colB(u.x + (s * u.cIn + grp * u.cig) * u.inVol * es, u.inVol, u.cig, u.kVol, u.table, m, u.pb);
    u.ex.gemm(u.cog, m, u.rows, u.w + grp * up(u.cog, MR) * u.rows * es, u.pb, u.y + ((s * u.cOut + grp * u.cog) * u.outVol + o0) * es, u.outVol);
  },
  // item = (group, column tile) over n samples of columnsPerSample(outVol) columns each.
  [Kind.ConvSamples](u, item) {
    const tile = item % u.tiles, grp = Math.floor(item / u.tiles), per = columnsPerSample(u.outVol), es = u.es;
    const q0 = tile * u.nc, m = Math.min(u.nc, u.n * per - q0), s0 = Math.floor(q0 / per);
    u.wx.tapTileSamples(GEOM, q0, m, u.table, per, u.cIn * u.inVol);
    u.ex.im2colB(u.x + grp * u.cig * u.inVol * es, u.inVol, u.cig, u.kVol, u.table, m, u.pb);
    u.ex.gemmSamples(u.cog, m, u.rows, u.w + grp * up(u.cog, MR) * u.rows * es, u.pb, u.y + (s0 * u.cOut + grp * u.cog) * u.outVol * es, u.outVol,
      per, u.outVol, u.cOut * u.outVol, q0 - s0 * per);
  },
  // As Conv, with B read from the padded input planes (xRow elements each) at the offsets of T.offs.
  [Kind.Direct](u, item) {
    const { tile, s, grp, m0, m1 } = blockItem(u, item);
    const o0 = tile * u.nc, m = Math.min(u.nc, u.outVol - o0), es = u.es;
    u.ex.gemmDirect(m0, m1, up(u.cog, MR), m, u.rows, u.w + grp * up(u.cog, MR) * u.rows * es, u.x + ((s * u.cIn + grp * u.cig) * u.xRow + o0) * es, u.offs,
      u.y + ((s * u.cOut + grp * u.cog) * u.outVol + o0) * es, u.outVol);
  },
  // As Conv, into the zeroed column buffer (cog × m), then added to the phase's positions of y (planes of the full size).
  [Kind.Phase](u, item) {
    const { tile, s, grp, m0, m1 } = blockItem(u, item);
    const o0 = tile * u.nc, m = Math.min(u.nc, u.outVol - o0), es = u.es;
    u.wx.tapTile(GEOM, o0, m, u.table);
    u.ex.im2colB(u.x + (s * u.cIn + grp * u.cig) * u.inVol * es, u.inVol, u.cig, u.kVol, u.table, m, u.pb);
    zero(u, u.col + m0 * m * es, (m1 - m0) * m);
    u.ex.gemmRows(m0, m1, up(u.cog, MR), m, u.rows, u.w + grp * up(u.cog, MR) * u.rows * es, u.pb, u.col, m);
    scatterRows(u, s, grp, m0, m1, o0, m);
  },
  // As Phase, with B read from the padded input planes as in Direct.
  [Kind.PhaseDirect](u, item) {
    const { tile, s, grp, m0, m1 } = blockItem(u, item);
    const o0 = tile * u.nc, m = Math.min(u.nc, u.outVol - o0), es = u.es;
    zero(u, u.col + m0 * m * es, (m1 - m0) * m);
    u.ex.gemmDirect(m0, m1, up(u.cog, MR), m, u.rows, u.w + grp * up(u.cog, MR) * u.rows * es, u.x + ((s * u.cIn + grp * u.cig) * u.xRow + o0) * es, u.offs, u.col, m);
    scatterRows(u, s, grp, m0, m1, o0, m);
  },
  // item = (group, block of output channels); x lives in the conv's output space, y in its input space.
  [Kind.ConvT](u, item) {
    const blk = item % u.cblocks, grp = Math.floor(item / u.cblocks), es = u.es;
    const c0 = blk * u.cb, cn = Math.min(u.cb, u.cig - c0), M = cn * u.kVol;
    const pa = u.packedA ? u.packedA + item * convTBlockA(u.cb, u.kVol, u.cog) * es : u.pa;
    if (!u.packedA || u.fillA) u.ex.packA(u.w + (grp * u.cog * u.rows + c0 * u.kVol) * es, 1, u.rows, M, u.cog, pa);
    for (let s = 0; s < u.n; s++)
      for (let tile = 0; tile < u.tiles; tile++) {
        const o0 = tile * u.nc, m = Math.min(u.nc, u.outVol - o0);
        u.ex.packB(u.x + ((s * u.cOut + grp * u.cog) * u.outVol + o0) * es, u.outVol, 1, u.cog, m, u.pb);
        zero(u, u.col, M * m);
        u.ex.gemm(M, m, u.cog, pa, u.pb, u.col, m);
        u.wx.tapTile(GEOM, o0, m, u.table);
        u.ex.col2im(u.col, m, cn, u.kVol, u.table, u.y + ((s * u.cIn + grp * u.cig + c0) * u.inVol) * es, u.inVol);
      }
  },
  // item = (group, block of input channels): the columns c0·kVol … of gw (cOut, cIn/g·kVol), from gy (T.gy) and x.
  [Kind.WeightGrad](u, item) {
    const blk = item % u.cblocks, grp = Math.floor(item / u.cblocks), es = u.es, gy = u.y, gw = u.w;
    const c0 = blk * u.cb, cn = Math.min(u.cb, u.cig - c0), N = cn * u.kVol;
    for (let s = 0; s < u.n; s++)
      for (let tile = 0; tile < u.tiles; tile++) {
        const o0 = tile * u.nc, m = Math.min(u.nc, u.outVol - o0);
        u.wx.tapTile(GEOM, o0, m, u.table);
        u.ex.packA(gy + ((s * u.cOut + grp * u.cog) * u.outVol + o0) * es, u.outVol, 1, u.cog, m, u.pa);
        u.ex.im2colBT(u.x + ((s * u.cIn + grp * u.cig + c0) * u.inVol) * es, u.inVol, cn, u.kVol, u.table, m, u.pb);
        u.ex.gemm(u.cog, N, m, u.pa, u.pb, gw + (grp * u.cog * u.rows + c0 * u.kVol) * es, u.rows);
      }
  },
  // item = (sample, output channel) with one input channel per group.
  [Kind.Depthwise](u, item) {
    const co = item % u.cOut, s = Math.floor(item / u.cOut), grp = Math.floor(co / u.cog), es = u.es;
    if (u.bias) u.ex.fillBias(u.y + (s * u.cOut + co) * u.outVol * es, u.bias + co * es, 1, 1, u.outVol);
    u.ex.depthwise(GEOM, u.x + (s * u.cIn + grp) * u.inVol * es, u.w + co * u.kVol * es, u.y + (s * u.cOut + co) * u.outVol * es, u.pb);
  },
};

/** Reads the task in memory for thread `tid` (addresses unsigned: see T). */
function unitOf(wx: WasmExports, mem: Int32Array, tid: number): Unit {
  const t = TASK >> 2, at = (f: T) => mem[t + f] >>> 0;
  const es = mem[t + T.es] === 8 ? 8 : 4, kind = mem[t + T.kind] as Kind;
  const nc = mem[t + T.nc], cb = mem[t + T.cb], cIn = mem[t + T.cIn], cOut = mem[t + T.cOut], groups = mem[t + T.groups], kVol = mem[t + T.kVol];
  const cig = cIn / groups, cog = cOut / groups;
  const base = at(T.scratch) + tid * mem[t + T.scratchStride];
  const lay = scratchLayout(kind, { nc, cb, cig, cog, kVol, es });
  return {
    wx, ex: typedExports(wx, es), mem, es, x: at(T.x), w: at(T.w), y: at(T.y), bias: at(T.bias),
    nc, cb, tiles: mem[t + T.tiles], cblocks: mem[t + T.cblocks], n: mem[t + T.n], cIn, cOut, groups,
    inVol: mem[t + T.inVol], outVol: mem[t + T.outVol], kVol, cig, cog, rows: cig * kVol,
    table: base + lay.table, pa: base + lay.a, pb: base + lay.b, col: base + lay.col,
    packedA: at(T.packedA), fillA: mem[t + T.fillA] === 1,
    offs: at(T.offs), xRow: mem[t + T.xRow],
  };
}

/** Runs unit `u` (a range of items) of the task in memory on thread `tid`. */
export function runUnit(wx: WasmExports, mem: Int32Array, tid: number, u: number): void {
  if (tid === 0 && callerJob) {
    const job = callerJob;
    callerJob = null;
    job();
  }
  const t = TASK >> 2;
  const kind = mem[t + T.kind] as Kind, items = mem[t + T.items], chunk = mem[t + T.chunk];
  const progress = mem[t + T.progress] >>> 0, flags = mem[t + T.flags] >>> 0;
  const unit = unitOf(wx, mem, tid), run = handlers[kind];
  wx.setTemp(tid * TEMP);
  const end = Math.min(items, (u + 1) * chunk);
  // A streamed depthwise unit waits for its last input plane (items read planes in ascending order).
  if (kind === Kind.Depthwise && progress && end > u * chunk)
    awaitInput(mem, progress >>> 2, Math.floor((end - 1) / unit.cOut) * unit.cIn + Math.floor(((end - 1) % unit.cOut) / unit.cog) + 1);
  for (let item = u * chunk; item < end; item++) run(unit, item);
  if (tid === 0 && callerAfter) callerAfter(u);
  else if (flags) Atomics.store(mem, (flags >>> 2) + u, 1);
}

/**
 * WebAssembly SIMD kernels (f32 and f64, chosen by the operands' array type): loads the embedded module, owns linear memory, writes one task
 * block per call and runs its units on this thread and, where a worker pool is available
 * (src/kernels/threads/), on the workers too. Inputs are copied in and the output copied out:
 * the caller's arrays are never views of wasm memory, so a growing memory can't invalidate them.
 *
 * Weights are packed per call, not cached: packing is one O(|w|) pass, the same cost as the copy
 * into linear memory that a call needs anyway, and a cache keyed on the array could not see an
 * optimiser updating the weights in place without hashing them (another O(|w|) pass).
 */
import type { Geometry } from '../../spec/types.js';
import { prod } from '../../util/shape.js';
import type { ConvKernels, Epilogue, F, PhaseKernels, PhasePlan } from '../types.js';
import { hasPost, postInMemory, postOnHost, WASM_FUSES } from './epilogue.js';
import { applyEpilogue } from '../ref/epilogue.js';
import { section } from '../../profile/profile.js';
import { plainWasm, sharedWasm, plainRelaxedWasm, sharedRelaxedWasm, maxPages } from './module.generated.js';
import { GEOM, HEAP, Kind, MAX_THREADS, MR, SCATTER, T, TASK, columnsPerSample, runUnit, scratchLayout, setCallerJob, typedExports, type WasmExports } from './work.js';

export interface Engine {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly exports: WasmExports;
  readonly shared: boolean;
  /** Whether the module is the relaxed-SIMD build (fused multiply-adds), chosen by relaxedSimdSupported(). */
  readonly relaxed: boolean;
}

/** Runs `units` units of the task in memory; the thread pool replaces the default (this thread only). */
export type Runner = (engine: Engine, units: number, threads: number) => void;

const decode = (b64: string): Uint8Array<ArrayBuffer> => {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
};

let engine: Engine | null | undefined;

function canShare(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return typeof SharedArrayBuffer !== 'undefined';
  } catch {
    return false;
  }
}

/**
 * A module of one function that returns f32x4.relaxed_madd of three zero vectors: it validates
 * exactly where the host has relaxed SIMD (Chromium ≥ 114, Node ≥ 22, Node 20 with
 * --experimental-wasm-relaxed-simd).
 */
const RELAXED_PROBE = (() => {
  const zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0,
    0x0a, 0x3d, 1, 0x3b, 0, ...zero, ...zero, ...zero, 0xfd, 0x85, 0x02, 0x0b]);
})();

/** Whether this host runs relaxed SIMD (feature-detected by validating RELAXED_PROBE). */
export const relaxedSimdSupported = (): boolean => typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);

/**
 * The engine, or null where WebAssembly SIMD is missing (feature-detected by validating the module).
 * Where the host has relaxed SIMD the module is the relaxed build (the same kernels with fused
 * multiply-adds: each product is rounded once less, so results differ from the plain build within
 * float rounding but stay bitwise identical across runs and thread counts on one machine).
 */
export function wasmEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  if (typeof WebAssembly !== 'object') return engine;
  const shared = canShare();
  let relaxed = relaxedSimdSupported();
  let bytes = decode(relaxed ? (shared ? sharedRelaxedWasm : plainRelaxedWasm) : (shared ? sharedWasm : plainWasm));
  if (relaxed && !WebAssembly.validate(bytes)) {
    relaxed = false;
    bytes = decode(shared ? sharedWasm : plainWasm);
  }
  if (!WebAssembly.validate(bytes)) return engine;
  const memory = shared
    ? new WebAssembly.Memory({ initial: 16, maximum: maxPages, shared: true })
    : new WebAssembly.Memory({ initial: 16 });
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  engine = { module, memory, exports: instance.exports as unknown as WasmExports, shared, relaxed };
  return engine;
}

export const wasmAvailable = (): boolean => wasmEngine() !== null;

const serial: Runner = (e, units) => {
  const mem = new Int32Array(e.memory.buffer);
  for (let u = 0; u < units; u++) runUnit(e.exports, mem, 0, u);
};
let runner: Runner = serial;
let threadsFor: () => number = () => 1;

/** Installs the multi-thread runner (the worker pool calls this). */
export function setRunner(r: Runner, threads: () => number): void {
  runner = r;
  threadsFor = threads;
}

function ensure(e: Engine, bytes: number): void {
  const have = e.memory.buffer.byteLength;
  if (bytes > have) e.memory.grow(Math.ceil((bytes - have) / 65536));
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;
/** Multiply-adds below which a task runs on the calling thread alone (about 20 µs of work). */
const MIN_PARALLEL_MACS = 1 << 20;
/** Output elements from which a parallel call touches the output's pages while the workers compute (256 KiB of f32). */
const MIN_TOUCH = 1 << 16;
/** KC of asm/conv.ts: the depth of one packed GEMM block. */
export const GEMM_DEPTH_BLOCK = 256;
/** Column tile: about 1 MiB of scratch (2^18 f32, 2^17 f64) for a panel of `depth` rows, a multiple of 8, at most the whole plane. */
const tileFor = (depth: number, outVol: number, es: number) =>
  Math.max(8, Math.min(up(outVol, 8), Math.floor((1 << 20) / es / Math.max(1, depth) / 8) * 8));
/**
 * Column tile of a conv task: the cache-sized tile, cut down (to 64 columns at least) until there
 * are 4 units per thread. A conv's sums run over its rows, never across columns, so the tiling
 * does not change any result.
 */
const convTile = (depth: number, outVol: number, planes: number, threads: number, es: number): number => {
  const nc = tileFor(depth, outVol, es), perPlane = Math.ceil((4 * threads) / planes);
  return Math.min(nc, Math.max(64, up(Math.ceil(outVol / perPlane), 8)));
};

const pad3 = (v: readonly number[], fill: number): number[] => [...new Array<number>(3 - v.length).fill(fill), ...v];

function writeGeometry(mem: Int32Array, g: Geometry): void {
  mem.set([g.n, g.cIn, g.cOut, g.groups, ...pad3(g.inSize, 1), ...pad3(g.outSize, 1), ...pad3(g.kSize, 1),
    ...pad3(g.stride, 1), ...pad3(g.dilation, 1), ...pad3(g.padBefore, 0)], GEOM >> 2);
}

/** `b`: the bias a depthwise unit writes into its output plane before accumulating (0: none, y is initialised). */
interface Pointers { x: number; w: number; y: number; scratch: number; b?: number }
/** Column tile, channel block and bytes per element (4: f32, 8: f64). */
interface Tiling { nc: number; cb: number; es: number }

/** Units of a task: (sample, group, tile) for conv, (sample, channel) for depthwise, (group, block) otherwise. */
function itemsOf(kind: Kind, g: Geometry, t: Tiling): { items: number; tiles: number; cblocks: number } {
  const cols = kind === Kind.ConvSamples ? g.n * columnsPerSample(prod(g.outSize)) : prod(g.outSize);
  const tiles = Math.ceil(cols / t.nc), cblocks = Math.ceil(g.cIn / g.groups / t.cb);
  const items = kind === Kind.Conv || kind === Kind.Phase ? g.n * g.groups * tiles
    : kind === Kind.ConvSamples ? g.groups * tiles : kind === Kind.Depthwise ? g.n * g.cOut : g.groups * cblocks;
  return { items, tiles, cblocks };
}

/** Scratch bytes per thread for a task. */
const scratchBytes = (kind: Kind, g: Geometry, t: Tiling) =>
  scratchLayout(kind, { nc: t.nc, cb: t.cb, es: t.es, cig: g.cIn / g.groups, cog: g.cOut / g.groups, kVol: prod(g.kSize) }).bytes;

/**
 * Touches one element per 4 KiB page of `out` (keeping its values). A freshly allocated output's
 * pages fault in on first write, about 1.5 µs each here (8 MB: 3 ms); when this thread does it
 * while the workers start on the units, the copy out afterwards finds the pages mapped.
 */
function touchPages(out: F): void {
  for (let i = 0, step = 4096 / out.BYTES_PER_ELEMENT; i < out.length; i += step) out[i] = out[i];
}

/**
 * A streamed task (depthwise): x and y are copied by the task itself. On a parallel run this thread
 * copies x in plane by plane (advancing the progress word that the workers' units wait on) while
 * the workers start computing, then copies each finished unit's output out (its own at once, while
 * the plane is in cache; the workers' ones as their done flags appear), so the copies overlap the
 * compute instead of preceding and following it. `at`: 64-byte region for the progress word and
 * the flags (one Int32 each, 4 + 4·256 bytes).
 */
interface Stream { x: F; xp: number; y: F; yp: number; at: number }
/** Input planes between two progress updates (~128 KiB of f32). */
const STREAM_PLANES = 32;

/**
 * Writes the task and geometry blocks and runs the units on this thread and the pool. `out`: the
 * caller's output array that the result is copied into afterwards; on a parallel run this thread
 * touches its pages before claiming units (touchPages).
 */
function runTask(e: Engine, kind: Kind, g: Geometry, p: Pointers, t: Tiling, threads: number, out?: F, stream?: Stream): void {
  const mem = new Int32Array(e.memory.buffer);
  writeGeometry(mem, g);
  const { items, tiles, cblocks } = itemsOf(kind, g, t);
  // At most 256 units: enough to balance threads, few enough that claiming one stays cheap.
  const chunk = Math.ceil(items / 256), units = Math.ceil(items / chunk);
  const task: number[] = [];
  task[T.kind] = kind; task[T.items] = items; task[T.chunk] = chunk; task[T.x] = p.x; task[T.w] = p.w; task[T.y] = p.y;
  task[T.scratch] = p.scratch; task[T.bias] = p.b ?? 0; task[T.scratchStride] = scratchBytes(kind, g, t); task[T.nc] = t.nc; task[T.cb] = t.cb;
  task[T.tiles] = tiles; task[T.cblocks] = cblocks; task[T.n] = g.n; task[T.cIn] = g.cIn; task[T.cOut] = g.cOut;
  task[T.groups] = g.groups; task[T.inVol] = prod(g.inSize); task[T.outVol] = prod(g.outSize); task[T.kVol] = prod(g.kSize);
  task[T.es] = t.es;
  // Small tasks stay on this thread: waking the workers (~20 µs) would cost more than they share.
  const macs = g.n * g.cOut * prod(g.outSize) * (g.cIn / g.groups) * prod(g.kSize);
  const parallel = threads > 1 && units > 1 && macs >= MIN_PARALLEL_MACS;
  if (stream && parallel) {
    task[T.progress] = stream.at; task[T.flags] = stream.at + 4;
    mem.fill(0, stream.at >> 2, (stream.at >> 2) + 1 + units);
  } else task[T.progress] = task[T.flags] = 0;
  mem.set(task, TASK >> 2);
  if (stream && parallel) {
    streamed(e, mem, stream, units, chunk * prod(g.outSize), t.es, threads);
    return;
  }
  if (stream) copy(view(e, stream.xp, stream.x.length, t.es), stream.x);
  if (parallel) {
    if (out && out.length >= MIN_TOUCH) setCallerJob(() => touchPages(out));
    try {
      runner(e, units, threads);
    } finally {
      setCallerJob(null);
    }
  } else serial(e, units, threads);
  if (stream) copy(stream.y, view(e, stream.yp, stream.y.length, t.es));
}

/** Runs a streamed task on this thread and the pool (see Stream); `per`: output elements per unit. */
function streamed(e: Engine, mem: Int32Array, st: Stream, units: number, per: number, es: number, threads: number): void {
  const flags = (st.at >> 2) + 1;
  const xv = view(e, st.xp, st.x.length, es), yv = view(e, st.yp, st.y.length, es);
  const inVol = mem[(TASK >> 2) + T.inVol], total = st.x.length / inVol;
  const out = (u: number) => {
    const a = u * per, b = Math.min(st.y.length, a + per);
    (st.y as Float64Array).subarray(a, b).set((yv as Float64Array).subarray(a, b));
    Atomics.store(mem, flags + u, 2);
  };
  let next = 0; // the first unit not yet looked at by the sweep
  const copyIn = () => {
    for (let p0 = 0; p0 < total; p0 += STREAM_PLANES) {
      const p1 = Math.min(total, p0 + STREAM_PLANES);
      (xv as Float64Array).subarray(p0 * inVol, p1 * inVol).set((st.x as Float64Array).subarray(p0 * inVol, p1 * inVol));
      Atomics.store(mem, st.at >> 2, p1);
      Atomics.notify(mem, st.at >> 2);
    }
  };
  const after = (u: number) => {
    out(u);
    for (; next < units; next++) {
      const f = Atomics.load(mem, flags + next);
      if (f === 0) break;
      if (f === 1) out(next);
    }
  };
  setCallerJob(copyIn, after);
  try {
    runner(e, units, threads);
  } finally {
    setCallerJob(null);
  }
  for (let u = next; u < units; u++) if (Atomics.load(mem, flags + u) !== 2) out(u);
}

/** Bump allocation of 64-byte aligned regions from HEAP; grows memory once for the total. */
function allocate(e: Engine, sizes: readonly number[]): number[] {
  const out: number[] = [];
  let at = HEAP;
  for (const b of sizes) { out.push(at); at = up(at + b, 64); }
  ensure(e, at);
  return out;
}

/** Bytes per element of an operand: 4 (Float32Array) or 8 (Float64Array). */
const bytesOf = (a: F): number => a.BYTES_PER_ELEMENT;
/** A view of `len` elements of `es` bytes at byte address `at` of linear memory. */
const view = (e: Engine, at: number, len: number, es: number): F =>
  es === 8 ? new Float64Array(e.memory.buffer, at, len) : new Float32Array(e.memory.buffer, at, len);
/** dst.set(src) for either element type (both have the same one). */
const copy = (dst: F, src: F) => (dst as Float64Array).set(src as Float64Array);

/** Copies operands into the heap, runs one task and copies `out` back (`packW`: conv weights packed per group first). */
function execute(kind: Kind, g: Geometry, ops: { x: F; w: F; y: F; b?: F; out: 'y' | 'w'; post?: Epilogue }, t: Tiling & { packW: boolean }): void {
  const e = wasmEngine()!;
  const threads = currentThreads(), es = t.es, ex = typedExports(e.exports, es);
  const cog = g.cOut / g.groups, rows = (g.cIn / g.groups) * prod(g.kSize);
  const packed = g.groups * up(cog, MR) * rows * es;
  const post = hasPost(ops.post) ? ops.post : undefined;
  const [xp, wp, rawW, yp, bp, sp, at, rp] = allocate(e, [ops.x.length * es, t.packW ? packed : ops.w.length * es,
    t.packW ? ops.w.length * es : 0, ops.y.length * es, (ops.b?.length ?? 0) * es, scratchBytes(kind, g, t) * threads, 4 * 257,
    (post?.residual ? ops.y.length : 0) * es]);
  // Depthwise tasks copy x in and y out themselves, overlapped with the compute (Stream).
  const stream = kind === Kind.Depthwise && ops.out === 'y' ? { x: ops.x, xp, y: ops.y, yp, at } : undefined;
  const copyIn = section('allocation/copy');
  if (!stream) copy(view(e, xp, ops.x.length, es), ops.x);
  // Depthwise units write their planes' bias themselves (in parallel); the others start from y or the bias.
  const unitBias = kind === Kind.Depthwise && ops.b !== undefined;
  if (unitBias) copy(view(e, bp, ops.b!.length, es), ops.b!);
  else if (ops.out === 'w') copy(view(e, yp, ops.y.length, es), ops.y); // gy, an input of the weight gradient
  else initOutput(e, ops.y, yp, ops.b, bp, g.n);
  if (t.packW) {
    copy(view(e, rawW, ops.w.length, es), ops.w);
    const pack = section('weight packing');
    for (let grp = 0; grp < g.groups; grp++)
      ex.packA(rawW + grp * cog * rows * es, rows, 1, cog, rows, wp + grp * up(cog, MR) * rows * es);
    pack();
  } else if (ops.out === 'w') view(e, wp, ops.w.length, es).fill(0); // the weight gradient is summed from zero
  else copy(view(e, wp, ops.w.length, es), ops.w);
  copyIn();
  runTask(e, kind, g, { x: xp, w: wp, y: yp, scratch: sp, b: unitBias ? bp : 0 }, t, threads, ops.out === 'y' ? ops.y : ops.w, stream);
  if (stream) return;
  if (post) {
    if (post.residual) copy(view(e, rp, ops.y.length, es), post.residual);
    postInMemory(e.exports, yp, post.residual ? rp : 0, ops.y.length, es, post);
  }
  const copyOut = section('allocation/copy');
  if (ops.out === 'y') copy(ops.y, view(e, yp, ops.y.length, es));
  else copy(ops.w, view(e, wp, ops.w.length, es));
  copyOut();
  if (post) postOnHost(ops.y, post);
}

/** The output region the units accumulate into: zeros, or the bias broadcast (the caller's y is only written). */
function initOutput(e: Engine, y: F, yp: number, b: F | undefined, bp: number, n: number): void {
  const es = bytesOf(y);
  if (!b) {
    view(e, yp, y.length, es).fill(0);
    return;
  }
  copy(view(e, bp, b.length, es), b);
  typedExports(e.exports, es).fillBias(yp, bp, n * b.length, b.length, y.length / (n * b.length));
}

/**
 * Transposed convolution as one stride-1 convolution per output phase (see plan/phases.ts
 * for the index algebra): x, w and y are copied in once, one pass over w packs every phase's
 * weights (packPhases), then each phase runs conv units whose tiles are added to every s-th output
 * position by the unit itself (Kind.Phase).
 */
function polyphase(x: F, w: F, y: F, g: Geometry, phases: readonly PhasePlan[], ep?: Epilogue): void {
  const b = ep?.bias, post = hasPost(ep) ? ep : undefined;
  const e = wasmEngine()!;
  const threads = currentThreads(), es = bytesOf(y), ex = typedExports(e.exports, es);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize);
  if (phases.length === 0) {
    // No tap reaches the output (it is all cropped padding or output padding): y is only the bias, (n, cIn, …) in conv terms.
    for (let i = 0, vol = y.length / (g.n * g.cIn); i < y.length; i++) y[i] = b ? b[Math.floor(i / vol) % g.cIn] : 0;
    if (post) applyEpilogue(y, { residual: post.residual, activation: post.activation, negativeSlope: post.negativeSlope }, g.n, g.cIn, y.length / (g.n * g.cIn));
    return;
  }
  const tilings = phases.map((p) => ({ nc: convTile(cog * prod(p.kSize), prod(p.outSize), g.n * g.groups, threads, es), cb: 1, es }));
  const scratch = Math.max(...phases.map((p, i) => scratchBytes(Kind.Phase, p, tilings[i])));
  const aBytes = phases.map((p) => g.groups * up(cig, MR) * cog * prod(p.kSize) * es);
  const [xp, wp, yp, bp, tp, sp, rp, ...aps] = allocate(e, [x.length * es, w.length * es, y.length * es,
    (b?.length ?? 0) * es, kVol * 16, scratch * threads, (post?.residual ? y.length : 0) * es, ...aBytes]);
  const copyIn = section('allocation/copy');
  copy(view(e, xp, x.length, es), x);
  copy(view(e, wp, w.length, es), w);
  initOutput(e, y, yp, b, bp, g.n);
  copyIn();
  // Tap table for packPhases: tap j → (packed A of its phase, T, flipped tap u).
  const tab = new Int32Array(kVol * 4);
  phases.forEach((p, i) => p.taps.forEach((j, u) => tab.set([aps[i], p.taps.length, u, 0], j * 4)));
  new Int32Array(e.memory.buffer, tp, kVol * 4).set(tab);
  const pack = section('weight packing');
  ex.packPhases(wp, g.groups, cig, cog, kVol, tp);
  pack();
  phases.forEach((p, i) => {
    // Each unit scatters its own tile (phases write disjoint positions): no phase buffer, no serial pass.
    new Int32Array(e.memory.buffer, SCATTER, 12).set([...pad3(p.outSize, 1), ...pad3(g.inSize, 1), ...pad3(g.stride, 1), ...pad3(p.base, 0)]);
    runTask(e, Kind.Phase, p, { x: xp, w: aps[i], y: yp, scratch: sp }, tilings[i], threads, i === 0 ? y : undefined);
  });
  if (post) {
    if (post.residual) copy(view(e, rp, y.length, es), post.residual);
    postInMemory(e.exports, yp, post.residual ? rp : 0, y.length, es, post);
  }
  const copyOut = section('allocation/copy');
  copy(y, view(e, yp, y.length, es));
  copyOut();
  if (post) postOnHost(y, post);
}

/** Runs the task block currently in memory as `units` units on the configured threads (tests use it to inject faults). */
export function runTaskInMemory(units: number): void {
  const e = wasmEngine()!;
  const threads = currentThreads();
  // Not a streamed task (those copy their own operands): no unit waits for input planes.
  new Int32Array(e.memory.buffer).fill(0, (TASK >> 2) + T.progress, (TASK >> 2) + T.flags + 1);
  (threads > 1 ? runner : serial)(e, units, threads);
}

/** The number of threads the next call may use. */
export const currentThreads = (): number => Math.min(threadsFor(), MAX_THREADS);

/** Output-channel blocks per group for convT / weightGrad: several per thread so the split balances. */
const blockFor = (cig: number) => Math.max(1, Math.ceil(cig / 8));

/**
 * Samples side by side in the GEMM's columns when two or more fit in one cache-sized column tile:
 * a small plane (C2: 24 outputs) would otherwise cost a tap table, an im2col and a GEMM call per
 * sample, each a few panels wide. The sums are the same either way (tiling never splits a sum).
 */
export const foldSamples = (g: Geometry, rows: number, es: number): boolean =>
  g.n > 1 && 2 * columnsPerSample(prod(g.outSize)) <= tileFor(rows, g.n * columnsPerSample(prod(g.outSize)), es);

function gemmConv(x: F, w: F, y: F, g: Geometry, ep?: Epilogue): void {
  const b = ep?.bias, post = ep;
  const rows = (g.cIn / g.groups) * prod(g.kSize);
  const es = bytesOf(y), threads = currentThreads();
  if (foldSamples(g, rows, es)) {
    const cols = g.n * columnsPerSample(prod(g.outSize));
    execute(Kind.ConvSamples, g, { x, w, y, b, out: 'y', post }, { nc: convTile(rows, cols, g.groups, threads, es), cb: 1, es, packW: true });
  } else execute(Kind.Conv, g, { x, w, y, b, out: 'y', post }, { nc: convTile(rows, prod(g.outSize), g.n * g.groups, threads, es), cb: 1, es, packW: true });
}

function gemmConvT(x: F, w: F, y: F, g: Geometry, ep?: Epilogue): void {
  const b = ep?.bias, post = ep;
  // x lives in the conv's output space (cOut, outSize), y in its input space (cIn, inSize).
  const cog = g.cOut / g.groups, cig = g.cIn / g.groups, kVol = prod(g.kSize), cb = blockFor(cig);
  const es = bytesOf(y);
  execute(Kind.ConvT, g, { x, w, y, b, out: 'y', post }, { nc: tileFor(Math.max(cog, cb * kVol), prod(g.outSize), es), cb, es, packW: false });
}

/** im2col + packed GEMM (conv), GEMM + col2im (convT), GEMM against the transposed columns (weightGrad). */
export const wasmGemmKernels: ConvKernels = {
  name: 'wasm-gemm',
  // The bias is broadcast into the output region before the units accumulate; residual and
  // activation are applied to that region after them, before the copy out (./epilogue.ts).
  fuses: WASM_FUSES,
  conv: (x, w, y, g, ep) => gemmConv(x, w, y, g, ep),
  convT: (x, w, y, g, ep) => gemmConvT(x, w, y, g, ep),
  weightGrad(x, gy, gw, g) {
    const cog = g.cOut / g.groups, cig = g.cIn / g.groups, kVol = prod(g.kSize);
    const es = bytesOf(gw);
    execute(Kind.WeightGrad, g, { x, w: gw, y: gy, out: 'w' }, { nc: tileFor(Math.max(cog, cig * kVol), prod(g.outSize), es), cb: blockFor(cig), es, packW: false });
  },
};

/** convT for `usePolyphase` geometries, run as phases; conv and weightGrad as wasm-gemm. */
export const wasmPolyphaseKernels: PhaseKernels = {
  name: 'wasm-polyphase', fuses: wasmGemmKernels.fuses, conv: wasmGemmKernels.conv, weightGrad: wasmGemmKernels.weightGrad,
  convTPhases: (x, w, y, g, phases, ep) => polyphase(x, w, y, g, phases, ep),
};

/** Direct kernel for convolutions with one input channel per group (depthwise, any multiplier). */
export const wasmDepthwiseKernels: Pick<ConvKernels, 'conv' | 'fuses'> = {
  fuses: { bias: true },
  conv: (x, w, y, g, ep) => execute(Kind.Depthwise, g, { x, w, y, b: ep?.bias, out: 'y' }, depthwiseTiling(g, bytesOf(y))),
};

/** Depthwise scratch: one zero-padded input row, OW + (KW − 1)·δ elements of the last dim. */
function depthwiseTiling(g: Geometry, es: number): Tiling & { packW: boolean } {
  const a = g.kSize.length - 1;
  return { nc: g.outSize[a] + (g.kSize[a] - 1) * g.dilation[a], cb: 1, es, packW: false };
}

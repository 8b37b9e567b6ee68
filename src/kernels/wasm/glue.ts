/**
 * WebAssembly SIMD kernels (f32 and f64, chosen by the operands' array type): loads the embedded module, owns linear memory, writes one task
 * block per call and runs its units on this thread and, where a worker pool is available
 * (src/kernels/threads/), on the workers too. Inputs are copied in and the output copied out:
 * the caller's arrays are never views of wasm memory, so a growing memory can't invalidate them.
 *
 * Weights are copied in and packed once per write of their storage: a call that brings a
 * WeightKey (the storage and its Tensor.version, passed down by the functional layer) keeps the
 * packed copy in linear memory (weight-cache.ts), and the next call with the same storage, version
 * and packing reuses it, skipping the copy, the finiteness check and the packing. A write the
 * version does not see (`w.data[i] = v` without `markChanged()`) is therefore not seen either: the
 * calls after it use the old values until the version changes (docs/performance.md). The slots
 * go with the memory when the engine is released, and calls without a key (weight gradients,
 * direct kernel calls) copy and pack as before. Results do not depend on the cache: a slot holds
 * exactly what the call would have packed.
 */

import type { DType, Geometry } from '../../spec/types.js';
import { ConvError, fmt } from '../../spec/errors.js';
import { macCount } from '../../spec/shape.js';
import { prod } from '../../util/shape.js';
import type { ConvKernels, Epilogue, F, PhaseKernels, PhasePlan, WeightKey } from '../types.js';
import { copyInto, copyRange } from './copy.js';
import { applyEpilogue, DEFAULT_NEGATIVE_SLOPE } from '../ref/epilogue.js';
import { forEachTap, hasPaddingTaps } from '../ref/taps.js';
import { plainWasm, sharedWasm, plainRelaxedWasm, sharedRelaxedWasm, maxPages, GEMM_DEPTH_BLOCK } from './module.generated.js';
import { section } from '../../profile/profile.js';
import { GEOM, GEOM_EXACT, HEAP, Kind, MAX_THREADS, MAX_UNITS, MR, S, SCATTER, STREAM_WORDS, T, TASK, columnsPerSample, convTBlockA, runUnit, scratchLayout, setCallerJob, typedExports, type WasmExports } from './work.js';
import { WeightCache, type Slot, type WeightCacheStats } from './weight-cache.js';

/** Re-exported where the wasm guard uses it (its definition lives with the taps). */
export { hasPaddingTaps };

export { GEMM_DEPTH_BLOCK };

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

let engine: Engine | undefined;
/** The compiled module and whether memory is shared, or null where WebAssembly SIMD is missing (undefined: not tried yet). */
let compiled: { module: WebAssembly.Module; shared: boolean; relaxed: boolean } | null | undefined;

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
 * The module: the relaxed-SIMD build where the host has relaxed SIMD (the same kernels with fused
 * multiply-adds: each product is rounded once less, so results differ from the plain build within
 * float rounding but stay bitwise identical across runs and thread counts on one machine), else
 * the plain SIMD build.
 */
function compile(): { module: WebAssembly.Module; shared: boolean; relaxed: boolean } | null {
  if (typeof WebAssembly !== 'object') return null;
  const shared = canShare();
  if (relaxedSimdSupported()) {
    const bytes = decode(shared ? sharedRelaxedWasm : plainRelaxedWasm);
    if (WebAssembly.validate(bytes)) return { module: new WebAssembly.Module(bytes), shared, relaxed: true };
  }
  const bytes = decode(shared ? sharedWasm : plainWasm);
  return WebAssembly.validate(bytes) ? { module: new WebAssembly.Module(bytes), shared, relaxed: false } : null;
}

/**
 * The engine, or null where WebAssembly SIMD is missing (feature-detected by validating the
 * module). A fresh instance on a fresh memory after releaseWasmMemory (the module is compiled once).
 */
export function wasmEngine(): Engine | null {
  if (engine) return engine;
  if (compiled === undefined) compiled = compile();
  if (!compiled) return null;
  const { module, shared, relaxed } = compiled;
  const memory = shared
    ? new WebAssembly.Memory({ initial: 16, maximum: maxPages, shared: true })
    : new WebAssembly.Memory({ initial: 16 });
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  engine = { module, memory, exports: instance.exports as unknown as WasmExports, shared, relaxed };
  return engine;
}

/**
 * Linear memory never shrinks, so a call with large operands would keep its heap for good: once
 * the memory is above RETAIN_BYTES and no call came for RELEASE_MS, the engine is dropped (the
 * memory goes with its last instance: the pool stops its workers, see onEngineRelease) and the
 * next call starts on a fresh 1 MiB memory.
 */
export const RETAIN_BYTES = 64 << 20;
export const RELEASE_MS = 1000;
let lastCall = 0;
let releaseTimer: unknown = null;
const releaseHooks: (() => void)[] = [];

/** Runs `hook` whenever the engine is dropped (the worker pool stops its workers, which hold the old memory). */
export function onEngineRelease(hook: () => void): void {
  releaseHooks.push(hook);
}

/** Drops the engine now (the next call creates a fresh memory), and the cached weights with its memory; a no-op without one. */
export function releaseWasmMemory(): void {
  if (!engine) return;
  engine = undefined;
  cache.clear();
  for (const h of releaseHooks) h();
}

/** The packed weights kept between calls, at the bottom of the heap (see weight-cache.ts). */
const cache = new WeightCache(HEAP);

/**
 * Sets the most bytes of packed weights kept in linear memory between calls (default 64 MiB; 0
 * turns the cache off). Lowering it evicts the least recently used weights at once.
 * @example setWeightCacheBytes(16 << 20) // keep at most 16 MiB of packed weights
 */
export function setWeightCacheBytes(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_HEAP_BYTES / 2)
    throw new ConvError('setWeightCacheBytes', 'bytes', `must be an integer from 0 (no cache) to ${MAX_HEAP_BYTES / 2}; got ${fmt(bytes)}`);
  cache.setCap(bytes);
}

/** The weight cache's counts: calls that reused packed weights, calls with a weight key that packed them, and the bytes and weights held now. */
export const weightCacheStats = (): WeightCacheStats => cache.stats();

/** Bytes of linear memory the engine holds now (0 before the first call and after a release). */
export const wasmMemoryBytes = (): number => engine?.memory.buffer.byteLength ?? 0;

/** Marks a call; where the heap is above RETAIN_BYTES, arms the idle release (the timer keeps no program alive). */
function noteCall(e: Engine): void {
  lastCall = Date.now();
  if (releaseTimer || e.memory.buffer.byteLength <= RETAIN_BYTES || typeof setTimeout !== 'function') return;
  const check = (): void => {
    const idle = Date.now() - lastCall;
    if (idle < RELEASE_MS) { releaseTimer = arm(check, RELEASE_MS - idle); return; }
    releaseTimer = null;
    if (engine === e) releaseWasmMemory();
  };
  releaseTimer = arm(check, RELEASE_MS);
}
function arm(f: () => void, ms: number): unknown {
  const t = setTimeout(f, ms) as unknown as { unref?(): void };
  t.unref?.();
  return t;
}

export const wasmAvailable = (): boolean => wasmEngine() !== null;

const serial: Runner = (e, units) => {
  const mem = words(e);
  for (let u = 0; u < units; u++) runUnit(e.exports, mem, 0, u);
};
let runner: Runner = serial;
let threadsFor: () => number = () => 1;

/** Installs the multi-thread runner (the worker pool calls this). */
export function setRunner(r: Runner, threads: () => number): void {
  runner = r;
  threadsFor = threads;
}

/** Bytes linear memory can reach (wasm32: 4 GiB); a call whose operands and scratch need more is declined (wasmFits). */
export const MAX_HEAP_BYTES = maxPages * 65536;

function ensure(e: Engine, bytes: number): void {
  const have = e.memory.buffer.byteLength;
  if (bytes <= have) return;
  try {
    e.memory.grow(Math.ceil((bytes - have) / 65536));
  } catch (err) {
    throw new ConvError('wasm', 'memory', `must grow from ${have} to ${bytes} bytes for this call, which the host refused (${String((err as Error)?.message ?? err)}); got a call needing ${bytes} bytes`);
  }
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;
/** Multiply-adds below which a task runs on the calling thread alone (about 20 µs of work). */
const MIN_PARALLEL_MACS = 1 << 20;
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

/** Writes v into mem at `at`, `at + 1`, `at + 2`, right-aligned: leading dims missing from v are `fill`. */
function put3(mem: Int32Array, at: number, v: readonly number[], fill: number): void {
  const lead = 3 - v.length;
  for (let i = 0; i < 3; i++) mem[at + i] = i < lead ? fill : v[i - lead];
}

/** The geometry block (see asm/conv.ts); `exact`: depthwise rows skip padding taps rather than add w·0 (a non-finite w). */
function writeGeometry(mem: Int32Array, g: Geometry, exact = false): void {
  const at = GEOM >> 2;
  mem[at] = g.n; mem[at + 1] = g.cIn; mem[at + 2] = g.cOut; mem[at + 3] = g.groups;
  put3(mem, at + 4, g.inSize, 1); put3(mem, at + 7, g.outSize, 1); put3(mem, at + 10, g.kSize, 1);
  put3(mem, at + 13, g.stride, 1); put3(mem, at + 16, g.dilation, 1); put3(mem, at + 19, g.padBefore, 0);
  mem[at + GEOM_EXACT] = exact ? 1 : 0;
}

/** An Int32Array over the whole of `e`'s memory, made again only when the memory has grown (a new buffer). */
function words(e: Engine): Int32Array {
  const buf = e.memory.buffer;
  if (wordView?.buffer !== buf) wordView = new Int32Array(buf);
  return wordView;
}
let wordView: Int32Array | null = null;

/**
 * `b`: the bias a depthwise unit writes into its output plane before accumulating (0: none, y is
 * initialised); `a`, `fillA`: a ConvT task's packed blocks and whether its units pack them (T.packedA);
 * `offs`, `xRow`: a Direct task's row offsets and padded plane length.
 */
interface Pointers { x: number; w: number; y: number; scratch: number; b?: number; a?: number; fillA?: boolean; offs?: number; xRow?: number }
/** Column tile, channel block and bytes per element (4: f32, 8: f64). */
interface Tiling { nc: number; cb: number; es: number }

/** Units of a task: (sample, group, tile) for conv, (sample, channel) for depthwise, (group, block) otherwise. */
function itemsOf(kind: Kind, g: Geometry, t: Tiling): { items: number; tiles: number; cblocks: number } {
  const cols = kind === Kind.ConvSamples ? g.n * columnsPerSample(prod(g.outSize)) : prod(g.outSize);
  const rowBlocks = kind === Kind.Direct || kind === Kind.Phase || kind === Kind.PhaseDirect;
  const tiles = Math.ceil(cols / t.nc), cblocks = Math.ceil((rowBlocks ? g.cOut : g.cIn) / g.groups / t.cb);
  const items = kind === Kind.Conv ? g.n * g.groups * tiles : rowBlocks ? g.n * g.groups * cblocks * tiles
    : kind === Kind.ConvSamples ? g.groups * tiles : kind === Kind.Depthwise ? g.n * g.cOut : g.groups * cblocks;
  return { items, tiles, cblocks };
}

/** Scratch bytes per thread for a task. */
const scratchBytes = (kind: Kind, g: Geometry, t: Tiling) =>
  scratchLayout(kind, { nc: t.nc, cb: t.cb, es: t.es, cig: g.cIn / g.groups, cog: g.cOut / g.groups, kVol: prod(g.kSize) }).bytes;

/**
 * A streamed task (depthwise): x and y are copied by the task itself. On a parallel run this thread
 * copies x in plane by plane (advancing the progress word that the workers' units wait on) while
 * the workers start computing, then copies each finished unit's output out (its own at once, while
 * the plane is in cache; the workers' ones as their done flags appear), so the copies overlap the
 * compute instead of preceding and following it. `at`: the region of the progress word and the
 * flags (STREAM_WORDS Int32 words: one, then one per unit).
 */
interface Stream { x: F; xp: number; y: F; yp: number; at: number }
/** Input planes between two progress updates (~128 KiB of f32). */
const STREAM_PLANES = 32;

/**
 * Writes the task and geometry blocks and runs the units on this thread and the pool.
 *
 * The calling thread does not pre-fault the output array's pages while the workers compute (it
 * once touched one element per 4 KiB page there): reading then writing a fresh array's page maps
 * the zero page and then replaces it, and that replacement flushes the TLB of every CPU running the
 * process, the workers' included. Measured in headless Chromium on a 2-vCPU VM, the touch took 7 ms
 * of an 18 ms T1 call and 35 ms of a C5 call and slowed the workers' units with it: 2 threads ran
 * T1 at 17–18 ms against 18–19 ms on 1 (C5 70–79 against 107–130); without it 9–10 against 18
 * (C5 51–56 against 94–99). The copy out writes each page once, which faults it in without a flush.
 */
function runTask(e: Engine, kind: Kind, g: Geometry, p: Pointers, t: Tiling, threads: number, stream?: Stream, exact = false): void {
  const mem = words(e);
  writeGeometry(mem, g, exact);
  const { items, tiles, cblocks } = itemsOf(kind, g, t);
  const chunk = Math.ceil(items / MAX_UNITS), units = Math.ceil(items / chunk);
  // The task block's words, written in place (the T fields are word offsets from TASK).
  const task = mem.subarray(TASK >> 2, (TASK >> 2) + T.xRow + 1);
  task[T.kind] = kind; task[T.items] = items; task[T.chunk] = chunk; task[T.x] = p.x; task[T.w] = p.w; task[T.y] = p.y;
  task[T.scratch] = p.scratch; task[T.bias] = p.b ?? 0; task[T.scratchStride] = scratchBytes(kind, g, t); task[T.nc] = t.nc; task[T.cb] = t.cb;
  task[T.tiles] = tiles; task[T.cblocks] = cblocks; task[T.n] = g.n; task[T.cIn] = g.cIn; task[T.cOut] = g.cOut;
  task[T.groups] = g.groups; task[T.inVol] = prod(g.inSize); task[T.outVol] = prod(g.outSize); task[T.kVol] = prod(g.kSize);
  task[T.es] = t.es; task[T.packedA] = p.a ?? 0; task[T.fillA] = p.fillA ? 1 : 0; task[T.offs] = p.offs ?? 0; task[T.xRow] = p.xRow ?? 0;
  // Small tasks stay on this thread: waking the workers (~20 µs) would cost more than they share.
  const macs = macCount(g);
  const parallel = threads > 1 && units > 1 && macs >= MIN_PARALLEL_MACS;
  if (stream && parallel) {
    task[T.progress] = stream.at; task[T.flags] = stream.at + 4;
    mem.fill(0, stream.at >>> 2, (stream.at >>> 2) + 1 + units);
  } else task[T.progress] = task[T.flags] = 0;
  if (stream && parallel) {
    streamed(e, mem, stream, units, chunk * prod(g.outSize), t.es, threads);
    return;
  }
  if (stream) copy(view(e, stream.xp, stream.x.length, t.es), stream.x);
  if (parallel) runner(e, units, threads);
  else serial(e, units, threads);
  if (stream) copy(stream.y, view(e, stream.yp, stream.y.length, t.es));
}

/** Runs a streamed task on this thread and the pool (see Stream); `per`: output elements per unit. */
function streamed(e: Engine, mem: Int32Array, st: Stream, units: number, per: number, es: number, threads: number): void {
  const flags = (st.at >>> 2) + 1;
  const xv = view(e, st.xp, st.x.length, es), yv = view(e, st.yp, st.y.length, es);
  const inVol = mem[(TASK >> 2) + T.inVol], total = st.x.length / inVol;
  const out = (u: number) => {
    const a = u * per, b = Math.min(st.y.length, a + per);
    copyRange(st.y, a, yv, a, b - a);
    Atomics.store(mem, flags + u, 2);
  };
  let next = 0; // the first unit not yet looked at by the sweep
  const copyIn = () => {
    for (let p0 = 0; p0 < total; p0 += STREAM_PLANES) {
      const p1 = Math.min(total, p0 + STREAM_PLANES);
      copyRange(xv, p0 * inVol, st.x, p0 * inVol, (p1 - p0) * inVol);
      Atomics.store(mem, st.at >>> 2, p1);
      Atomics.notify(mem, st.at >>> 2);
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

/** The end address of 64-byte aligned regions of `sizes` bytes bump-allocated from HEAP. */
function heapEnd(sizes: readonly number[]): number {
  let at = HEAP;
  for (const b of sizes) at = up(at + b, 64);
  return at;
}

/**
 * Bump allocation of 64-byte aligned regions after the cached weights (from HEAP where there are
 * none); grows memory once for the total. Where the cached weights and the call together would
 * not fit linear memory, the cache is emptied first (the call needs the whole heap).
 */
function allocate(e: Engine, sizes: readonly number[]): number[] {
  if (cache.end + heapEnd(sizes) - HEAP > MAX_HEAP_BYTES) cache.clear();
  const out: number[] = [];
  let at = cache.end;
  for (const b of sizes) { out.push(at); at = up(at + b, 64); }
  ensure(e, at);
  noteCall(e);
  return out;
}

/**
 * The cache's part of a call that brings a weight key: `hit`, the slot that holds this storage's
 * packing `key` at its version; else `slot`, a fresh one of `bytes` for the call to fill. Null for
 * a key whose storage is not `w` (or no key), a slot over the cap, and a call whose own regions
 * (`sizes`, their uncached sizes) would not fit linear memory above a full cache (the cache is
 * emptied: the call needs the whole heap).
 */
interface Cached { slot: Slot; hit: boolean }
function cached(e: Engine, wk: WeightKey | undefined, w: F, key: string, bytes: number, sizes: readonly number[]): Cached | null {
  if (!wk || wk.storage !== w || cache.cap === 0) return null;
  if (Math.max(cache.end - HEAP, cache.cap) + heapEnd(sizes) > MAX_HEAP_BYTES) {
    cache.clear();
    return null;
  }
  const hit = cache.lookup(w, wk.version, key);
  if (hit) return { slot: hit, hit: true };
  const slot = cache.reserve(w, wk.version, key, bytes, new Uint8Array(e.memory.buffer));
  return slot && { slot, hit: false };
}

/** Runs `fill` (the call that writes a fresh slot); the slot is freed where it fails or declines (returns false). */
function filling<R>(c: Cached | null, fill: () => R): R {
  const fresh = c && !c.hit ? c.slot : null;
  let ok = false;
  try {
    const r = fill();
    ok = r !== false;
    return r;
  } finally {
    if (fresh && !ok) cache.drop(fresh);
  }
}

/** Bytes per element of an operand: 4 (Float32Array) or 8 (Float64Array). */
const bytesOf = (a: F): number => a.BYTES_PER_ELEMENT;
/** A view of `len` elements of `es` bytes at byte address `at` of linear memory. */
const view = (e: Engine, at: number, len: number, es: number): F =>
  es === 8 ? new Float64Array(e.memory.buffer, at, len) : new Float32Array(e.memory.buffer, at, len);
/** dst.set(src) for either element type (both have the same one), at memcpy speed whatever the offsets (copy.ts). */
const copy = copyInto;

/**
 * The operands of a task, by the task block's slots: a forward task reads x and w and writes y
 * (`b`: the bias); a weight-gradient task reads x and gy and writes gw.
 */
type Operands = { x: F; w: F; y: F; b?: F; post?: Post } | { x: F; gy: F; gw: F };

/** The epilogue after the bias that the wasm families fuse: a residual (output-shaped) and relu or leakyRelu. */
type Post = Omit<Epilogue, 'bias'>;
/** The part of `ep` after its bias, or undefined when there is none. */
const postOf = (ep?: Epilogue): Post | undefined => (ep?.residual || ep?.activation ? { residual: ep.residual, activation: ep.activation, negativeSlope: ep.negativeSlope } : undefined);
/** The epilogue's activation code for asm `epilogue` (0: none). */
const actCode = (p: Post): number => (p.activation === 'relu' ? 1 : p.activation === 'leakyRelu' ? 2 : 0);

/**
 * Applies `post` to the output region yp (len elements) in linear memory, the residual copied to
 * rp first: one SIMD pass before the copy out, bit for bit the generic epilogue's formulas.
 */
function applyPost(e: Engine, post: Post, yp: number, rp: number, len: number, es: number): void {
  if (post.residual) copy(view(e, rp, len, es), post.residual);
  typedExports(e.exports, es).epilogue(yp, post.residual ? rp : 0, len, actCode(post), post.negativeSlope ?? DEFAULT_NEGATIVE_SLOPE);
}

/** The generic epilogue's `post` on a host output (n, c, vol) that a JavaScript path wrote. */
const hostPost = (y: F, post: Post | undefined, n: number, c: number) => { if (post) applyEpilogue(y, post, n, c, y.length / (n * c)); };
/** `packW`: conv weights packed per group first; `guard`: the slot whose non-finite values must not meet padding taps (see hasPaddingTaps). */
type TaskTiling = Tiling & { packW: boolean; guard?: 'w' | 'y' };

/**
 * Region sizes (bytes, allocation order) of execute: x (for Direct, its padded planes and one panel
 * of slack: gemmDirect reads whole panels), w (packed), raw w, y, bias, scratch per thread, stream
 * words, Direct's row offsets, the residual of the epilogue.
 */
function executeSizes(kind: Kind, g: Geometry, lens: { x: number; w: number; y: number; b: number; r?: number }, t: TaskTiling, threads: number): number[] {
  const es = t.es, cog = g.cOut / g.groups, rows = (g.cIn / g.groups) * prod(g.kSize);
  const packed = g.groups * up(cog, MR) * rows * es;
  const direct = kind === Kind.Direct;
  return [direct ? (g.n * g.cIn * directRow(g) + 8) * es : lens.x * es, t.packW ? packed : lens.w * es, t.packW ? lens.w * es : 0, lens.y * es, lens.b * es,
    scratchBytes(kind, g, t) * threads, 4 * STREAM_WORDS, direct ? rows * 4 : 0, (lens.r ?? 0) * es];
}

/**
 * Direct (gemmDirect) applies to a 1-D stride-1 conv: output j of tap kq reads input j + kq·δ − p0,
 * so the columns of one B row are consecutive elements of one padded input plane.
 */
const directApplies = (g: Geometry, es: number): boolean =>
  directOn && g.kSize.length === 1 && g.stride[0] === 1 && g.padBefore[0] >= 0
  && ((g.cIn / g.groups) * directRow(g) + 8) * es <= 0x7fffffff;

/**
 * Output channels per unit of a Direct or phase task: all of a group's, unless its column tiles give fewer
 * than 4 units per thread (a short signal with many channels, e.g. 512 channels × 86 frames), when
 * the channels are cut into blocks (multiples of MR, 16 at least) until they do. Blocks of rows
 * never split a sum, so the results are the same.
 */
function directBlock(g: Geometry, nc: number, threads: number): number {
  const cog = g.cOut / g.groups, have = g.n * g.groups * Math.ceil(prod(g.outSize) / nc), want = 4 * threads;
  if (threads < 2 || have >= want) return cog;
  return Math.min(cog, Math.max(16, up(Math.ceil(cog / Math.ceil(want / have)), MR)));
}

let directOn = true;
/** Runs `fn` with Direct tasks off, so 1-D stride-1 convs go through im2col (tests compare the two forms bitwise). */
export function withoutDirectConv<R>(fn: () => R): R {
  const prev = directOn;
  directOn = false;
  try {
    return fn();
  } finally {
    directOn = prev;
  }
}

/** The units a polyphase convT of `g` runs its phases as: 'direct' (PhaseDirect) or 'im2col' (Phase). */
export const phaseTaskKind = (g: Geometry, phases: readonly PhasePlan[], es: number): 'direct' | 'im2col' => phaseDirect(g, phases, es) ? 'direct' : 'im2col';

/** The wasm task a conv of `g` runs as: 'direct' (gemmDirect), 'samples' (samples folded into the columns) or 'im2col'. */
export function convTaskKind(g: Geometry, es: number): 'direct' | 'samples' | 'im2col' {
  const { kind } = convTask(g, es, currentThreads());
  return kind === Kind.Direct ? 'direct' : kind === Kind.ConvSamples ? 'samples' : 'im2col';
}

/** Elements of one padded input plane of a Direct task: p0 zeros, the input, and zeros up to the last tap of the last output. */
const directRow = (g: Geometry): number => {
  const L = g.inSize[0], p0 = g.padBefore[0], last = g.outSize[0] - 1 + (g.kSize[0] - 1) * g.dilation[0];
  return Math.max(p0 + L, last + 1);
};

/** x (planes of L elements) copied to xp as planes of `row` elements, each with p0 zeros before it and zeros after, and one panel of slack. */
function padPlanes(e: Engine, x: F, xp: number, planes: number, L: number, row: number, p0: number, es: number): void {
  const xv = view(e, xp, planes * row + 8, es);
  if (L <= 64) {
    // Short planes (small calls): plain stores, no subarray object and no builtin call per plane.
    for (let pl = 0, at = 0, i = 0; pl < planes; pl++) {
      const start = pl * row + p0;
      while (at < start) xv[at++] = 0;
      for (let j = 0; j < L; j++) xv[at++] = x[i++];
    }
    xv.fill(0, Math.max(0, (planes - 1) * row + p0 + L));
    return;
  }
  // Each element written once: the zeros between planes (after one, before the next), then the plane.
  for (let pl = 0, at = 0; pl < planes; pl++, at += row) {
    xv.fill(0, pl === 0 ? 0 : at - row + p0 + L, at + p0);
    copyRange(xv, at + p0, x, pl * L, L);
  }
  xv.fill(0, Math.max(0, (planes - 1) * row + p0 + L));
}

/**
 * x (planes of `L` dims) copied to xp as planes of `dims`, each with P[a] zeros before it in dim a
 * and zeros after, and one panel of slack: the 2-D and 3-D form of padPlanes.
 */
function padPlanesNd(e: Engine, x: F, xp: number, planes: number, L: readonly number[], dims: readonly number[], P: readonly number[], es: number): void {
  const plane = prod(dims), xv = view(e, xp, planes * plane + 8, es);
  xv.fill(0);
  const [l0, l1, l2] = pad3(L, 1), [r1, r2] = pad3(dims, 1).slice(1), [p0, p1, p2] = pad3(P, 0), run = l2;
  for (let pl = 0, i = 0; pl < planes; pl++)
    for (let a = 0; a < l0; a++)
      for (let b = 0; b < l1; b++, i += run) {
        const at = pl * plane + ((a + p0) * r1 + b + p1) * r2 + p2;
        if (run > 64) copyRange(xv, at, x, i, run);
        else for (let j = 0; j < run; j++) xv[at + j] = x[i + j];
      }
}

/**
 * The byte offset of B's row c·T + t in a group's padded planes (c < cn, t the flat tap index over
 * kSize): (c·plane + Σ_a (shift[a] + t_a·δ_a)·strides[a])·es; in 1-D (strides [1]) (c·row + shift + t·δ)·es.
 */
function tapOffsets(e: Engine, op: number, cn: number, k: readonly number[], d: readonly number[], plane: number, strides: readonly number[], shift: readonly number[], es: number): void {
  const T = prod(k), offs = new Int32Array(e.memory.buffer, op, cn * T);
  for (let t = 0; t < T; t++) {
    let off = 0;
    for (let a = k.length - 1, r = t; a >= 0; a--) {
      off += (shift[a] + (r % k[a]) * d[a]) * strides[a];
      r = Math.floor(r / k[a]);
    }
    for (let c = 0; c < cn; c++) offs[c * T + t] = (c * plane + off) * es;
  }
}

/**
 * The packing a forward task keeps in the weight cache and its bytes: conv weights packed per
 * group (A), a ConvT's blocks of packed A (T), a depthwise conv's plain copy (W). The key holds
 * the dtype and every number the packed layout depends on.
 */
function packingOf(kind: Kind, g: Geometry, t: TaskTiling, wLen: number): { key: string; bytes: number } | null {
  const es = t.es, cog = g.cOut / g.groups, cig = g.cIn / g.groups, kVol = prod(g.kSize), rows = cig * kVol;
  if (t.packW) return { key: `A${es}:${g.groups}:${cog}:${rows}`, bytes: g.groups * up(cog, MR) * rows * es };
  if (kind === Kind.ConvT) return { key: `T${es}:${g.groups}:${cog}:${cig}:${kVol}:${t.cb}`, bytes: g.groups * Math.ceil(cig / t.cb) * convTBlockA(t.cb, kVol, cog) * es };
  if (kind === Kind.Depthwise) return { key: `W${es}:${wLen}`, bytes: wLen * es };
  return null;
}

/**
 * Copies operands into the heap, runs one task and copies the written slot back. Returns false,
 * having written nothing, where the guarded slot holds ±Inf or NaN that would meet a padding tap
 * and the kernel has no exact form (the caller then sums the definition's taps, exactConv).
 */
function execute(kind: Kind, g: Geometry, ops: Operands, t: TaskTiling, wk?: WeightKey): boolean {
  const e = wasmEngine()!;
  const threads = currentThreads(), es = t.es, ex = typedExports(e.exports, es);
  const grad = 'gw' in ops, xs = ops.x, ws = grad ? ops.gw : ops.w, ys = grad ? ops.gy : ops.y, b = grad ? undefined : ops.b;
  const post = grad ? undefined : ops.post;
  const cog = g.cOut / g.groups, rows = (g.cIn / g.groups) * prod(g.kSize);
  const sizes = executeSizes(kind, g, { x: xs.length, w: ws.length, y: ys.length, b: b?.length ?? 0, r: post?.residual ? ys.length : 0 }, t, threads);
  const packing = grad ? null : packingOf(kind, g, t, ws.length);
  const c = packing && cached(e, wk, ws, packing.key, packing.bytes, sizes);
  // Cached: the packed weights (depthwise: the copy) are in the slot; a ConvT still needs the raw copy to pack from, a hit no copy at all.
  if (c && (kind !== Kind.ConvT || c.hit)) sizes[1] = 0;
  if (c?.hit) sizes[2] = 0;
  return filling(c, () => {
    const [xp, wRegion, rawRegion, yp, bp, sp, at, op, rp] = allocate(e, sizes);
    // wp: the weights the task reads (T.w); rawW: where the weights are copied to.
    const wp = c && kind !== Kind.ConvT ? c.slot.at : wRegion, rawW = t.packW ? rawRegion : wp;
    // Depthwise tasks copy x in and y out themselves, overlapped with the compute (Stream).
    const stream = kind === Kind.Depthwise && !grad ? { x: xs, xp, y: ys, yp, at } : undefined;
    const copyIn = section('allocation/copy');
    if (kind === Kind.Direct) {
      padPlanes(e, xs, xp, g.n * g.cIn, g.inSize[0], directRow(g), g.padBefore[0], es);
      tapOffsets(e, op, g.cIn / g.groups, g.kSize, g.dilation, directRow(g), [1], [0], es);
    }
    else if (!stream) copy(view(e, xp, xs.length, es), xs);
    // Depthwise units write their planes' bias themselves (in parallel); the others start from y or the bias.
    const unitBias = kind === Kind.Depthwise && b !== undefined;
    if (unitBias) copy(view(e, bp, b.length, es), b);
    else if (grad) copy(view(e, yp, ys.length, es), ys); // gy, an input of the weight gradient
    else initOutput(e, ys, yp, b, bp, g.n);
    // The weight gradient is summed from zero; conv weights are packed from their raw copy.
    if (grad) view(e, wp, ws.length, es).fill(0);
    else if (!c?.hit) copy(view(e, rawW, ws.length, es), ws);
    copyIn();
    // A fresh slot records whether its weights are finite, for any geometry that meets it later.
    if (c && !c.hit && t.guard === 'w') c.slot.finite = ex.finite(rawW, ws.length) === 1;
    let exact = false;
    if (t.guard && hasPaddingTaps(g)) {
      const finite = t.guard === 'w' ? (c ? c.slot.finite : ex.finite(rawW, ws.length) === 1) : ex.finite(yp, ys.length) === 1;
      if (!finite && kind !== Kind.Depthwise) return false;
      exact = !finite;
    }
    if (t.packW && !c?.hit) {
      const pack = section('weight packing');
      for (let grp = 0; grp < g.groups; grp++)
        ex.packA(rawW + grp * cog * rows * es, rows, 1, cog, rows, wp + grp * up(cog, MR) * rows * es);
      pack();
    }
    const direct = kind === Kind.Direct ? { offs: op, xRow: directRow(g) } : {};
    const a = kind === Kind.ConvT && c ? { a: c.slot.at, fillA: !c.hit } : {};
    runTask(e, kind, g, { x: xp, w: wp, y: yp, scratch: sp, b: unitBias ? bp : 0, ...direct, ...a }, t, threads, stream, exact);
    // A streamed task copied its output out itself.
    if (!stream) {
      if (post) applyPost(e, post, yp, rp, ys.length, es);
      const copyOut = section('allocation/copy');
      if (grad) copy(ws, view(e, wp, ws.length, es));
      else copy(ys, view(e, yp, ys.length, es));
      copyOut();
    }
    noteCall(e); // the heap is in use until the result is out (the idle release counts from here)
    return true;
  });
}

/**
 * The definition's sums (the ref kernels' taps) for a call whose ±Inf or NaN multiplier meets
 * padding taps, where the dense kernels would add NaN (w·0): y = conv(x, w) (+ b), or gw = Σ x·gy.
 */
function exactConv(x: F, w: F, y: F, g: Geometry, b?: F): void {
  const vol = prod(g.outSize);
  for (let i = 0; i < y.length; i++) y[i] = b ? b[Math.floor(i / vol) % g.cOut] : 0;
  forEachTap(g, (xi, wi, yi) => { y[yi] += w[wi] * x[xi]; });
}
function exactWeightGrad(x: F, gy: F, gw: F, g: Geometry): void {
  gw.fill(0);
  forEachTap(g, (xi, wi, yi) => { gw[wi] += x[xi] * gy[yi]; });
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
 * The tilings of a polyphase convT's phases and its region sizes (x — for PhaseDirect its padded
 * planes —, w, y, bias, tap table, scratch per thread, PhaseDirect's row offsets, packed A per phase).
 */
function polyphaseLayout(g: Geometry, phases: readonly PhasePlan[], es: number, threads: number, bLen: number, rLen: number): PolyphaseLayout {
  // The phases are memoised per geometry (plan/phases.ts), so a repeated call (a stream's push, a
  // model's forward) finds its layout here; `sizes` is the caller's to change.
  let byCall = layouts.get(phases);
  if (!byCall) layouts.set(phases, (byCall = new Map()));
  const key = `${es}:${threads}:${bLen}:${rLen}:${directOn ? 1 : 0}`;
  let l = byCall.get(key);
  if (!l) byCall.set(key, (l = computePolyphaseLayout(g, phases, es, threads, bLen, rLen)));
  return { ...l, sizes: [...l.sizes] };
}

type PolyphaseLayout = ReturnType<typeof computePolyphaseLayout>;
const layouts = new WeakMap<readonly PhasePlan[], Map<string, PolyphaseLayout>>();

function computePolyphaseLayout(g: Geometry, phases: readonly PhasePlan[], es: number, threads: number, bLen: number, rLen: number) {
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize);
  const direct = phaseDirect(g, phases, es);
  const kind = direct ? Kind.PhaseDirect : Kind.Phase;
  // A PhaseDirect phase runs as a flat conv over its grid's columns (see phaseDirect); a Phase one over its outputs.
  const units = phases.map((p, i) => (direct ? flatPhase(p, direct.cols[i], direct.plane) : p));
  const tilings = units.map((p) => {
    const nc = convTile(cog * prod(p.kSize), prod(p.outSize), g.n * g.groups, threads, es);
    return { nc, cb: directBlock(p, nc, threads), es };
  });
  const scratch = Math.max(0, ...units.map((p, i) => scratchBytes(kind, p, tilings[i])));
  const aBytes = phases.map((p) => g.groups * up(cig, MR) * cog * prod(p.kSize) * es);
  const xBytes = direct ? (g.n * g.cOut * direct.plane + 8) * es : g.n * g.cOut * prod(g.outSize) * es;
  // PhaseDirect's row offsets: one table per phase, at byte `offsAt[φ]` of their region.
  const offsAt: number[] = [];
  let offsBytes = 0;
  if (direct) for (const p of phases) { offsAt.push(offsBytes); offsBytes += up(cog * prod(p.kSize) * 4, 64); }
  const sizes = [xBytes, g.cOut * cig * kVol * es, g.n * g.cIn * prod(g.inSize) * es,
    bLen * es, kVol * 16, scratch * threads, offsBytes, rLen * es, ...aBytes];
  return { tilings, sizes, kind, direct, offsAt, units };
}

/** A phase as the flat stride-1 conv its PhaseDirect units run: `cols` columns of the padded grid, its taps in one dim. */
const flatPhase = (p: PhasePlan, cols: number, plane: number): PhasePlan =>
  ({ ...p, inSize: [plane], outSize: [cols], kSize: [prod(p.kSize)], stride: [1], dilation: [1], padBefore: [0] });

/**
 * The padded planes of a polyphase convT run as PhaseDirect: one copy of x serves every phase.
 * Per dim a, x sits after P[a] = the largest phase padding before it in a plane of dims[a]
 * positions; phase φ reads at shift[φ][a] = P[a] − p0(φ). The phase's GEMM runs over the columns
 * of the plane's grid, column c = Σ q_a·strides[a]: B's row for tap t is the plane read from
 * offset Σ (shift[a] + t_a·δ_a)·strides[a] on, no im2col. In 2-D and 3-D the grid is wider than
 * the phase's outputs (q_a up to dims[a] for a > 0): those columns are computed and dropped by the
 * scatter (S.V1, S.V2), so the form is taken there only where they cost less than the im2col they
 * spare (IM2COL_COST). Null where a phase is not stride 1, Direct is off, or the offsets pass 31 bits.
 */
function phaseDirect(g: Geometry, phases: readonly PhasePlan[], es: number): PaddedPlanes | null {
  if (!directOn || phases.length === 0 || phases.some((p) => p.stride.some((v) => v !== 1))) return null;
  const d = g.kSize.length, L = g.outSize;
  const P = L.map((_, a) => Math.max(0, ...phases.map((p) => p.padBefore[a])));
  const shift = phases.map((p) => P.map((v, a) => v - p.padBefore[a]));
  const dims = L.map((l, a) => Math.max(P[a] + l, ...phases.map((p, i) => shift[i][a] + p.outSize[a] + (p.kSize[a] - 1) * p.dilation[a])));
  const strides = dims.map((_, a) => prod(dims.slice(a + 1)));
  const cols = phases.map((p) => p.outSize.reduce((c, q, a) => c + (q - 1) * strides[a], 1));
  const plane = prod(dims);
  if (!(((g.cOut / g.groups) * plane + 8) * es <= 0x7fffffff)) return null;
  if (d > 1) {
    const m = g.cIn / g.groups, wide = cols.reduce((t, c) => t + c, 0), real = phases.reduce((t, p) => t + prod(p.outSize), 0);
    if (wide * m > real * (m + IM2COL_COST)) return null;
  }
  return { dims, P, shift, strides, cols, plane };
}

/** PhaseDirect's padded planes (phaseDirect). */
interface PaddedPlanes {
  readonly dims: readonly number[]; readonly P: readonly number[]; readonly shift: readonly (readonly number[])[];
  readonly strides: readonly number[]; readonly cols: readonly number[]; readonly plane: number;
}

/**
 * The im2col of one B element (a gathered copy through the tap table) costs about as much as this
 * many of the GEMM's multiply-adds per output channel (measured here: DCGAN's and T4's phases).
 */
const IM2COL_COST = 16;

/**
 * An upper bound of polyphaseLayout's heap from g alone (the candidate's limit check has no
 * phases): every tap belongs to one phase at most, a phase's outputs are at most the convT's, and
 * its column tile is at most a cache tile of depth cog (its scratch: phase cIn = cog, cOut = cig).
 */
function polyphaseHeapBound(g: Geometry, es: number, threads: number): number {
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize);
  const nc = tileFor(cog, Math.max(prod(g.inSize), prod(g.kSize.map((k, a) => (k - 1) * g.dilation[a] + Math.max(g.outSize[a], g.inSize[a])))), es);
  const scratch = scratchLayout(Kind.Phase, { nc, cb: 1, cig: cog, cog: cig, kVol, es }).bytes;
  // PhaseDirect's padded plane, per dim: P ≤ (k − 1)·δ zeros before x, and phase φ's last tap
  // reads position P + q1(φ), q1 ≤ ⌊(inSize − 1 + p0)/s⌋ (plan/phases.ts).
  const plane = prod(g.kSize.map((k, a) => (k - 1) * g.dilation[a] + Math.max(g.outSize[a], Math.floor((g.inSize[a] - 1 + g.padBefore[a]) / g.stride[a]) + 1)));
  return heapEnd([(g.n * g.cOut * Math.max(plane, prod(g.outSize)) + 8) * es, g.cOut * cig * kVol * es, g.n * g.cIn * prod(g.inSize) * es,
    g.cIn * es, kVol * 16, scratch * threads, 4 * cog * kVol + 64 * kVol, g.n * g.cIn * prod(g.inSize) * es, g.groups * up(cig, MR) * cog * kVol * es + 64 * kVol]);
}

/**
 * Transposed convolution as one stride-1 convolution per output phase (see plan/phases.ts
 * for the index algebra): x, w and y are copied in once, one pass over w packs every phase's
 * weights (packPhases), then each phase runs conv units whose tiles are added to every s-th output
 * position by the unit itself (Kind.Phase). A phase's taps outside x are padding of that conv, so
 * a w holding ±Inf or NaN (w·0 = NaN there) runs as GEMM + col2im instead, which has no such taps.
 */
function polyphase(x: F, w: F, y: F, g: Geometry, phases: readonly PhasePlan[], b?: F, post?: Post, wk?: WeightKey): void {
  const e = wasmEngine()!;
  const threads = currentThreads(), es = bytesOf(y), ex = typedExports(e.exports, es);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize);
  const { tilings, sizes, kind, direct, offsAt, units } = polyphaseLayout(g, phases, es, threads, b?.length ?? 0, post?.residual ? y.length : 0);
  if (phases.length === 0) {
    // No tap reaches the output (it is all cropped padding or output padding): y is only the bias, (n, cIn, …) in conv terms.
    for (let i = 0, vol = y.length / (g.n * g.cIn); i < y.length; i++) y[i] = b ? b[Math.floor(i / vol) % g.cIn] : 0;
    hostPost(y, post, g.n, g.cIn);
    return;
  }
  // Cached: every phase's packed A lies in one slot, one after another (64-byte aligned).
  const aBytes = sizes.slice(PHASE_A), offsets = aBytes.map((_, i) => aBytes.slice(0, i).reduce((s, v) => s + up(v, 64), 0));
  const c = cached(e, wk, w, phaseKey(g, phases, es), aBytes.reduce((s, v) => s + up(v, 64), 0), sizes);
  if (c) sizes.fill(0, PHASE_A);
  if (c?.hit) {
    if (!c.slot.finite) return gemmConvT(x, w, y, g, b, post);
    sizes[1] = 0;
  }
  filling(c, () => {
    const [xp, wp, yp, bp, tp, sp, op, rp, ...regions] = allocate(e, sizes);
    const aps = c ? offsets.map((o) => c.slot.at + o) : regions;
    if (!c?.hit) {
      copy(view(e, wp, w.length, es), w);
      if (!ex.finite(wp, w.length)) {
        gemmConvT(x, w, y, g, b, post);
        return false;
      }
    }
    const copyIn = section('allocation/copy');
    if (direct && g.kSize.length === 1) padPlanes(e, x, xp, g.n * g.cOut, g.outSize[0], direct.plane, direct.P[0], es);
    else if (direct) padPlanesNd(e, x, xp, g.n * g.cOut, g.outSize, direct.dims, direct.P, es);
    else copy(view(e, xp, x.length, es), x);
    initOutput(e, y, yp, b, bp, g.n);
    copyIn();
    if (direct)
      phases.forEach((p, i) => tapOffsets(e, op + offsAt[i], cog, p.kSize, p.dilation, direct.plane, direct.strides, direct.shift[i], es));
    if (!c?.hit) {
      // Tap table for packPhases: tap j → (packed A of its phase, T, flipped tap u).
      const tab = new Int32Array(kVol * 4);
      phases.forEach((p, i) => p.taps.forEach((j, u) => tab.set([aps[i], p.taps.length, u, 0], j * 4)));
      new Int32Array(e.memory.buffer, tp, kVol * 4).set(tab);
      const pack = section('weight packing');
      ex.packPhases(wp, g.groups, cig, cog, kVol, tp);
      pack();
    }
    phases.forEach((p, i) => {
      // Each unit scatters its own tile (phases write disjoint positions): no phase buffer, no serial pass.
      // The columns' grid: the phase's outputs, or (PhaseDirect) the padded plane's in every dim but the first.
      const grid = direct ? [p.outSize[0], ...direct.dims.slice(1)] : p.outSize, valid = pad3(p.outSize, 1);
      const block = [...pad3(grid, 1), ...pad3(g.inSize, 1), ...pad3(g.stride, 1), ...pad3(p.base, 0), valid[1], valid[2]];
      new Int32Array(e.memory.buffer, SCATTER, S.LENGTH).set(block);
      const d = direct ? { offs: op + offsAt[i], xRow: direct.plane } : {};
      runTask(e, kind, units[i], { x: xp, w: aps[i], y: yp, scratch: sp, ...d }, tilings[i], threads);
    });
    if (post) applyPost(e, post, yp, rp, y.length, es);
    const copyOut = section('allocation/copy');
    copy(y, view(e, yp, y.length, es));
    copyOut();
    noteCall(e);
    return true;
  });
}

/** Index of the first packed-A region in polyphaseLayout's sizes. */
const PHASE_A = 8;
const phaseKeys = new WeakMap<readonly PhasePlan[], string>();
/** The packing key of a polyphase convT: the dtype, the channels and every phase's taps (they fix where each weight goes). */
function phaseKey(g: Geometry, phases: readonly PhasePlan[], es: number): string {
  let k = phaseKeys.get(phases);
  if (k === undefined) phaseKeys.set(phases, (k = `${g.groups}:${g.cIn / g.groups}:${g.cOut / g.groups}:${prod(g.kSize)}:${phases.map((p) => p.taps.join(',')).join('/')}`));
  return `P${es}:${k}`;
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
const currentThreads = (): number => Math.min(threadsFor(), MAX_THREADS);

/** Output-channel blocks per group for convT / weightGrad: several per thread so the split balances. */
const blockFor = (cig: number) => Math.max(1, Math.ceil(cig / 8));

/**
 * Samples side by side in the GEMM's columns when two or more fit in one cache-sized column tile:
 * a small plane (C2: 24 outputs) would otherwise cost a tap table, an im2col and a GEMM call per
 * sample, each a few panels wide. The sums are the same either way (tiling never splits a sum).
 */
export const foldSamples = (g: Geometry, rows: number, es: number): boolean =>
  g.n > 1 && 2 * columnsPerSample(prod(g.outSize)) <= tileFor(rows, g.n * columnsPerSample(prod(g.outSize)), es);

/** The task of a conv by GEMM: samples folded into the columns (ConvSamples), or one sample per unit reading B from x (Direct) or from im2col (Conv). */
function convTask(g: Geometry, es: number, threads: number): { kind: Kind; t: TaskTiling } {
  const rows = (g.cIn / g.groups) * prod(g.kSize);
  if (foldSamples(g, rows, es)) {
    const cols = g.n * columnsPerSample(prod(g.outSize));
    return { kind: Kind.ConvSamples, t: { nc: convTile(rows, cols, g.groups, threads, es), cb: 1, es, packW: true, guard: 'w' } };
  }
  const nc = convTile(rows, prod(g.outSize), g.n * g.groups, threads, es);
  if (directApplies(g, es)) return { kind: Kind.Direct, t: { nc, cb: directBlock(g, nc, threads), es, packW: true, guard: 'w' } };
  return { kind: Kind.Conv, t: { nc, cb: 1, es, packW: true, guard: 'w' } };
}
/** GEMM + col2im: x lives in the conv's output space (cOut, outSize), y in its input space (cIn, inSize); every product is of real taps. */
function convTTask(g: Geometry, es: number): TaskTiling {
  const cog = g.cOut / g.groups, cig = g.cIn / g.groups, kVol = prod(g.kSize), cb = blockFor(cig);
  return { nc: tileFor(Math.max(cog, cb * kVol), prod(g.outSize), es), cb, es, packW: false };
}
/** The weight gradient: gy times the transposed columns of x, whose padding entries are zeros (so gy is guarded). */
function weightGradTask(g: Geometry, es: number): TaskTiling {
  const cog = g.cOut / g.groups, cig = g.cIn / g.groups, kVol = prod(g.kSize);
  return { nc: tileFor(Math.max(cog, cig * kVol), prod(g.outSize), es), cb: blockFor(cig), es, packW: false, guard: 'y' };
}
/** Depthwise scratch: one zero-padded input row, OW + (KW − 1)·δ elements of the last dim. */
function depthwiseTask(g: Geometry, es: number): TaskTiling {
  const a = g.kSize.length - 1;
  return { nc: g.outSize[a] + (g.kSize[a] - 1) * g.dilation[a], cb: 1, es, packW: false, guard: 'w' };
}

function gemmConv(x: F, w: F, y: F, g: Geometry, b?: F, post?: Post, wk?: WeightKey): void {
  const { kind, t } = convTask(g, bytesOf(y), currentThreads());
  if (!execute(kind, g, { x, w, y, b, post }, t, wk)) {
    exactConv(x, w, y, g, b);
    hostPost(y, post, g.n, g.cOut);
  }
}

function gemmConvT(x: F, w: F, y: F, g: Geometry, b?: F, post?: Post, wk?: WeightKey): void {
  execute(Kind.ConvT, g, { x, w, y, b, post }, convTTask(g, bytesOf(y)), wk);
}

/** im2col + packed GEMM (conv), GEMM + col2im (convT), GEMM against the transposed columns (weightGrad). */
export const wasmGemmKernels: ConvKernels = {
  name: 'wasm-gemm',
  // The bias is broadcast into the output region before the units accumulate; the residual and
  // relu / leakyRelu are one SIMD pass over that region before it is copied out (applyPost).
  fuses: { bias: true, residual: true, activation: ['relu', 'leakyRelu'] },
  conv: (x, w, y, g, ep, wk) => gemmConv(x, w, y, g, ep?.bias, postOf(ep), wk),
  convT: (x, w, y, g, ep, wk) => gemmConvT(x, w, y, g, ep?.bias, postOf(ep), wk),
  weightGrad(x, gy, gw, g) {
    if (!execute(Kind.WeightGrad, g, { x, gy, gw }, weightGradTask(g, bytesOf(gw)))) exactWeightGrad(x, gy, gw, g);
  },
};

/** convT for `usePolyphase` geometries, run as phases; conv and weightGrad as wasm-gemm. */
export const wasmPolyphaseKernels: PhaseKernels = {
  name: 'wasm-polyphase', fuses: wasmGemmKernels.fuses, conv: wasmGemmKernels.conv, weightGrad: wasmGemmKernels.weightGrad,
  convTPhases: (x, w, y, g, phases, ep, wk) => polyphase(x, w, y, g, phases, ep?.bias, postOf(ep), wk),
};

/** Direct kernel for convolutions with one input channel per group (depthwise, any multiplier). */
export const wasmDepthwiseKernels: Pick<ConvKernels, 'conv' | 'fuses'> = {
  fuses: { bias: true },
  conv: (x, w, y, g, ep, wk) => { execute(Kind.Depthwise, g, { x, w, y, b: ep?.bias }, depthwiseTask(g, bytesOf(y)), wk); },
};

/** The kernel families of the wasm candidates. */
export type WasmFamily = 'gemm' | 'polyphase' | 'depthwise';

/**
 * Every number the kernels derive from `g` fits their 32-bit integer arithmetic. Per dim: the
 * farthest padded position a tap reaches, (outSize − 1)·s + (k − 1)·δ, trailing padding included
 * (tapTile, depthwise and the phases compute o·s + j·δ − p0 in i32); p0 + s and inSize + p0
 * (depthwise's first and last interior positions); outSize + (k − 1)·δ (its padded row).
 */
export function fitsInt32(g: Geometry): boolean {
  const I32 = 0x7fffffff;
  return g.inSize.every((L, a) => {
    const s = g.stride[a], p0 = g.padBefore[a], ext = (g.kSize[a] - 1) * g.dilation[a];
    return Math.max((g.outSize[a] - 1) * s + ext, p0 + s, L + p0, g.outSize[a] + ext) <= I32;
  }) && [g.n, g.cIn, g.cOut].every((v) => v <= I32);
}


/**
 * Bytes of linear memory the family's kernel for `dir` needs on `threads` threads: operands,
 * packed weights, per-thread scratch (for polyphase, also the GEMM + col2im it takes for a
 * non-finite w). Above MAX_HEAP_BYTES the wasm candidates decline and the TypeScript kernels run.
 */
export function wasmHeapBytes(family: WasmFamily, g: Geometry, es: number, dir: 'conv' | 'convT' | 'weightGrad', threads = currentThreads()): number {
  const inLen = g.n * g.cIn * prod(g.inSize), outLen = g.n * g.cOut * prod(g.outSize), wLen = g.cOut * (g.cIn / g.groups) * prod(g.kSize);
  if (dir === 'weightGrad') return heapEnd(executeSizes(Kind.WeightGrad, g, { x: inLen, w: wLen, y: outLen, b: 0 }, weightGradTask(g, es), threads));
  if (dir === 'convT') {
    const col2im = heapEnd(executeSizes(Kind.ConvT, g, { x: outLen, w: wLen, y: inLen, b: g.cIn, r: inLen }, convTTask(g, es), threads));
    return family === 'polyphase' ? Math.max(col2im, polyphaseHeapBound(g, es, threads)) : col2im;

  }
  const lens = { x: inLen, w: wLen, y: outLen, b: g.cOut, r: outLen };
  if (family === 'depthwise' && g.cIn === g.groups) return heapEnd(executeSizes(Kind.Depthwise, g, lens, depthwiseTask(g, es), threads));
  const { kind, t } = convTask(g, es, threads);
  return heapEnd(executeSizes(kind, g, lens, t, threads));
}

/** The wasm kernels of `family` can run this call: WebAssembly SIMD validates here, g fits 32 bits and the heap fits linear memory. */
export function wasmFits(family: WasmFamily, g: Geometry, dtype: DType, dir: 'conv' | 'convT' | 'weightGrad'): boolean {
  if (!fitsInt32(g) || !wasmAvailable()) return false;
  // Far below the limit (the common case) the exact count is not needed: scratch is a few MiB per thread but for long depthwise rows.
  const es = dtype === 'float64' ? 8 : 4, a = g.kSize.length - 1;
  const operands = es * (g.n * g.cIn * prod(g.inSize) + g.n * g.cOut * prod(g.outSize) + g.cOut * (g.cIn / g.groups) * prod(g.kSize));
  const rows = MAX_THREADS * es * (g.outSize[a] + (g.kSize[a] - 1) * g.dilation[a]);
  if (5 * operands + rows + (256 << 20) < MAX_HEAP_BYTES) return true;
  return wasmHeapBytes(family, g, es, dir) <= MAX_HEAP_BYTES;
}


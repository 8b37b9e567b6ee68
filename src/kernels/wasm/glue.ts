/**
 * WebAssembly SIMD kernels (f32): loads the embedded module, owns linear memory, writes one task
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
import type { ConvKernels, F } from '../types.js';
import { plainWasm, sharedWasm, maxPages } from './module.generated.js';
import { GEOM, HEAP, Kind, MAX_THREADS, T, TASK, runUnit, scratchLayout, type WasmExports } from './work.js';

export interface Engine {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly exports: WasmExports;
  readonly shared: boolean;
}

/** Runs `units` units of the task in memory; the thread pool replaces the default (this thread only). */
export type Runner = (engine: Engine, units: number) => void;

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

/** The engine, or null where WebAssembly SIMD is missing (feature-detected by validating the module). */
export function wasmEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  if (typeof WebAssembly !== 'object') return engine;
  const shared = canShare();
  const bytes = decode(shared ? sharedWasm : plainWasm);
  if (!WebAssembly.validate(bytes)) return engine;
  const memory = shared
    ? new WebAssembly.Memory({ initial: 16, maximum: maxPages, shared: true })
    : new WebAssembly.Memory({ initial: 16 });
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  engine = { module, memory, exports: instance.exports as unknown as WasmExports, shared };
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
/** Column tile: about 2^17 scratch floats for a panel of `depth` rows, a multiple of 8, at most the whole plane. */
const tileFor = (depth: number, outVol: number) => Math.max(8, Math.min(up(outVol, 8), Math.floor((1 << 17) / Math.max(1, depth) / 8) * 8));

interface Operand { data: F; bytes: number }

/** Copies operands into the heap, runs `units` units of task `kind` and copies `out` back. */
function execute(kind: Kind, g: Geometry, ops: { x: F; w: F; y: F; out: 'y' | 'w' }, extra: { nc: number; cb: number; packW: boolean }): void {
  const e = wasmEngine()!;
  const d = g.inSize.length, pad3 = (v: readonly number[], fill: number) => [...new Array<number>(3 - d).fill(fill), ...v];
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize);
  const inVol = prod(g.inSize), outVol = prod(g.outSize), rows = cig * kVol;
  const { nc, cb } = extra;
  const tiles = Math.ceil(outVol / nc), cblocks = Math.ceil(cig / cb);
  const items = kind === Kind.Conv ? g.n * g.groups * tiles : kind === Kind.Depthwise ? g.n * g.cOut : g.groups * cblocks;
  const threads = Math.min(threadsFor(), MAX_THREADS);
  const lay = scratchLayout(kind, { nc, cb, cig, cog, kVol });
  // Operands: x, w (raw, or packed per group when packW), y; then per-thread scratch.
  const wBytes = extra.packW ? g.groups * up(cog, 4) * rows * 4 : ops.w.length * 4;
  const xp = HEAP, wp = up(xp + ops.x.length * 4, 64), rawW = up(wp + wBytes, 64);
  const yp = up(rawW + (extra.packW ? ops.w.length * 4 : 0), 64), sp = up(yp + ops.y.length * 4, 64);
  ensure(e, sp + lay.bytes * threads);
  const buf = e.memory.buffer;
  new Float32Array(buf, xp, ops.x.length).set(ops.x);
  new Float32Array(buf, yp, ops.y.length).set(ops.y);
  if (extra.packW) {
    new Float32Array(buf, rawW, ops.w.length).set(ops.w);
    for (let grp = 0; grp < g.groups; grp++)
      e.exports.packA(rawW + grp * cog * rows * 4, rows, 1, cog, rows, wp + grp * up(cog, 4) * rows * 4);
  } else new Float32Array(buf, wp, ops.w.length).set(ops.w);
  const mem = new Int32Array(buf);
  const geom = [g.n, g.cIn, g.cOut, g.groups, ...pad3(g.inSize, 1), ...pad3(g.outSize, 1), ...pad3(g.kSize, 1),
    ...pad3(g.stride, 1), ...pad3(g.dilation, 1), ...pad3(g.padBefore, 0)];
  mem.set(geom, GEOM >> 2);
  const chunk = Math.ceil(items / 1024), units = Math.ceil(items / chunk);
  const task: number[] = [];
  task[T.kind] = kind; task[T.items] = items; task[T.chunk] = chunk; task[T.x] = xp; task[T.w] = wp; task[T.y] = yp;
  task[T.scratch] = sp; task[T.scratchStride] = lay.bytes; task[T.nc] = nc; task[T.cb] = cb; task[T.tiles] = tiles;
  task[T.cblocks] = cblocks; task[T.n] = g.n; task[T.cIn] = g.cIn; task[T.cOut] = g.cOut; task[T.groups] = g.groups;
  task[T.inVol] = inVol; task[T.outVol] = outVol; task[T.kVol] = kVol;
  mem.set(task, TASK >> 2);
  (threads > 1 ? runner : serial)(e, units);
  const after = e.memory.buffer;
  if (ops.out === 'y') (ops.y as Float32Array).set(new Float32Array(after, yp, ops.y.length));
  else (ops.w as Float32Array).set(new Float32Array(after, wp, ops.w.length));
}

/** Runs the task block currently in memory as `units` units on the configured threads (tests use it to inject faults). */
export function runTaskInMemory(units: number): void {
  const e = wasmEngine()!;
  (threadsFor() > 1 ? runner : serial)(e, units);
}

/** The number of threads the next call may use. */
export const currentThreads = (): number => Math.min(threadsFor(), MAX_THREADS);

/** Output-channel blocks per group for convT / weightGrad: several per thread so the split balances. */
const blockFor = (cig: number) => Math.max(1, Math.ceil(cig / 8));

/** im2col + packed GEMM (conv), GEMM + col2im (convT), GEMM against the transposed columns (weightGrad). */
export const wasmGemmKernels: ConvKernels = {
  name: 'wasm-gemm',
  conv(x, w, y, g) {
    const rows = (g.cIn / g.groups) * prod(g.kSize);
    execute(Kind.Conv, g, { x, w, y, out: 'y' }, { nc: tileFor(rows, prod(g.outSize)), cb: 1, packW: true });
  },
  convT(x, w, y, g) {
    // x lives in the conv's output space (cOut, outSize), y in its input space (cIn, inSize).
    const cog = g.cOut / g.groups, cig = g.cIn / g.groups, kVol = prod(g.kSize), cb = blockFor(cig);
    execute(Kind.ConvT, g, { x, w, y, out: 'y' }, { nc: tileFor(Math.max(cog, cb * kVol), prod(g.outSize)), cb, packW: false });
  },
  weightGrad(x, gy, gw, g) {
    const cog = g.cOut / g.groups, cig = g.cIn / g.groups, kVol = prod(g.kSize);
    execute(Kind.WeightGrad, g, { x, w: gw, y: gy, out: 'w' }, { nc: tileFor(Math.max(cog, cig * kVol), prod(g.outSize)), cb: blockFor(cig), packW: false });
  },
};

/** Direct kernel for convolutions with one input channel per group (depthwise, any multiplier). */
export const wasmDepthwiseKernels: Pick<ConvKernels, 'conv'> = {
  conv(x, w, y, g) {
    execute(Kind.Depthwise, g, { x, w, y, out: 'y' }, { nc: 8, cb: 1, packW: false });
  },
};

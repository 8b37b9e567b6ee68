/**
 * Worker-thread pool for the WebAssembly kernels (Node): the workers instantiate the same module on
 * the same shared memory; a call stays synchronous because this thread takes units itself and then
 * blocks in Atomics.wait until the workers' units are done. Units write disjoint outputs, so the
 * results do not depend on the thread count. Workers are unref()'d: a program exits without
 * calling anything.
 *
 * Browsers: the main thread may not block in Atomics.wait and Web Workers could share the memory
 * only when crossOriginIsolated, so there convkit runs on one thread (no pool is started).
 */
import { ConvError, fmt } from '../../spec/errors.js';
import { setRunner, wasmEngine, type Engine } from '../wasm/glue.js';
import { MAX_THREADS } from '../wasm/work.js';
import { C, controlBlock, drain, failureMessage } from './protocol.js';

/** How long a call waits without progress before it declares a worker lost. */
const STALL_MS = 20000;

interface NodeWorker { unref(): void; terminate(): Promise<number>; on(ev: string, f: (a: unknown) => void): void }
interface WorkerThreads { Worker: new (script: URL | string, opts: object) => NodeWorker }

type NodeProcess = { getBuiltinModule?: (id: string) => unknown };
const builtin = <M>(id: string): M | null =>
  ((globalThis as { process?: NodeProcess }).process?.getBuiltinModule?.(id) as M | undefined) ?? null;

let requested = 0; // 0 = automatic
let workers: NodeWorker[] = [];
let ctrl: Int32Array | null = null;
let failure: string | null = null;
const ready = new WeakMap<NodeWorker, Promise<void>>();

function autoThreads(): number {
  const os = builtin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
  return os ? Math.min(2, os.availableParallelism?.() ?? os.cpus().length) : 1;
}

/** Threads per call: `setNumThreads(n)`, or min(2, cores) by default; 1 where no worker threads exist. */
export function getNumThreads(): number {
  if (!builtin('node:worker_threads')) return 1;
  return Math.min(MAX_THREADS, requested || autoThreads());
}

/**
 * Sets the threads the WebAssembly kernels use (1 … 16); 0 restores the default min(2, cores).
 * @example setNumThreads(1) // single-threaded, e.g. to time one core
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_THREADS)
    throw new ConvError('setNumThreads', 'n', `must be an integer from 0 (automatic) to ${MAX_THREADS}; got ${fmt(n)}`);
  requested = n;
}

function shutdown(): void {
  if (ctrl) { Atomics.store(ctrl, C.EPOCH, -1); Atomics.notify(ctrl, C.EPOCH); }
  for (const w of workers) void w.terminate();
  workers = [];
  ctrl = null;
}

function spawn(e: Engine, count: number): void {
  const wt = builtin<WorkerThreads>('node:worker_threads')!;
  if (!ctrl) ctrl = controlBlock();
  const here = import.meta.url;
  const url = new URL(here.endsWith('.ts') ? './worker.ts' : './worker.js', here);
  while (workers.length < count) {
    const tid = workers.length + 1;
    const workerData = { module: e.module, memory: e.memory, ctrl, tid };
    // From the TypeScript sources (tests, tsx) the worker registers tsx's loader before importing itself.
    const w = here.endsWith('.ts')
      ? new wt.Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData })
      : new wt.Worker(url, { workerData });
    ready.set(w, new Promise((resolve) => w.on('message', (m) => { if (m === 'ready') resolve(); })));
    w.on('error', (err) => { failure = `worker ${tid} failed: ${String((err as Error)?.message ?? err)}`; });
    w.on('exit', (code) => { if (workers.includes(w)) failure ??= `worker ${tid} exited with code ${String(code)}`; });
    w.unref(); // after the listeners: attaching a 'message' listener refs the worker again
    workers.push(w);
  }
}

function runParallel(e: Engine, units: number, threads: number): void {
  if (failure) { shutdown(); failure = null; }
  spawn(e, threads - 1);
  const c = ctrl!;
  const epoch = (Atomics.load(c, C.EPOCH) + 1) & 0x7fffffff;
  Atomics.store(c, C.DONE, 0);
  Atomics.store(c, C.ERROR, 0);
  Atomics.store(c, C.ERRLEN, 0);
  Atomics.store(c, C.UNITS, units);
  Atomics.store(c, C.THREADS, threads);
  Atomics.store(c, C.NEXT, (epoch & 0x7fff) << 16);
  Atomics.store(c, C.EPOCH, epoch);
  Atomics.notify(c, C.EPOCH);
  const mine = drain(e.exports, () => new Int32Array(e.memory.buffer), c, epoch, 0);
  let done = Atomics.load(c, C.DONE), since = Date.now();
  while (done < units) {
    Atomics.wait(c, C.DONE, done, 100);
    const now = Atomics.load(c, C.DONE);
    if (now !== done) { done = now; since = Date.now(); continue; }
    if (Date.now() - since > STALL_MS) {
      shutdown();
      throw new ConvError('wasm', 'threads', `stopped: a worker made no progress for ${STALL_MS} ms (${done} of ${units} units done); the pool restarts on the next call`);
    }
  }
  const who = Atomics.load(c, C.ERROR);
  if (who) {
    const why = failureMessage(c) ?? (mine ? String((mine as Error).message ?? mine) : failure ?? 'a unit threw');
    shutdown();
    failure = null;
    throw new ConvError('wasm', 'threads', `failed in thread ${who - 1}: ${why}; the pool restarts on the next call`);
  }
}

/** Test hook: the live workers (to kill one and watch the pool recover). */
export const poolWorkers = (): readonly NodeWorker[] => workers;

/** Units run by worker threads since the pool started (0 while the workers are still starting). */
export const unitsByWorkers = (): number => (ctrl ? Atomics.load(ctrl, C.WORKED) : 0);

/** Resolves once every worker of the pool has its module instance (calls before that run on fewer threads). */
export function poolReady(): Promise<void> {
  // The workers are unref()'d; a timer keeps the event loop alive while someone awaits them.
  const keepAlive = setInterval(() => undefined, 60_000);
  return Promise.all(workers.map((w) => ready.get(w))).then(() => clearInterval(keepAlive));
}

if (builtin('node:worker_threads') && wasmEngine()?.shared) setRunner(runParallel, getNumThreads);

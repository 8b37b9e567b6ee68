/**
 * Thread pool for the WebAssembly kernels: workers instantiate the same module on the same shared
 * memory; a call stays synchronous because this thread takes units itself and then blocks in
 * Atomics.wait until the workers' units are done. Units write disjoint outputs, so the results do
 * not depend on the thread count.
 *
 * Node: a supervisor thread starts the unit workers and reports a worker's death in the control
 * words at once (this thread, blocked, could not hear the 'exit' event): the call fails within
 * milliseconds with a ConvError and the next call starts fresh workers. The supervisor is
 * unref()'d, so a program exits without calling anything.
 *
 * Browsers: the main thread may not block in Atomics.wait, so the synchronous API runs on one
 * thread there. Inside a dedicated Web Worker of a crossOriginIsolated page (the async API's
 * driver, or a user's own worker) the pool starts module Web Workers instead.
 */
import { ConvError, fmt } from '../../spec/errors.js';
import { onEngineRelease, setRunner, wasmEngine, wasmMemoryBytes, weightCacheStats, type Engine } from '../wasm/glue.js';
import type { WeightCacheStats } from '../wasm/weight-cache.js';
import { MAX_THREADS } from '../wasm/work.js';
import { C, CLOSED, controlBlock, drain, failureMessage, Fault, markDead, publishTask, spinWhile } from './protocol.js';
import { startNodeWorker, type NodeWorker, type WorkerThreads } from './node-worker.js';
import { nodeBuiltin } from '../../util/node-builtin.js';
import { section } from '../../profile/profile.js';

/**
 * How long a call waits without progress before it declares a worker lost (a hung, not a dead,
 * worker): at least this, and at least STALL_FACTOR times as long as this thread took for its own
 * units, so a call whose single units are legitimately slow is never cut short.
 */
const STALL_MS = 20000;
const STALL_FACTOR = 10;
let stallMsMin = STALL_MS;
/** How long poolReady waits by default: a worker that never loads must not hang its awaiter. */
const READY_MS = 30000;
/** How long a failed call waits for the live workers to finish the units they hold. */
const SETTLE_MS = 2000;

const builtin = nodeBuiltin;

interface WebWorker { postMessage(m: unknown): void; terminate(): void; addEventListener(ev: string, f: (e: { message?: string }) => void): void }
type WebWorkerCtor = new (url: URL, opts: { type: 'module'; name?: string }) => WebWorker;
declare const Worker: WebWorkerCtor; // the browser's, where threadHost() is 'web-worker'
const g = globalThis as unknown as { Worker?: WebWorkerCtor; WorkerGlobalScope?: unknown; DedicatedWorkerGlobalScope?: new () => unknown;
  navigator?: { hardwareConcurrency?: number } };

/** Where worker threads can run units for a blocking caller: Node, or a dedicated Web Worker. */
export type ThreadHost = 'node' | 'web-worker' | 'none';
let host: ThreadHost | undefined; // fixed for the life of this thread: found once
export function threadHost(): ThreadHost {
  return (host ??= findHost());
}
function findHost(): ThreadHost {
  if (builtin('node:worker_threads')) return 'node';
  const D = g.DedicatedWorkerGlobalScope;
  if (typeof D === 'function' && globalThis instanceof D && typeof g.Worker === 'function') return 'web-worker';
  return 'none';
}

/** The workers of the pool, their control words and the memory their instances share. */
interface Crew { readonly ctrl: Int32Array; readonly memory: WebAssembly.Memory; spawned: number; grow(count: number): void; stop(): void }

let requested = 0; // 0 = automatic
let crew: Crew | null = null;
let workedBefore = 0;

/** min(2, cores) where the host tells the core count, else 2. */
export function autoThreads(): number {
  return (autoCount ||= countThreads());
}
// Counted once: every kernel call asks, and availableParallelism is a system call (a third of a tiny call's time).
let autoCount = 0;
function countThreads(): number {
  const os = builtin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
  const cores = os ? os.availableParallelism?.() ?? os.cpus().length : g.navigator?.hardwareConcurrency ?? 2;
  return Math.max(1, Math.min(2, cores));
}

/** The thread count asked for: `setNumThreads(n)`, or the default min(2, cores). */
export const requestedThreads = (): number => Math.min(MAX_THREADS, requested || autoThreads());

/**
 * Threads per synchronous call: `setNumThreads(n)`, or min(2, cores) by default; 1 where no thread
 * can block (a browser's main thread) or no memory can be shared (a page that is not crossOriginIsolated).
 */
export function getNumThreads(): number {
  return threadHost() === 'none' || !wasmEngine()?.shared ? 1 : requestedThreads();
}

/**
 * Sets the threads the WebAssembly kernels use (1 … 16); 0 restores the default min(2, cores).
 * The count may go up (workers start on the next call) and down (the workers beyond the new
 * count are stopped now: the pool restarts with the count the next parallel call needs).
 * @example setNumThreads(1) // single-threaded, e.g. to time one core
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_THREADS)
    throw new ConvError('setNumThreads', 'n', `must be an integer from 0 (automatic) to ${MAX_THREADS}; got ${fmt(n)}`);
  requested = n;
  if (crew && crew.spawned > requestedThreads() - 1) shutdown();
}

/**
 * What the WebAssembly kernels hold now: linear memory bytes (0 once released), live worker
 * threads of the pool, and the weight cache: `hits` (calls that reused packed weights), `misses`
 * (calls with a weight tensor that copied and packed them), `bytes` and `entries` held now.
 */
export interface WasmStats { memoryBytes: number; workers: number; weightCache: WeightCacheStats }
/**
 * The WebAssembly kernels' memory and threads now (a diagnostic, like asyncStats): an idle heap
 * above 64 MiB is given back after a second without calls, and lowering setNumThreads stops the
 * extra workers at once.
 * @example setNumThreads(1); wasmStats().workers // 0
 */
export const wasmStats = (): WasmStats => ({ memoryBytes: wasmMemoryBytes(), workers: poolSize(), weightCache: weightCacheStats() });

function nodeCrew(e: Engine): Crew {
  const wt = builtin<WorkerThreads>('node:worker_threads')!;
  const ctrl = controlBlock();
  const sup = startNodeWorker(wt, import.meta.url, 'supervisor', { module: e.module, memory: e.memory, ctrl });
  // The supervisor itself failing (it never should) is reported like a worker's death.
  const lost = (why: string) => markDead(ctrl, MAX_THREADS, `the pool supervisor ${why}`);
  let stopping = false;
  sup.on('error', (err) => lost(`failed: ${String((err as Error)?.message ?? err)}`));
  sup.on('exit', () => { if (!stopping) lost('exited'); });
  sup.unref(); // after the listeners
  return {
    ctrl, memory: e.memory, spawned: 0,
    grow(count) { if (count > this.spawned) { this.spawned = count; sup.postMessage({ spawn: count }); } },
    stop() { stopping = true; void sup.terminate(); },
  };
}

function webCrew(e: Engine): Crew {
  const ctrl = controlBlock();
  const workers: WebWorker[] = [];
  return {
    ctrl, memory: e.memory, spawned: 0,
    grow(count) {
      while (workers.length < count) {
        const tid = workers.length + 1;
        // Written out as `new Worker(new URL('./….js', import.meta.url), { type: 'module' })`: bundlers
        // (Vite) recognise that form, emit the worker and rewrite the address; native ESM loads it as is.
        const w = new Worker(new URL('./browser-worker.js', import.meta.url), { type: 'module', name: `convkit-unit-${tid}` });
        w.postMessage({ module: e.module, memory: e.memory, ctrl, tid });
        workers.push(w);
      }
      this.spawned = workers.length;
    },
    stop() { for (const w of workers) w.terminate(); },
  };
}

function shutdown(): void {
  if (!crew) return;
  const c = crew.ctrl;
  workedBefore += Atomics.load(c, C.WORKED);
  Atomics.store(c, C.EPOCH, -1);
  Atomics.notify(c, C.EPOCH);
  crew.stop();
  crew = null;
}

/** Stops claims for the task in flight and waits (bounded) for the live threads to finish the units they hold. */
function settle(c: Int32Array, epoch: number, dead: number): void {
  Atomics.store(c, C.NEXT, ((epoch + 1) & 0x7fff) << 16);
  const until = Date.now() + SETTLE_MS;
  for (let t = 1; t < MAX_THREADS; t++)
    while (t + 1 !== dead && Atomics.load(c, C.BUSY + t) && Date.now() < until) Atomics.wait(c, C.BUSY + t, 1, 10);
}

function fail(c: Int32Array, epoch: number, what: string): never {
  settle(c, epoch, Atomics.load(c, C.DEAD));
  shutdown();
  throw new ConvError('wasm', 'threads', `${what}; the pool restarts with fresh workers on the next call`);
}

function ensureCrew(e: Engine, threads: number): Crew {
  if (crew && Atomics.load(crew.ctrl, C.DEAD)) shutdown(); // a worker died between calls
  if (crew && crew.memory !== e.memory) shutdown(); // the engine was released: the workers hold the old memory
  crew ??= threadHost() === 'node' ? nodeCrew(e) : webCrew(e);
  crew.grow(threads - 1);
  return crew;
}

/**
 * Starts the workers of `threads` threads now, where a pool can run: they load while this thread
 * is free (a browser worker cannot start while the thread that created it blocks).
 */
export function startPool(threads: number): void {
  const e = wasmEngine();
  if (threadHost() !== 'none' && e?.shared && threads > 1) ensureCrew(e, Math.min(threads, MAX_THREADS));
}

function runParallel(e: Engine, units: number, threads: number): void {
  if (!Number.isInteger(units) || units < 0 || units >= CLOSED)
    throw new ConvError('wasm', 'units', `must be an integer from 0 to ${CLOSED - 1}; got ${fmt(units)}`);
  const handOff = section('thread hand-off');
  const c = ensureCrew(e, threads).ctrl;
  const epoch = publishTask(c, units, threads);
  handOff();
  const t0 = Date.now();
  const mine = drain(e.exports, () => new Int32Array(e.memory.buffer), c, epoch, 0);
  let done = Atomics.load(c, C.DONE), since = Date.now();
  const waiting = section('waiting'); // this thread has no unit left: the workers finish theirs
  const stallMs = Math.max(stallMsMin, STALL_FACTOR * (since - t0));
  while (done < units) {
    const dead = Atomics.load(c, C.DEAD);
    if (dead) {
      const who = dead > MAX_THREADS ? 'the pool supervisor' : `worker ${dead - 1}`;
      fail(c, epoch, `stopped: ${failureMessage(c) ?? `${who} died`} (${done} of ${units} units done)`);
    }
    let now = spinWhile(c, C.DONE, done); // the workers' last units usually end within SPIN_MS
    if (now === done) {
      Atomics.wait(c, C.DONE, done, 100);
      now = Atomics.load(c, C.DONE);
    }
    if (now !== done) { done = now; since = Date.now(); continue; }
    if (Date.now() - since > stallMs)
      fail(c, epoch, `stopped: a worker made no progress for ${stallMs} ms (${done} of ${units} units done)`);
  }
  waiting();
  const who = Atomics.load(c, C.ERROR);
  if (who) {
    const why = failureMessage(c) ?? (mine ? String((mine as Error).message ?? mine) : 'a unit threw');
    fail(c, epoch, `failed in thread ${who - 1}: ${why}`);
  }
}

/** Workers the pool has started (0 before the first parallel call). */
export const poolSize = (): number => crew?.spawned ?? 0;

/** Units run by worker threads since the first call (0 while the workers are still starting). */
export const unitsByWorkers = (): number => workedBefore + (crew ? Atomics.load(crew.ctrl, C.WORKED) : 0);

/**
 * Resolves once every started worker has its module instance (calls before that run on fewer
 * threads), once one died, or after `timeoutMs` (30 s by default: a worker that never loads
 * leaves the calls on fewer threads, never a hung awaiter).
 */
export async function poolReady(timeoutMs = READY_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (crew && Atomics.load(crew.ctrl, C.READY) < crew.spawned && !Atomics.load(crew.ctrl, C.DEAD) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 5));
}

/**
 * Starts the worker threads of the synchronous API now and resolves, once they have loaded, with
 * the number of threads the next call runs on (1 where no pool can run: a browser's main thread, a
 * page that is not crossOriginIsolated, setNumThreads(1)). Optional — the first parallel call starts
 * the workers too, but runs on fewer threads until they have loaded, and in a browser's dedicated
 * worker they cannot load at all while that thread blocks in a call: a page that runs its model
 * synchronously there awaits this first. Never rejects: workers that do not load within `timeoutMs`
 * (30 s by default) leave the calls on fewer threads.
 * @example
 * setNumThreads(2);
 * await threadsReady(); // 2 where the host can run a pool
 * const audio = noGrad(() => generator.forward(mel));
 */
export async function threadsReady(timeoutMs = READY_MS): Promise<number> {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0)
    throw new ConvError('threadsReady', 'timeoutMs', `must be a finite number of milliseconds ≥ 0; got ${fmt(timeoutMs)}`);
  const threads = getNumThreads();
  if (threads < 2) return 1;
  startPool(threads);
  await poolReady(timeoutMs);
  return crew ? 1 + Math.min(threads - 1, Atomics.load(crew.ctrl, C.READY)) : 1;
}

/**
 * Test hook: the next worker to claim a unit dies in the middle of it, by `process.exit` ('exit')
 * or an uncaught error ('throw'), or hangs there for good ('hang'). The call in flight then fails
 * with a ConvError: at once for a death, after the no-progress bound for a hang.
 */
export function injectWorkerFault(kind: 'exit' | 'throw' | 'hang'): void {
  if (!crew) throw new ConvError('injectWorkerFault', 'pool', 'has not started; run a parallel call first');
  Atomics.store(crew.ctrl, C.FAULT, kind === 'exit' ? Fault.Exit : kind === 'throw' ? Fault.Throw : Fault.Hang);
}

/**
 * Test hook: the least time a call waits without progress before it gives up on a hung worker
 * (default 20 s; 0 restores it). The bound is never below ten times this thread's own share.
 */
export function setStallTimeout(ms: number): void {
  if (!Number.isInteger(ms) || ms < 0)
    throw new ConvError('setStallTimeout', 'ms', `must be a non-negative integer (0: the default ${STALL_MS}); got ${fmt(ms)}`);
  stallMsMin = ms || STALL_MS;
}

if (threadHost() !== 'none' && wasmEngine()?.shared) setRunner(runParallel, getNumThreads);
// A released engine's memory lives on in the workers' instances until they stop.
onEngineRelease(shutdown);


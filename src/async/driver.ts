/**
 * The calling side of the async API: one driver worker runs the forward kernels of async calls,
 * one at a time, so this thread never blocks. Node: a worker thread whose pool gives the call
 * `setNumThreads(n)` threads. Browsers: a module Web Worker; where the page is crossOriginIsolated
 * its pool runs units on further Web Workers over shared memory, elsewhere it runs on one thread
 * (SharedArrayBuffer and shared WebAssembly memory exist only in isolated pages).
 */
import { ConvError } from '../spec/errors.js';
import type { Geometry } from '../spec/types.js';
import { macCount } from '../spec/shape.js';
import type { F } from '../kernels/types.js';
import { convForward } from '../autograd/rules.js';
import { getBackend, selectKernels } from '../plan/select.js';
import { requestedThreads } from '../kernels/threads/pool.js';
import { startNodeWorker, type WorkerThreads } from '../kernels/threads/node-worker.js';
import { prod } from '../util/shape.js';
import { nodeBuiltin } from '../util/node-builtin.js';
import type { DriverReply, DriverRequest } from './protocol.js';

/** Multiply-adds below which an async call runs inline: the round trip to the driver would cost more. */
const MIN_OFFLOAD_MACS = 1 << 20;
/**
 * How long a new driver may take to load before its calls fail (a worker that never starts would
 * otherwise leave them pending forever). Once loaded, every call gets a reply: the pool bounds its
 * waits, and a driver that dies is reported by its 'exit' or 'error' event.
 */
const START_MS = 30000;
let startMs = START_MS;

/** Test hook: how long a new driver may take to load (0 restores the default 30 s). */
export function setDriverStartTimeout(ms: number): void {
  if (!Number.isInteger(ms) || ms < 0)
    throw new ConvError('setDriverStartTimeout', 'ms', `must be a non-negative integer (0: the default ${START_MS}); got ${ms}`);
  startMs = ms || START_MS;
}

interface Driver { post(req: DriverRequest): void; busy(on: boolean): void; stop(): void; started(): void }
interface Waiter { resolve(y: Float32Array): void; reject(e: Error): void }

const nodeThreads = () => nodeBuiltin<WorkerThreads>('node:worker_threads');
type WebWorker = { postMessage(m: unknown): void; terminate(): void; onmessage: ((e: { data: DriverReply }) => void) | null; onerror: ((e: { message?: string; preventDefault?(): void }) => void) | null };
type WebWorkerCtor = new (url: URL, o: { type: 'module'; name: string }) => WebWorker;
const web = globalThis as unknown as { Worker?: WebWorkerCtor; crossOriginIsolated?: boolean };
declare const Worker: WebWorkerCtor; // the browser's, where typeof Worker === 'function'

let driver: Driver | null = null;
const pending = new Map<number, Waiter>();
let nextId = 1;

/** What the async calls did: calls sent to the driver, its thread count and kernels on the last one, units its pool's workers ran. */
export interface AsyncStats { offloaded: number; threads: number; kernels: string; unitsByWorkers: number }
const stats: AsyncStats = { offloaded: 0, threads: 0, kernels: '', unitsByWorkers: 0 };
export const asyncStats = (): Readonly<AsyncStats> => ({ ...stats });

/** Threads an async call uses: setNumThreads(n) (default min(2, cores)); 1 in a browser page that is not crossOriginIsolated. */
export function asyncThreads(): number {
  if (nodeThreads()) return requestedThreads();
  return web.crossOriginIsolated ? requestedThreads() : 1;
}

function settle(from: Driver, reply: DriverReply): void {
  if (from !== driver) return; // a driver already replaced: its calls have failed
  if ('ready' in reply) {
    from.started();
    return;
  }
  const w = pending.get(reply.id);
  if (!w) return;
  pending.delete(reply.id);
  if (!pending.size) driver?.busy(false);
  if ('error' in reply) {
    const { name, op, param, message } = reply.error;
    const err = name === 'ConvError' && op && param ? new ConvError(op, param, message.slice(op.length + param.length + 3)) : new Error(message);
    w.reject(err);
    return;
  }
  stats.offloaded++;
  stats.threads = reply.threads;
  stats.kernels = reply.kernels;
  stats.unitsByWorkers += reply.worked;
  w.resolve(reply.y);
}

/**
 * The driver `d` died or hung: every waiting call fails with a ConvError, `d` is stopped, and the
 * next call starts a fresh driver. News of a driver already replaced changes nothing (a driver's
 * 'error' is followed by its 'exit', which may come after a new call started the next driver).
 */
function lost(d: Driver | null, why: string): void {
  if (d !== driver) return;
  d?.stop();
  driver = null;
  const waiting = [...pending.values()];
  pending.clear();
  for (const w of waiting) w.reject(new ConvError('async', 'driver', `stopped: ${why}; the next call starts a fresh driver`));
}

function startDriver(): Driver | null {
  const wt = nodeThreads();
  if (wt) {
    const w = startNodeWorker(wt, import.meta.url, 'driver-worker', null);
    let stopping = false;
    const d: Driver = withStartLimit({
      post: (r) => w.postMessage(r), busy: (on) => (on ? w.ref() : w.unref()),
      stop: () => { if (!stopping) { stopping = true; w.unref(); void w.terminate(); } }, started: () => undefined,
    });
    w.on('message', (m) => settle(d, m as DriverReply));
    w.on('error', (err) => lost(d, `the driver failed: ${String((err as Error)?.message ?? err)}`));
    w.on('exit', (code) => { if (!stopping) lost(d, `the driver exited with code ${String(code)}`); });
    w.unref(); // only a call in flight keeps a program alive
    return d;
  }
  if (typeof web.Worker !== 'function') return null;
  // Written out as `new Worker(new URL('./….js', import.meta.url), { type: 'module' })`: Vite and
  // webpack recognise that form, emit the worker and rewrite the address; native ESM loads it as
  // is. esbuild and Rollup emit no worker: the app names the entry points (README, "Install").
  const w = new Worker(new URL('./driver-worker.js', import.meta.url), { type: 'module', name: 'convkit-driver' });
  let loaded = false;
  const d: Driver = withStartLimit({ post: (r) => w.postMessage(r), busy: () => undefined, stop: () => w.terminate(), started: () => { loaded = true; } });
  w.onmessage = (e) => settle(d, e.data);
  w.onerror = (e) => {
    e.preventDefault?.();
    lost(d, loaded ? `the driver failed: ${e.message ?? 'error'}` : `the worker script ${sibling('./driver-worker.js')} did not load (${e.message || 'not found or not a module'}; ` +
      "with esbuild or Rollup, add the entry points 'convkit/driver-worker' and 'convkit/browser-worker' beside the app's bundle)");
  };
  return d;
}

/**
 * The address of a file beside this module, for messages. Not spelled `new URL(…, import.meta.url)`,
 * which bundlers rewrite into an asset (or warn about when the name is not a literal).
 */
const moduleUrl = import.meta.url;
const sibling = (name: string): string => new URL(name, moduleUrl).href;

/** Fails the calls of a driver that has not loaded in time (START_MS) (the timer keeps no program alive). */
function withStartLimit(d: Driver): Driver {
  const ms = startMs;
  const timer = setTimeout(() => lost(d, `the driver did not start within ${ms} ms`), ms) as unknown as { unref?(): void };
  timer.unref?.();
  const started = d.started;
  d.started = () => { clearTimeout(timer as never); started(); };
  const stop = d.stop;
  d.stop = () => { clearTimeout(timer as never); stop(); };
  return d;
}

/**
 * y = conv or convT of x with w, plus the bias (the forward of convPrimitive), computed by the
 * driver when the kernels are WebAssembly ones and the work is large enough, else here.
 */
export function forwardAsync(x: F, w: F, b: F | null, g: Geometry, transposed: boolean): Promise<F> {
  const dir = transposed ? 'convT' : 'conv';
  const yLen = g.n * (transposed ? g.cIn : g.cOut) * prod(transposed ? g.inSize : g.outSize);
  const macs = macCount(g);
  const offload = x instanceof Float32Array && macs >= MIN_OFFLOAD_MACS && selectKernels(g, 'float32', dir).name.startsWith('wasm');
  if (offload) driver ??= startDriver();
  if (!offload || !driver) {
    const y = x instanceof Float32Array ? new Float32Array(yLen) : new Float64Array(yLen);
    convForward(x, w, b, y, g, transposed);
    return Promise.resolve(y);
  }
  const id = nextId++;
  const req: DriverRequest = { id, g, transposed, x: x as Float32Array, w: w as Float32Array, b: b as Float32Array | null, threads: asyncThreads(), backend: getBackend() };
  const d = driver;
  return new Promise<Float32Array>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    d.busy(true);
    d.post(req); // copies the operands: later in-place updates (an optimiser step) do not reach this call
  });
}

/** Stops the driver (the next async call starts a fresh one); calls in flight fail. */
export function stopAsyncDriver(): void {
  lost(driver, 'the driver was stopped');
}

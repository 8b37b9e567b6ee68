/**
 * The async API's driver (a Node worker thread or a browser module Web Worker): runs the forward
 * kernels of one call at a time with the synchronous code, and so with the thread pool of this
 * worker where it has one (Node; a crossOriginIsolated page), blocking only itself.
 */
import { convForward } from '../autograd/rules.js';
import '../backends.js';
import { selectKernels, withBackend } from '../plan/select.js';
import { getNumThreads, poolReady, setNumThreads, startPool, unitsByWorkers } from '../kernels/threads/pool.js';
import { ConvError } from '../spec/errors.js';
import type { DriverReply, DriverRequest } from './protocol.js';
import { nodeBuiltin } from '../util/node-builtin.js';

type Port = { postMessage(m: unknown, transfer?: unknown[]): void };
const nodePort = nodeBuiltin<{ parentPort: Port & { on(ev: 'message', f: (m: DriverRequest) => void): void } }>('node:worker_threads')?.parentPort;

function handle(req: DriverRequest): { reply: DriverReply; transfer: ArrayBuffer[] } {
  try {
    setNumThreads(req.threads);
    const before = unitsByWorkers();
    const yLen = req.g.n * (req.transposed ? req.g.cIn : req.g.cOut) *
      (req.transposed ? req.g.inSize : req.g.outSize).reduce((a, v) => a * v, 1);
    const y = new Float32Array(yLen);
    const kernels = withBackend(req.backend, () => {
      convForward(req.x, req.w, req.b, y, req.g, req.transposed);
      return selectKernels(req.g, 'float32', req.transposed ? 'convT' : 'conv').name;
    });
    return { reply: { id: req.id, y, threads: getNumThreads(), worked: unitsByWorkers() - before, kernels }, transfer: [y.buffer] };
  } catch (err) {
    const e = err as Partial<ConvError> & Error;
    return { reply: { id: req.id, error: { name: e?.name ?? 'Error', op: e?.op, param: e?.param, message: String(e?.message ?? err) } }, transfer: [] };
  }
}

/** How long a call waits for new workers to load before it runs with those that have. */
const LOAD_MS = 10000;

// Calls run in order: each waits for the one before (a worker's messages may arrive while one awaits).
let queue: Promise<void> = Promise.resolve();
function receive(req: DriverRequest, port: Port): void {
  queue = queue.then(async () => {
    try {
      // New workers load while this thread is free, then the call blocks this thread only.
      startPool(req.threads);
      await poolReady(LOAD_MS);
    } catch {
      // A pool that cannot start leaves the call to this thread alone (handle() reports real failures).
    }
    const { reply, transfer } = handle(req);
    try {
      port.postMessage(reply, transfer);
    } catch (err) {
      // Every request gets a reply, or its caller would wait forever.
      port.postMessage(failure(req.id, err as Error));
    }
  });
}

function failure(id: number, err: Error): DriverReply {
  return { id, error: { name: 'ConvError', op: 'async', param: 'driver', message: `async: driver could not reply: ${String(err?.message ?? err)}` } };
}

if (nodePort) nodePort.on('message', (req) => receive(req, nodePort));
else {
  const scope = globalThis as unknown as Port & { onmessage: (e: { data: DriverRequest }) => void };
  scope.onmessage = (e) => receive(e.data, scope);
}
// Tells the calling side that this worker loaded (it bounds how long a driver may take to start).
(nodePort ?? (globalThis as unknown as Port)).postMessage({ id: 0, ready: true } satisfies DriverReply);

/**
 * Supervisor thread of the Node pool. The calling thread blocks in Atomics.wait during a call, so
 * it cannot hear a worker's 'exit' or 'error' event; this thread starts the unit workers, keeps
 * its event loop free, and turns a worker's death (process.exit, an uncaught error, running out
 * of memory, terminate()) into the DEAD word at once, which wakes the caller.
 */
import { parentPort, workerData, Worker } from 'node:worker_threads';
import { markDead } from './protocol.js';
import { startNodeWorker, type WorkerThreads } from './node-worker.js';
import type { UnitWorkerData } from './loop.js';

const { module, memory, ctrl } = workerData as Omit<UnitWorkerData, 'tid'>;
const wt = { Worker } as unknown as WorkerThreads;
let count = 0;

function start(tid: number): void {
  const w = startNodeWorker(wt, import.meta.url, 'worker', { module, memory, ctrl, tid });
  let why = '';
  w.on('error', (err) => { why = `worker ${tid} failed: ${String((err as Error)?.message ?? err)}`; markDead(ctrl, tid, why); });
  w.on('exit', (code) => markDead(ctrl, tid, why || `worker ${tid} exited with code ${String(code)}`));
}

parentPort?.on('message', (m: { spawn: number }) => {
  while (count < m.spawn) start(++count);
});

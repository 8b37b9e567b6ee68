/**
 * Unit worker for browsers (a module Web Worker started by a pool that lives in another worker):
 * receives the module, the shared memory and the control words, then runs units. A Web Worker
 * whose code throws stays alive but stops taking units, so the error is reported in the control
 * words, which wakes the waiting caller at once.
 */
import { unitLoop, type UnitWorkerData } from './loop.js';
import { markDead } from './protocol.js';

const scope = globalThis as unknown as { onmessage: ((e: MessageEvent<UnitWorkerData>) => void) | null; close(): void };
scope.onmessage = (e) => {
  scope.onmessage = null;
  const data = e.data;
  try {
    unitLoop(data, (code) => {
      markDead(data.ctrl, data.tid, `worker ${data.tid} exited with code ${code}`);
      scope.close();
      throw new Error(`worker ${data.tid} exited`);
    });
  } catch (err) {
    markDead(data.ctrl, data.tid, `worker ${data.tid} failed: ${String((err as Error)?.message ?? err)}`);
    throw err;
  }
};

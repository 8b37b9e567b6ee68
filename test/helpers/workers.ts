/** Running a call until the worker threads have taken part in it. */
import assert from 'node:assert/strict';
import { unitsByWorkers } from '../../src/kernels/threads/pool.js';

/**
 * Runs `run` until a worker has taken at least one of its units (bounded: 20 s) and returns that
 * run's result. A ready worker still has to be scheduled before the calling thread has claimed
 * every unit itself, which on a busy machine can take several calls; a test comparing thread counts
 * must compare a result the workers helped compute, or it could pass with no worker running.
 */
export function withWorkers<T>(run: () => T, what: string): T {
  for (const t0 = Date.now(); Date.now() - t0 < 20000;) {
    const before = unitsByWorkers();
    const out = run();
    if (unitsByWorkers() > before) return out;
  }
  assert.fail(`${what}: no worker took a unit within 20 s`);
}

/**
 * The body of a unit worker, the same for Node worker threads and browser Web Workers: instantiate
 * the module on the shared memory, report ready, then run the units of each new epoch until the
 * epoch word turns negative.
 */
import type { WasmExports } from '../wasm/work.js';
import { actOutFault, C, drain, spinWhile } from './protocol.js';

/** How often an idle worker looks at the epoch word without being woken. */
const IDLE_MS = 1000;

export interface UnitWorkerData { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrl: Int32Array; tid: number }

export function unitLoop({ module, memory, ctrl, tid }: UnitWorkerData, exit: (code: number) => void): void {
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  const ex = instance.exports as unknown as WasmExports;
  let view = new Int32Array(memory.buffer);
  const mem = () => (view.buffer.byteLength === memory.buffer.byteLength ? view : (view = new Int32Array(memory.buffer)));
  const onClaim = () => actOutFault(ctrl, exit);
  Atomics.add(ctrl, C.READY, 1);
  Atomics.notify(ctrl, C.READY);
  let seen = Atomics.load(ctrl, C.EPOCH);
  if (seen < 0) return; // the pool shut down while this worker loaded
  drain(ex, mem, ctrl, seen, tid, onClaim); // joins a call already in flight (or finds none to claim)
  for (;;) {
    // The next call of a forward usually comes within SPIN_MS: look for it before sleeping. The
    // sleep is bounded, though a new epoch always notifies: the word is read again every IDLE_MS.
    let now = spinWhile(ctrl, C.EPOCH, seen);
    if (now === seen) {
      Atomics.wait(ctrl, C.EPOCH, seen, IDLE_MS);
      now = Atomics.load(ctrl, C.EPOCH);
    }
    if (now < 0) break;
    if (now === seen) continue;
    seen = now;
    drain(ex, mem, ctrl, seen, tid, onClaim);
  }
}

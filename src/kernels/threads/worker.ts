/** Worker thread (Node only): waits for a new epoch in the control words and runs units of the task. */
import { parentPort, workerData } from 'node:worker_threads';
import type { WasmExports } from '../wasm/work.js';
import { C, drain } from './protocol.js';

const { module, memory, ctrl, tid } = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrl: Int32Array; tid: number };
const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
const ex = instance.exports as unknown as WasmExports;
let view = new Int32Array(memory.buffer);
const mem = () => (view.buffer.byteLength === memory.buffer.byteLength ? view : (view = new Int32Array(memory.buffer)));

parentPort?.postMessage('ready');
let seen = Atomics.load(ctrl, C.EPOCH);
if (seen >= 0) drain(ex, mem, ctrl, seen, tid); // joins a call already in flight
for (;;) {
  Atomics.wait(ctrl, C.EPOCH, seen);
  seen = Atomics.load(ctrl, C.EPOCH);
  if (seen < 0) break;
  drain(ex, mem, ctrl, seen, tid);
}

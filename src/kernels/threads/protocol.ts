/** The control words shared by the calling thread and the workers, and the unit-claiming loop. */
import { runUnit, type WasmExports } from '../wasm/work.js';

/** Control words (Int32 over a SharedArrayBuffer). NEXT = (epoch tag << 16) | next unit. */
/** WORKED counts units run by worker threads (tid > 0), for tests and diagnostics. */
export const enum C { EPOCH, NEXT, DONE, UNITS, ERROR, WORKED, THREADS, ERRLEN, LENGTH }
/** Bytes after the control words that hold the first failing unit's message (ASCII). */
export const MESSAGE_BYTES = 400;

/** Control words plus the message area, over one SharedArrayBuffer. */
export const controlBlock = (): Int32Array => new Int32Array(new SharedArrayBuffer(C.LENGTH * 4 + MESSAGE_BYTES));

/** The message the first failing thread left, or null. */
export function failureMessage(c: Int32Array): string | null {
  const len = Atomics.load(c, C.ERRLEN);
  if (!len) return null;
  const bytes = new Uint8Array(c.buffer, C.LENGTH * 4, len);
  return String.fromCharCode(...bytes);
}
/**
 * Claims and runs units of epoch `e` until none are left (shared by this thread and the workers).
 * Returns the first error a unit threw on this thread (the ERROR word names the first thread that failed).
 */
export function drain(ex: WasmExports, mem: () => Int32Array, c: Int32Array, e: number, tid: number): unknown {
  let failed: unknown = null;
  const tag = e & 0x7fff, units = Atomics.load(c, C.UNITS);
  // Scratch exists for THREADS threads only: workers beyond (the pool was larger) sit this task out.
  if (tid >= Atomics.load(c, C.THREADS)) return failed;
  for (;;) {
    const v = Atomics.load(c, C.NEXT);
    if (v >>> 16 !== tag || (v & 0xffff) >= units) return failed;
    if (Atomics.compareExchange(c, C.NEXT, v, v + 1) !== v) continue;
    try {
      runUnit(ex, mem(), tid, v & 0xffff);
    } catch (err) {
      // Recorded, not thrown: the unit still counts as done so the caller never waits forever.
      if (Atomics.compareExchange(c, C.ERROR, 0, tid + 1) === 0) {
        const text = String((err as Error)?.message ?? err), bytes = new Uint8Array(c.buffer, C.LENGTH * 4, MESSAGE_BYTES);
        const len = Math.min(text.length, MESSAGE_BYTES);
        for (let i = 0; i < len; i++) bytes[i] = Math.min(text.charCodeAt(i), 0x7f);
        Atomics.store(c, C.ERRLEN, len);
      }
      failed ??= err;
    }
    if (tid > 0) Atomics.add(c, C.WORKED, 1);
    Atomics.add(c, C.DONE, 1);
    Atomics.notify(c, C.DONE);
  }
}


/** The control words shared by the calling thread and the workers, and the unit-claiming loop. */
import { runUnit, MAX_THREADS, type WasmExports } from '../wasm/work.js';

/**
 * Control words (Int32 over a SharedArrayBuffer). NEXT = (epoch tag << 16) | next unit.
 * WORKED counts units run by worker threads (tid > 0), for tests and diagnostics.
 * DEAD = tid + 1 of a worker that died (written by whoever saw it die), READY = workers with their
 * module instance, FAULT = a test-only fault the next worker to claim a unit acts out (see Fault).
 * BUSY + tid is 1 while thread tid runs a unit, so a failed call can wait for the live threads.
 */
export const enum C { EPOCH, NEXT, DONE, UNITS, ERROR, WORKED, THREADS, ERRLEN, DEAD, READY, FAULT, BUSY, LENGTH = BUSY + MAX_THREADS }
/** Bytes after the control words that hold the first failure's message (ASCII). */
export const MESSAGE_BYTES = 400;

/** Test-only faults a worker acts out in the middle of a unit (`FAULT` word): Hang blocks it for good. */
export const enum Fault { None, Exit, Throw, Hang }

/** Control words plus the message area, over one SharedArrayBuffer. */
export const controlBlock = (): Int32Array => new Int32Array(new SharedArrayBuffer(C.LENGTH * 4 + MESSAGE_BYTES));

/** The message the first failure left, or null. */
export function failureMessage(c: Int32Array): string | null {
  const len = Atomics.load(c, C.ERRLEN);
  if (len <= 0) return null; // -1: a message is being written
  const bytes = new Uint8Array(c.buffer, C.LENGTH * 4, len);
  return String.fromCharCode(...bytes);
}

/** Leaves `text` as the failure message unless one is there already (ERRLEN is claimed atomically). */
function writeMessage(c: Int32Array, text: string): void {
  const len = Math.max(1, Math.min(text.length, MESSAGE_BYTES));
  if (Atomics.compareExchange(c, C.ERRLEN, 0, -1) !== 0) return;
  const bytes = new Uint8Array(c.buffer, C.LENGTH * 4, MESSAGE_BYTES);
  for (let i = 0; i < len; i++) bytes[i] = Math.min(text.charCodeAt(i) || 0x20, 0x7f);
  Atomics.store(c, C.ERRLEN, len);
}

/** NEXT's unit field when no unit may be claimed; a task has fewer units than this. */
export const CLOSED = 0xffff;

/**
 * Publishes a task of `units` units for `threads` threads as the next epoch, and returns it. The
 * previous epoch is closed first: a worker only now entering drain() for it may read this task's
 * UNITS, and must then find nothing to claim under the old tag (it would otherwise run a unit of
 * this task a second time and count it in DONE, ending the caller's wait early). The epoch word is
 * written last, so a worker woken by it sees the whole task. `step` (tests) runs after each write.
 */
export function publishTask(c: Int32Array, units: number, threads: number, step?: () => void): number {
  const prev = Atomics.load(c, C.EPOCH), epoch = (prev + 1) & 0x7fffffff;
  const writes: [C, number][] = [[C.NEXT, ((prev & 0x7fff) << 16) | CLOSED], [C.DONE, 0], [C.ERROR, 0], [C.ERRLEN, 0],
    [C.UNITS, units], [C.THREADS, threads], [C.NEXT, (epoch & 0x7fff) << 16], [C.EPOCH, epoch]];
  for (const [word, value] of writes) {
    Atomics.store(c, word, value);
    step?.();
  }
  Atomics.notify(c, C.EPOCH);
  return epoch;
}

/**
 * How long a thread with nothing to do keeps reading a control word before it sleeps in
 * Atomics.wait: the calls of one forward follow each other within tens of microseconds, and a
 * sleeping thread costs the one that wakes it a system call and itself a wake-up of about as long.
 */
export const SPIN_MS = 0.2;

/** Reads word `i` of `c` until it is no longer `v` or `ms` have passed; returns the last value read. */
export function spinWhile(c: Int32Array, i: number, v: number, ms: number = SPIN_MS): number {
  const until = performance.now() + ms;
  for (;;) {
    for (let k = 0; k < 64; k++) {
      const now = Atomics.load(c, i);
      if (now !== v) return now;
    }
    if (performance.now() > until) return v;
  }
}

/** Marks worker `tid` dead with a reason and wakes a caller waiting for units. */
export function markDead(c: Int32Array, tid: number, why: string): void {
  writeMessage(c, why);
  Atomics.compareExchange(c, C.DEAD, 0, tid + 1);
  Atomics.notify(c, C.DONE);
}

/**
 * Claims and runs units of epoch `e` until none are left (shared by this thread and the workers).
 * Returns the first error a unit threw on this thread (the ERROR word names the first thread that failed).
 * `onClaim` runs after a unit is claimed and before it runs, outside the unit's error handling
 * (workers use it to act out test faults).
 */
export function drain(ex: WasmExports, mem: () => Int32Array, c: Int32Array, e: number, tid: number, onClaim?: () => void): unknown {
  let failed: unknown = null;
  const tag = e & 0x7fff, units = Atomics.load(c, C.UNITS);
  // Scratch exists for THREADS threads only: workers beyond (the pool was larger) sit this task out.
  if (tid >= Atomics.load(c, C.THREADS)) return failed;
  for (;;) {
    const v = Atomics.load(c, C.NEXT);
    if (v >>> 16 !== tag || (v & 0xffff) >= units) return failed;
    Atomics.store(c, C.BUSY + tid, 1);
    if (Atomics.compareExchange(c, C.NEXT, v, v + 1) !== v) {
      Atomics.store(c, C.BUSY + tid, 0);
      continue;
    }
    onClaim?.();
    try {
      runUnit(ex, mem(), tid, v & 0xffff);
    } catch (err) {
      // Recorded, not thrown: the unit still counts as done so the caller never waits forever.
      if (Atomics.compareExchange(c, C.ERROR, 0, tid + 1) === 0) writeMessage(c, String((err as Error)?.message ?? err));
      failed ??= err;
    }
    Atomics.store(c, C.BUSY + tid, 0);
    Atomics.notify(c, C.BUSY + tid);
    if (tid > 0) Atomics.add(c, C.WORKED, 1);
    Atomics.add(c, C.DONE, 1);
    Atomics.notify(c, C.DONE);
  }
}

/** Runs the test fault armed in FAULT, if any (called by workers once they hold a unit). */
export function actOutFault(c: Int32Array, exit: (code: number) => void): void {
  const f = Atomics.exchange(c, C.FAULT, Fault.None) as Fault;
  if (f === Fault.Exit) exit(70);
  if (f === Fault.Throw) throw new Error('test fault: uncaught error in the middle of a unit');
  if (f === Fault.Hang) for (;;) Atomics.wait(c, C.FAULT, Fault.None, 1000); // a hung, not a dead, worker
}

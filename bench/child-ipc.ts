/**
 * What the benchmark children (child.ts: one library over the workloads; model-child.ts: whole
 * models) share: the task fields, the messages to the parent, the process lifecycle and the timing
 * loop. Node-only (bench/ is not library code).
 */
import { median, moreRuns, moreWarmup, type RepeatPolicy } from './measure.js';

/** The fields of every child task besides its list of cases. */
export interface TaskBase {
  /** What to run ('reference' writes the reference outputs). */
  readonly lib: string;
  readonly refDir: string;
  readonly mode: 'full' | 'quick' | 'verify';
}

/** One case measured (or verified); `S` is the statuses the child reports. */
export type ResultMessage<S extends string> = { type: 'result'; lib: string; id: string; status: S;
  ms: number | null; runs: number; relErr: number | null; note?: string };

/** The messages around the results: the library loaded, the child finished, or failed as a whole. */
export type LifecycleMessage =
  | { type: 'ready'; lib: string; note: string }
  | { type: 'done'; lib: string; maxRssMB: number }
  | { type: 'fatal'; lib: string; message: string };

/** Sends a message to the parent (or prints it as JSON when run by hand). */
export function send(m: { type: string }): Promise<void> {
  return new Promise((resolve) => {
    if (process.send) process.send(m, () => resolve());
    else { console.log(JSON.stringify(m)); resolve(); }
  });
}

/** Runs the child's work, reports 'done' (with the peak memory) or 'fatal', and exits. */
export async function runChild(lib: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    await send({ type: 'done', lib, maxRssMB: process.resourceUsage().maxRSS / 1024 });
  } catch (e) {
    await send({ type: 'fatal', lib, message: (e as Error).message.split('\n')[0] });
  }
  // Thread pools (onnxruntime, workers) may keep the event loop alive.
  process.disconnect?.();
  process.exit(0);
}

/**
 * After a first call of `firstMs`, the warm-up calls the policy asks for, then the timed runs:
 * their median and count. `awaitEach`: each call's result is awaited inside its timing.
 */
export async function timeCalls(policy: RepeatPolicy, call: () => unknown, awaitEach: boolean, firstMs: number): Promise<{ ms: number; runs: number }> {
  let warm = firstMs, calls = 1, t0: number;
  while (moreWarmup(policy, calls, warm)) {
    t0 = performance.now();
    const r = call();
    if (awaitEach) await r;
    warm += performance.now() - t0;
    calls++;
  }
  const times: number[] = [];
  let total = 0;
  while (moreRuns(policy, times.length, total)) {
    t0 = performance.now();
    const r = call();
    if (awaitEach) await r;
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
  }
  return { ms: median(times), runs: times.length };
}

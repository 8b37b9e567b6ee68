/** Timing and verification helpers shared by the benchmark child processes. Pure: no I/O. */

export interface Verdict {
  readonly ok: boolean;
  /** max |y − ref| / max |ref| (the scale); NaN where shapes differ or a value is not finite. */
  readonly relErr: number;
  readonly note?: string;
}

/** Relative tolerance on the scale of the reference output. */
export const TOLERANCE = 1e-3;

/** Compares an output with the reference: max |y − ref| ≤ tol · max |ref|. */
export function verify(y: ArrayLike<number>, ref: ArrayLike<number>, tol = TOLERANCE): Verdict {
  if (y.length !== ref.length)
    return { ok: false, relErr: NaN, note: `length ${y.length}, reference ${ref.length}` };
  let scale = 0, err = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    const e = Math.abs(y[i] - ref[i]);
    if (!(e <= err)) err = Number.isNaN(e) ? NaN : e;   // a NaN sticks
    if (Number.isNaN(err)) break;
  }
  const relErr = err / (scale || 1);
  if (Number.isNaN(relErr)) return { ok: false, relErr, note: 'non-finite output' };
  return { ok: relErr <= tol, relErr };
}

export interface RepeatPolicy {
  /** Warm-up: at least this many calls, more until `warmupMs` has passed. */
  readonly warmupCalls: number;
  readonly warmupMs: number;
  /** Timed calls: at least `minRuns`, then until `targetMs` of timed calls or `maxRuns`. */
  readonly minRuns: number;
  readonly targetMs: number;
  readonly maxRuns: number;
}

export const fullPolicy: RepeatPolicy = { warmupCalls: 1, warmupMs: 300, minRuns: 3, targetMs: 1000, maxRuns: 200 };
export const quickPolicy: RepeatPolicy = { warmupCalls: 1, warmupMs: 0, minRuns: 1, targetMs: 150, maxRuns: 5 };

/** Whether another call is due after `calls` calls that took `elapsedMs` in all. */
export function moreWarmup(p: RepeatPolicy, calls: number, elapsedMs: number): boolean {
  return calls < p.warmupCalls || elapsedMs < p.warmupMs;
}
export function moreRuns(p: RepeatPolicy, runs: number, elapsedMs: number): boolean {
  return runs < p.minRuns || (elapsedMs < p.targetMs && runs < p.maxRuns);
}

export function median(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** GFLOP/s from multiply-accumulates and milliseconds: 2·MACs / time. */
export const gflops = (macs: number, ms: number): number => (2 * macs) / (ms * 1e6);

/** NaN/Inf-laden operands and the comparison that checks IEEE propagation against the reference. */
import assert from 'node:assert/strict';
import type { F } from '../../src/kernels/types.js';

/**
 * len values from a seeded LCG: NaN, +Inf, −Inf and 0 each with probability `rate`, otherwise
 * uniform in [−1, 1); float64 or float32.
 */
export function special(len: number, seed: number, dtype: 'float32' | 'float64', rate: number): F {
  const out = dtype === 'float64' ? new Float64Array(len) : new Float32Array(len);
  let s = seed >>> 0 || 1;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < len; i++) {
    const r = next(), v = next() * 2 - 1;
    out[i] = r < rate ? NaN : r < 2 * rate ? Infinity : r < 3 * rate ? -Infinity : r < 4 * rate ? 0 : v;
  }
  return out;
}

/** Same NaN positions, same ±Inf positions and signs, finite values within tol·(largest finite |ref| + 1). */
export function assertSameNumbers(a: F, ref: F, what: string, tol: number): void {
  assert.equal(a.length, ref.length, `${what}: length`);
  let scale = 1;
  for (const v of ref) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    const r = ref[i], v = a[i];
    const ok = Number.isNaN(r) ? Number.isNaN(v) : Number.isFinite(r) ? Math.abs(v - r) <= tol * scale : v === r;
    if (!ok) assert.fail(`${what}: element ${i} is ${v}, reference ${r}`);
  }
}

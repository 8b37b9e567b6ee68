/** Seeded test data from an LCG, so a failing property replays with fast-check's seed. */

/** `len` values in [−1, 1) from `seed` (float32 unless dtype says float64). */
export function seededValues(len: number, seed: number): Float32Array;
export function seededValues(len: number, seed: number, dtype: 'float64'): Float64Array;
export function seededValues(len: number, seed: number, dtype: 'float32' | 'float64'): Float32Array | Float64Array;
export function seededValues(len: number, seed: number, dtype: 'float32' | 'float64' = 'float32'): Float32Array | Float64Array {
  const out = dtype === 'float64' ? new Float64Array(len) : new Float32Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

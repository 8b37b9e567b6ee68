/**
 * Copies between JavaScript arrays and views of the shared (threaded) wasm memory at memcpy speed.
 *
 * V8 copies to or from a SharedArrayBuffer with a relaxed-atomic memcpy that moves 8-byte words
 * only where the source and destination addresses agree modulo 8, and bytes one at a time where they
 * do not. A Float32Array copy whose two offsets differ by an odd number of elements (a plane written
 * after an odd number of padding zeros, say) then runs 7–8× slower: 0.75 against 0.10 ms for 2.8 MB
 * on the 2-core benchmark machine, which was 8% of a HiFi-GAN forward. Such copies go through a
 * small staging array placed at the shared side's parity: each step is then a word copy (the one
 * between plain arrays is a plain memcpy at any alignment).
 */
import type { F } from '../types.js';

/** Elements per staged step: 32 KiB of f32, so the staging array stays in L1. */
const STAGE = 8192;
let staging: Float32Array | null = null;

const isShared = (a: F): boolean => typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;

/**
 * dst.set(src) (same element type, src.length ≤ dst.length), word by word even where a float32
 * copy to or from shared memory has mismatched offsets (see the module comment).
 */
export function copyInto(dst: F, src: F): void {
  const n = src.length, toShared = isShared(dst);
  if (n < 256 || dst.BYTES_PER_ELEMENT === 8 || ((dst.byteOffset - src.byteOffset) & 7) === 0 || !(toShared || isShared(src))) {
    (dst as Float64Array).set(src as Float64Array);
    return;
  }
  // The staged slice starts at the shared side's parity, so the copy to or from shared memory is aligned.
  const par = ((toShared ? dst : src).byteOffset >>> 2) & 1;
  staging ??= new Float32Array(STAGE + 2);
  const d = dst as Float32Array, s = src as Float32Array;
  // Every step but the last moves an even number of elements, so each one keeps the parity.
  for (let i = 0; i < n; i += STAGE) {
    const len = Math.min(STAGE, n - i), st = staging.subarray(par, par + len);
    st.set(s.subarray(i, i + len));
    d.set(st, i);
  }
}

/** dst[di …] = src[si …], n elements: copyInto on subarrays. */
export function copyRange(dst: F, di: number, src: F, si: number, n: number): void {
  copyInto(dst.subarray(di, di + n), src.subarray(si, si + n));
}

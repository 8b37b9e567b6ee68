/**
 * copyInto (src/kernels/wasm/copy.ts): the copies to and from shared wasm memory, staged where a
 * float32 copy's offsets differ modulo 8 bytes (V8 copies those byte by byte). The values must be
 * those of a plain set() for every parity, direction and length, and nothing past the copy changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyInto, copyRange } from '../src/kernels/wasm/copy.js';

const LENGTHS = [0, 1, 255, 256, 257, 8191, 8192, 8193, 3 * 8192 + 5];
const filled = (n: number, f64: boolean, seed: number) => {
  const a = f64 ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed + i * 0.37) * 1000 + i;
  return a;
};

for (const f64 of [false, true]) {
  const es = f64 ? 8 : 4, Arr = f64 ? Float64Array : Float32Array;
  test(`copyInto ${f64 ? 'float64' : 'float32'}: plain → shared and shared → plain equal set() at every offset parity and length`, () => {
    const shared = new SharedArrayBuffer(es * (3 * 8192 + 64)), plain = new ArrayBuffer(es * (3 * 8192 + 64));
    for (const n of LENGTHS)
      for (const so of [0, 1, 2, 3])
        for (const d0 of [0, 1, 2, 3]) {
          const src = filled(n + so, f64, n + so).subarray(so);
          // plain → shared: dst holds a sentinel past the copy
          const dst = new Arr(shared, d0 * es, n + 3);
          dst.fill(-7);
          copyInto(dst, src);
          for (let i = 0; i < n; i++) if (dst[i] !== src[i]) assert.fail(`n ${n}, src offset ${so}, dst offset ${d0}: element ${i} is ${dst[i]}, not ${src[i]}`);
          assert.deepEqual(Array.from(dst.subarray(n)), [-7, -7, -7], `n ${n}: the elements past the copy are untouched`);
          // shared → plain: the same values read back at another parity
          const back = new Arr(plain, ((d0 + so) % 4) * es, n + 2);
          back.fill(5);
          copyInto(back, dst.subarray(0, n));
          for (let i = 0; i < n; i++) if (back[i] !== src[i]) assert.fail(`back: n ${n}, element ${i} is ${back[i]}, not ${src[i]}`);
          assert.deepEqual(Array.from(back.subarray(n)), [5, 5]);
        }
  });
}

test('copyRange writes n elements at di from si, and nothing else', () => {
  const shared = new Float32Array(new SharedArrayBuffer(4 * 20000)).fill(3);
  const src = filled(19000, false, 1) as Float32Array;
  copyRange(shared, 101, src, 2000, 12345);
  for (let i = 0; i < 20000; i++) {
    const want = i >= 101 && i < 101 + 12345 ? src[2000 + i - 101] : 3;
    if (shared[i] !== want) assert.fail(`element ${i}: ${shared[i]} vs ${want}`);
  }
});

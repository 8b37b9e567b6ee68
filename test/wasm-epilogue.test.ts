/**
 * The WebAssembly epilogue (residual and activation applied in linear memory before the copy out):
 * on random geometries of the GEMM conv, GEMM convT and polyphase convT kernels, a fused call equals
 * the kernel's unfused output followed by the elementwise ops — bitwise in float32 (the activations
 * are the elementwise module's; within 4 ulp of tanh/sigmoid below 32 elements, where the ops use
 * Math) and float64 — and the public API's fused calls are bitwise
 * identical for 1 and 2 threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { conv1d, convTranspose1d, manualSeed, randn, setNumThreads, withBackend } from '../src/index.js';
import { poolReady } from '../src/kernels/threads/pool.js';
import { wasmGemmKernels, wasmPolyphaseKernels } from '../src/kernels/wasm/glue.js';
import { activationInto, binaryInto } from '../src/kernels/wasm/elementwise.js';
import { activate } from '../src/kernels/ref/epilogue.js';
import { phasePlan } from '../src/plan/phases.js';
import type { Activation, Epilogue } from '../src/kernels/types.js';
import type { Geometry } from '../src/spec/types.js';

const prod = (a: readonly number[]) => a.reduce((p, q) => p * q, 1);
function data(len: number, seed: number, f64: boolean): Float32Array | Float64Array {
  const out = f64 ? new Float64Array(len) : new Float32Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s / 2 ** 31 - 1) * 2; }
  return out;
}
const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
};

/** The unfused composition on an output array: y + residual (the elementwise add), then the activation op. */
function unfused(y: Float32Array | Float64Array, ep: Epilogue): void {
  const f64 = y instanceof Float64Array;
  if (ep.residual) {
    if (!binaryInto('add', y, [y.length], ep.residual, [y.length], [y.length], y)) for (let i = 0; i < y.length; i++) y[i] += ep.residual[i];
  }
  if (ep.activation) {
    const slope = ep.negativeSlope ?? 0.01;
    if (!activationInto(ep.activation, y, y, slope)) activate(y, ep.activation, slope);
    else if (f64 && (ep.activation === 'tanh' || ep.activation === 'sigmoid')) assert.fail('float64 tanh has no SIMD form');
  }
}

const acts: (Activation | undefined)[] = [undefined, 'relu', 'leakyRelu', 'tanh', 'sigmoid'];

test('fused residual and activation equal the unfused ops bitwise (GEMM conv, GEMM convT, polyphase convT; float32 and float64)', () => {
  fc.assert(fc.property(
    fc.record({ n: fc.integer({ min: 1, max: 2 }), cin: fc.integer({ min: 1, max: 9 }), cout: fc.integer({ min: 1, max: 9 }),
      k: fc.integer({ min: 1, max: 5 }), s: fc.integer({ min: 1, max: 3 }), L: fc.integer({ min: 5, max: 90 }), seed: fc.integer({ min: 1, max: 1e9 }),
      f64: fc.boolean(), act: fc.constantFrom(...acts), residual: fc.boolean(), slope: fc.constantFrom(0.01, 0.2, -0.5) }),
    ({ n, cin, cout, k, s, L, seed, f64, act, residual, slope }) => {
      const outL = Math.floor((L - k) / s) + 1;
      const g: Geometry = { n, cIn: cin, cOut: cout, groups: 1, inSize: [L], outSize: [outL], kSize: [k], stride: [s], dilation: [1], padBefore: [0] };
      const x = data(n * cin * L, seed, f64), w = data(cout * cin * k, seed + 1, f64), gy = data(n * cout * outL, seed + 2, f64);
      const b = data(cout, seed + 3, f64), bT = data(cin, seed + 4, f64);
      const run = (dir: 'conv' | 'convT' | 'phases', ep: Epilogue) => {
        const y = f64 ? new Float64Array(dir === 'conv' ? gy.length : x.length) : new Float32Array(dir === 'conv' ? gy.length : x.length);
        if (dir === 'conv') wasmGemmKernels.conv(x, w.subarray(0, cout * cin * k), y, g, ep);
        else if (dir === 'convT') wasmGemmKernels.convT(gy, w, y, g, ep);
        else wasmPolyphaseKernels.convTPhases(gy, w, y, g, phasePlan(g), ep);
        return y;
      };
      for (const dir of ['conv', 'convT', 'phases'] as const) {
        const len = dir === 'conv' ? gy.length : x.length;
        const post: Epilogue = { ...(residual ? { residual: data(len, seed + 5, f64) } : {}), ...(act ? { activation: act, negativeSlope: act === 'leakyRelu' ? slope : undefined } : {}) };
        const bias = dir === 'conv' ? b : bT;
        const fused = run(dir, { bias, ...post });
        const ref = run(dir, { bias });
        unfused(ref, post);
        const what = `${dir} ${JSON.stringify({ g, f64, act, residual, slope })}`;
        // Below 32 elements the elementwise ops run Math.tanh / Math.exp: there the bound of test/elementwise.test.ts holds instead.
        if (!f64 && len < 32 && (act === 'tanh' || act === 'sigmoid'))
          ref.forEach((r, i) => assert.ok(Math.abs(fused[i] - r) <= 4 * 2 ** -23 * Math.abs(r) + 2 ** -126, `${what}: element ${i}`));
        else same(fused, ref, what);
      }
    }), { numRuns: 150, seed: 90210 });
});

test('fused public calls are bitwise identical for 1 and 2 threads', async () => {
  manualSeed(8);
  const x = randn([2, 32, 3000]), w = randn([32, 32, 11]), b = randn([32]), wt = randn([32, 16, 16]), bt = randn([16]);
  const calls = () => withBackend('wasm', () => [
    conv1d(x, w, b, { padding: 25, dilation: 5, activation: 'leakyRelu', negativeSlope: 0.1, residual: x }),
    conv1d(x, w, b, { padding: 5, activation: 'tanh' }),
    convTranspose1d(x, wt, bt, { stride: 8, padding: 4, activation: 'sigmoid' }),
  ].map((t) => t.data));
  setNumThreads(2);
  calls();
  await poolReady();
  const two = calls();
  setNumThreads(1);
  const one = calls();
  setNumThreads(0);
  two.forEach((a, i) => assert.deepEqual(a, one[i], `call ${i}`));
});

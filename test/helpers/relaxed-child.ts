/**
 * Run by test/relaxed-simd.test.ts in a child Node (with or without relaxed SIMD enabled): checks
 * which module the engine chose against `--expect relaxed|plain`, then the f32 and f64 GEMM, polyphase
 * and depthwise kernels of that module against the reference on random geometries, and forward and
 * gradients bitwise across 1 and 2 threads. Prints one JSON line of what it checked; exits 1 on a failure.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { conv1d, conv2d, convTranspose1d, randn, manualSeed, setNumThreads, withBackend } from '../../src/index.js';
import { poolReady, unitsByWorkers } from '../../src/kernels/threads/pool.js';
import { refKernels } from '../../src/kernels/ref/taps.js';
import { relaxedSimdSupported, wasmDepthwiseKernels, wasmEngine, wasmGemmKernels, wasmPolyphaseKernels } from '../../src/kernels/wasm/glue.js';
import type { Geometry } from '../../src/spec/types.js';
import { phasePlan } from '../../src/plan/phases.js';

const expect = process.argv[process.argv.indexOf('--expect') + 1];
const prod = (a: readonly number[]) => a.reduce((p, q) => p * q, 1);

function data(len: number, seed: number, f64: boolean): Float32Array | Float64Array {
  const out = f64 ? new Float64Array(len) : new Float32Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** |a − b| ≤ tol · (1 + max |ref|) elementwise. */
function near(a: Float32Array | Float64Array, b: Float32Array | Float64Array, what: string, tol: number): void {
  let scale = 1;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++)
    if (!(Math.abs(a[i] - b[i]) <= tol * scale)) assert.fail(`${what}: element ${i} is ${a[i]}, reference ${b[i]}`);
}

const geometry = fc.integer({ min: 1, max: 3 }).chain((rank) => fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }),
  cig: fc.integer({ min: 1, max: 9 }), cog: fc.integer({ min: 1, max: 9 }),
  dims: fc.array(fc.record({
    k: fc.integer({ min: 1, max: 5 }), s: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 3 }),
    p: fc.integer({ min: 0, max: 3 }), extra: fc.integer({ min: 0, max: rank === 1 ? 80 : 7 }),
  }), { minLength: rank, maxLength: rank }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }), f64: fc.boolean(),
})).map(({ n, groups, cig, cog, dims, seed, f64 }) => {
  const kSize = dims.map((a) => a.k), stride = dims.map((a) => a.s), dilation = dims.map((a) => a.d);
  const padBefore = dims.map((a) => Math.min(a.p, a.d * (a.k - 1)));
  const inSize = dims.map((a, i) => Math.max(1, a.d * (a.k - 1) + 1 - 2 * padBefore[i]) + a.extra);
  const outSize = inSize.map((L, i) => Math.floor((L + 2 * padBefore[i] - dilation[i] * (kSize[i] - 1) - 1) / stride[i]) + 1);
  const g: Geometry = { n, cIn: cig * groups, cOut: cog * groups, groups, inSize, outSize, kSize, stride, dilation, padBefore };
  return { g, seed, f64 };
});

const e = wasmEngine();
assert.ok(e, 'the wasm engine loads');
assert.equal(e.relaxed, expect === 'relaxed', `expected the ${expect} module, the engine chose ${e.relaxed ? 'relaxed' : 'plain'}`);
assert.equal(relaxedSimdSupported(), expect === 'relaxed');

let cases = 0;
fc.assert(fc.property(geometry, ({ g, seed, f64 }) => {
  const tol = f64 ? 1e-12 : 2e-5;
  const x = data(g.n * g.cIn * prod(g.inSize), seed, f64), w = data(g.cOut * (g.cIn / g.groups) * prod(g.kSize), seed + 1, f64);
  const gy = data(g.n * g.cOut * prod(g.outSize), seed + 2, f64), y0 = data(gy.length, seed + 3, f64), x0 = data(x.length, seed + 4, f64);
  const conv = (k: typeof refKernels) => { const y = y0.slice(); k.conv(x, w, y, g); return y; };
  const convT = (k: Pick<typeof refKernels, 'convT'>) => { const t = x0.slice(); k.convT(gy, w, t, g); return t; };
  const ref = conv(refKernels), refT = convT(refKernels);
  near(conv(wasmGemmKernels), ref, `gemm conv ${JSON.stringify(g)}`, tol);
  near(convT(wasmGemmKernels), refT, `gemm convT ${JSON.stringify(g)}`, tol);
  const gw = data(w.length, seed + 5, f64), gwRef = gw.slice();
  wasmGemmKernels.weightGrad(x, gy, gw, g);
  refKernels.weightGrad(x, gy, gwRef, g);
  near(gw, gwRef, `weightGrad ${JSON.stringify(g)}`, tol);
  if (g.stride.every((s, a) => s === 1 || g.dilation[a] === 1)) {
    const t = x0.slice();
    wasmPolyphaseKernels.convTPhases(gy, w, t, g, phasePlan(g));
    near(t, refT, `polyphase ${JSON.stringify(g)}`, tol);
  }
  if (g.cIn === g.groups) near(conv(wasmDepthwiseKernels as typeof refKernels), ref, `depthwise ${JSON.stringify(g)}`, tol);
  cases++;
}), { numRuns: 200, seed: 5150 });

// Bitwise across runs and thread counts: GEMM conv, polyphase convT, depthwise, forward and gradients.
manualSeed(21);
const opts = { requiresGrad: true } as const;
const x = randn([2, 32, 700], opts), w = randn([48, 32, 7], opts), wt = randn([32, 16, 8], opts);
const xd = randn([1, 64, 900], opts), wd = randn([64, 1, 11], opts), x2 = randn([1, 8, 40, 40], opts), w2 = randn([16, 8, 3, 3], opts);
const step = () => {
  const outs: Float32Array[] = [];
  for (const [y, ps] of [
    [conv1d(x, w, null, { padding: 3, dilation: 2 }), [x, w]],
    [convTranspose1d(x, wt, null, { stride: 4, padding: 2 }), [x, wt]],
    [conv1d(xd, wd, null, { padding: 25, dilation: 5, groups: 64 }), [xd, wd]],
    [conv2d(x2, w2, null, { padding: 1 }), [x2, w2]],
  ] as const) {
    for (const p of ps) p.grad = null;
    y.backward(randn(y.shape, { seed: 9 } as never));
    outs.push(y.data as Float32Array, ...ps.map((p) => p.grad!.data as Float32Array));
  }
  return outs;
};
setNumThreads(2);
withBackend('wasm', step);
await poolReady();
const before = unitsByWorkers();
const two = withBackend('wasm', step), again = withBackend('wasm', step);
assert.ok(unitsByWorkers() > before, 'the worker ran units');
setNumThreads(1);
const one = withBackend('wasm', step);
one.forEach((a, i) => {
  assert.deepEqual(two[i], a, `output ${i}: 1 and 2 threads`);
  assert.deepEqual(again[i], a, `output ${i}: two runs`);
});
const refOut = withBackend('ref', step);
refOut.forEach((r, i) => near(one[i], r, `public API output ${i}`, 1e-4));
console.log(JSON.stringify({ relaxed: e.relaxed, cases, outputs: one.length }));
process.exit(0);

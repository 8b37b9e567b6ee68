/**
 * The WebAssembly SIMD kernels against the reference kernels: random geometries (every rank, groups,
 * depthwise, stride, dilation, padding) for all three kernels, the public API forward and backward,
 * bitwise repeatability, a bounded soak and the committed module matching its sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from './helpers/close.js';
import { seededValues as data } from './helpers/seeded.js';
import { withWorkers } from './helpers/workers.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, randn, withBackend, manualSeed, setNumThreads, type Tensor } from '../src/index.js';
import { poolReady, unitsByWorkers } from '../src/kernels/threads/pool.js';
import { refKernels } from '../src/kernels/ref/taps.js';
import { foldSamples, GEMM_DEPTH_BLOCK, wasmAvailable, wasmDepthwiseKernels, wasmEngine, wasmGemmKernels, wasmPolyphaseKernels } from '../src/kernels/wasm/glue.js';
import { MR } from '../src/kernels/wasm/work.js';
import { candidateApplies, selectKernels, usePolyphaseConvT } from '../src/plan/select.js';
import { phasePlan } from '../src/plan/phases.js';
import type { Geometry } from '../src/spec/types.js';

const prod = (a: readonly number[]) => a.reduce((p, q) => p * q, 1);


/** |a − b| ≤ tol · (Σ|terms| bound): the scale is the largest |ref| plus one (tol 2e-5 for f32, 1e-12 for f64). */
function assertNear(a: Float32Array | Float64Array, b: Float32Array | Float64Array, what: string, tol = 2e-5): void {
  assertClose(a, b, { rtol: tol, relativeTo: 'largest', floor: 1 }, what);
}

const geometry = fc.integer({ min: 1, max: 3 }).chain((rank) =>
  fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cig: fc.integer({ min: 1, max: 5 }),
    cog: fc.integer({ min: 1, max: 6 }),
    dims: fc.array(fc.record({
      k: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 3 }),
      p: fc.integer({ min: 0, max: 3 }), extra: fc.integer({ min: 0, max: rank === 1 ? 40 : 6 }),
    }), { minLength: rank, maxLength: rank }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })).map(({ n, groups, cig, cog, dims, seed }) => {
    // Input size: large enough for one output position plus `extra`.
    const kSize = dims.map((a) => a.k), stride = dims.map((a) => a.s), dilation = dims.map((a) => a.d);
    const padBefore = dims.map((a) => Math.min(a.p, a.d * (a.k - 1)));
    const inSize = dims.map((a, i) => Math.max(1, a.d * (a.k - 1) + 1 - 2 * padBefore[i]) + a.extra);
    const outSize = inSize.map((L, i) => Math.floor((L + 2 * padBefore[i] - dilation[i] * (kSize[i] - 1) - 1) / stride[i]) + 1);
    const g: Geometry = { n, cIn: cig * groups, cOut: cog * groups, groups, inSize, outSize, kSize, stride, dilation, padBefore };
    return { g, seed };
  });

function operands(g: Geometry, seed: number, dtype: 'float32' | 'float64' = 'float32') {
  return {
    x: data(g.n * g.cIn * prod(g.inSize), seed, dtype),
    w: data(g.cOut * (g.cIn / g.groups) * prod(g.kSize), seed + 1, dtype),
    gy: data(g.n * g.cOut * prod(g.outSize), seed + 2, dtype),
  };
}

test('the WebAssembly SIMD module validates and loads here', () => {
  assert.equal(wasmAvailable(), true);
  const g: Geometry = { n: 1, cIn: 2, cOut: 2, groups: 1, inSize: [9], outSize: [7], kSize: [3], stride: [1], dilation: [1], padBefore: [0] };
  assert.equal(candidateApplies('wasm-gemm', g, 'float32', 'conv'), true);
  assert.equal(candidateApplies('wasm-gemm', g, 'float64', 'conv'), false, 'float64 has its own candidates');
  assert.equal(candidateApplies('wasm-f64-gemm', g, 'float64', 'conv'), true);
  assert.equal(candidateApplies('wasm-f64-gemm', g, 'float32', 'conv'), false);
  assert.equal(candidateApplies('wasm-f64-depthwise', { ...g, groups: 2 }, 'float64', 'conv'), true);
});

test('the committed module matches a fresh build of asm/', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
});

test('the blocking constants the glue uses are the ones the module exports (MR, KC): one source, asm/conv.ts', () => {
  const ex = wasmEngine()!.exports as unknown as Record<string, WebAssembly.Global>;
  assert.equal(ex.MR.value, MR);
  assert.equal(ex.KC.value, GEMM_DEPTH_BLOCK);
});

for (const dtype of ['float32', 'float64'] as const)
test(`wasm conv, convT and weightGrad equal the reference on random geometries (${dtype})`, () => {
  const tol = dtype === 'float64' ? 1e-12 : 2e-5;
  fc.assert(fc.property(geometry, ({ g, seed }) => {
    const { x, w, gy } = operands(g, seed, dtype);
    // Start from non-zero outputs: kernels overwrite (y = …), so what the arrays held must not show.
    const y0 = data(gy.length, seed + 3, dtype), x0 = data(x.length, seed + 4, dtype), w0 = data(w.length, seed + 5, dtype);
    const run = (k: typeof refKernels, dir: 'conv' | 'convT' | 'weightGrad') => {
      if (dir === 'conv') { const y = y0.slice(); k.conv(x, w, y, g); return y; }
      if (dir === 'convT') { const t = x0.slice(); k.convT(gy, w, t, g); return t; }
      const gw = w0.slice(); k.weightGrad(x, gy, gw, g); return gw;
    };
    for (const dir of ['conv', 'convT', 'weightGrad'] as const) {
      const fast = run(wasmGemmKernels, dir);
      assert.equal(fast.constructor, y0.constructor, 'the output keeps its dtype');
      assertNear(fast, run(refKernels, dir), `${dir} ${JSON.stringify(g)}`, tol);
    }
    if (g.cIn === g.groups) {
      const y = y0.slice();
      wasmDepthwiseKernels.conv(x, w, y, g);
      assertNear(y, run(refKernels, 'conv'), `depthwise ${JSON.stringify(g)}`, tol);
      const b = data(g.cOut, seed + 6, dtype), yb = new (y0.constructor as Float64ArrayConstructor)(y0.length), ref = yb.slice();
      wasmDepthwiseKernels.conv(x, w, yb, g, { bias: b });
      refKernels.conv(x, w, ref, g);
      const vol = prod(g.outSize);
      ref.forEach((v, i) => { ref[i] = v + b[Math.floor(i / vol) % g.cOut]; });
      assertNear(yb, ref, `depthwise + bias ${JSON.stringify(g)}`, tol);
    }
  }), { numRuns: dtype === 'float64' ? 120 : 150, seed: dtype === 'float64' ? 6402 : 20260 });
});

test('polyphase convT equals the reference (strided dims undilated, unstrided dims any dilation)', () => {
  const wasmPoly = (x: Float32Array | Float64Array, w: Float32Array | Float64Array, y: Float32Array | Float64Array, g: Geometry) =>
    wasmPolyphaseKernels.convTPhases(x, w, y, g, phasePlan(g));
  fc.assert(fc.property(geometry, fc.integer({ min: 2, max: 4 }), fc.constantFrom('float32', 'float64'), ({ g: g0, seed }, s, dtype) => {
    // Dim 0 strided; a dim keeps its dilation only where its stride is 1 (one phase, flipped kernel).
    const stride = g0.stride.map((v, a) => (a === 0 ? s : v)), dilation = stride.map((v, a) => (v === 1 ? g0.dilation[a] : 1));
    const span = g0.kSize.map((k, a) => dilation[a] * (k - 1) + 1);
    const padBefore = g0.padBefore.map((p, a) => Math.min(p, span[a] - 1));
    const inSize = g0.inSize.map((L, a) => Math.max(L, span[a]));
    const outSize = inSize.map((L, a) => Math.floor((L + 2 * padBefore[a] - span[a]) / stride[a]) + 1);
    const g: Geometry = { ...g0, stride, dilation, padBefore, inSize, outSize };
    assert.equal(usePolyphaseConvT(g, dtype, 'convT'), true);
    const { x, w, gy } = operands(g, seed, dtype);
    const t0 = data(x.length, seed + 4, dtype);
    const ref = t0.slice(), fast = t0.slice();
    refKernels.convT(gy, w, ref, g);
    wasmPoly(gy, w, fast, g);
    assertNear(fast, ref, `wasm polyphase ${dtype} ${JSON.stringify(g)}`, dtype === 'float64' ? 1e-12 : 2e-5);
  }), { numRuns: 120, seed: 4242 });
  const dilated: Geometry = { n: 1, cIn: 2, cOut: 2, groups: 1, inSize: [9], outSize: [3], kSize: [3], stride: [2], dilation: [2], padBefore: [0] };
  assert.equal(usePolyphaseConvT(dilated, 'float32', 'convT'), false, 'stride and dilation > 1 in one dim keep GEMM + col2im');
  const unstrided: Geometry = { ...dilated, stride: [1], inSize: [7], outSize: [3] };
  assert.equal(usePolyphaseConvT(unstrided, 'float32', 'convT'), true, 'stride 1: one phase, the flipped kernel');
  const t0 = data(2 * 7, 1), gy = data(2 * 3, 2), w = data(2 * 2 * 3, 3), ref = t0.slice(), fast = t0.slice();
  refKernels.convT(gy, w, ref, unstrided);
  wasmPoly(gy, w, fast, unstrided);
  assertNear(fast, ref, 'flipped-kernel convT');
});

test('depthwise geometries pick the direct kernel, others the GEMM', () => {
  const g: Geometry = { n: 1, cIn: 4, cOut: 8, groups: 4, inSize: [9], outSize: [9], kSize: [3], stride: [1], dilation: [1], padBefore: [1] };
  assert.equal(candidateApplies('wasm-depthwise', g, 'float32', 'conv'), true);
  assert.equal(candidateApplies('wasm-depthwise', g, 'float32', 'convT'), false);
  assert.equal(candidateApplies('wasm-depthwise', { ...g, groups: 2 }, 'float32', 'conv'), false);
});

const ops = [
  { f: conv1d, t: false, x: [2, 6, 23], w: [9, 2, 4], o: { stride: 2, padding: 3, dilation: 2, groups: 3 } },
  { f: conv2d, t: false, x: [2, 4, 9, 8], w: [8, 1, 3, 2], o: { padding: [1, 0], groups: 4, stride: [1, 2] } },
  { f: conv3d, t: false, x: [1, 3, 5, 6, 4], w: [4, 3, 2, 3, 2], o: { padding: 1, dilation: [1, 2, 1] } },
  { f: convTranspose1d, t: true, x: [2, 8, 13], w: [8, 3, 5], o: { stride: 3, padding: 2, outputPadding: 1, groups: 2 } },
  { f: convTranspose2d, t: true, x: [2, 4, 5, 6], w: [4, 3, 4, 3], o: { stride: 2, padding: 1, dilation: [1, 2] } },
  { f: convTranspose3d, t: true, x: [1, 4, 3, 4, 3], w: [4, 1, 2, 3, 2], o: { stride: [2, 1, 2], groups: 4 } },
];

for (const dtype of ['float32', 'float64'] as const)
  test(`public API forward and gradients with backend wasm/auto equal ref (${dtype})`, () => {
    for (const c of ops) {
      manualSeed(7);
      const x = randn(c.x, { dtype, requiresGrad: true }), w = randn(c.w, { dtype, requiresGrad: true });
      const b = randn([c.t ? c.w[1] * (c.o.groups ?? 1) : c.w[0]], { dtype, requiresGrad: true });
      const f = c.f as (x: Tensor, w: Tensor, b: Tensor, o: object) => Tensor;
      const go = (backend: string) => {
        for (const p of [x, w, b]) p.grad = null;
        const y = withBackend(backend, () => f(x, w, b, c.o));
        const gy = randn(y.shape, { dtype, seed: 3 } as never);
        withBackend(backend, () => y.backward(gy));
        return [y.data, x.grad!.data, w.grad!.data, b.grad!.data];
      };
      const fast = go('wasm'), auto = go('auto'), ref = go('ref');
      fast.forEach((a, i) => {
        assert.deepEqual(auto[i], a, 'auto picks the wasm kernels');
        assertNear(a, ref[i], `${c.f.name} ${['y', 'gx', 'gw', 'gb'][i]}`, dtype === 'float64' ? 1e-12 : 2e-5);
      });
    }
  });

test('float64 forward and both gradients run on the f64 WebAssembly candidates', () => {
  const g: Geometry = { n: 2, cIn: 16, cOut: 8, groups: 1, inSize: [40], outSize: [19], kSize: [4], stride: [2], dilation: [1], padBefore: [1] };
  assert.equal(selectKernels(g, 'float64', 'conv').name, 'wasm-gemm');
  assert.equal(selectKernels(g, 'float64', 'convT').name, 'wasm-polyphase');
  assert.equal(selectKernels(g, 'float64', 'weightGrad').name, 'wasm-gemm');
  assert.equal(selectKernels({ ...g, groups: 16, cOut: 32 }, 'float64', 'conv').name, 'wasm-depthwise');
  // A deep convT (conv's cOut ≥ 256) keeps GEMM + col2im when strided; unstrided it is one conv with the flipped kernel.
  const deep: Geometry = { ...g, cOut: 256, inSize: [40], outSize: [40], stride: [1], dilation: [3], padBefore: [4], kSize: [3] };
  for (const dt of ['float32', 'float64'] as const) {
    assert.equal(selectKernels(deep, dt, 'convT').name, 'wasm-polyphase');
    assert.equal(selectKernels({ ...deep, stride: [2], dilation: [1], outSize: [20] }, dt, 'convT').name, 'wasm-gemm');
  }
});

test('results are bitwise identical across runs', () => {
  manualSeed(11);
  const x = randn([3, 32, 300]), w = randn([32, 16, 8]);
  const a = withBackend('wasm', () => convTranspose1d(x, w, null, { stride: 4, padding: 2 })).data;
  const b = withBackend('wasm', () => convTranspose1d(x, w, null, { stride: 4, padding: 2 })).data;
  assert.deepEqual(a, b);
});

test('a soak of 2,000 calls does not grow wasm memory', () => {
  manualSeed(5);
  const x = randn([2, 8, 64]), w = randn([12, 8, 3]), wt = randn([8, 4, 4]);
  const call = (i: number) => (i % 2 ? conv1d(x, w, null, { padding: 1 }) : convTranspose1d(x, wt, null, { stride: 2 }));
  withBackend('wasm', () => { for (let i = 0; i < 10; i++) call(i); });
  const before = wasmEngine()!.memory.buffer.byteLength, first = call(0).data;
  withBackend('wasm', () => {
    for (let i = 0; i < 2000; i++) call(i);
    assert.deepEqual(call(0).data, first);
  });
  assert.equal(wasmEngine()!.memory.buffer.byteLength, before);
});

test('float64 results are bitwise identical for 1 and 2 threads (forward and both gradients)', async () => {
  manualSeed(13);
  const opts = { dtype: 'float64', requiresGrad: true } as const;
  const x = randn([2, 24, 500], opts), w = randn([32, 24, 5], opts), wt = randn([24, 16, 8], opts);
  const xd = randn([2, 24, 400], opts), wd = randn([48, 1, 9], opts);
  const step = () => {
    const outs: Float64Array[] = [];
    for (const [y, ps] of [
      [conv1d(x, w, null, { padding: 2, dilation: 2 }), [x, w]],
      [convTranspose1d(x, wt, null, { stride: 4, padding: 2 }), [x, wt]],
      [conv1d(xd, wd, null, { padding: 4, groups: 24 }), [xd, wd]],
    ] as const) {
      for (const p of ps) p.grad = null;
      y.backward(randn(y.shape, { dtype: 'float64', seed: 9 } as never));
      outs.push(y.data as Float64Array, ...ps.map((p) => p.grad!.data as Float64Array));
    }
    return outs;
  };
  setNumThreads(2);
  withBackend('wasm', step); // starts the pool
  await poolReady();
  const two = withWorkers(() => withBackend('wasm', step), 'float64 with 2 threads');
  setNumThreads(1);
  const one = withBackend('wasm', step);
  setNumThreads(0);
  one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i}`));
});

for (const dtype of ['float32', 'float64'] as const)
test(`a batch of small planes in one GEMM (samples side by side) equals the samples run one by one, bitwise (${dtype})`, () => {
  fc.assert(fc.property(geometry, fc.integer({ min: 2, max: 7 }), ({ g: g1, seed }, n) => {
    const g: Geometry = { ...g1, n }, cig = g.cIn / g.groups;
    fc.pre(foldSamples(g, cig * prod(g.kSize), dtype === 'float64' ? 8 : 4)); // planes small enough to share a tile (most here)
    const { x, w } = operands(g, seed, dtype);
    const inLen = g.cIn * prod(g.inSize), outLen = g.cOut * prod(g.outSize);
    const y = data(n * outLen, seed + 3, dtype), each = y.slice();
    wasmGemmKernels.conv(x, w, y, g);
    for (let s = 0; s < n; s++) {
      const ys = each.subarray(s * outLen, (s + 1) * outLen).slice();
      wasmGemmKernels.conv(x.subarray(s * inLen, (s + 1) * inLen).slice(), w, ys, { ...g, n: 1 });
      each.set(ys, s * outLen);
    }
    assert.deepEqual(y, each, JSON.stringify(g));
  }), { numRuns: 60, seed: 4242 });
});

test('float32 results are bitwise identical for 1 and 2 threads (folded batch, depthwise, polyphase, GEMM)', async () => {
  manualSeed(17);
  const x2 = randn([64, 16, 50]), w2 = randn([33, 16, 3]), b2 = randn([33]);           // C2-like: samples side by side
  const xd = randn([2, 64, 700]), wd = randn([64, 1, 31]), bd = randn([64]);             // depthwise, output > 64 K elements
  const xt = randn([2, 64, 300]), wt = randn([64, 32, 8]);                                // polyphase convT
  const xc = randn([2, 24, 700]), wc = randn([40, 24, 5]);                                // per-sample GEMM (plane too wide to fold)
  const run = () => withBackend('wasm', () => [
    conv1d(x2, w2, b2, { stride: 2 }).data, conv1d(xd, wd, bd, { padding: 15, groups: 64 }).data,
    convTranspose1d(xt, wt, null, { stride: 4, padding: 2 }).data, conv1d(xc, wc, null, { padding: 2 }).data,
  ]);
  setNumThreads(2);
  run(); // starts the pool
  await poolReady();
  const two = withWorkers(run, 'float32 with 2 threads');
  setNumThreads(1);
  const one = run();
  setNumThreads(0);
  one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i}`));
  // The depthwise output's values, not only their agreement: the reference kernels.
  const ref = withBackend('ref', () => conv1d(xd, wd, bd, { padding: 15, groups: 64 }).data);
  assertNear(one[1] as Float32Array, ref as Float32Array, 'depthwise vs ref');
});

test('streamed depthwise (input copied in and output out by the units) matches the reference and is bitwise the same on 1 and 2 threads', async () => {
  // items = n·cOut = 400 → 2 items per unit; multiplier 2, so units span input planes unevenly.
  const g1: Geometry = { n: 5, cIn: 40, cOut: 80, groups: 40, inSize: [900], outSize: [900], kSize: [9], stride: [1], dilation: [2], padBefore: [8] };
  const g2: Geometry = { n: 2, cIn: 24, cOut: 24, groups: 24, inSize: [60, 70], outSize: [60, 70], kSize: [5, 5], stride: [1, 1], dilation: [1, 1], padBefore: [2, 2] };
  for (const g of [g1, g2])
    for (const dtype of ['float32', 'float64'] as const) {
      const x = data(g.n * g.cIn * prod(g.inSize), 3, dtype), w = data(g.cOut * prod(g.kSize), 5, dtype), b = data(g.cOut, 7, dtype);
      const len = g.n * g.cOut * prod(g.outSize);
      const make = () => (dtype === 'float64' ? new Float64Array(len) : new Float32Array(len));
      const run = (threads: number) => {
        setNumThreads(threads);
        const y = make(), yb = make();
        wasmDepthwiseKernels.conv(x, w, y, g);
        wasmDepthwiseKernels.conv(x, w, yb, g, { bias: b });
        return [y, yb];
      };
      run(2);
      await poolReady();
      const before = unitsByWorkers(), two = withWorkers(() => run(2), 'the streamed tasks');
      assert.ok(unitsByWorkers() > before, 'the worker ran units of the streamed tasks');
      const one = run(1);
      setNumThreads(0);
      const ref = make(), refb = make();
      refKernels.conv(x, w, ref, g);
      for (let i = 0, vol = prod(g.outSize); i < len; i++) refb[i] = ref[i] + b[Math.floor(i / vol) % g.cOut];
      const tol = dtype === 'float64' ? 1e-12 : 2e-5, what = `${dtype} ${JSON.stringify(g.kSize)}`;
      assertNear(two[0], ref, `${what} no bias`, tol);
      assertNear(two[1], refb, `${what} bias`, tol);
      assert.deepEqual(two, one, `${what}: 2 threads vs 1`);
    }
});

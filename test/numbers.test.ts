/**
 * IEEE numbers and limits of the WebAssembly kernels: NaN and ±Inf in x, w and gy propagate to
 * exactly the outputs the reference kernels (the definition: a padding tap adds nothing) give them,
 * on every wasm path (GEMM conv, folded samples, depthwise, GEMM + col2im, polyphase, weight grad),
 * f32 and f64, 1 and 2 threads; 32-bit fit of every derived index; calls whose heap would pass
 * linear memory are declined (the TypeScript kernels run them) and those past 2 GiB run (task
 * addresses are read unsigned).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSameNumbers, special } from './helpers/special.js';
import fc from 'fast-check';
import { conv1d, conv2d, ConvError, convTranspose1d, convTranspose2d, ones, setNumThreads, tensor, withBackend, type Tensor } from '../src/index.js';
import { refKernels } from '../src/kernels/ref/taps.js';
import {
  fitsInt32, hasPaddingTaps, MAX_HEAP_BYTES, releaseWasmMemory, runTaskInMemory, wasmDepthwiseKernels, wasmEngine, wasmFits, wasmGemmKernels,
  wasmHeapBytes, wasmPolyphaseKernels,
} from '../src/kernels/wasm/glue.js';
import { HEAP, Kind, T, TASK } from '../src/kernels/wasm/work.js';
import { phasePlan, usePolyphase } from '../src/plan/phases.js';
import { poolReady, unitsByWorkers } from '../src/kernels/threads/pool.js';
import { selectKernels } from '../src/plan/select.js';
import type { Geometry } from '../src/spec/types.js';
import type { F } from '../src/kernels/types.js';

const prod = (a: readonly number[]) => a.reduce((p, q) => p * q, 1);
type DT = 'float32' | 'float64';

/** Seeded values in [−1, 1) with NaN, +Inf, −Inf and 0 (so Inf·0 = NaN happens) each at `rate`. */

/** Random geometries with leading and trailing padding (every tap kind), optionally depthwise. */
const geometry = fc.integer({ min: 1, max: 3 }).chain((rank) =>
  fc.record({
    n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }), cig: fc.integer({ min: 1, max: 5 }),
    cog: fc.integer({ min: 1, max: 6 }), depthwise: fc.boolean(),
    dims: fc.array(fc.record({
      k: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 2 }),
      p0: fc.integer({ min: 0, max: 3 }), p1: fc.integer({ min: 0, max: 3 }), extra: fc.integer({ min: 0, max: rank === 1 ? 30 : 5 }),
    }), { minLength: rank, maxLength: rank }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }), rate: fc.constantFrom(0.02, 0.08, 0.2),
  })).map(({ n, groups, cig, cog, depthwise, dims, seed, rate }) => {
    const kSize = dims.map((a) => a.k), stride = dims.map((a) => a.s), dilation = dims.map((a) => a.d);
    const padBefore = dims.map((a) => Math.min(a.p0, a.d * (a.k - 1)));
    const inSize = dims.map((a, i) => Math.max(1, a.d * (a.k - 1) + 1 - padBefore[i] - a.p1) + a.extra);
    const outSize = inSize.map((L, i) => Math.floor((L + padBefore[i] + dims[i].p1 - dilation[i] * (kSize[i] - 1) - 1) / stride[i]) + 1);
    const ci = depthwise ? 1 : cig;
    const g: Geometry = { n, cIn: ci * groups, cOut: cog * groups, groups, inSize, outSize, kSize, stride, dilation, padBefore };
    return { g, seed, rate };
  });

const zeros = (len: number, dtype: DT): F => (dtype === 'float64' ? new Float64Array(len) : new Float32Array(len));

/** Runs every wasm path that applies to g on operands with NaN/±Inf and compares each with the reference kernels. */
function checkPaths(g: Geometry, seed: number, rate: number, dtype: DT): void {
  const tol = dtype === 'float64' ? 1e-12 : 2e-5, tag = `${JSON.stringify(g)} ${dtype} seed ${seed}`;
  const inLen = g.n * g.cIn * prod(g.inSize), outLen = g.n * g.cOut * prod(g.outSize), wLen = g.cOut * (g.cIn / g.groups) * prod(g.kSize);
  const x = special(inLen, seed, dtype, rate), w = special(wLen, seed + 1, dtype, rate), gy = special(outLen, seed + 2, dtype, rate);
  const bOut = special(g.cOut, seed + 3, dtype, rate / 2), bIn = special(g.cIn, seed + 4, dtype, rate / 2);
  const refOf = (f: (y: F) => void, len: number) => { const y = zeros(len, dtype); f(y); return y; };
  // The kernels overwrite their output: start them from values that would show through.
  const run = (f: (y: F) => void, len: number) => { const y = zeros(len, dtype).fill(12345); f(y); return y; };
  const withBias = (y: F, b: F, planes: number, vol: number) => { for (let i = 0; i < y.length; i++) y[i] += b[Math.floor(i / vol) % planes]; return y; };

  const yRef = refOf((y) => refKernels.conv(x, w, y, g), outLen);
  const yBRef = withBias(yRef.slice(), bOut, g.cOut, prod(g.outSize));
  const tRef = refOf((y) => refKernels.convT(gy, w, y, g), inLen);
  const tBRef = withBias(tRef.slice(), bIn, g.cIn, prod(g.inSize));
  const gwRef = refOf((gw) => refKernels.weightGrad(x, gy, gw, g), wLen);

  assertSameNumbers(run((y) => wasmGemmKernels.conv(x, w, y, g), outLen), yRef, `gemm conv ${tag}`, tol);
  assertSameNumbers(run((y) => wasmGemmKernels.conv(x, w, y, g, { bias: bOut }), outLen), yBRef, `gemm conv+bias ${tag}`, tol);
  if (g.cIn === g.groups) {
    assertSameNumbers(run((y) => wasmDepthwiseKernels.conv(x, w, y, g), outLen), yRef, `depthwise ${tag}`, tol);
    assertSameNumbers(run((y) => wasmDepthwiseKernels.conv(x, w, y, g, { bias: bOut }), outLen), yBRef, `depthwise+bias ${tag}`, tol);
  }
  assertSameNumbers(run((y) => wasmGemmKernels.convT(gy, w, y, g), inLen), tRef, `col2im convT ${tag}`, tol);
  assertSameNumbers(run((y) => wasmGemmKernels.convT(gy, w, y, g, { bias: bIn }), inLen), tBRef, `col2im convT+bias ${tag}`, tol);
  if (usePolyphase(g)) {
    const phases = phasePlan(g);
    assertSameNumbers(run((y) => wasmPolyphaseKernels.convTPhases(gy, w, y, g, phases), inLen), tRef, `polyphase convT ${tag}`, tol);
    assertSameNumbers(run((y) => wasmPolyphaseKernels.convTPhases(gy, w, y, g, phases, { bias: bIn }), inLen), tBRef, `polyphase convT+bias ${tag}`, tol);
  }
  assertSameNumbers(run((gw) => wasmGemmKernels.weightGrad(x, gy, gw, g), wLen), gwRef, `weight grad ${tag}`, tol);
}

test('the issue\'s convT: NaN reaches only the outputs its weight touches, on every backend', () => {
  for (const b of ['auto', 'wasm', 'js', 'ref'])
    withBackend(b, () => assert.deepEqual(Array.from(convTranspose1d(tensor([[[1, 2, 3]]]), tensor([[[NaN, 1]]])).data), [NaN, NaN, NaN, 3], b));
  // The same weight on the strided (GEMM + col2im vs phases), padded and depthwise paths, worked by hand.
  withBackend('wasm', () => {
    assert.deepEqual(Array.from(convTranspose1d(tensor([[[1, 2, 3]]]), tensor([[[NaN, 1]]]), null, { stride: 2 }).data), [NaN, 1, NaN, 2, NaN, 3]);
    // conv with padding 1: output 0 reads (padding, x0): the NaN tap is a padding tap and adds nothing.
    assert.deepEqual(Array.from(conv1d(tensor([[[1, 2, 3]]]), tensor([[[NaN, 1]]]), null, { padding: 1 }).data), [1, NaN, NaN, NaN]);
    assert.deepEqual(Array.from(conv1d(tensor([[[1, 2, 3], [1, 1, 1]]]), tensor([[[NaN, 1]], [[1, 1]]]), null, { padding: 1, groups: 2 }).data),
      [1, NaN, NaN, NaN, 1, 2, 2, 1]);
  });
});

for (const dtype of ['float32', 'float64'] as const)
  test(`NaN and ±Inf in x, w and gy: every wasm path gives the reference's NaN/Inf positions and finite values (${dtype}, 1 thread)`, () => {
    setNumThreads(1);
    try {
      fc.assert(fc.property(geometry, ({ g, seed, rate }) => checkPaths(g, seed, rate, dtype)), { numRuns: 150, seed: 1313 });
    } finally {
      setNumThreads(0);
    }
  });

test('NaN and ±Inf on 2 threads: large enough to split across the pool, same numbers as the reference', async () => {
  const cases: Geometry[] = [
    // GEMM conv with padding (per-sample), polyphase convT, col2im convT, weight grad.
    { n: 2, cIn: 16, cOut: 32, groups: 1, inSize: [1400], outSize: [700], kSize: [5], stride: [2], dilation: [1], padBefore: [2] },
    // folded samples, 2-D.
    { n: 8, cIn: 16, cOut: 24, groups: 2, inSize: [16, 16], outSize: [16, 16], kSize: [3, 3], stride: [1, 1], dilation: [1, 1], padBefore: [1, 1] },
    // depthwise (streamed on 2 threads), padded rows.
    { n: 2, cIn: 32, cOut: 64, groups: 32, inSize: [1200], outSize: [1200], kSize: [9], stride: [1], dilation: [1], padBefore: [4] },
  ];
  setNumThreads(2);
  try {
    checkPaths(cases[0], 7, 0.01, 'float32'); // starts the pool
    await poolReady();
    const before = unitsByWorkers();
    for (const dtype of ['float32', 'float64'] as const)
      cases.forEach((g, i) => checkPaths(g, 100 + i, i === 2 ? 0.002 : 0.01, dtype));
    assert.ok(unitsByWorkers() > before, 'the workers ran units');
  } finally {
    setNumThreads(0);
  }
});

test('the public API on the default backend agrees with ref on NaN/Inf, forward and both gradients', () => {
  let ran = 0;
  fc.assert(fc.property(geometry, fc.boolean(), ({ g, seed, rate }, transposed) => {
    fc.pre(g.inSize.length <= 2);
    const r = g.inSize.length, dtype = 'float32';
    // The call the geometry's sizes suggest, with symmetric padding; calls the API refuses are skipped.
    const xs = transposed ? [g.n, g.cOut, ...g.outSize] : [g.n, g.cIn, ...g.inSize], ws = [g.cOut, g.cIn / g.groups, ...g.kSize];
    const opts = { stride: g.stride, dilation: g.dilation, padding: g.padBefore, groups: g.groups };
    const run = () => {
      const x = tensor(special(prod(xs), seed, dtype, rate), xs, { requiresGrad: true });
      const w = tensor(special(prod(ws), seed + 1, dtype, rate), ws, { requiresGrad: true });
      let y: Tensor;
      try {
        y = transposed ? (r === 1 ? convTranspose1d : convTranspose2d)(x, w, null, opts) : (r === 1 ? conv1d : conv2d)(x, w, null, opts);
      } catch (e) {
        if (e instanceof ConvError) return null;
        throw e;
      }
      y.backward(tensor(special(prod(y.shape), seed + 2, dtype, rate), [...y.shape]));
      return [y.data, x.grad!.data, w.grad!.data] as F[];
    };
    const auto = run();
    if (!auto) return;
    ran++;
    const ref = withBackend('ref', run)!;
    ['y', 'gx', 'gw'].forEach((k, i) => assertSameNumbers(auto[i], ref[i], `${transposed ? 'convT' : 'conv'} ${k} ${JSON.stringify(g)}`, 2e-5));
  }), { numRuns: 150, seed: 77 });
  assert.ok(ran >= 100, `${ran} of 150 calls ran`);
});

test('the 32-bit fit check covers trailing padding and every derived index sum', () => {
  // The call: stride 2^30 with 2^32 trailing padding; outputs 1 … 4 read only padding.
  withBackend('auto', () => assert.deepEqual(Array.from(conv1d(tensor([[[7]]]), tensor([[[1]]]), null, { stride: 2 ** 30, padding: [[0, 2 ** 32]] }).data), [7, 0, 0, 0, 0]));
  const g: Geometry = { n: 1, cIn: 1, cOut: 1, groups: 1, inSize: [1], outSize: [5], kSize: [1], stride: [2 ** 30], dilation: [1], padBefore: [0] };
  assert.equal(fitsInt32(g), false, '(outSize − 1)·stride = 2^32');
  assert.equal(selectKernels(g, 'float32', 'conv').name, 'js-im2col');
  assert.equal(fitsInt32({ ...g, outSize: [2] }), true, 'one stride of 2^30 fits');
  // Dilation times the kernel extent, and a large padding before, each alone.
  assert.equal(fitsInt32({ ...g, outSize: [1], kSize: [3], dilation: [2 ** 30] }), false);
  assert.equal(fitsInt32({ ...g, outSize: [1], stride: [1], padBefore: [2 ** 31 - 1] }), false);
  assert.equal(fitsInt32({ ...g, inSize: [1000], outSize: [1000], stride: [1] }), true);
});

test('padding taps: found before, after and in no dim', () => {
  const g: Geometry = { n: 1, cIn: 1, cOut: 1, groups: 1, inSize: [10], outSize: [8], kSize: [3], stride: [1], dilation: [1], padBefore: [0] };
  assert.equal(hasPaddingTaps(g), false);
  assert.equal(hasPaddingTaps({ ...g, padBefore: [1], outSize: [9] }), true);
  assert.equal(hasPaddingTaps({ ...g, outSize: [9] }), true, 'the last output reads one past the end');
});

test('a call whose heap would pass linear memory is declined by the wasm candidates (the TypeScript kernels run it), with the real sizes', () => {
  // The float64 call at the element cap: x and y 2^28 doubles each (2 GiB + 2 GiB).
  const big: Geometry = { n: 1, cIn: 1, cOut: 2, groups: 1, inSize: [2 ** 28], outSize: [2 ** 27], kSize: [2], stride: [2], dilation: [1], padBefore: [0] };
  const f32 = wasmHeapBytes('polyphase', big, 4, 'convT'), f64 = wasmHeapBytes('polyphase', big, 8, 'convT');
  assert.ok(f32 > 2 ** 31 && f32 <= MAX_HEAP_BYTES, `f32 needs ${f32} bytes: past 2 GiB, inside 4 GiB`);
  assert.ok(f64 > MAX_HEAP_BYTES, `f64 needs ${f64} bytes`);
  assert.equal(wasmFits('polyphase', big, 'float32', 'convT'), true);
  assert.equal(wasmFits('polyphase', big, 'float64', 'convT'), false);
  assert.equal(selectKernels(big, 'float64', 'convT').name, 'js-im2col');
  assert.equal(selectKernels(big, 'float32', 'convT').name, 'wasm-polyphase');
  // Depthwise keeps one padded row per thread: a 2^27-long row on 16 threads is 8 GiB of scratch alone.
  const dw: Geometry = { n: 1, cIn: 2, cOut: 2, groups: 2, inSize: [2 ** 27], outSize: [2 ** 27], kSize: [3], stride: [1], dilation: [1], padBefore: [1] };
  assert.ok(wasmHeapBytes('depthwise', dw, 4, 'conv', 16) > MAX_HEAP_BYTES);
  assert.ok(wasmHeapBytes('depthwise', dw, 4, 'conv', 1) < MAX_HEAP_BYTES);
});

test('a convT past 2 GiB of wasm heap runs (unsigned addresses) and gives the right values on 1 and 2 threads', () => {
  // The call: x 2^28 floats (1 GiB), y 2^28 floats; stride 2 = kernel 2, so every output is 1·1 + 1·1 = 2.
  const x = ones([1, 2, 2 ** 27]), w = ones([2, 1, 2]);
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    try {
      const y = withBackend('wasm', () => convTranspose1d(x, w, null, { stride: 2 }));
      assert.deepEqual([...y.shape], [1, 1, 2 ** 28]);
      const d = y.data;
      let bad = -1;
      for (let i = 0; i < d.length; i++) if (d[i] !== 2) { bad = i; break; }
      assert.equal(bad, -1, `threads ${threads}: y[${bad}] = ${d[bad]}`);
    } finally {
      setNumThreads(0);
    }
  }
});

test('task addresses past 2^31 are read unsigned: conv, depthwise, col2im and weight-grad units on 1 and 2 threads', async () => {
  // Each call's task is moved 2 GiB up in linear memory (the memory grows; untouched pages cost nothing) and run again there.
  const HI = 2 ** 31;
  const g: Geometry = { n: 2, cIn: 16, cOut: 32, groups: 1, inSize: [600], outSize: [300], kSize: [5], stride: [2], dilation: [1], padBefore: [2] };
  const dw: Geometry = { ...g, cIn: 16, cOut: 32, groups: 16 };
  const calls: { name: string; g: Geometry; out: (g: Geometry) => number; run: (y: F) => void }[] = [];
  const inLen = (q: Geometry) => q.n * q.cIn * prod(q.inSize), outLen = (q: Geometry) => q.n * q.cOut * prod(q.outSize);
  const wLen = (q: Geometry) => q.cOut * (q.cIn / q.groups) * prod(q.kSize);
  const x = special(inLen(g), 1, 'float32', 0), w = special(wLen(g), 2, 'float32', 0), wd = special(wLen(dw), 3, 'float32', 0);
  const gy = special(outLen(g), 4, 'float32', 0);
  calls.push({ name: 'conv', g, out: outLen, run: (y) => wasmGemmKernels.conv(x, w, y, g) });
  calls.push({ name: 'depthwise', g: dw, out: outLen, run: (y) => wasmDepthwiseKernels.conv(x, wd, y, dw) });
  calls.push({ name: 'col2im convT', g, out: inLen, run: (y) => wasmGemmKernels.convT(gy, w, y, g) });
  calls.push({ name: 'weight grad', g, out: wLen, run: (gw) => wasmGemmKernels.weightGrad(x, gy, gw, g) });
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    try {
      for (const c of calls) {
        releaseWasmMemory(); // a fresh small memory (an earlier call may have left a large one)
        const y = new Float32Array(c.out(c.g));
        c.run(y);
        if (threads === 2) await poolReady();
        const e = wasmEngine()!, used = e.memory.buffer.byteLength;
        e.memory.grow(HI / 65536);
        const bytes = new Uint8Array(e.memory.buffer), mem = new Int32Array(e.memory.buffer), t = TASK >> 2;
        bytes.copyWithin(HEAP + HI, HEAP, used);
        for (const f of [T.x, T.w, T.y, T.scratch, T.bias]) if (mem[t + f]) mem[t + f] = (mem[t + f] >>> 0) + HI;
        const outAt = (mem[t + (mem[t + T.kind] === Kind.WeightGrad ? T.w : T.y)] >>> 0);
        new Float32Array(e.memory.buffer, outAt, y.length).fill(0); // the units accumulate into a zeroed output
        runTaskInMemory(Math.ceil(mem[t + T.items] / mem[t + T.chunk]));
        assert.ok(outAt >= HI);
        assert.deepEqual(new Float32Array(e.memory.buffer, outAt, y.length), y, `${c.name}, ${threads} threads`);
        releaseWasmMemory(); // the next call starts on a fresh small memory
      }
    } finally {
      setNumThreads(0);
    }
  }
});

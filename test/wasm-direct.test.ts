/**
 * The direct GEMM of 1-D stride-1 convolutions (Kind.Direct: B read from a zero-padded copy of x,
 * no im2col) and of the phases of 1-D transposed convolutions (Kind.PhaseDirect) against the
 * reference kernels and, bitwise, against the im2col form they replace:
 * random geometries (groups, dilation, padding wider than the input, outputs shorter than one
 * panel), float32 and float64, one and two threads, and non-finite inputs and weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { add, conv1d, convTranspose1d, convTranspose2d, convTranspose3d, leakyRelu, noGrad, relu, setNumThreads, tensor, withBackend, type Tensor } from '../src/index.js';
import { convTaskKind, phaseTaskKind, withoutDirectConv } from '../src/kernels/wasm/glue.js';
import { phasePlan } from '../src/plan/phases.js';
import { assertClose } from './helpers/close.js';
import { seededValues as values } from './helpers/seeded.js';
import { withWorkers } from './helpers/workers.js';
import type { Geometry } from '../src/spec/types.js';


const cases = fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }), cig: fc.integer({ min: 2, max: 9 }),
  cog: fc.integer({ min: 1, max: 11 }), k: fc.integer({ min: 1, max: 9 }), d: fc.integer({ min: 1, max: 4 }),
  p: fc.integer({ min: 0, max: 20 }), extra: fc.integer({ min: 0, max: 300 }), seed: fc.integer({ min: 1, max: 2 ** 30 }),
  dtype: fc.constantFrom('float32' as const, 'float64' as const),
});

type Case = typeof cases extends fc.Arbitrary<infer C> ? C : never;

function operands(c: Case): { x: Tensor; w: Tensor; b: Tensor; opts: { padding: number; dilation: number; groups: number }; g: Geometry } {
  const L = Math.max(1, (c.k - 1) * c.d + 1 - 2 * c.p) + c.extra, cIn = c.cig * c.groups, cOut = c.cog * c.groups;
  const x = tensor(values(c.n * cIn * L, c.seed, c.dtype), [c.n, cIn, L]);
  const w = tensor(values(cOut * c.cig * c.k, c.seed + 1, c.dtype), [cOut, c.cig, c.k]);
  const b = tensor(values(cOut, c.seed + 2, c.dtype), [cOut]);
  const outL = L + 2 * c.p - c.d * (c.k - 1);
  const g: Geometry = { n: c.n, cIn, cOut, groups: c.groups, inSize: [L], outSize: [outL], kSize: [c.k], stride: [1], dilation: [c.d], padBefore: [c.p] };
  return { x, w, b, opts: { padding: c.p, dilation: c.d, groups: c.groups }, g };
}

const run = (backend: string, o: ReturnType<typeof operands>) => noGrad(() => withBackend(backend, () => conv1d(o.x, o.w, o.b, o.opts))).data;

test('a 1-D stride-1 conv of more than one input channel per group runs as a Direct task unless its samples fold', () => {
  const g: Geometry = { n: 1, cIn: 32, cOut: 32, groups: 1, inSize: [22016], outSize: [22016], kSize: [11], stride: [1], dilation: [5], padBefore: [25] };
  assert.equal(convTaskKind(g, 4), 'direct');
  assert.equal(convTaskKind({ ...g, stride: [2], outSize: [11008] }, 4), 'im2col');
  assert.equal(convTaskKind({ ...g, n: 20, inSize: [10], outSize: [10], kSize: [1], dilation: [1], padBefore: [0] }, 4), 'samples');
  assert.equal(withoutDirectConv(() => convTaskKind(g, 4)), 'im2col');
});

test('Direct equals the reference kernels and, bitwise, im2col + GEMM, on 1 and 2 threads', () => {
  fc.assert(fc.property(cases, (c) => {
    const o = operands(c);
    fc.pre(convTaskKind(o.g, c.dtype === 'float64' ? 8 : 4) === 'direct');
    const ref = run('ref', o);
    setNumThreads(1);
    const one = run('wasm', o), viaIm2col = withoutDirectConv(() => run('wasm', o));
    setNumThreads(2);
    const two = run('wasm', o);
    assertClose(one, ref, { rtol: c.dtype === 'float64' ? 1e-12 : 2e-5, relativeTo: 'largest', floor: 1 }, 'direct vs ref');
    assert.deepEqual(one, viaIm2col, 'direct vs im2col');
    assert.deepEqual(two, one, '2 threads vs 1');
  }), { numRuns: 120 });
});

test('a Direct task split over the workers gives the one-thread result bitwise (HiFi-GAN-like shapes)', () => {
  for (const c of [{ n: 1, groups: 1, cig: 32, cog: 32, k: 11, d: 5, p: 25, extra: 4000, seed: 7, dtype: 'float32' as const },
    { n: 2, groups: 2, cig: 24, cog: 20, k: 7, d: 3, p: 9, extra: 1500, seed: 9, dtype: 'float64' as const },
    // One column tile (40 outputs): the workers get units only because the output channels are split into blocks.
    { n: 1, groups: 1, cig: 160, cog: 160, k: 7, d: 1, p: 3, extra: 34, seed: 11, dtype: 'float32' as const }]) {
    const o = operands(c);
    assert.equal(convTaskKind(o.g, c.dtype === 'float64' ? 8 : 4), 'direct');
    setNumThreads(1);
    const one = run('wasm', o);
    setNumThreads(2);
    const two = withWorkers(() => run('wasm', o), 'a Direct conv on 2 threads');
    assert.deepEqual(two, one);
    assertClose(one, run('ref', o), { rtol: c.dtype === 'float64' ? 1e-12 : 2e-5, relativeTo: 'largest', floor: 1 }, 'direct vs ref');
  }
  setNumThreads(1);
});

test('Direct keeps non-finite values where the definition puts them', () => {
  setNumThreads(1);
  // NaN in x reaches only the outputs whose window holds it; the padding never multiplies w by a non-finite value.
  const x = tensor([[[1, 2, NaN, 4, 5, 6, 7, 8, 9, 10, 11, 12]]]);
  const w = tensor([[[1, 1, 1]], [[0.5, 0, -1]]]);
  const y = noGrad(() => conv1d(x, w, null, { padding: 1 }));
  const ref = noGrad(() => withBackend('ref', () => conv1d(x, w, null, { padding: 1 })));
  assert.deepEqual(Array.from(y.data).map(String), Array.from(ref.data).map(String));
  assert.ok(Number.isNaN(y.data[2]) && !Number.isNaN(y.data[0]) && !Number.isNaN(y.data[5]));
  // An infinite weight meets padding taps: the exact sums run (Inf·0 would be NaN at the edges).
  const wi = tensor([[[Infinity, 1, 1]], [[1, 1, 1]]]);
  const yi = noGrad(() => conv1d(x, wi, null, { padding: 1 }));
  const refi = noGrad(() => withBackend('ref', () => conv1d(x, wi, null, { padding: 1 })));
  assert.deepEqual(Array.from(yi.data).map(String), Array.from(refi.data).map(String));
  assert.equal(yi.data[0], 1 + 2);
});

const tcases = fc.record({
  n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cig: fc.integer({ min: 1, max: 7 }),
  cog: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 17 }), s: fc.integer({ min: 1, max: 9 }),
  d: fc.integer({ min: 1, max: 3 }), p: fc.integer({ min: 0, max: 12 }), op: fc.integer({ min: 0, max: 8 }),
  L: fc.integer({ min: 1, max: 120 }), seed: fc.integer({ min: 1, max: 2 ** 30 }),
  dtype: fc.constantFrom('float32' as const, 'float64' as const),
});

/**
 * A polyphase convT `f(backend)` of conv geometry g: equal to the reference, bitwise to its phases
 * run through im2col (withoutDirectConv) and on 1 and 2 threads. Returns whether it ran as PhaseDirect.
 */
function checkPhases(f: (backend: string) => Tensor['data'], g: Geometry, dtype: 'float32' | 'float64'): boolean {
  const direct = phaseTaskKind(g, phasePlan(g), dtype === 'float64' ? 8 : 4) === 'direct';
  setNumThreads(1);
  const one = f('wasm'), viaIm2col = withoutDirectConv(() => f('wasm'));
  setNumThreads(2);
  const two = f('wasm');
  assertClose(one, f('ref'), { rtol: dtype === 'float64' ? 1e-12 : 2e-5, relativeTo: 'largest', floor: 1 }, 'phases vs ref');
  assert.deepEqual(one, viaIm2col, `${direct ? 'direct' : 'im2col'} phases vs im2col phases`);
  assert.deepEqual(two, one, '2 threads vs 1');
  return direct;
}

test('a 1-D polyphase transposed conv runs its phases as Direct units, equal to the reference and bitwise to im2col phases', () => {
  let direct = 0;
  fc.assert(fc.property(tcases, (c) => {
    // Polyphase needs stride 1 or dilation 1; output padding below max(stride, dilation) and the output at least one position.
    const d = c.s > 1 ? 1 : c.d, op = c.op % Math.max(c.s, d), cIn = c.cog * c.groups, cOut = c.cig * c.groups;
    const outL = (c.L - 1) * c.s - 2 * c.p + d * (c.k - 1) + op + 1;
    fc.pre(outL >= 1);
    const x = tensor(values(c.n * cIn * c.L, c.seed, c.dtype), [c.n, cIn, c.L]);
    const w = tensor(values(cIn * c.cig * c.k, c.seed + 1, c.dtype), [cIn, c.cig, c.k]);
    const b = tensor(values(cOut, c.seed + 2, c.dtype), [cOut]);
    const opts = { stride: c.s, padding: c.p, dilation: d, groups: c.groups, outputPadding: op };
    const f = (backend: string) => noGrad(() => withBackend(backend, () => convTranspose1d(x, w, b, opts))).data;
    // In conv terms: x is the conv's output (cIn of the convT = its cOut).
    const g: Geometry = { n: c.n, cIn: cOut, cOut: cIn, groups: c.groups, inSize: [outL], outSize: [c.L], kSize: [c.k], stride: [c.s], dilation: [d], padBefore: [c.p] };
    if (checkPhases(f, g, c.dtype)) direct++;
  }), { numRuns: 150 });
  setNumThreads(1);
  assert.ok(direct > 100, `only ${direct} of the cases ran as PhaseDirect`);
});

const tcasesNd = fc.record({
  rank: fc.constantFrom(2, 3), n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cig: fc.integer({ min: 1, max: 6 }),
  cog: fc.integer({ min: 1, max: 6 }), k: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 3, maxLength: 3 }),
  s: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }), d: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 3, maxLength: 3 }),
  p: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 3, maxLength: 3 }), op: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
  L: fc.array(fc.integer({ min: 1, max: 14 }), { minLength: 3, maxLength: 3 }), seed: fc.integer({ min: 1, max: 2 ** 30 }),
  dtype: fc.constantFrom('float32' as const, 'float64' as const),
});

test('a 2-D / 3-D polyphase transposed conv runs its phases over padded planes (PhaseDirect), equal to the reference and bitwise to im2col phases', () => {
  let direct = 0;
  fc.assert(fc.property(tcasesNd, (c) => {
    const r = c.rank, k = c.k.slice(0, r), s = c.s.slice(0, r), L = c.L.slice(0, r).map((v) => (r === 3 ? Math.min(v, 6) : v));
    const d = c.d.slice(0, r).map((v, a) => (s[a] > 1 ? 1 : v)), p = c.p.slice(0, r), op = c.op.slice(0, r).map((v, a) => v % Math.max(s[a], d[a]));
    const outL = L.map((l, a) => (l - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1);
    fc.pre(outL.every((v) => v >= 1));
    const cIn = c.cog * c.groups, cOut = c.cig * c.groups;
    const x = tensor(values(c.n * cIn * L.reduce((a, v) => a * v, 1), c.seed, c.dtype), [c.n, cIn, ...L]);
    const w = tensor(values(cIn * c.cig * k.reduce((a, v) => a * v, 1), c.seed + 1, c.dtype), [cIn, c.cig, ...k]);
    const b = tensor(values(cOut, c.seed + 2, c.dtype), [cOut]);
    const opts = { stride: s, padding: p, dilation: d, groups: c.groups, outputPadding: op };
    const f = (backend: string) => noGrad(() => withBackend(backend, () => (r === 2 ? convTranspose2d : convTranspose3d)(x, w, b, opts))).data;
    const g: Geometry = { n: c.n, cIn: cOut, cOut: cIn, groups: c.groups, inSize: outL, outSize: L, kSize: k, stride: s, dilation: d, padBefore: p };
    if (checkPhases(f, g, c.dtype)) direct++;
  }), { numRuns: 150 });
  setNumThreads(1);
  assert.ok(direct > 60, `only ${direct} of the cases ran as PhaseDirect`);
});

test('DCGAN\'s last layer (64 → 3, 32×32 → 64×64) runs its phases over padded planes; a phase with many padded columns (4×4 → 8×8, 256 channels) keeps im2col', () => {
  const g = (cIn: number, cOut: number, L: number): Geometry => ({ n: 1, cIn: cOut, cOut: cIn, groups: 1, inSize: [2 * L, 2 * L], outSize: [L, L], kSize: [4, 4], stride: [2, 2], dilation: [1, 1], padBefore: [1, 1] });
  assert.equal(phaseTaskKind(g(64, 3, 32), phasePlan(g(64, 3, 32)), 4), 'direct');
  assert.equal(phaseTaskKind(g(512, 256, 4), phasePlan(g(512, 256, 4)), 4), 'im2col');
  const x = tensor(values(64 * 32 * 32, 31, 'float32'), [1, 64, 32, 32]), w = tensor(values(64 * 3 * 16, 32, 'float32'), [64, 3, 4, 4]);
  const f = () => noGrad(() => convTranspose2d(x, w, null, { stride: 2, padding: 1 })).data;
  setNumThreads(1);
  const one = f();
  assert.deepEqual(one, withoutDirectConv(f), 'vs im2col phases');
  assertClose(one, noGrad(() => withBackend('ref', () => convTranspose2d(x, w, null, { stride: 2, padding: 1 }))).data, { rtol: 2e-5, relativeTo: 'largest', floor: 1 }, 'vs ref');
});

test('HiFi-GAN\'s first upsampling (512 → 256, kernel 16, stride 8; GEMM + col2im, its 256 output channels being a full depth block) on 2 threads equals 1 thread bitwise', () => {
  const x = tensor(values(512 * 40, 5, 'float32'), [1, 512, 40]), w = tensor(values(512 * 256 * 16, 6, 'float32'), [512, 256, 16]);
  const f = () => noGrad(() => convTranspose1d(x, w, null, { stride: 8, padding: 4 })).data;
  setNumThreads(1);
  const one = f();
  setNumThreads(2);
  assert.deepEqual(withWorkers(f, 'a GEMM + col2im convT on 2 threads'), one);
  setNumThreads(1);
  assertClose(one, noGrad(() => withBackend('ref', () => convTranspose1d(x, w, null, { stride: 8, padding: 4 }))).data, { rtol: 2e-5, relativeTo: 'largest', floor: 1 }, 'vs ref');
});

test('the wasm families write residual + relu / leakyRelu with the output, bit for bit the unfused ops', () => {
  const x = tensor(values(2 * 12 * 301, 21, 'float32'), [2, 12, 301]), w = tensor(values(10 * 12 * 5, 22, 'float32'), [10, 12, 5]);
  const b = tensor(values(10, 23, 'float32'), [10]);
  const xt = tensor(values(2 * 10 * 37, 24, 'float32'), [2, 10, 37]), wt = tensor(values(10 * 6 * 8, 25, 'float32'), [10, 6, 8]);
  for (const dtype of ['float32', 'float64'] as const) {
    const cast = (t: Tensor) => (dtype === 'float64' ? tensor(Float64Array.from(t.data), t.shape) : t);
    const calls = [
      { name: 'Direct conv', f: (o: object) => conv1d(cast(x), cast(w), cast(b), { padding: 4, dilation: 2, ...o }) },
      { name: 'im2col conv (stride 2)', f: (o: object) => conv1d(cast(x), cast(w), cast(b), { stride: 2, padding: 2, ...o }) },
      { name: 'polyphase convT', f: (o: object) => convTranspose1d(cast(xt), cast(wt), null, { stride: 4, padding: 2, ...o }) },
    ];
    for (const c of calls)
      for (const ep of [{ activation: 'relu' as const }, { activation: 'leakyRelu' as const }, { activation: 'leakyRelu' as const, negativeSlope: 0.1 }, {}]) {
        noGrad(() => withBackend('wasm', () => {
          const plain = c.f({});
          const r = tensor(values(plain.size, 26, dtype), plain.shape);
          const fused = c.f({ ...ep, residual: r });
          const sumed = add(plain, r);
          const unfused = ep.activation === 'relu' ? relu(sumed) : ep.activation === 'leakyRelu' ? leakyRelu(sumed, ep.negativeSlope) : sumed;
          assert.deepEqual(fused.data, unfused.data, `${c.name} ${dtype} ${JSON.stringify(ep)}`);
        }));
      }
  }
});

test('a 2-D polyphase convT with one column tile per phase (DCGAN at batch 1) splits its channels over the workers, bitwise equal to 1 thread', () => {
  const x = tensor(values(256 * 4 * 4, 31, 'float32'), [1, 256, 4, 4]), w = tensor(values(256 * 128 * 16, 32, 'float32'), [256, 128, 4, 4]);
  const b = tensor(values(128, 33, 'float32'), [128]);
  const f = () => noGrad(() => convTranspose2d(x, w, b, { stride: 2, padding: 1, activation: 'relu' })).data;
  setNumThreads(1);
  const one = f();
  setNumThreads(2);
  assert.deepEqual(withWorkers(f, 'a one-tile polyphase convT on 2 threads'), one);
  setNumThreads(1);
  assertClose(one, noGrad(() => withBackend('ref', () => convTranspose2d(x, w, b, { stride: 2, padding: 1, activation: 'relu' }))).data,
    { rtol: 2e-5, relativeTo: 'largest', floor: 1 }, 'vs ref');
});

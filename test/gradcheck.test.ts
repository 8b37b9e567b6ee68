/**
 * Finite-difference gradient checks (float64, central differences) on random small configurations
 * drawn by fast-check: every conv op with every padding mode, groups, dilation, stride, asymmetric
 * and 'same' padding, outputPadding / outputSize, channels-last and unbatched inputs; and the
 * elementwise ops, reductions and losses. Each check compares ⟨∇f, v⟩ with (f(θ + hv) − f(θ − hv))/2h
 * for random directions v and for random single coordinates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  add, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, Generator, l1Loss, leakyRelu,
  mean, mseLoss, mul, noGrad, relu, sigmoid, sub, sum, tanh, Tensor, tensor, type PaddingMode,
} from '../src/index.js';

const SEED = 20240611;

const randT = (gen: Generator, shape: number[], requiresGrad = true, away = 0) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: n }, () => {
    let v = gen.normal();
    while (Math.abs(v) < away) v = gen.normal();
    return v;
  });
  return tensor(data, shape, { requiresGrad });
};

interface CheckOptions { h?: number; tol?: number; directions?: number; coords?: number }

/** Checks every gradient of L = Σ f(inputs) ⊙ r (r random) against central differences. */
function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], gen: Generator, o: CheckOptions = {}): void {
  const { h = 1e-5, tol = 1e-7, directions = 2, coords = 6 } = o;
  const y = f(...inputs);
  const r = randT(gen, [...y.shape], false);
  y.backward(r);
  const loss = () => noGrad(() => {
    const z = f(...inputs);
    let s = 0;
    for (let i = 0; i < z.size; i++) s += z.data[i] * r.data[i];
    return s;
  });
  inputs.forEach((t, ti) => {
    if (!t.requiresGrad) return;
    const g = t.grad?.data ?? new Float64Array(t.size);
    assert.equal(g.length, t.size, `input ${ti}: gradient size`);
    const orig = t.data.slice();
    const probe = (v: ArrayLike<number>, what: string) => {
      let analytic = 0, scale = 0;
      for (let i = 0; i < v.length; i++) { analytic += g[i] * v[i]; scale += Math.abs(g[i] * v[i]); }
      // Written through update() (Tensor.version), so that the kernels' packed weights see each probe.
      t.update((d) => { for (let i = 0; i < v.length; i++) d[i] = orig[i] + h * v[i]; });
      const plus = loss();
      t.update((d) => { for (let i = 0; i < v.length; i++) d[i] = orig[i] - h * v[i]; });
      const minus = loss();
      t.update((d) => d.set(orig));
      const numeric = (plus - minus) / (2 * h);
      assert.ok(Math.abs(numeric - analytic) <= tol * Math.max(1, scale),
        `input ${ti} ${what}: analytic ${analytic}, numeric ${numeric}`);
    };
    for (let k = 0; k < directions; k++) probe(Float64Array.from({ length: t.size }, () => gen.normal()), `direction ${k}`);
    for (let k = 0; k < Math.min(coords, t.size); k++) {
      const e = new Float64Array(t.size);
      const i = Math.floor(gen.uniform() * t.size);
      e[i] = 1;
      probe(e, `coordinate ${i}`);
    }
  });
}

type ConvFn = (x: Tensor, w: Tensor, b?: Tensor | null, o?: object) => Tensor;
const CONV: Record<number, ConvFn> = { 1: conv1d as ConvFn, 2: conv2d as ConvFn, 3: conv3d as ConvFn };
const CONVT: Record<number, ConvFn> = { 1: convTranspose1d as ConvFn, 2: convTranspose2d as ConvFn, 3: convTranspose3d as ConvFn };

const dimArb = fc.record({
  k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 2 }),
  p0: fc.integer({ min: 0, max: 2 }), p1: fc.integer({ min: 0, max: 2 }), extra: fc.integer({ min: 0, max: 2 }),
  op: fc.integer({ min: 0, max: 2 }),
});
const commonArb = (rank: number) => fc.record({
  dims: fc.array(dimArb, { minLength: rank, maxLength: rank }),
  groups: fc.integer({ min: 1, max: 2 }), ciPerGroup: fc.integer({ min: 1, max: 2 }), coPerGroup: fc.integer({ min: 1, max: 2 }),
  n: fc.integer({ min: 1, max: 2 }), unbatched: fc.boolean(), channelsLast: fc.boolean(), bias: fc.boolean(),
  same: fc.boolean(), symmetric: fc.boolean(), useOutputSize: fc.boolean(), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
type Common = ReturnType<typeof commonArb> extends fc.Arbitrary<infer T> ? T : never;

/** Input shape in the requested layout, batched or not. */
function inputShape(c: Common, channels: number, spatial: number[]): number[] {
  const body = c.channelsLast ? [...spatial, channels] : [channels, ...spatial];
  return c.unbatched ? body : [c.n, ...body];
}

const features = new Map<string, number>();
const seen = (...names: string[]) => names.forEach((n) => features.set(n, (features.get(n) ?? 0) + 1));

function checkConv(rank: number, mode: PaddingMode, c: Common): void {
  const gen = new Generator(c.seed);
  const g = c.groups, cIn = g * c.ciPerGroup, cOut = g * c.coPerGroup;
  const span = (e: { k: number; d: number }) => e.d * (e.k - 1) + 1;
  const same = c.same;
  const stride = c.dims.map((e) => (same ? 1 : Math.min(e.s, 2)));
  const pads = c.dims.map((e) => {
    if (same) { const t = span(e) - 1; return [Math.floor(t / 2), t - Math.floor(t / 2)]; }
    return c.symmetric ? [e.p0, e.p0] : [e.p0, e.p1];
  });
  const spatial = c.dims.map((e, a) => {
    const [p0, p1] = pads[a];
    const need = mode === 'reflect' ? Math.max(p0, p1) + 1 : mode === 'circular' ? Math.max(p0, p1) : 0;
    return Math.max(1, span(e) - p0 - p1, need) + (rank === 3 ? Math.min(e.extra, 1) : e.extra);
  });
  const x = randT(gen, inputShape(c, cIn, spatial));
  const w = randT(gen, [cOut, c.ciPerGroup, ...c.dims.map((e) => e.k)]);
  const b = c.bias ? randT(gen, [cOut]) : null;
  const opts = {
    stride, dilation: c.dims.map((e) => e.d), groups: g, paddingMode: mode,
    padding: same ? 'same' : c.symmetric ? pads.map((p) => p[0]) : pads, dataFormat: c.channelsLast ? 'channelsLast' : 'channelsFirst',
  };
  seen(`mode:${mode}`, `rank:${rank}`);
  if (c.unbatched) seen('unbatched');
  if (c.channelsLast) seen('channelsLast');
  if (g > 1) seen('groups');
  if (same) seen('same');
  if (!same && !c.symmetric && pads.some(([p0, p1]) => p0 !== p1)) seen('asymmetric');
  if (opts.dilation.some((d) => d > 1)) seen('dilation');
  if (stride.some((s) => s > 1)) seen('stride');
  const f = (xx: Tensor, ww: Tensor, bb?: Tensor) => CONV[rank](xx, ww, bb ?? null, opts);
  gradcheck(f, b ? [x, w, b] : [x, w], gen);
}

function checkConvT(rank: number, c: Common): void {
  const gen = new Generator(c.seed);
  const g = c.groups, cIn = g * c.ciPerGroup, cOut = g * c.coPerGroup;
  const dims = c.dims.map((e) => {
    const L = 1 + Math.min(e.extra, rank === 3 ? 1 : 2);
    // outputPadding < stride or < dilation; a requested outputSize must lie within [min, min + stride − 1].
    const op = e.op % (c.useOutputSize ? e.s : Math.max(e.s, e.d));
    let [p0, p1] = c.symmetric ? [e.p0, e.p0] : [e.p0, e.p1];
    const full = (L - 1) * e.s + e.d * (e.k - 1) + 1;
    while (full - p0 - p1 + op < 1) { if (p1 > 0 && !c.symmetric) p1--; else if (p0 > 0) { p0--; if (c.symmetric) p1--; } }
    return { ...e, L, op, p0, p1, out: full - p0 - p1 + op };
  });
  const x = randT(gen, inputShape(c, cIn, dims.map((e) => e.L)));
  const w = randT(gen, [cIn, c.coPerGroup, ...dims.map((e) => e.k)]);
  const b = c.bias ? randT(gen, [cOut]) : null;
  const opts: Record<string, unknown> = {
    stride: dims.map((e) => e.s), dilation: dims.map((e) => e.d), groups: g,
    padding: c.symmetric ? dims.map((e) => e.p0) : dims.map((e) => [e.p0, e.p1]), dataFormat: c.channelsLast ? 'channelsLast' : 'channelsFirst',
  };
  if (c.useOutputSize) opts.outputSize = dims.map((e) => e.out);
  else opts.outputPadding = dims.map((e) => e.op);
  seen(`rankT:${rank}`);
  if (c.unbatched) seen('T.unbatched');
  if (c.channelsLast) seen('T.channelsLast');
  if (g > 1) seen('T.groups');
  if (dims.some((e) => e.op > 0)) seen(c.useOutputSize ? 'T.outputSize' : 'T.outputPadding');
  if (dims.some((e) => e.d > 1)) seen('T.dilation');
  if (dims.some((e) => e.s > 1)) seen('T.stride');
  if (!c.symmetric && dims.some((e) => e.p0 !== e.p1)) seen('T.asymmetric');
  const f = (xx: Tensor, ww: Tensor, bb?: Tensor) => {
    const y = CONVT[rank](xx, ww, bb ?? null, opts);
    assert.deepEqual(y.shape.slice(c.channelsLast ? -rank - 1 : -rank).slice(0, rank), dims.map((e) => e.out));
    return y;
  };
  gradcheck(f, b ? [x, w, b] : [x, w], gen);
}

const RUNS: Record<number, number> = { 1: 25, 2: 12, 3: 6 };

for (const rank of [1, 2, 3])
  test(`conv${rank}d: gradients of input, weight and bias match central differences for every padding mode`, () => {
    for (const mode of ['zeros', 'reflect', 'replicate', 'circular'] as const)
      fc.assert(fc.property(commonArb(rank), (c) => checkConv(rank, mode, c)), { numRuns: RUNS[rank], seed: SEED + rank });
  });

for (const rank of [1, 2, 3])
  test(`convTranspose${rank}d: gradients of input, weight and bias match central differences`, () => {
    fc.assert(fc.property(commonArb(rank), (c) => checkConvT(rank, c)), { numRuns: 2 * RUNS[rank], seed: SEED + 10 + rank });
  });

test('the random conv configurations covered every feature', () => {
  const want = [
    'mode:zeros', 'mode:reflect', 'mode:replicate', 'mode:circular', 'rank:1', 'rank:2', 'rank:3', 'unbatched', 'channelsLast',
    'groups', 'same', 'asymmetric', 'dilation', 'stride', 'rankT:1', 'rankT:2', 'rankT:3', 'T.unbatched', 'T.channelsLast',
    'T.groups', 'T.outputSize', 'T.outputPadding', 'T.dilation', 'T.stride', 'T.asymmetric',
  ];
  assert.deepEqual(want.filter((f) => !features.has(f)), []);
});

/** A random shape and a shape that broadcasts to it (some dims 1, maybe fewer leading dims). */
const broadcastPairArb = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
  onesA: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), onesB: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  dropA: fc.integer({ min: 0, max: 2 }), dropB: fc.integer({ min: 0, max: 2 }),
  op: fc.constantFrom('add', 'sub', 'mul'), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

test('add, sub, mul with broadcasting: gradients reduce over the broadcast dims', () => {
  const ops = { add, sub, mul } as const;
  fc.assert(fc.property(broadcastPairArb, (c) => {
    const gen = new Generator(c.seed);
    const derive = (ones: boolean[], drop: number) => c.shape.map((s, i) => (ones[i] ? 1 : s)).slice(Math.min(drop, c.shape.length - 1));
    const a = randT(gen, derive(c.onesA, c.dropA)), b = randT(gen, derive(c.onesB, c.dropB));
    gradcheck((p, q) => ops[c.op](p, q), [a, b], gen);
  }), { numRuns: 60, seed: SEED });
});

test('relu, leakyRelu, tanh, sigmoid (away from the kinks)', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('relu', 'leakyRelu', 'tanh', 'sigmoid'), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    (shape, op, slope, seed) => {
      const gen = new Generator(seed);
      const x = randT(gen, shape, true, 0.05);
      const f = { relu, leakyRelu: (t: Tensor) => leakyRelu(t, slope), tanh, sigmoid }[op];
      gradcheck(f, [x], gen, { h: 1e-6, tol: 1e-6 });
    }), { numRuns: 40, seed: SEED });
});

test('sum and mean over all or some dims, with and without keepdim', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    fc.boolean(), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    (shape, pick, all, keepdim, isMean, seed) => {
      const gen = new Generator(seed);
      const x = randT(gen, shape);
      const dims = shape.map((_, i) => (i % 2 ? i - shape.length : i)).filter((_, i) => pick[i]);
      const f = isMean ? mean : sum;
      gradcheck((t) => (all ? f(t) : f(t, dims, keepdim)), [x], gen);
    }), { numRuns: 40, seed: SEED });
});

test('mseLoss and l1Loss, every reduction, gradients for input and target', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('mseLoss', 'l1Loss'), fc.constantFrom('mean', 'sum', 'none'), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    (shape, op, reduction, seed) => {
      const gen = new Generator(seed);
      const x = randT(gen, shape);
      const d = randT(gen, shape, false, 0.05);
      const t = tensor(x.data.map((v, i) => v + d.data[i]), shape, { requiresGrad: true });
      const f = op === 'mseLoss' ? mseLoss : l1Loss;
      gradcheck((p, q) => f(p, q, reduction as 'mean'), [x, t], gen, { h: 1e-6, tol: 1e-6 });
    }), { numRuns: 30, seed: SEED });
});

test('a small network: conv1d → leakyRelu → per-channel affine → convTranspose1d → mseLoss', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
    const gen = new Generator(seed);
    const x = randT(gen, [2, 2, 9], false);
    const target = randT(gen, [2, 2, 9], false);
    const params = [randT(gen, [3, 2, 3]), randT(gen, [3]), randT(gen, [3, 1]), randT(gen, [1, 3, 1]), randT(gen, [3, 2, 3])];
    const f = (w1: Tensor, b1: Tensor, s: Tensor, t: Tensor, w2: Tensor) => {
      const h = add(mul(leakyRelu(conv1d(x, w1, b1, { stride: 2, padding: 1, paddingMode: 'reflect' }), 0.1), s), t);
      return mseLoss(convTranspose1d(h, w2, null, { stride: 2, padding: 1, outputSize: [9] }), target);
    };
    gradcheck(f, params, gen, { h: 1e-6, tol: 1e-6 });
  }), { numRuns: 10, seed: SEED });
});

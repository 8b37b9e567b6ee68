/**
 * Per-call fast paths: the plan cache (a hit only for identical inputs to the checks), the reuse of a
 * functional op's spec when its option values repeat, the blocked transpose behind channels-last
 * calls, and the scratch-buffer channels-last path against the recorded (autograd) path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Conv1d, ConvError, ConvTranspose1d, conv1d, conv2d, convTranspose1d, convTranspose2d, noGrad, permute, randn, Tensor, withBackend,
} from '../src/index.js';
import { planConvCached, PLANS_PER_SPEC } from '../src/plan/cache.js';
import { planConv } from '../src/plan/plan.js';
import { convSpec, convTransposeSpec } from '../src/spec/normalize.js';
import { collapsePermutation, permute as permuteKernel, permuteStrided, transposePlanes } from '../src/kernels/ref/layout.js';
import { conv1dAsync } from '../src/async/index.js';
import { convSpecs } from '../src/functional/conv.js';
import { specCache } from '../src/plan/spec-cache.js';

const maxDiff = (a: Tensor, b: Tensor): number => {
  assert.deepEqual([...a.shape], [...b.shape]);
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
};
/** Channels-last x from a channels-first one (the model: the strided permutation). */
const toLast = (x: Tensor): Tensor => {
  const d = x.shape.length, perm = [0, ...Array.from({ length: d - 2 }, (_, a) => a + 2), 1];
  const out = new Float64Array(x.size);
  permuteStrided(x.data, x.shape, perm, out);
  return new Tensor(x.dtype === 'float64' ? out : Float32Array.from(out), perm.map((p) => x.shape[p]), x.requiresGrad);
};

test('plan cache: a hit returns the same (frozen) plan; other shapes are planned and checked anew', () => {
  const spec = convSpec('conv1d', 1, { stride: 2 });
  const a = planConvCached(spec, [2, 4, 9], [3, 4, 3], [3]);
  assert.equal(planConvCached(spec, [2, 4, 9], [3, 4, 3], [3]), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.geometry) && Object.isFrozen(a.outShape) && Object.isFrozen(spec));
  assert.deepEqual(a, planConv(spec, [2, 4, 9], [3, 4, 3], [3]));
  const b = planConvCached(spec, [2, 4, 11], [3, 4, 3], [3]);
  assert.notEqual(b, a);
  assert.deepEqual([...b.outShape], [2, 3, 5]);
  // Same spec, a shape that fails a check: it throws, every time.
  for (let i = 0; i < 2; i++) assert.throws(() => planConvCached(spec, [2, 5, 9], [3, 4, 3], [3]), ConvError);
  assert.throws(() => planConvCached(spec, [2, 4, 9], [3, 4, 3], [4]), /bias/);
});

test('plan cache: outputSize is part of the key, and at most PLANS_PER_SPEC plans stay per spec', () => {
  const spec = convTransposeSpec('convTranspose1d', 1, { stride: 3 });
  const p19 = planConvCached(spec, [1, 2, 6], [2, 1, 3], null, [18]);
  const p20 = planConvCached(spec, [1, 2, 6], [2, 1, 3], null, [20]);
  assert.deepEqual([...p19.outShape], [1, 1, 18]);
  assert.deepEqual([...p20.outShape], [1, 1, 20]);
  assert.throws(() => planConvCached(spec, [1, 2, 6], [2, 1, 3], null, [21]), /outputSize/);
  assert.equal(planConvCached(spec, [1, 2, 6], [2, 1, 3], null, [20]), p20);
  const first = planConvCached(spec, [1, 2, 1], [2, 1, 3], null);
  for (let L = 2; L < 2 + PLANS_PER_SPEC; L++) planConvCached(spec, [1, 2, L], [2, 1, 3], null);
  const again = planConvCached(spec, [1, 2, 1], [2, 1, 3], null);
  assert.notEqual(again, first); // evicted, planned anew
  assert.deepEqual(again, first);
});

test('functional ops: changed option values (also in place) give a new spec, never a stale plan', () => {
  const x = randn([1, 2, 12], { seed: 1, dtype: 'float64' }), w = randn([3, 2, 3], { seed: 2, dtype: 'float64' });
  const opts = { stride: [1] as number[], padding: [[0, 0]] as [number, number][] };
  const full = conv1d(x, w, null, opts);
  assert.deepEqual([...full.shape], [1, 3, 10]);
  opts.stride[0] = 2; // mutated in place
  const strided = conv1d(x, w, null, opts);
  assert.deepEqual([...strided.shape], [1, 3, 5]);
  for (let o = 0; o < 5; o++) for (let c = 0; c < 3; c++) assert.equal(strided.data[c * 5 + o], full.data[c * 10 + 2 * o]);
  opts.padding[0][1] = 2;
  assert.deepEqual([...conv1d(x, w, null, opts).shape], [1, 3, 6]);
  (opts as Record<string, unknown>).bogus = 1;
  assert.throws(() => conv1d(x, w, null, opts), /bogus/);
  delete (opts as Record<string, unknown>).bogus;
  opts.stride[0] = 0;
  assert.throws(() => conv1d(x, w, null, opts), /stride/);
  // A module's spec is its own (a copy of the options) and frozen once planned: the plan cannot go stale.
  const kOpts = { stride: [1] };
  const m = new Conv1d(2, 3, 3, { ...kOpts, seed: 1, dtype: 'float64' });
  m.forward(x);
  kOpts.stride[0] = 3;
  assert.deepEqual([...m.forward(x).shape], [1, 3, 10]);
  assert.throws(() => { (m.stride as number[])[0] = 2; }, TypeError);
  // convTranspose: outputSize is checked on every call although the spec is reused.
  const xt = randn([1, 3, 5], { seed: 3, dtype: 'float64' });
  const o2 = { stride: 2, outputSize: [11] }; // (5 − 1)·2 + 3 = 11 … 12
  assert.deepEqual([...convTranspose1d(xt, w.reshape([3, 2, 3]), null, o2).shape], [1, 2, 11]);
  o2.outputSize = [12];
  assert.deepEqual([...convTranspose1d(xt, w.reshape([3, 2, 3]), null, o2).shape], [1, 2, 12]);
  o2.outputSize[0] = 13; // in place
  assert.throws(() => convTranspose1d(xt, w.reshape([3, 2, 3]), null, o2), /outputSize/);
});

test('modules: a cached plan still validates each new input shape; values match the uncached path', () => {
  const m = new ConvTranspose1d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1, dtype: 'float64', seed: 5 });
  const x = randn([2, 4, 7], { seed: 6, dtype: 'float64' });
  const y1 = m.forward(x), y2 = m.forward(x);
  assert.equal(maxDiff(y1, y2), 0);
  const direct = noGrad(() => convTranspose1d(x, m.weight, m.bias, { stride: 2, padding: 1, outputPadding: 1 }));
  assert.ok(maxDiff(y1, direct) < 1e-12);
  assert.throws(() => m.forward(randn([2, 5, 7], { seed: 7, dtype: 'float64' })), ConvError);
  assert.deepEqual([...m.forward(randn([4, 9], { seed: 8, dtype: 'float64' })).shape], [2, 18]);
  const c = new Conv1d(4, 2, 3, { dtype: 'float64', seed: 9 });
  assert.throws(() => c.forward(randn([1, 4, 2], { seed: 10, dtype: 'float64' })), /too small/);
});

test('collapsePermutation merges adjacent axes and drops size-1 axes', () => {
  assert.deepEqual(collapsePermutation([8, 56, 56, 64], [0, 3, 1, 2]), { shape: [8, 3136, 64], perm: [0, 2, 1] });
  assert.deepEqual(collapsePermutation([1, 64, 10], [0, 2, 1]), { shape: [64, 10], perm: [1, 0] });
  assert.deepEqual(collapsePermutation([2, 3, 4], [0, 1, 2]), { shape: [24], perm: [0] });
  assert.deepEqual(collapsePermutation([2, 3, 4, 5], [2, 0, 3, 1]), { shape: [2, 3, 4, 5], perm: [2, 0, 3, 1] });
  assert.deepEqual(collapsePermutation([2, 1, 2], [0, 2, 1]), { shape: [4], perm: [0] }); // a size-1 axis moving is no transpose
  assert.deepEqual(collapsePermutation([2, 1, 3, 1, 4], [0, 4, 1, 2, 3]), { shape: [2, 3, 4], perm: [0, 2, 1] });
});

test('permute (blocked transpose where it applies) equals the strided model for random shapes and permutations', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 70 })), { minLength: 1, maxLength: 5 }).chain((shape) =>
      fc.tuple(fc.constant(shape), fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }))),
    ([shape, perm]) => {
      if (shape.reduce((a, b) => a * b, 1) > 50000) return;
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
      const got = new Float32Array(n), want = new Float32Array(n);
      permuteKernel(x, shape, perm, got);
      permuteStrided(x, shape, perm, want);
      assert.deepEqual(got, want);
    }), { numRuns: 300, seed: 11 });
  // Tile edges: sizes around multiples of the tile and of the 8-row block.
  for (const [rows, cols] of [[63, 65], [64, 64], [129, 7], [7, 129], [1, 300], [300, 1]]) {
    const x = Float64Array.from({ length: rows * cols * 2 }, (_, i) => i);
    const out = new Float64Array(x.length);
    transposePlanes(x, 2, rows, cols, out);
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) assert.equal(out[b * rows * cols + j * rows + i], x[b * rows * cols + i * cols + j]);
  }
});

test('channels-last: the scratch path (no grad) equals the recorded path and channels-first, call after call', () => {
  const cases = [
    { f: conv2d, x: [2, 3, 9, 7], w: [4, 3, 3, 2], o: { stride: [2, 1], padding: 1 } },
    { f: conv2d, x: [1, 4, 6, 6], w: [4, 2, 3, 3], o: { groups: 2, padding: 1, paddingMode: 'reflect' as const } },
    { f: convTranspose2d, x: [2, 4, 5, 3], w: [4, 3, 4, 2], o: { stride: 2, padding: [1, 0] } },
    { f: convTranspose1d, x: [3, 6, 10], w: [6, 2, 3], o: { stride: 2, padding: 1, outputPadding: 1 } },
    { f: conv1d, x: [5, 16], w: [8, 5, 3], o: { dilation: 2 } },
  ];
  cases.forEach((c, k) => {
    for (const backend of ['ref', 'auto']) {
      const x = randn(c.x, { seed: 20 + k, dtype: 'float64' }), w = randn(c.w, { seed: 40 + k, dtype: 'float64' });
      const b = randn([c.f === conv2d || c.f === conv1d ? c.w[0] : c.w[1] * ((c.o as { groups?: number }).groups ?? 1)], { seed: 60 + k, dtype: 'float64' });
      const f = c.f as (x: Tensor, w: Tensor, b: Tensor | null, o: object) => Tensor;
      const batched = c.x.length === c.w.length;
      const xl = batched ? toLast(x) : permute(x, [...Array.from({ length: x.shape.length - 1 }, (_, a) => a + 1), 0]);
      withBackend(backend, () => {
        const first = f(x, w, b, c.o);
        const want = batched ? toLast(first) : permute(first, [...Array.from({ length: first.shape.length - 1 }, (_, a) => a + 1), 0]);
        for (let rep = 0; rep < 3; rep++) {
          const fast = noGrad(() => f(xl, w, b, { ...c.o, dataFormat: 'channelsLast' }));
          assert.ok(maxDiff(fast, want) < 1e-10, `case ${k} ${backend} rep ${rep}`);
        }
        const wg = new Tensor(w.data, w.shape, true);
        const recorded = f(xl, wg, b, { ...c.o, dataFormat: 'channelsLast' });
        assert.ok(recorded.requiresGrad);
        assert.ok(maxDiff(recorded, want) < 1e-10, `case ${k} ${backend} recorded`);
      });
    }
  });
});

test('an option getter that answers differently on each read cannot poison the spec cache (each option is read once)', () => {
  const x = randn([1, 2, 20], { seed: 11, dtype: 'float64' }), w = randn([3, 2, 3], { seed: 12, dtype: 'float64' });
  assert.deepEqual([...conv1d(x, w, null, { stride: 1 }).shape], [1, 3, 18]);
  // Were the comparison, the parse and the cache key to read it separately, they would see 9, 3 and 1.
  let reads = 0;
  const tricky = { get stride() { reads++; return [9, 3, 1][Math.min(reads - 1, 2)]; } };
  assert.deepEqual([...conv1d(x, w, null, tricky).shape], [1, 3, 2], 'the call runs with the one value read (stride 9)');
  assert.equal(reads, 1);
  assert.deepEqual([...conv1d(x, w, null, { stride: 1 }).shape], [1, 3, 18], 'stride 1 still means stride 1');
  assert.deepEqual([...conv1d(x, w, null, { stride: 9 }).shape], [1, 3, 2]);
  // An inherited getter (an options class) is read too, once.
  class Opts { get stride() { reads++; return 2; } }
  reads = 0;
  assert.deepEqual([...conv1d(x, w, null, new Opts() as never).shape], [1, 3, 9]);
  assert.equal(reads, 1);
});

test('the spec cache answers by option values: equal values give the same spec, any change a new one', () => {
  const specOf = convSpecs[2];
  const a = specOf({ stride: [2, 1], padding: 1 });
  assert.equal(specOf({ stride: [2, 1], padding: 1 }), a, 'a fresh object with the same values hits');
  assert.notEqual(specOf({ stride: [1, 2], padding: 1 }), a, 'a changed list element misses');
  assert.deepEqual(specOf({ stride: [1, 2], padding: 1 }).stride, [1, 2]);
  const b = specOf({ padding: 1, stride: [2, 1] });
  assert.deepEqual([b.stride, b.padding], [a.stride, a.padding], 'the keys in another order parse to the same values');
  assert.notEqual(specOf({ stride: [2, 1], padding: 1, dilation: 1 }), specOf({ stride: [2, 1], padding: 1 }), 'an added key misses');
  const list = [2, 1];
  const c = specOf({ stride: list });
  list[0] = 3;
  assert.deepEqual(specOf({ stride: list }).stride, [3, 1], 'a list changed in place after a call is read anew');
  assert.deepEqual(c.stride, [2, 1], 'and the earlier spec kept its own copy');
});

test('the spec cache (property): a call gets the last spec back exactly when its option values equal the last call\'s', () => {
  // Values by index: plain ones (numbers with NaN and -0, strings, lists with holes, nested lists) and
  // opaque ones (a function; a list nested deeper than any option), which are never cached.
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const pool: unknown[] = [1, 2, -0, 0, NaN, 'same', undefined, null, [1, 2], [1, 3], [2, 1], sparse, [1, undefined, 3], [[1, 2], [3, 4]], [[1, 2], [3, 5]], [], () => 1, [[[[1]]]]];
  const opaque = (v: unknown): boolean => typeof v === 'function' || (Array.isArray(v) && v.length === 1 && Array.isArray(v[0]));
  const show = (v: unknown): string => Array.isArray(v) ? `[${Array.from({ length: v.length }, (_, i) => (i in v ? show(v[i]) : '_')).join(',')}]`
    : Object.is(v, -0) ? '-0' : typeof v === 'function' ? 'fn' : typeof v === 'string' ? `'${v}'` : String(v);
  fc.assert(fc.property(fc.array(fc.tuple(fc.subarray(['a', 'b', 'c']), fc.array(fc.nat(pool.length - 1), { minLength: 3, maxLength: 3 }), fc.boolean()), { minLength: 1, maxLength: 12 }),
    (calls) => {
      const seen: Record<string, unknown>[] = [];
      const cached = specCache<Record<string, unknown>>(['a', 'b'], (o) => { seen.push(o); return { copy: o } as never; });
      let prev: { keys: string; shown: string; plain: boolean } | null = null, prevSpec: unknown = null;
      for (const [keys, picks, fresh] of calls) {
        // Fresh lists each call (equal values, other objects) or the pool's own lists.
        const value = (j: number) => (fresh && Array.isArray(pool[j]) ? structuredCloneSparse(pool[j] as unknown[]) : pool[j]);
        const o = Object.fromEntries(keys.map((k, i) => [k, value(picks[i])]));
        const now = { keys: keys.join(), shown: ['a', 'b'].map((k) => (k in o ? show(o[k]) : '-')).join(' '), plain: !['a', 'b'].some((k) => k in o && opaque(o[k])) };
        const n = seen.length, spec = cached(o);
        const hit = prev !== null && prev.plain && now.plain && prev.keys === now.keys && prev.shown === now.shown;
        assert.equal(seen.length === n, hit, `${now.keys} ${now.shown} after ${prev?.keys} ${prev?.shown}`);
        if (hit) assert.equal(spec, prevSpec);
        else assert.equal(['a', 'b'].map((k) => (k in o ? show((spec as unknown as { copy: Record<string, unknown> }).copy[k]) : '-')).join(' '), now.shown, 'the parser sees the values read');
        prev = now;
        prevSpec = spec;
      }
    }), { numRuns: 400, seed: 23 });
});

/** A copy of a list keeping its holes (structuredClone fills them). */
function structuredCloneSparse(v: unknown[]): unknown[] {
  const out = new Array<unknown>(v.length);
  for (let i = 0; i < v.length; i++) if (i in v) out[i] = Array.isArray(v[i]) ? structuredCloneSparse(v[i] as unknown[]) : v[i];
  return out;
}

test('the spec cache: a list option that throws when read is a ConvError naming it, and the next call runs as usual', () => {
  const x = randn([1, 2, 20], { seed: 15 }), w = randn([3, 2, 3], { seed: 16 });
  const want = Array.from(conv1d(x, w, null, { stride: 2 }).data);
  const trap = new Proxy([2], { get() { throw new RangeError('trap'); } });
  assert.throws(() => conv1d(x, w, null, { stride: trap as never }),
    (e: unknown) => e instanceof ConvError && e.op === 'conv1d' && e.param === 'stride' && /could not be read \(trap\)/.test(e.message));
  assert.throws(() => convTranspose1d(x, randn([2, 3, 3], { seed: 17 }), null, { outputPadding: trap as never }),
    (e: unknown) => e instanceof ConvError && e.param === 'outputPadding');
  assert.deepEqual(Array.from(conv1d(x, w, null, { stride: 2 }).data), want);
});

test('the outputs of one planned convolution share one frozen shape, which no one can change', () => {
  const x = randn([2, 3, 12], { seed: 18 }), w = randn([4, 3, 3], { seed: 19 });
  const a = conv1d(x, w, null, { padding: 1 }), b = conv1d(x, w, null, { padding: 1 });
  assert.equal(a.shape, b.shape);
  assert.ok(Object.isFrozen(a.shape));
  assert.throws(() => { (a.shape as number[])[2] = 1; }, TypeError);
  assert.deepEqual([...b.shape], [2, 4, 12]);
  assert.deepEqual([...conv1d(x, w, null, { padding: 1 }).reshape([8, 12]).shape], [8, 12]);
  assert.deepEqual([...conv1d(x, w, null, { padding: 1 }).shape], [2, 4, 12]);
});

test('async calls share the functional spec and plan caches', async () => {
  const x = randn([1, 2, 23], { seed: 13 }), w = randn([3, 2, 3], { seed: 14 });
  const y = await conv1dAsync(x, w, null, { stride: 3, padding: 2 });
  // The spec the sync op gets for these values is the async call's: its plan was cached, which froze it.
  const spec = convSpecs[1]({ stride: 3, padding: 2 });
  assert.ok(Object.isFrozen(spec), 'the async call planned with the shared spec');
  assert.equal(planConvCached(spec, x.shape, w.shape, null), planConvCached(spec, x.shape, w.shape, null));
  assert.deepEqual(Array.from(y.data), Array.from(conv1d(x, w, null, { stride: 3, padding: 2 }).data));
});

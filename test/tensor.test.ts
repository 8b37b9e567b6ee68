/** Tensors: construction, dtype rules, toArray, reshape, seeded random tensors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvError, Tensor, full, manualSeed, ones, rand, randn, tensor, zeros } from '../src/index.js';
import { assertConvError } from './helpers-core.js';

test('nested construction infers the shape and stores row-major', () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual([...t.shape], [2, 3]);
  assert.equal(t.size, 6);
  assert.equal(t.ndim, 2);
  assert.deepEqual(Array.from(t.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  const t3 = tensor([[[1], [2]], [[3], [4]]]);
  assert.deepEqual([...t3.shape], [2, 2, 1]);
  assert.deepEqual(t3.toArray(), [[[1], [2]], [[3], [4]]]);
});

test('flat and typed construction with an explicit shape', () => {
  const t = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
  assert.deepEqual(t.toArray(), [[1, 2], [3, 4], [5, 6]]);
  const src = new Float64Array([0.5, 1.5, 2.5, 3.5]);
  const u = tensor(src, [2, 2]);
  assert.deepEqual(u.toArray(), [[0.5, 1.5], [2.5, 3.5]]);
  src[0] = 99; // tensor() copies its input
  assert.equal(u.data[0], 0.5);
  const v = tensor(new Float32Array([7, 8, 9]));
  assert.deepEqual([...v.shape], [3]);
  assert.deepEqual(v.toArray(), [7, 8, 9]);
  // The Tensor constructor keeps the storage it is given.
  const buf = new Float32Array([1, 2]);
  const w = new Tensor(buf, [2]);
  buf[1] = 5;
  assert.equal(w.data[1], 5);
});

test('dtype rules: float32 by default, float64 from a Float64Array or on request; values rounded accordingly', () => {
  assert.equal(tensor([0.1]).dtype, 'float32');
  assert.equal(tensor([0.1]).data[0], Math.fround(0.1));
  assert.ok(tensor([0.1]).data instanceof Float32Array);
  assert.equal(tensor([0.1], undefined, { dtype: 'float64' }).data[0], 0.1);
  assert.ok(tensor([0.1], undefined, { dtype: 'float64' }).data instanceof Float64Array);
  assert.equal(tensor(new Float64Array([0.1])).dtype, 'float64');
  assert.equal(tensor(new Float64Array([0.1]), [1], { dtype: 'float32' }).data[0], Math.fround(0.1));
  assert.equal(tensor(new Float32Array([0.25]), [1], { dtype: 'float64' }).dtype, 'float64');
  assert.equal(zeros([2], { dtype: 'float64' }).dtype, 'float64');
  assert.equal(new Tensor(new Float64Array(2), [2]).dtype, 'float64');
  assertConvError(() => tensor([1], undefined, { dtype: 'int32' as never }), 'tensor', 'dtype', ["'int32'"]);
});

test('zeros, ones, full', () => {
  assert.deepEqual(zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
  assert.deepEqual(ones([3]).toArray(), [1, 1, 1]);
  assert.deepEqual(full([2, 1], 2.5).toArray(), [[2.5], [2.5]]);
  assert.equal(zeros([0, 3]).size, 0);
  assert.deepEqual(zeros([0, 3]).toArray(), []);
});

test('toArray of a 0-d tensor is a number; item()', () => {
  const s = tensor([4.5], []);
  assert.deepEqual([...s.shape], []);
  assert.equal(s.toArray(), 4.5);
  assert.equal(s.item(), 4.5);
  assert.equal(tensor([[3]]).item(), 3);
  assertConvError(() => tensor([1, 2]).item(), 'item', 'tensor', ['[2]']);
});

test('reshape shares storage and resolves one -1', () => {
  const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const r = t.reshape([3, -1]);
  assert.deepEqual([...r.shape], [3, 2]);
  assert.deepEqual(r.toArray(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual([...t.reshape([-1]).shape], [6]);
  assert.deepEqual([...t.reshape([1, -1, 1]).shape], [1, 6, 1]);
  assert.equal(r.data, t.data);
  r.data[0] = 10;
  assert.equal(t.data[0], 10);
  assertConvError(() => t.reshape([4, -1]), 'reshape', 'shape', ['[4, -1]', '6']);
  assertConvError(() => t.reshape([-1, -1]), 'reshape', 'shape', ['[-1, -1]']);
  assertConvError(() => t.reshape([7]), 'reshape', 'shape', ['[7]', '6']);
  assertConvError(() => t.reshape([2.5, 2]), 'reshape', 'shape', ['2.5']);
});

test('ragged, non-numeric and mis-sized data are ConvErrors', () => {
  assertConvError(() => tensor([[1, 2], [3]]), 'tensor', 'data', ['ragged']);
  assertConvError(() => tensor([[1, 2], 3] as never), 'tensor', 'data');
  assertConvError(() => tensor([1, 2, 3], [2, 2]), 'tensor', 'data', ['3', '[2, 2]', '4']);
  assertConvError(() => new Tensor(new Float32Array(3), [2]), 'tensor', 'data', ['3', '[2]']);
  assertConvError(() => zeros([2, -1]), 'zeros', 'shape', ['[2, -1]']);
  assertConvError(() => zeros([1.5]), 'zeros', 'shape', ['1.5']);
  assertConvError(() => zeros([2 ** 20, 2 ** 20]), 'zeros', 'shape', ['1099511627776']);
});

test('seeded randn and rand are reproducible; different seeds differ', () => {
  const a = randn([64], { seed: 42 }), b = randn([64], { seed: 42 }), c = randn([64], { seed: 43 });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.notDeepEqual(Array.from(a.data), Array.from(c.data));
  const u = rand([64], { seed: 1, dtype: 'float64' }), v = rand([64], { seed: 1, dtype: 'float64' });
  assert.deepEqual(Array.from(u.data), Array.from(v.data));
  // manualSeed resets the global generator.
  manualSeed(7);
  const g1 = Array.from(randn([8]).data);
  manualSeed(7);
  const g2 = Array.from(randn([8]).data);
  assert.deepEqual(g1, g2);
  // A float32 tensor holds the float32 rounding of the same stream.
  const r32 = randn([16], { seed: 5 }), r64 = randn([16], { seed: 5, dtype: 'float64' });
  assert.deepEqual(Array.from(r32.data), Array.from(r64.data, Math.fround));
});

test('randn is standard normal and rand uniform in [0, 1) (statistics on 20000 samples)', () => {
  const n = 20000;
  const x = randn([n], { seed: 11, dtype: 'float64' }).data;
  let m = 0;
  for (const v of x) m += v;
  m /= n;
  let s2 = 0;
  for (const v of x) s2 += (v - m) ** 2;
  s2 /= n - 1;
  assert.ok(Math.abs(m) < 4 / Math.sqrt(n), `mean ${m}`);
  assert.ok(Math.abs(s2 - 1) < 0.05, `variance ${s2}`);
  const u = rand([n], { seed: 12, dtype: 'float64' }).data;
  let um = 0, lo = Infinity, hi = -Infinity;
  for (const v of u) { um += v; lo = Math.min(lo, v); hi = Math.max(hi, v); }
  um /= n;
  assert.ok(lo >= 0 && hi < 1, `range [${lo}, ${hi}]`);
  assert.ok(Math.abs(um - 0.5) < 4 * Math.sqrt(1 / 12 / n), `mean ${um}`);
});

test('clone copies, detach shares, and errors are ConvError instances of Error', () => {
  const t = tensor([1, 2]);
  const c = t.clone();
  c.data[0] = 5;
  assert.equal(t.data[0], 1);
  const d = t.detach();
  assert.equal(d.data, t.data);
  assert.equal(d.gradFn, null);
  try {
    tensor([1, 2, 3], [2]);
    assert.fail('expected a throw');
  } catch (e) {
    assert.ok(e instanceof ConvError && e instanceof Error);
    assert.equal((e as ConvError).name, 'ConvError');
  }
});

/** PyTorch modules: constructor order and options, weight shapes, init bounds, seeds, repr, forward(x, outputSize). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, Conv1D, Conv1DTranspose, ConvError, manualSeed, ones, randn, tensor, type Tensor,
} from '../src/index.js';
import { assertTensor, directConv, directConvTranspose, forEachBackend, prod, randomValues } from './helpers-core.js';
import { assertClose } from './helpers/close.js';

test('constructor order (inChannels, outChannels, kernelSize, options) and the options read back', () => {
  const m = new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2, paddingMode: 'replicate' });
  assert.equal(m.inChannels, 4);
  assert.equal(m.outChannels, 6);
  assert.deepEqual([...m.kernelSize], [3, 2]);
  assert.deepEqual([...m.stride], [2, 1]);
  assert.deepEqual([...m.dilation], [1, 2]);
  assert.equal(m.groups, 2);
  assert.equal(m.paddingMode, 'replicate');
  const d = new Conv3d(2, 3, 2);
  assert.deepEqual([...d.kernelSize], [2, 2, 2]);
  assert.deepEqual([...d.stride], [1, 1, 1]);
  assert.deepEqual([...d.dilation], [1, 1, 1]);
  assert.equal(d.groups, 1);
  assert.equal(d.paddingMode, 'zeros');
  const t = new ConvTranspose1d(16, 8, 3, { stride: 2, padding: 1, outputPadding: 1 });
  assert.deepEqual([...t.outputPadding], [1]);
  assert.deepEqual([...new ConvTranspose2d(1, 1, 1).outputPadding], [0, 0]);
});

test('weight shapes: conv (C_out, C_in/g, *k), transposed (C_in, C_out/g, *k); bias (C_out)', () => {
  const shapes: [string, { weight: Tensor; bias: Tensor | null }, number[], number[] | null][] = [
    ['Conv1d(16, 33, 3)', new Conv1d(16, 33, 3), [33, 16, 3], [33]],
    ['Conv2d(4, 6, 3, groups 2)', new Conv2d(4, 6, 3, { groups: 2 }), [6, 2, 3, 3], [6]],
    ['Conv2d depthwise ×3', new Conv2d(4, 12, [1, 3], { groups: 4 }), [12, 1, 1, 3], [12]],
    ['Conv3d(2, 4, [1, 2, 3])', new Conv3d(2, 4, [1, 2, 3], { bias: false }), [4, 2, 1, 2, 3], null],
    ['ConvTranspose1d(16, 8, 3)', new ConvTranspose1d(16, 8, 3), [16, 8, 3], [8]],
    ['ConvTranspose2d(4, 6, [3, 2], groups 2)', new ConvTranspose2d(4, 6, [3, 2], { groups: 2 }), [4, 3, 3, 2], [6]],
    ['ConvTranspose3d(6, 3, 2, groups 3)', new ConvTranspose3d(6, 3, 2, { groups: 3 }), [6, 1, 2, 2, 2], [3]],
  ];
  for (const [name, m, w, b] of shapes) {
    assert.deepEqual([...m.weight.shape], w, name);
    assert.deepEqual(m.bias ? [...m.bias.shape] : null, b, name);
    assert.equal(m.weight.requiresGrad, true);
  }
});

function uniformStats(t: Tensor): { mean: number; std: number; maxAbs: number } {
  let m = 0, maxAbs = 0;
  for (const v of t.data) { m += v; maxAbs = Math.max(maxAbs, Math.abs(v)); }
  m /= t.size;
  let s = 0;
  for (const v of t.data) s += (v - m) ** 2;
  return { mean: m, std: Math.sqrt(s / (t.size - 1)), maxAbs };
}

test('PyTorch init: weight and bias U(−1/√fanIn, 1/√fanIn), fanIn = weight.shape[1]·prod(k)', () => {
  const cases: [string, { weight: Tensor; bias: Tensor | null }, number][] = [
    ['Conv2d(16, 32, 3)', new Conv2d(16, 32, 3, { seed: 1 }), 16 * 9],
    ['Conv2d(16, 32, 3, groups 4)', new Conv2d(16, 32, 3, { groups: 4, seed: 2 }), 4 * 9],
    ['Conv1d(8, 64, 5)', new Conv1d(8, 64, 5, { seed: 3 }), 40],
    // Transposed: fanIn = (C_out/g)·prod(k), not C_in.
    ['ConvTranspose2d(32, 16, 3)', new ConvTranspose2d(32, 16, 3, { seed: 4 }), 16 * 9],
    ['ConvTranspose3d(16, 8, 2, groups 2)', new ConvTranspose3d(16, 8, 2, { groups: 2, seed: 5 }), 4 * 8],
    ['ConvTranspose1d(64, 4, 3, float64)', new ConvTranspose1d(64, 4, 3, { seed: 6, dtype: 'float64' }), 12],
  ];
  for (const [name, m, fanIn] of cases) {
    const bound = 1 / Math.sqrt(fanIn);
    const { mean, std, maxAbs } = uniformStats(m.weight);
    const n = m.weight.size, sd = bound / Math.sqrt(3);
    assert.ok(maxAbs <= bound, `${name}: max |w| ${maxAbs} > bound ${bound}`);
    assert.ok(maxAbs > 0.95 * bound, `${name}: max |w| ${maxAbs} should approach ${bound}`);
    assert.ok(Math.abs(mean) < 4 * sd / Math.sqrt(n), `${name}: mean ${mean}`);
    assert.ok(Math.abs(std / sd - 1) < 0.1, `${name}: std ${std}, expected ${sd}`);
    const b = uniformStats(m.bias!);
    assert.ok(b.maxAbs <= bound, `${name}: max |b| ${b.maxAbs} > bound ${bound}`);
    assert.ok(new Set(m.bias!.data).size > 1, `${name}: bias is drawn, not constant`);
  }
});

test('seeds reproduce a module; the global generator follows manualSeed; resetParameters redraws', () => {
  const a = new ConvTranspose2d(3, 4, 3, { seed: 123 }), b = new ConvTranspose2d(3, 4, 3, { seed: 123 });
  assert.deepEqual(Array.from(a.weight.data), Array.from(b.weight.data));
  assert.deepEqual(Array.from(a.bias!.data), Array.from(b.bias!.data));
  const c = new ConvTranspose2d(3, 4, 3, { seed: 124 });
  assert.notDeepEqual(Array.from(a.weight.data), Array.from(c.weight.data));
  manualSeed(5);
  const g1 = new Conv1d(2, 2, 3);
  manualSeed(5);
  const g2 = new Conv1d(2, 2, 3);
  assert.deepEqual(Array.from(g1.weight.data), Array.from(g2.weight.data));
  const before = Array.from(a.weight.data);
  a.resetParameters();
  assert.notDeepEqual(Array.from(a.weight.data), before);
  b.resetParameters();
  assert.deepEqual(Array.from(a.weight.data), Array.from(b.weight.data), 'same seed, same second draw');
  // float64 draws are the float32 draws unrounded.
  const d64 = new Conv1d(2, 2, 3, { seed: 9, dtype: 'float64' }), d32 = new Conv1d(2, 2, 3, { seed: 9 });
  assert.equal(d64.weight.dtype, 'float64');
  assert.deepEqual(Array.from(d32.weight.data), Array.from(d64.weight.data, Math.fround));
});

test('extraRepr and toString follow PyTorch, non-default options only', () => {
  assert.equal(String(new Conv1d(16, 33, 3, { stride: 2 })), 'Conv1d(16, 33, kernelSize=[3], stride=[2])');
  assert.equal(new Conv3d(1, 1, 1).extraRepr(), '1, 1, kernelSize=[1, 1, 1]');
  assert.equal(
    String(new ConvTranspose2d(4, 6, [3, 2], { stride: [2, 1], padding: [[1, 0], [0, 0]], outputPadding: [1, 0], groups: 2, bias: false })),
    'ConvTranspose2d(4, 6, kernelSize=[3, 2], stride=[2, 1], padding=[[1, 0], [0, 0]], outputPadding=[1, 0], groups=2, bias=false)');
  assert.equal(
    String(new Conv2d(4, 6, 3, { padding: 'same', paddingMode: 'reflect', dilation: 2 })),
    "Conv2d(4, 6, kernelSize=[3, 3], padding='same', dilation=[2, 2], paddingMode='reflect')");
  assert.equal(String(new Conv1d(2, 2, 3, { padding: 1 })), 'Conv1d(2, 2, kernelSize=[3], padding=[[1, 1]])');
});

test('parameters, namedParameters and zeroGrad', () => {
  const m = new Conv1d(2, 3, 3, { seed: 1 });
  assert.deepEqual(m.namedParameters().map(([k]) => k), ['weight', 'bias']);
  assert.deepEqual(m.parameters(), [m.weight, m.bias]);
  const y = m.forward(randn([2, 2, 5], { seed: 2 }));
  y.backward(ones([2, 3, 3]));
  // gb = Σ gy over batch and space = 2·3 per channel.
  assert.deepEqual(Array.from(m.bias!.grad!.data), [6, 6, 6]);
  assert.ok(m.weight.grad !== null);
  m.zeroGrad();
  assert.equal(m.weight.grad, null);
  assert.equal(m.bias!.grad, null);
  assert.deepEqual(new Conv1d(2, 3, 3, { bias: false }).namedParameters().map(([k]) => k), ['weight']);
});

test('forward values equal docs/behaviour.md formulas: groups, dilation, stride, padding modes, batched and unbatched', () => {
  forEachBackend(() => {
    const m = new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2, seed: 7 });
    const x = randomValues(2 * 4 * 6 * 5, 7);
    const y = m.forward(tensor(x, [2, 4, 6, 5]));
    const ref = directConv(x, m.weight.data, { n: 2, cIn: 4, cOut: 6, groups: 2, inSize: [6, 5], kSize: [3, 2], stride: [2, 1], dilation: [1, 2], pads: [[1, 1], [0, 0]] });
    assert.deepEqual([...y.shape], [2, 6, ...ref.outSize]);
    const vol = prod(ref.outSize), b = m.bias!.data;
    assertClose(y.data, Array.from(ref.y, (v, i) => v + b[Math.floor(i / vol) % 6]), { rtol: 1e-5, atol: 1e-6, relativeTo: 'element' });
    // Unbatched input: the same numbers without the batch axis.
    const y0 = m.forward(tensor(x.slice(0, 4 * 6 * 5), [4, 6, 5]));
    assert.deepEqual([...y0.shape], [6, ...ref.outSize]);
    assert.deepEqual(Array.from(y0.data), Array.from(y.data.slice(0, 6 * vol)));
    // Padding modes by hand on [1, 2, 3] with a 1-tap identity kernel and padding 2.
    const id = (mode: 'zeros' | 'reflect' | 'replicate' | 'circular') => {
      const c = new Conv1d(1, 1, 1, { padding: 2, paddingMode: mode, bias: false });
      c.weight.data[0] = 1;
      return c.forward(tensor([[[1, 2, 3]]]));
    };
    assertTensor(id('zeros'), [[[0, 0, 1, 2, 3, 0, 0]]]);
    assertTensor(id('reflect'), [[[3, 2, 1, 2, 3, 2, 1]]]);
    assertTensor(id('replicate'), [[[1, 1, 1, 2, 3, 3, 3]]]);
    assertTensor(id('circular'), [[[2, 3, 1, 2, 3, 1, 2]]]);
    // 'same' with an even kernel pads one more after: y[o] = x[o − 1] + 10·x[o] + 100·x[o + 1] + 1000·x[o + 2].
    const s = new Conv1d(1, 1, 4, { padding: 'same', bias: false });
    s.weight.data.set([1, 10, 100, 1000]);
    assertTensor(s.forward(tensor([[[1, 2, 3]]])), [[[10 + 200 + 3000, 1 + 20 + 300, 2 + 30]]]);
    const r = new Conv1d(1, 1, 4, { padding: 'same', paddingMode: 'circular', bias: false });
    r.weight.data.set([1, 10, 100, 1000]);
    // circular [3 | 1 2 3 | 1 2]
    assertTensor(r.forward(tensor([[[1, 2, 3]]])), [[[3 + 10 + 200 + 3000, 1 + 20 + 300 + 1000, 2 + 30 + 100 + 2000]]]);
  });
});

test('ConvTranspose forward(x, outputSize): spatial or full shape, within [min, min + s − 1]', () => {
  forEachBackend(() => {
    const m = new ConvTranspose2d(2, 4, 3, { stride: [3, 2], padding: 1, groups: 2, seed: 8 });
    const x = randomValues(1 * 2 * 3 * 4, 8);
    // min = ((3 − 1)·3 − 2 + 2 + 1, (4 − 1)·2 − 2 + 2 + 1) = (7, 7); max = (9, 8).
    for (const [size, op] of [[[7, 7], [0, 0]], [[9, 8], [2, 1]], [[8, 7], [1, 0]]] as const) {
      const ref = directConvTranspose(x, m.weight.data, { n: 1, cIn: 2, cOut: 4, groups: 2, inSize: [3, 4], kSize: [3, 3], stride: [3, 2], dilation: [1, 1], pads: [[1, 1], [1, 1]] }, [...op]);
      assert.deepEqual(ref.outSize, [...size]);
      const vol = prod(ref.outSize), b = m.bias!.data;
      const expected = Array.from(ref.y, (v, i) => v + b[Math.floor(i / vol) % 4]);
      const y = m.forward(tensor(x, [1, 2, 3, 4]), [...size]);
      assert.deepEqual([...y.shape], [1, 4, ...size]);
      assertClose(y.data, expected, { rtol: 1e-5, atol: 1e-6, relativeTo: 'element' });
      const full = m.forward(tensor(x, [1, 2, 3, 4]), [1, 4, ...size]);
      assert.deepEqual(Array.from(full.data), Array.from(y.data));
      const unbatched = m.forward(tensor(x, [2, 3, 4]), [4, ...size]);
      assert.deepEqual([...unbatched.shape], [4, ...size]);
      assert.deepEqual(Array.from(unbatched.data), Array.from(y.data));
    }
    // docs/behaviour.md example 3 through outputSize instead of outputPadding.
    const t = new ConvTranspose1d(16, 8, 3, { stride: 2, padding: 1, seed: 3 });
    const u = new ConvTranspose1d(16, 8, 3, { stride: 2, padding: 1, outputPadding: 1, seed: 3 });
    const xs = randn([1, 16, 10], { seed: 3 });
    assert.deepEqual(Array.from(t.forward(xs, [20]).data), Array.from(u.forward(xs).data));
    assert.deepEqual([...t.forward(xs).shape], [1, 8, 19]);
  });
});

test('float64 modules compute in float64', () => {
  const m = new ConvTranspose3d(1, 1, 2, { dtype: 'float64', bias: false });
  m.weight.data.fill(0.1);
  const y = m.forward(tensor(new Float64Array(8).fill(0.1), [1, 1, 2, 2, 2]));
  assert.equal(y.dtype, 'float64');
  assert.deepEqual([...y.shape], [1, 1, 3, 3, 3]);
  // The centre receives all 8 inputs: 8 · 0.1 · 0.1 in float64.
  assert.ok(Math.abs(y.data[13] - 0.08) < 1e-15);
  assert.equal(y.data[0], 0.1 * 0.1);
});

test('forward(x, outputSize) is for transposed layers only, in PyTorch and Paddle terms', () => {
  const x = randn([1, 2, 6], { seed: 5 });
  for (const m of [new Conv1d(2, 3, 3, { seed: 1 }), new Conv1D(2, 3, 3, { seed: 1 })])
    assert.throws(() => m.forward(x, [4]), (e: unknown) =>
      e instanceof ConvError && e.param === 'outputSize' && /transposed/.test(e.message) && e.message.includes('[4]'));
  // The transposed ones take it: min = (6 − 1)·2 + 3 = 13, so 13 and 14 are both valid.
  const t = new ConvTranspose1d(2, 3, 3, { stride: 2, seed: 1 });
  assert.deepEqual(t.forward(x, [14]).shape, [1, 3, 14]);
  assert.deepEqual(new Conv1DTranspose(2, 3, 3, { stride: 2, seed: 1 }).forward(x, [13]).shape, [1, 3, 13]);
});

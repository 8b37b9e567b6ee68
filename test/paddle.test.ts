/** Paddle-only behaviour against hand-derived expectations (docs/behaviour.md, Paddle section). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Conv1D, Conv2D, Conv3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, paddle, tensor, randn, convTranspose1d, conv2d,
  type Tensor, ConvError,
} from '../src/index.js';
import { assertClose } from './helpers/close.js';
import {
  assertConvError, assertTensor, directConv, directConvTranspose, firstToLast, forEachBackend, lastToFirst, prod, randomValues,
} from './helpers-core.js';

const X6 = [[[1, 2, 3, 4, 5, 6]]];
const W3 = [[[1, 10, 100]]];

test("'SAME' convolution with stride 2: o = ceil(L/s), the odd pad goes after", () => {
  forEachBackend(() => {
    // L = 6, k = 3, s = 2: o = 3, padSum = 2·2 + 3 − 6 = 1 → [0, 1]; y[o] = Σ_j w[j]·x[2o + j].
    assertTensor(paddle.conv1d(tensor(X6), tensor(W3), null, { stride: 2, padding: 'SAME' }), [[[1 + 20 + 300, 3 + 40 + 500, 5 + 60]]]);
    // L = 5: o = 3, padSum = 4 + 3 − 5 = 2 → [1, 1]; y[o] = Σ_j w[j]·x[2o + j − 1].
    assertTensor(paddle.conv1d(tensor([[[1, 2, 3, 4, 5]]]), tensor(W3), null, { stride: 2, padding: 'same' }), [[[10 + 200, 2 + 30 + 400, 4 + 50]]]);
    // Module form, NCHW, different strides per dim: shape ceil(L/s) per dim, values from the pads of paddleSamePads.
    const m = new Conv2D(2, 3, [3, 2], { stride: [2, 3], padding: 'SAME', seed: 1 });
    const x = randomValues(2 * 7 * 8, 1);
    const y = m.forward(tensor(x, [1, 2, 7, 8]));
    assert.deepEqual([...y.shape], [1, 3, 4, 3]);
    // dim 0: L = 7, k = 3, s = 2 → padSum = 6 + 3 − 7 = 2 → [1, 1]; dim 1: L = 8, k = 2, s = 3 → padSum = 6 + 2 − 8 = 0.
    const ref = directConv(x, m.weight.data, { n: 1, cIn: 2, cOut: 3, groups: 1, inSize: [7, 8], kSize: [3, 2], stride: [2, 3], dilation: [1, 1], pads: [[1, 1], [0, 0]] });
    assert.deepEqual(ref.outSize, [4, 3]);
    assertClose(y.data, ref.y, { rtol: 1e-5, atol: 1e-6, relativeTo: 'element' }); // bias starts at 0 in Paddle
  });
});

test("'SAME' transposed convolution: (L − 1)·s − padSum + k, and L·s when s divides L and k ≥ s", () => {
  forEachBackend(() => {
    // L = 3, k = 3, s = 2: o = 2, padSum = 2 + 3 − 3 = 2 → [1, 1].
    // Full scatter (i·2 + j): [1, 10, 102, 20, 203, 30, 300]; cropping one each side leaves 5 = (3 − 1)·2 − 2 + 3.
    assertTensor(paddle.conv1dTranspose(tensor([[[1, 2, 3]]]), tensor(W3), null, { stride: 2, padding: 'SAME' }), [[[10, 102, 20, 203, 30]]]);
    const m = new Conv1DTranspose(1, 1, 3, { stride: 2, padding: 'same', biasAttr: false });
    m.weight.data.set([1, 10, 100]);
    assertTensor(m.forward(tensor([[[1, 2, 3]]])), [[[10, 102, 20, 203, 30]]]);
    // L = 4, k = 4, s = 2: L·s = 8 (seed 002's (L + s − 1)/s would say 2).
    const m2 = new Conv2DTranspose(2, 2, 4, { stride: 2, padding: 'SAME', seed: 2 });
    const x = randomValues(2 * 4 * 5, 2);
    const y = m2.forward(tensor(x, [1, 2, 4, 5]));
    // dim 1: L = 5, s = 2: o = 3, padSum = 4 + 4 − 5 = 3 → [1, 2]; output 8 − 3 + 4 = 9.
    assert.deepEqual([...y.shape], [1, 2, 8, 9]);
    const ref = directConvTranspose(x, m2.weight.data, { n: 1, cIn: 2, cOut: 2, groups: 1, inSize: [4, 5], kSize: [4, 4], stride: [2, 2], dilation: [1, 1], pads: [[1, 1], [1, 2]] }, [0, 0]);
    assertClose(y.data, ref.y, { rtol: 1e-5, atol: 1e-6, relativeTo: 'element' });
  });
});

test("'SAME' takes dilation as 1, for convolution and transposed convolution", () => {
  forEachBackend(() => {
    const a = paddle.conv1d(tensor(X6), tensor(W3), null, { stride: 2, padding: 'SAME', dilation: 3 });
    assertTensor(a, [[[321, 543, 65]]]);
    const m = new Conv1D(1, 1, 3, { padding: 'SAME', dilation: 2 });
    assert.deepEqual([...m.dilation], [1]);
    m.weight.data.set([1, 10, 100]);
    // stride 1, L = 6: padSum = 2 → [1, 1]; y[o] = x[o − 1] + 10·x[o] + 100·x[o + 1].
    assertTensor(m.forward(tensor(X6)), [[[210, 321, 432, 543, 654, 65]]]);
    const t = paddle.conv1dTranspose(tensor([[[1, 2, 3]]]), tensor(W3), null, { stride: 2, padding: 'SAME', dilation: 2 });
    assertTensor(t, [[[10, 102, 20, 203, 30]]]);
    // 'VALID' keeps the dilation: k = 3, δ = 2 spans 5 on L = 6 → 2 outputs.
    assertTensor(paddle.conv1d(tensor(X6), tensor(W3), null, { padding: 'valid', dilation: 2 }), [[[1 + 30 + 500, 2 + 40 + 600]]]);
    assertTensor(paddle.conv1d(tensor(X6), tensor(W3), null, { padding: 'VALID' }), [[[321, 432, 543, 654]]]);
  });
});

/** Runs a Paddle op on channels-last data and checks it equals the channels-first op with permuted data. */
function checkChannelsLast(rank: 1 | 2 | 3, transposed: boolean, seed: number): void {
  const formats = { 1: ['NCL', 'NLC'], 2: ['NCHW', 'NHWC'], 3: ['NCDHW', 'NDHWC'] } as const;
  const spatial = [5, 4, 3].slice(0, rank), cIn = 4, cOut = 2, groups = 2;
  const k = new Array<number>(rank).fill(2);
  const xFirst = randomValues(2 * cIn * prod(spatial), seed), shapeFirst = [2, cIn, ...spatial];
  const { y: xLast, shape: shapeLast } = firstToLast(xFirst, shapeFirst);
  const wShape = transposed ? [cIn, cOut / groups, ...k] : [cOut, cIn / groups, ...k];
  const w = tensor(randomValues(prod(wShape), seed + 1), wShape), b = tensor([0.5, -1]);
  const opts = { stride: 2, padding: [1, 0, 0, 1, 1, 1].slice(0, 2 * rank), groups };
  const fn = transposed
    ? [paddle.conv1dTranspose, paddle.conv2dTranspose, paddle.conv3dTranspose][rank - 1]
    : [paddle.conv1d, paddle.conv2d, paddle.conv3d][rank - 1];
  const first = fn(tensor(xFirst, shapeFirst), w, b, { ...opts, dataFormat: formats[rank][0] });
  const last = fn(tensor(xLast, shapeLast), w, b, { ...opts, dataFormat: formats[rank][1] });
  // The output keeps the input's layout.
  assert.deepEqual([...last.shape], [first.shape[0], ...first.shape.slice(2), first.shape[1]]);
  const back = lastToFirst(last.data, [...last.shape]);
  assert.deepEqual(back.shape, [...first.shape]);
  assertClose(back.y, first.data, { rtol: 1e-6, atol: 1e-6, relativeTo: 'element' });
  // And the channels-first result is docs/behaviour.md's formula.
  const g = { n: 2, cIn, cOut, groups, inSize: spatial, kSize: k, stride: k.map(() => 2), dilation: k.map(() => 1),
    pads: spatial.map((_, a) => [opts.padding[2 * a], opts.padding[2 * a + 1]] as [number, number]) };
  const ref = transposed ? directConvTranspose(xFirst, w.data, g, k.map(() => 0)) : directConv(xFirst, w.data, g);
  const vol = prod(ref.outSize);
  assertClose(first.data, Array.from(ref.y, (v, i) => v + b.data[Math.floor(i / vol) % cOut]), { rtol: 1e-5, atol: 1e-6, relativeTo: 'element' });
}

for (const rank of [1, 2, 3] as const)
  for (const transposed of [false, true])
    test(`channels-last ${['NLC', 'NHWC', 'NDHWC'][rank - 1]} ${transposed ? 'transposed ' : ''}convolution equals channels-first on permuted data`, () => {
      forEachBackend(() => checkChannelsLast(rank, transposed, 10 * rank + (transposed ? 1 : 0)));
    });

test('channels-last modules: Conv1D NLC by hand, Conv3DTranspose NDHWC against NCDHW', () => {
  forEachBackend(() => {
    const m = new Conv1D(2, 1, 2, { dataFormat: 'NLC', biasAttr: false });
    m.weight.data.set([1, 2, 3, 4]); // w[0, c, j]: channel 0 taps [1, 2], channel 1 taps [3, 4]
    // x (NLC) = positions [[1, 10], [2, 20], [3, 30]]: y[o] = 1·x0[o] + 2·x0[o+1] + 3·x1[o] + 4·x1[o+1].
    assertTensor(m.forward(tensor([[[1, 10], [2, 20], [3, 30]]])), [[[1 + 4 + 30 + 80], [2 + 6 + 60 + 120]]]);
    const a = new Conv3DTranspose(2, 2, 2, { dataFormat: 'NDHWC', stride: 2, seed: 5 });
    const b = new Conv3DTranspose(2, 2, 2, { stride: 2, seed: 5 });
    assert.deepEqual(Array.from(a.weight.data), Array.from(b.weight.data));
    const xf = randomValues(2 * 2 * 3 * 2, 6);
    const yf = b.forward(tensor(xf, [1, 2, 2, 3, 2]));
    const xl = firstToLast(xf, [1, 2, 2, 3, 2]);
    const yl = a.forward(tensor(xl.y, xl.shape));
    assertClose(lastToFirst(yl.data, [...yl.shape]).y, yf.data, { rtol: 1e-6, atol: 1e-6, relativeTo: 'element' });
  });
});

test('asymmetric list padding [b1, a1, b2, a2] and [[0,0],[0,0],[b,a],…], incl. the NHWC order', () => {
  forEachBackend(() => {
    const x = tensor([[[[1, 2], [3, 4]]]]), w = tensor([[[[1]]]]);
    // H: one row before; W: two columns after.
    const expected = [[[[0, 0, 0, 0], [1, 2, 0, 0], [3, 4, 0, 0]]]];
    assertTensor(paddle.conv2d(x, w, null, { padding: [1, 0, 0, 2] }), expected);
    assertTensor(paddle.conv2d(x, w, null, { padding: [[0, 0], [0, 0], [1, 0], [0, 2]] }), expected);
    const nhwc = paddle.conv2d(tensor([[[[1], [2]], [[3], [4]]]]), w, null, { padding: [[0, 0], [1, 0], [0, 2], [0, 0]], dataFormat: 'NHWC' });
    assertTensor(nhwc, [[[[0], [0], [0], [0]], [[1], [2], [0], [0]], [[3], [4], [0], [0]]]]);
    // The flat form is per spatial dim regardless of the layout.
    const nhwcFlat = paddle.conv2d(tensor([[[[1], [2]], [[3], [4]]]]), w, null, { padding: [1, 0, 0, 2], dataFormat: 'NHWC' });
    assert.deepEqual(nhwcFlat.toArray(), nhwc.toArray());
    // [p1, p2] is symmetric per dim; a one-element list is not repeated over dims (_update_padding_nd).
    assertTensor(paddle.conv2d(x, w, null, { padding: [1, 0] }), [[[[0, 0], [1, 2], [3, 4], [0, 0]]]]);
    assertConvError(() => paddle.conv2d(x, w, null, { padding: [1] }), 'conv2d', 'padding', ['[1]', 'one-element']);
    // 1-D: [b, a] is before/after.
    assertTensor(paddle.conv1d(tensor([[[1, 2]]]), tensor([[[1]]]), null, { padding: [2, 1] }), [[[0, 0, 1, 2, 0]]]);
    // Transposed: the full output [1, 10, 102, 20, 203, 30, 300] loses 2 before and 1 after.
    assertTensor(paddle.conv1dTranspose(tensor([[[1, 2, 3]]]), tensor(W3), null, { stride: 2, padding: [2, 1] }), [[[102, 20, 203, 30]]]);
    assertTensor(paddle.conv1dTranspose(tensor([[[1, 2, 3]]]), tensor(W3), null, { stride: 2, padding: [[0, 0], [0, 0], [2, 1]] }), [[[102, 20, 203, 30]]]);
    // Batch and channel pairs must be zero.
    assertConvError(() => paddle.conv2d(x, w, null, { padding: [[0, 0], [1, 0], [1, 0], [0, 2]] }), 'conv2d', 'padding', ['[0, 0]', '[[0, 0], [1, 0], [1, 0], [0, 2]]']);
    assertConvError(() => paddle.conv2d(x, w, null, { padding: [[0, 1], [0, 0], [1, 0], [0, 2]], dataFormat: 'NHWC' }), 'conv2d', 'padding', ['[0, 0]']);
    assertConvError(() => paddle.conv2d(x, w, null, { padding: [1, 0, 0] }), 'conv2d', 'padding', ['[1, 0, 0]']);
    assertConvError(() => paddle.conv2d(x, w, null, { padding: [1, -1, 0, 0] }), 'conv2d', 'padding', ['non-negative', '[1, -1, 0, 0]']);
  });
});

test('outputSize must lie in [L′, L′ + stride); it sets the output padding', () => {
  forEachBackend(() => {
    const x = tensor([[[1, 2, 3]]]), w = tensor(W3);
    // L′ = (3 − 1)·2 + 3 = 7.
    assertTensor(paddle.conv1dTranspose(x, w, null, { stride: 2, outputSize: [7] }), [[[1, 10, 102, 20, 203, 30, 300]]]);
    assertTensor(paddle.conv1dTranspose(x, w, null, { stride: 2, outputSize: [8] }), [[[1, 10, 102, 20, 203, 30, 300, 0]]]);
    assertConvError(() => paddle.conv1dTranspose(x, w, null, { stride: 2, outputSize: [9] }), 'conv1dTranspose', 'outputSize', ['[7]', '[8]', '[9]']);
    assertConvError(() => paddle.conv1dTranspose(x, w, null, { stride: 2, outputSize: [6] }), 'conv1dTranspose', 'outputSize', ['[6]']);
    // Module forward(x, outputSize), 2-D with strides (2, 3): L′ = (2·2 + 2, 1·3 + 2) = (6, 5).
    const m = new Conv2DTranspose(1, 1, 2, { stride: [2, 3], biasAttr: false });
    m.weight.data.set([1, 2, 3, 4]);
    const y = m.forward(tensor([[[[1, 1], [1, 1], [1, 1]]]]), [7, 7]);
    assert.deepEqual([...y.shape], [1, 1, 7, 7]);
    const ref = directConvTranspose([1, 1, 1, 1, 1, 1], [1, 2, 3, 4], { n: 1, cIn: 1, cOut: 1, groups: 1, inSize: [3, 2], kSize: [2, 2], stride: [2, 3], dilation: [1, 1], pads: [[0, 0], [0, 0]] }, [1, 2]);
    assertClose(y.data, ref.y, { rtol: 0, atol: 0, relativeTo: 'element' });
    assertConvError(() => m.forward(tensor([[[[1, 1], [1, 1], [1, 1]]]]), [8, 5]), 'Conv2DTranspose', 'outputSize', ['[6, 5]', '[7, 7]', '[8, 5]']);
    // With 'SAME': L′ = (L − 1)s − padSum + k.
    const s = paddle.conv1dTranspose(x, w, null, { stride: 2, padding: 'SAME', outputSize: [6] });
    assertTensor(s, [[[10, 102, 20, 203, 30, 300]]]);
  });
});

test('outputSize together with a non-zero outputPadding is an error in Paddle (not in PyTorch)', () => {
  const x = tensor([[[1, 2, 3]]]), w = tensor(W3);
  assertConvError(() => paddle.conv1dTranspose(x, w, null, { stride: 2, outputPadding: 1, outputSize: [8] }), 'conv1dTranspose', 'outputSize', ['[8]', 'outputPadding [1]']);
  const m = new Conv1DTranspose(1, 1, 3, { stride: 2, outputPadding: 1 });
  assertConvError(() => m.forward(x, [8]), 'Conv1DTranspose', 'outputSize', ['outputPadding [1]']);
  // outputPadding 0 with outputSize is fine, and so is PyTorch's outputSize with an outputPadding (outputSize wins).
  assert.deepEqual([...paddle.conv1dTranspose(x, w, null, { stride: 2, outputPadding: 0, outputSize: [8] }).shape], [1, 1, 8]);
  assert.deepEqual([...convTranspose1d(x, w, null, { stride: 2, outputPadding: 1, outputSize: [7] }).shape], [1, 1, 7]);
  // Without outputSize, outputPadding adds zeros at the end: < max(s, δ).
  assertTensor(paddle.conv1dTranspose(x, w, null, { stride: 2, outputPadding: 1 }), [[[1, 10, 102, 20, 203, 30, 300, 0]]]);
  assertConvError(() => paddle.conv1dTranspose(x, w, null, { stride: 2, outputPadding: 2 }), 'conv1dTranspose', 'outputPadding', ['[2]']);
  // A (non-transposed) convolution has no outputSize: it is an unknown option, not silently ignored.
  assertConvError(() => paddle.conv1d(x, w, null, { outputSize: [1] } as never), 'conv1d', 'outputSize', ['is not an option']);
});

test('biasAttr false means no bias parameter and no bias added', () => {
  const m = new Conv2D(2, 3, 1, { biasAttr: false });
  assert.equal(m.bias, null);
  assert.deepEqual(m.namedParameters().map(([k]) => k), ['weight']);
  const t = new Conv1DTranspose(2, 3, 1, { biasAttr: false });
  assert.equal(t.bias, null);
  assert.deepEqual(t.parameters().length, 1);
  m.weight.data.set([1, 0, 0, 1, 1, 1]);
  assertTensor(m.forward(tensor([[[[2]], [[5]]]])), [[[[2]], [[5]], [[7]]]]);
  const withBias = new Conv2D(2, 3, 1);
  assert.deepEqual(withBias.namedParameters().map(([k]) => k), ['weight', 'bias']);
  assert.deepEqual(Array.from(withBias.bias!.data), [0, 0, 0]);
});

function stats(t: Tensor): { mean: number; std: number; maxAbs: number } {
  let m = 0, maxAbs = 0;
  for (const v of t.data) { m += v; maxAbs = Math.max(maxAbs, Math.abs(v)); }
  m /= t.size;
  let s = 0;
  for (const v of t.data) s += (v - m) ** 2;
  return { mean: m, std: Math.sqrt(s / (t.size - 1)), maxAbs };
}

test("Paddle's default init: conv weight Normal(0, √(2/(C_in·prod(k)))), bias 0", () => {
  for (const [cin, cout, k, groups] of [[8, 16, 3, 1], [8, 16, 3, 4], [6, 12, [3, 5], 2]] as const) {
    const m = new Conv2D(cin, cout, k as number | number[], { groups, seed: 21 });
    const kVol = typeof k === 'number' ? k * k : k[0] * k[1];
    const std = Math.sqrt(2 / (cin * kVol));
    const { mean, std: s } = stats(m.weight);
    const n = m.weight.size;
    assert.ok(Math.abs(mean) < 4 * std / Math.sqrt(n), `mean ${mean} (std ${std}, n ${n})`);
    assert.ok(Math.abs(s / std - 1) < 0.1, `std ${s}, expected ${std}`);
    assert.deepEqual(Array.from(m.bias!.data), new Array(cout).fill(0));
  }
  // Normal, not uniform: some draws beyond √3·std (impossible for a uniform of the same variance).
  const big = new Conv3D(16, 32, 3, { seed: 4 });
  const std = Math.sqrt(2 / (16 * 27));
  assert.ok(stats(big.weight).maxAbs > Math.sqrt(3) * std * 1.2);
});

test("Paddle's default init: transposed weight Xavier-uniform with fanIn = (C_out/g)·prod(k), fanOut = C_in·prod(k)", () => {
  for (const [cin, cout, k, groups] of [[8, 16, 3, 1], [8, 16, 3, 2], [12, 4, 2, 4]] as const) {
    const m = new Conv2DTranspose(cin, cout, k, { groups, seed: 22 });
    const kVol = k * k;
    const limit = Math.sqrt(6 / ((cout / groups) * kVol + cin * kVol));
    const { mean, std, maxAbs } = stats(m.weight);
    const n = m.weight.size;
    assert.ok(maxAbs <= limit, `max |w| ${maxAbs} > limit ${limit}`);
    assert.ok(maxAbs > 0.9 * limit, `max |w| ${maxAbs} should approach ${limit}`);
    assert.ok(Math.abs(mean) < 4 * (limit / Math.sqrt(3)) / Math.sqrt(n), `mean ${mean}`);
    assert.ok(Math.abs(std / (limit / Math.sqrt(3)) - 1) < 0.12, `std ${std}, expected ${limit / Math.sqrt(3)}`);
    assert.deepEqual(Array.from(m.bias!.data), new Array(cout).fill(0));
  }
});

test('Paddle modules are reproducible from a seed', () => {
  const a = new Conv2DTranspose(4, 4, 3, { seed: 99 }), b = new Conv2DTranspose(4, 4, 3, { seed: 99 }), c = new Conv2DTranspose(4, 4, 3, { seed: 100 });
  assert.deepEqual(Array.from(a.weight.data), Array.from(b.weight.data));
  assert.notDeepEqual(Array.from(a.weight.data), Array.from(c.weight.data));
  const x = randn([1, 4, 3, 3], { seed: 1 });
  assert.deepEqual(Array.from(a.forward(x).data), Array.from(b.forward(x).data));
});

test('Paddle and PyTorch spellings agree where they overlap (symmetric padding, groups, dilation)', () => {
  forEachBackend(() => {
    const x = randn([2, 4, 6, 5], { seed: 31 }), w = randn([6, 2, 3, 2], { seed: 32 }), b = randn([6], { seed: 33 });
    const opts = { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 };
    assert.deepEqual(Array.from(paddle.conv2d(x, w, b, opts).data), Array.from(conv2d(x, w, b, opts).data));
  });
});

test("paddle.describeConv resolves Paddle's padding and dilation as the op does, without running it", () => {
  const x = randn([1, 2, 11]), w = randn([2, 3, 4]);
  const d = paddle.describeConv('conv1dTranspose', x.shape, w.shape, { stride: 3, padding: 'SAME', dilation: 2 } as never);
  // 'SAME' takes dilation 1 and Paddle's pads: o = ⌈11/3⌉ = 4, padSum = max(3·3 + 4 − 11, 0) = 2.
  assert.deepEqual([...d.dilation], [1]);
  assert.deepEqual(d.pads.map((p) => [...p]), [[1, 1]]);
  assert.deepEqual([...d.outputShape], [...paddle.conv1dTranspose(x, w, null, { stride: 3, padding: 'SAME', dilation: 2 } as never).shape]);
  assert.deepEqual([...d.outputShape], [1, 3, (11 - 1) * 3 - 2 + 4]);
  assert.throws(() => paddle.describeConv('conv4d' as never, x.shape, w.shape), ConvError);
});

/** docs/behaviour.md's worked examples, exactly, on every backend, in PyTorch's and Paddle's terms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Conv1d, Conv1DTranspose, ConvTranspose1d, ConvTranspose2d, Conv2DTranspose, conv1d, convTranspose1d, convTranspose2d,
  paddle, tensor, backends, type DType,
} from '../src/index.js';
import { assertTensor, directConv, directConvTranspose, forEachBackend, randomValues } from './helpers-core.js';
import { assertClose, flat, type Nested } from './helpers/close.js';

const X1 = [[[4, 0, 9, 7], [8, 0, 9, 2]]];
const W1 = [[[7, 0]], [[4, 2]]];
const Y1 = [[[60, 16, 99, 75, 4]]];

const X2 = [[[[0, 1], [2, 3]]]];
const W2 = [[[[1.1, 2.2], [3.3, 4.4]]]];
const EX2: [string, { stride?: number | number[]; dilation?: number; padding?: number; outputPadding?: number }, Nested][] = [
  ['stride 1', {}, [[0, 1.1, 2.2], [2.2, 11, 11], [6.6, 18.7, 13.2]]],
  ['stride (1, 2)', { stride: [1, 2] }, [[0, 0, 1.1, 2.2], [2.2, 4.4, 6.6, 11], [6.6, 8.8, 9.9, 13.2]]],
  ['dilation 2', { dilation: 2 }, [[0, 1.1, 0, 2.2], [2.2, 3.3, 4.4, 6.6], [0, 3.3, 0, 4.4], [6.6, 9.9, 8.8, 13.2]]],
  ['padding 1', { padding: 1 }, [[11]]],
  // Hand-derived: each x[i][j] scatters x·w into the 2×2 block at (2i, 2j); output padding adds a zero row and column.
  ['stride 2, outputPadding 1', { stride: 2, outputPadding: 1 },
    [[0, 0, 1.1, 2.2, 0], [0, 0, 3.3, 4.4, 0], [2.2, 4.4, 3.3, 6.6, 0], [6.6, 8.8, 9.9, 13.2, 0], [0, 0, 0, 0, 0]]],
];

test('backends: ref and js are registered', () => {
  assert.ok(backends().includes('ref'));
  assert.ok(backends().includes('js'));
});

for (const dtype of ['float32', 'float64'] as DType[]) {
  const tol = dtype === 'float64' ? 1e-12 : 1e-6;

  test(`example 1 (${dtype}): Paddle Conv1DTranspose(2, 1, 2), bias 0 → [60, 16, 99, 75, 4]`, () => {
    forEachBackend(() => {
      const layer = new Conv1DTranspose(2, 1, 2, { dtype });
      assert.deepEqual(Array.from(layer.bias!.data), [0], 'Paddle bias starts at 0');
      layer.weight.data.set(flat(W1));
      assertTensor(layer.forward(tensor(X1, undefined, { dtype })), Y1, 0, 0);
      // The same through paddle.nn.functional and PyTorch's functional API (same weight layout).
      assertTensor(paddle.conv1dTranspose(tensor(X1, undefined, { dtype }), tensor(W1, undefined, { dtype })), Y1, 0, 0);
      assertTensor(convTranspose1d(tensor(X1, undefined, { dtype }), tensor(W1, undefined, { dtype })), Y1, 0, 0);
      // Unbatched input gives an unbatched output.
      assertTensor(convTranspose1d(tensor(X1[0], undefined, { dtype }), tensor(W1, undefined, { dtype })), Y1[0], 0, 0);
      // The hand sum from the inputs, against what was computed: y[0] = x[0,0]·w[0,0,0] + x[1,0]·w[1,0,0] (4·7 + 8·4),
      // y[1] = x[0,0]·w[0,0,1] + x[1,0]·w[1,0,1] + x[0,1]·w[0,0,0] + x[1,1]·w[1,0,0] (4·0 + 8·2 + 0·7 + 0·4).
      const y = convTranspose1d(tensor(X1, undefined, { dtype }), tensor(W1, undefined, { dtype })).data;
      const [x0, x1] = X1[0], [[w0], [w1]] = W1;
      assert.deepEqual([y[0], y[1]], [x0[0] * w0[0] + x1[0] * w1[0], x0[0] * w0[1] + x1[0] * w1[1] + x0[1] * w0[0] + x1[1] * w1[0]]);
    });
  });

  for (const [name, opts, expected] of EX2)
    test(`example 2 (${dtype}): PyTorch ConvTranspose2d(1, 1, 2, bias=False), ${name}`, () => {
      forEachBackend(() => {
        const layer = new ConvTranspose2d(1, 1, 2, { ...opts, bias: false, dtype });
        assert.equal(layer.bias, null);
        layer.weight.data.set(flat(W2));
        assertTensor(layer.forward(tensor(X2, undefined, { dtype })), [[expected]], tol, tol);
        assertTensor(convTranspose2d(tensor(X2, undefined, { dtype }), tensor(W2, undefined, { dtype }), null, opts), [[expected]], tol, tol);
      });
    });

  test(`example 2 (${dtype}): dilation 2 equals stride 1 with the dilated kernel`, () => {
    forEachBackend(() => {
      const dilated = tensor([[[[1.1, 0, 2.2], [0, 0, 0], [3.3, 0, 4.4]]]], undefined, { dtype });
      const a = convTranspose2d(tensor(X2, undefined, { dtype }), dilated);
      const b = convTranspose2d(tensor(X2, undefined, { dtype }), tensor(W2, undefined, { dtype }), null, { dilation: 2 });
      assertTensor(a, [[EX2[2][2]]], tol, tol);
      assert.deepEqual(Array.from(a.data), Array.from(b.data));
    });
  });
}

test('example 2 in Paddle terms: Conv2DTranspose(1, 1, 2, stride=2, output_padding=1) and NHWC', () => {
  forEachBackend(() => {
    const layer = new Conv2DTranspose(1, 1, 2, { stride: 2, outputPadding: 1, biasAttr: false });
    layer.weight.data.set(flat(W2));
    assertTensor(layer.forward(tensor(X2)), [[EX2[4][2]]]);
    const nhwc = paddle.conv2dTranspose(tensor([[[[0], [1]], [[2], [3]]]]), tensor(W2), null, { stride: 2, outputPadding: 1, dataFormat: 'NHWC' });
    assertTensor(nhwc, [(EX2[4][2] as number[][]).map((row) => row.map((v) => [v]))]);
  });
});

test('example 3: ConvTranspose1d(16, 8, 3, stride=2, padding=1, output_padding=1) on (1, 16, 10) → (1, 8, 20), values per docs/behaviour.md', () => {
  const x = randomValues(160, 3), layer = new ConvTranspose1d(16, 8, 3, { stride: 2, padding: 1, outputPadding: 1, seed: 3 });
  const ref = directConvTranspose(x, layer.weight.data, { n: 1, cIn: 16, cOut: 8, groups: 1, inSize: [10], kSize: [3], stride: [2], dilation: [1], pads: [[1, 1]] }, [1]);
  assert.deepEqual(ref.outSize, [20]);
  const b = Array.from(layer.bias!.data);
  const expected = Array.from(ref.y, (v, i) => v + b[Math.floor(i / 20)]);
  forEachBackend(() => {
    const y = layer.forward(tensor(x, [1, 16, 10]));
    assert.deepEqual([...y.shape], [1, 8, 20]);
    assertClose(y.data, expected, { rtol: 1e-5, atol: 1e-5, relativeTo: 'element' });
  });
});

test('example 4: Conv1d(16, 33, 3, stride=2) on (20, 16, 50) → (20, 33, 24), values per docs/behaviour.md', () => {
  const x = randomValues(20 * 16 * 50, 4), layer = new Conv1d(16, 33, 3, { stride: 2, seed: 4 });
  const ref = directConv(x, layer.weight.data, { n: 20, cIn: 16, cOut: 33, groups: 1, inSize: [50], kSize: [3], stride: [2], dilation: [1], pads: [[0, 0]] });
  assert.deepEqual(ref.outSize, [24]);
  const b = Array.from(layer.bias!.data);
  const expected = Array.from(ref.y, (v, i) => v + b[Math.floor(i / 24) % 33]);
  forEachBackend(() => {
    const y = layer.forward(tensor(x, [20, 16, 50]));
    assert.deepEqual([...y.shape], [20, 33, 24]);
    assertClose(y.data, expected, { rtol: 1e-5, atol: 1e-5, relativeTo: 'element' });
    const viaFunctional = conv1d(tensor(x, [20, 16, 50]), layer.weight, layer.bias, { stride: 2 });
    assert.deepEqual(Array.from(viaFunctional.data), Array.from(y.data));
  });
});

test('example 5: ConvTranspose2d(32, 64, 4, stride=2, padding=1) on (1, 32, 16, 16) → (1, 64, 32, 32), values per docs/behaviour.md', () => {
  const x = randomValues(32 * 16 * 16, 5), layer = new ConvTranspose2d(32, 64, 4, { stride: 2, padding: 1, seed: 5 });
  const ref = directConvTranspose(x, layer.weight.data,
    { n: 1, cIn: 32, cOut: 64, groups: 1, inSize: [16, 16], kSize: [4, 4], stride: [2, 2], dilation: [1, 1], pads: [[1, 1], [1, 1]] }, [0, 0]);
  assert.deepEqual(ref.outSize, [32, 32]);
  const b = Array.from(layer.bias!.data);
  const expected = Array.from(ref.y, (v, i) => v + b[Math.floor(i / 1024)]);
  forEachBackend(() => {
    const y = layer.forward(tensor(x, [1, 32, 16, 16]));
    assert.deepEqual([...y.shape], [1, 64, 32, 32]);
    assertClose(y.data, expected, { rtol: 1e-5, atol: 1e-5, relativeTo: 'element' });
  });
});

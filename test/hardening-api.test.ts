/**
 * Hardening of the public API: Paddle's rules as Paddle's source states them, PyTorch's rules as
 * PyTorch 1.13 behaves (test/cases/torch-hardening.json, from scripts/gen_hardening_fixtures.py),
 * read-only tensors, a graph freed after backward, module options checked against the real set,
 * an atomic loadStateDict, and hostile values that must give a ConvError and change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  Adam, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, Conv1D, Conv2D, Conv3D, Conv1DTranspose,
  Conv2DTranspose, Conv3DTranspose, ConvError, Generator, SGD, Sequential, Tensor, conv1d, conv2d, conv3d, convTranspose1d,
  convTranspose2d, convTranspose3d, full, loadSafetensorsStateDict, manualSeed, mul, ones, paddle, rand, randn, sum, tensor,
  writeSafetensors, zeros, noGrad, describeConv,
} from '../src/index.js';
import { assertConvError, assertTensor } from './helpers-core.js';

interface Enc { shape: number[]; data: number[] }
const torchCases = JSON.parse(readFileSync(new URL('./cases/torch-hardening.json', import.meta.url), 'utf8')) as {
  lists: { op: string; x: Enc; w: Enc; options: Record<string, unknown>; y: Enc }[];
  refused: { name: string; error: string; message: string }[];
  retained: { x: Enc; grad: Enc };
};
const t64 = (e: Enc) => tensor(Float64Array.from(e.data), e.shape);
const same = (a: Tensor, b: Tensor) => {
  assert.deepEqual([...a.shape], [...b.shape]);
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
};

// ---------------------------------------------------------------- Paddle behaviour

test('Paddle: an integer outputSize is one size per spatial dim (layer and function)', () => {
  // Conv1DTranspose(6, 8, 3, NLC) on (4, L=16, C=6): L′ = 15 + 3 = 18.
  const m = new Conv1DTranspose(6, 8, 3, { dataFormat: 'NLC', seed: 3 });
  const x = randn([4, 16, 6], { seed: 4 });
  const y = m.forward(x, 18);
  assert.deepEqual([...y.shape], [4, 18, 8]);
  same(y, m.forward(x));
  // conv2d_transpose(x [2,3,8,8], w [3,6,3,3], stride 2, output_size 17 / 18): L′ = 7·2 + 3 = 17.
  const x2 = randn([2, 3, 8, 8], { seed: 5 }), w2 = randn([3, 6, 3, 3], { seed: 6 });
  const a = paddle.conv2dTranspose(x2, w2, null, { stride: 2, outputSize: 17 });
  assert.deepEqual([...a.shape], [2, 6, 17, 17]);
  same(a, convTranspose2d(x2, w2, null, { stride: 2 }));
  // 18 in both dims is output padding 1 in both dims.
  same(paddle.conv2dTranspose(x2, w2, null, { stride: 2, outputSize: 18 }), convTranspose2d(x2, w2, null, { stride: 2, outputPadding: 1 }));
  assertConvError(() => paddle.conv2dTranspose(x2, w2, null, { stride: 2, outputSize: 19 }), 'conv2dTranspose', 'outputSize', ['[19, 19]']);
  assertConvError(() => paddle.conv2dTranspose(x2, w2, null, { stride: 2, outputSize: 17.5 }), 'conv2dTranspose', 'outputSize', ['17.5']);
});

test('Paddle: outputSize lists the spatial sizes only; a full shape is refused (PyTorch keeps accepting it)', () => {
  const x = tensor([[[1, 2, 3]]]), w = tensor([[[1, 10, 100]]]);
  assertConvError(() => paddle.conv1dTranspose(x, w, null, { stride: 2, outputSize: [1, 1, 7] }), 'conv1dTranspose', 'outputSize', ['[1, 1, 7]', 'no full shape']);
  assertConvError(() => new Conv2DTranspose(1, 1, 2).forward(randn([1, 1, 2, 2]), [1, 1, 3, 3]), 'Conv2DTranspose', 'outputSize', ['[1, 1, 3, 3]']);
  // One value for a 2-D op is not repeated either (convert_to_list(output_size, 2)).
  assertConvError(() => paddle.conv2dTranspose(randn([1, 1, 2, 2]), randn([1, 1, 2, 2]), null, { outputSize: [3] }), 'conv2dTranspose', 'outputSize', ['[3]']);
  assertTensor(convTranspose1d(x, w, null, { stride: 2, outputSize: [1, 1, 7] }), [[[1, 10, 102, 20, 203, 30, 300]]]);
});

test('Paddle: Conv2DTranspose/Conv3DTranspose called with an outputSize drop the layer\'s outputPadding; Conv1DTranspose refuses', () => {
  const m2 = new Conv2DTranspose(2, 3, 2, { stride: 2, outputPadding: 1, seed: 7 });
  const x2 = randn([1, 2, 3, 3], { seed: 8 });
  // Without outputSize: L′ + 1 = 6 + 1.
  same(m2.forward(x2), convTranspose2d(x2, m2.weight, m2.bias, { stride: 2, outputPadding: 1 }));
  // With outputSize the layer's output padding is 0 (Paddle's forward passes output_padding=0).
  same(m2.forward(x2, [6, 6]), convTranspose2d(x2, m2.weight, m2.bias, { stride: 2 }));
  same(m2.forward(x2, [6, 7]), convTranspose2d(x2, m2.weight, m2.bias, { stride: 2, outputPadding: [0, 1] }));
  assert.deepEqual([...m2.outputPadding], [1, 1]); // the layer itself is unchanged
  const m3 = new Conv3DTranspose(1, 2, 2, { stride: 2, outputPadding: 1, seed: 9 });
  const x3 = randn([1, 1, 2, 2, 2], { seed: 10 });
  same(m3.forward(x3, 4), convTranspose3d(x3, m3.weight, m3.bias, { stride: 2 }));
  const m1 = new Conv1DTranspose(1, 1, 2, { stride: 2, outputPadding: 1 });
  assertConvError(() => m1.forward(randn([1, 1, 3]), [6]), 'Conv1DTranspose', 'outputSize', ['outputPadding [1]']);
  // The functional form refuses both together in every rank (output_padding is mutually exclusive with output_size).
  assertConvError(() => paddle.conv2dTranspose(x2, m2.weight, null, { stride: 2, outputPadding: 1, outputSize: [7, 7] }), 'conv2dTranspose', 'outputSize', ['outputPadding [1, 1]']);
});

test("Paddle: conv1dTranspose refuses an outputPadding greater than the stride, whatever the dilation (2-D keeps max(s, δ))", () => {
  const x = randn([1, 2, 4], { seed: 11 }), w = randn([2, 3, 3], { seed: 12 });
  // s = 1, δ = 3, op = 2: PyTorch (op < δ) and Paddle's shape inference accept it, conv1d_transpose does not.
  assert.deepEqual([...convTranspose1d(x, w, null, { dilation: 3, outputPadding: 2 }).shape], [1, 3, 12]);
  assertConvError(() => paddle.conv1dTranspose(x, w, null, { dilation: 3, outputPadding: 2 }), 'conv1dTranspose', 'outputPadding', ['greater than the stride', '[2]', '[1]']);
  assertConvError(() => new Conv1DTranspose(2, 3, 3, { dilation: 3, outputPadding: 2 }), 'Conv1DTranspose', 'outputPadding', ['[2]']);
  // op = s = 2 with δ = 3 is not greater than the stride and is below max(s, δ): accepted, PyTorch's values.
  same(paddle.conv1dTranspose(x, w, null, { stride: 2, dilation: 3, outputPadding: 2 }), convTranspose1d(x, w, null, { stride: 2, dilation: 3, outputPadding: 2 }));
  // The 2-D op has only the max(s, δ) rule.
  const x2 = randn([1, 2, 3, 3], { seed: 13 }), w2 = randn([2, 1, 2, 2], { seed: 14 });
  same(paddle.conv2dTranspose(x2, w2, null, { dilation: 3, outputPadding: 2 }), convTranspose2d(x2, w2, null, { dilation: 3, outputPadding: 2 }));
});

test('Paddle: a padding mode needs an integer padding; the functional ops have no paddingMode', () => {
  assertConvError(() => new Conv2D(1, 1, 3, { paddingMode: 'reflect', padding: 'SAME' }), 'Conv2D', 'padding', ["'reflect'", "'SAME'"]);
  assertConvError(() => new Conv1D(1, 1, 3, { paddingMode: 'circular', padding: [1] }), 'Conv1D', 'padding', ['[1]']);
  // An integer works and pads by the mode, as PyTorch's module with the same weight.
  const p = new Conv2D(2, 3, 3, { paddingMode: 'reflect', padding: 1, seed: 15 });
  const x = randn([1, 2, 4, 5], { seed: 16 });
  same(p.forward(x), conv2d(x, p.weight, p.bias, { padding: 1, paddingMode: 'reflect' }));
  assertConvError(() => paddle.conv1d(randn([1, 1, 4]), randn([1, 1, 2]), null, { paddingMode: 'reflect' } as never), 'conv1d', 'paddingMode', ['is not an option', 'stride, padding, dilation, groups, dataFormat']);
});

test('Paddle: input must be batched (3-D/4-D/5-D); the PyTorch API keeps unbatched input', () => {
  const w = tensor([[[1, 2]]]);
  assertConvError(() => paddle.conv1d(tensor([[1, 2, 3]]), w), 'conv1d', 'input', ['3-D', '[1, 3]']);
  assertConvError(() => paddle.conv2dTranspose(randn([1, 3, 3]), randn([1, 1, 2, 2])), 'conv2dTranspose', 'input', ['4-D', '[1, 3, 3]']);
  assertConvError(() => new Conv3D(1, 1, 1).forward(randn([1, 2, 2, 2])), 'Conv3D', 'input', ['5-D']);
  assertConvError(() => new Conv1DTranspose(1, 1, 2).forward(randn([1, 3])), 'Conv1DTranspose', 'input', ['3-D']);
  assertTensor(conv1d(tensor([[1, 2, 3]]), w), [[5, 8]]);
});

test("Paddle: padding lists as _update_padding_nd takes them: [p] only for 1-D, pairs only with the batch and channel pairs", () => {
  const x = tensor([[[[1, 2], [3, 4]]]]), w = tensor([[[[1]]]]);
  assertConvError(() => paddle.conv2d(x, w, null, { padding: [1] }), 'conv2d', 'padding', ['[1]']);
  assertConvError(() => new Conv3D(1, 1, 1, { padding: [1] }), 'Conv3D', 'padding', ['[1]']);
  assertConvError(() => paddle.conv2d(x, w, null, { padding: [[1, 1], [2, 2]] }), 'conv2d', 'padding', ['[[1, 1], [2, 2]]', 'batch and channel']);
  assertConvError(() => paddle.conv1d(tensor([[[1, 2]]]), tensor([[[1]]]), null, { padding: [[1, 1]] }), 'conv1d', 'padding', ['[[1, 1]]']);
  assertTensor(paddle.conv1d(tensor([[[1, 2]]]), tensor([[[1]]]), null, { padding: [1] }), [[[0, 1, 2, 0]]]);
  assertTensor(paddle.conv2d(x, w, null, { padding: [[0, 0], [0, 0], [1, 0], [0, 1]] }), [[[[0, 0, 0], [1, 2, 0], [3, 4, 0]]]]);
  // Paddle's layout names only (convkit's 'channelsLast' is a PyTorch-API spelling).
  assertConvError(() => paddle.conv2d(x, w, null, { dataFormat: 'channelsLast' as never }), 'conv2d', 'dataFormat', ["'NCHW' or 'NHWC'", "'channelsLast'"]);
  assertConvError(() => new Conv1DTranspose(1, 1, 1, { dataFormat: 'NHWC' as never }), 'Conv1DTranspose', 'dataFormat', ["'NCL' or 'NLC'"]);
  // Paddle's stride and dilation lists have one value per dim too.
  assertConvError(() => paddle.conv2d(x, w, null, { stride: [2] }), 'conv2d', 'stride', ['[2]']);
  // PyTorch's per-dim pairs stay a convkit extension of the PyTorch API.
  assertTensor(conv2d(x, w, null, { padding: [[1, 0], [0, 1]] }), [[[[0, 0, 0], [1, 2, 0], [3, 4, 0]]]]);
});

// ---------------------------------------------------------------- PyTorch behaviour

test('PyTorch: transposed convolutions take no padding strings (TypeError in PyTorch 1.13 → ConvError)', () => {
  const refusedByTorch = torchCases.refused.filter((c) => c.name.includes('padding'));
  assert.equal(refusedByTorch.length, 4);
  for (const c of refusedByTorch) assert.equal(c.error, 'TypeError', c.name);
  for (const pad of ['valid', 'same']) {
    assertConvError(() => convTranspose1d(randn([1, 2, 5]), randn([2, 3, 3]), null, { padding: pad as never }), 'convTranspose1d', 'padding', [`'${pad}'`, 'no padding strings']);
    assertConvError(() => convTranspose2d(randn([1, 2, 3, 3]), randn([2, 3, 1, 1]), null, { padding: pad as never }), 'convTranspose2d', 'padding', [`'${pad}'`]);
    assertConvError(() => convTranspose3d(randn([1, 2, 2, 2, 2]), randn([2, 1, 1, 1, 1]), null, { padding: pad as never }), 'convTranspose3d', 'padding', [`'${pad}'`]);
    // PyTorch's modules accept the string and fail at forward; convkit refuses at construction.
    for (const M of [ConvTranspose1d, ConvTranspose2d, ConvTranspose3d])
      assertConvError(() => new M(2, 3, 3, { padding: pad as never }), M.name, 'padding', [`'${pad}'`]);
  }
});

test("PyTorch: a one-element stride/padding/dilation/outputPadding list applies to every dim (PyTorch's values)", () => {
  const fns = { conv2d, conv3d, convTranspose2d, convTranspose3d } as Record<string, (x: Tensor, w: Tensor, b: null, o: object) => Tensor>;
  assert.equal(torchCases.lists.length, 5);
  for (const c of torchCases.lists) {
    const y = fns[c.op](t64(c.x), t64(c.w), null, c.options);
    assert.deepEqual([...y.shape], c.y.shape, `${c.op} ${JSON.stringify(c.options)}`);
    assert.deepEqual(Array.from(y.data), c.y.data, `${c.op} ${JSON.stringify(c.options)}`);
  }
  // Lists of another wrong length stay errors, naming both accepted lengths.
  assertConvError(() => conv3d(randn([1, 1, 3, 3, 3]), randn([1, 1, 1, 1, 1]), null, { padding: [1, 1] }), 'conv3d', 'padding', ['1 or 3', '[1, 1]']);
});

// ---------------------------------------------------------------- Tensors

test('tensors: data, shape and dtype are read-only, so no call can see a changed shape', () => {
  const x = tensor([[[1, 2, 3, 4]]]), w = tensor([[[1, 1]]]);
  assertTensor(conv1d(x, w), [[[3, 5, 7]]]);
  assertConvError(() => { (x as { shape: number[] }).shape = [1, 1, 1024]; }, 'Tensor', 'shape', ['read-only']);
  assertConvError(() => { (x as { data: Float32Array }).data = new Float32Array(1024); }, 'Tensor', 'data', ['read-only']);
  assertConvError(() => { (x as { dtype: string }).dtype = 'float64'; }, 'Tensor', 'dtype', ['read-only']);
  assert.throws(() => { (x.shape as number[])[2] = 1024; }, TypeError); // a frozen array, as the language makes it
  assert.deepEqual([...x.shape], [1, 1, 4]);
  assertTensor(conv1d(x, w), [[[3, 5, 7]]]);
  // The values stay writable in place (that is how parameters are updated).
  x.data[0] = 10;
  assertTensor(conv1d(x, w), [[[12, 5, 7]]]);
});

test('tensors: an object that only borrows Tensor.prototype is not a Tensor', () => {
  const fake = Object.create(Tensor.prototype) as Tensor;
  assert.equal(fake instanceof Tensor, false);
  assertConvError(() => conv1d(fake, tensor([[[1]]])), 'conv1d', 'input', ['must be a Tensor']);
  const y = mul(tensor([1, 2], undefined, { requiresGrad: true }), 2);
  assertConvError(() => y.backward(fake), 'backward', 'gradOutput', ['must be a Tensor']);
  assertConvError(() => new Tensor([1, 2] as never, [2]), 'tensor', 'data', ['Float32Array or Float64Array']);
});

test('backward(g) refuses a gradient of the wrong shape, size or dtype and accumulates nothing (PyTorch: "Mismatch in shape")', () => {
  assert.equal(torchCases.refused.find((c) => c.name.includes('wrong shape'))!.error, 'RuntimeError');
  const x = randn([1, 2, 5], { seed: 17, requiresGrad: true }), w = randn([3, 2, 2], { seed: 18, requiresGrad: true });
  const y = conv1d(x, w);
  assertConvError(() => y.backward(zeros([1, 3, 3])), 'backward', 'gradOutput', ['[1, 3, 4]', '[1, 3, 3]']);
  assertConvError(() => y.backward(zeros([12])), 'backward', 'gradOutput', ['[1, 3, 4]', '[12]']);
  assertConvError(() => y.backward(zeros([1, 3, 4], { dtype: 'float64' })), 'backward', 'gradOutput', ['float64']);
  assert.equal(x.grad, null);
  assert.equal(w.grad, null);
  // A leaf's grad can only be set to its own shape and dtype (PyTorch: "assigned grad has data of a different size").
  assertConvError(() => { x.grad = zeros([3]); }, 'Tensor', 'grad', ['[1, 2, 5]', '[3]']);
  y.backward(ones([1, 3, 4]));
  assert.deepEqual([...x.grad!.shape], [1, 2, 5]);
});

test('backward twice through one graph throws as in PyTorch; { retainGraph: true } keeps it (PyTorch\'s gradient)', () => {
  const torchTwice = torchCases.refused.find((c) => c.name === 'backward twice')!;
  assert.match(torchTwice.message, /backward through the graph a second time/);
  const { x: xe, grad } = torchCases.retained;
  // sum(x · x) backward twice with retain_graph: 2·(2x) = [4, 8, 12].
  const x = tensor(Float64Array.from(xe.data), xe.shape, { requiresGrad: true });
  const y = sum(mul(x, x));
  y.backward(undefined, { retainGraph: true });
  y.backward();
  assert.deepEqual(Array.from(x.grad!.data), grad.data);
  // The second backward freed it: a third throws and changes nothing.
  assertConvError(() => y.backward(), 'backward', 'graph', ['second time', 'retainGraph']);
  assert.deepEqual(Array.from(x.grad!.data), grad.data);
  // Through a convolution, and through a graph that shares a freed part.
  const a = randn([1, 1, 4], { seed: 19, requiresGrad: true }), w = randn([1, 1, 2], { seed: 20 });
  const h = conv1d(a, w), out = sum(h);
  out.backward();
  const first = Array.from(a.grad!.data);
  assertConvError(() => out.backward(), 'backward', 'graph', ['second time']);
  assertConvError(() => sum(mul(h, 3)).backward(), 'backward', 'graph', ['second time']);
  assert.deepEqual(Array.from(a.grad!.data), first);
  // A leaf has no graph: backward on it twice accumulates, as in PyTorch.
  const leaf = tensor([5], undefined, { requiresGrad: true });
  leaf.backward();
  leaf.backward();
  assert.deepEqual(Array.from(leaf.grad!.data), [2]);
  assertConvError(() => sum(mul(x, x)).backward(undefined, { retainGraph: 'yes' as never }), 'backward', 'retainGraph', ["'yes'"]);
  assertConvError(() => sum(mul(x, x)).backward(undefined, { retain_graph: true } as never), 'backward', 'retain_graph', ['retainGraph']);
});

// ---------------------------------------------------------------- Modules

test('module constructors refuse unknown options, listing the accepted set (outputSize belongs to forward)', () => {
  const e = assertConvError(() => new ConvTranspose1d(4, 8, 3, { stride: 2, outputSize: [6] } as never), 'ConvTranspose1d', 'outputSize',
    ['forward(x, outputSize)', 'stride, padding, outputPadding, dilation, groups, bias, paddingMode, dataFormat, dtype, seed']);
  assert.ok(!e.message.includes('options are stride, padding, outputPadding, dilation, groups, outputSize'), e.message);
  assertConvError(() => new Conv1d(1, 1, 1, { outputPadding: 1 } as never), 'Conv1d', 'outputPadding', ['stride, padding, dilation, groups, bias, paddingMode, dataFormat, dtype, seed']);
  assertConvError(() => new Conv2d(1, 1, 1, { kernelSize: 3 } as never), 'Conv2d', 'kernelSize', ['third constructor argument']);
  assertConvError(() => new Conv2DTranspose(1, 1, 1, { outputSize: [2, 2] } as never), 'Conv2DTranspose', 'outputSize',
    ['forward(x, outputSize)', 'stride, padding, outputPadding, dilation, groups, dataFormat, biasAttr, dtype, seed']);
  assertConvError(() => new Conv1D(1, 1, 1, { bias: false } as never), 'Conv1D', 'bias', ['biasAttr', 'paddingMode']);
  assertConvError(() => new Conv1DTranspose(1, 1, 1, { paddingMode: 'zeros' } as never), 'Conv1DTranspose', 'paddingMode', ['only on Conv1D']);
  assertConvError(() => new Conv1D(1, 1, 1, { biasAttr: 0 } as never), 'Conv1D', 'biasAttr', ['0']);
  assertConvError(() => new Conv1d(1, 1, 1, { bias: 'no' } as never), 'Conv1d', 'bias', ["'no'"]);
  assertConvError(() => new Conv1d(1, 1, 1, null as never), 'Conv1d', 'options', ['null']);
});

test('a convolution module refuses outputSize in forwardAsync as forward does', async () => {
  const m = new Conv1d(1, 1, 1);
  await assert.rejects(m.forwardAsync(randn([1, 1, 6]), [6]), (e: unknown) => e instanceof ConvError && e.param === 'outputSize' && e.op === 'Conv1d');
  assertConvError(() => m.forward(randn([1, 1, 6]), [6]), 'Conv1d', 'outputSize', ['[6]']);
});

test('huge, non-integer or non-finite channel and kernel counts are refused before allocating', () => {
  for (const [args, param, mention] of [
    [[2 ** 53, 1, 1], 'inChannels', '9007199254740992'],
    [[1, 2 ** 53 + 2, 1], 'outChannels', '9007199254740994'],
    [[1.5, 1, 1], 'inChannels', '1.5'],
    [[NaN, 1, 1], 'inChannels', 'NaN'],
    [[1, Infinity, 1], 'outChannels', 'Infinity'],
    [[-0, 1, 1], 'inChannels', '0'],
    [['4', 1, 1], 'inChannels', "'4'"],
    [[1, 1, 2 ** 53], 'kernelSize', '9007199254740992'],
    [[1, 1, [3, 3]], 'kernelSize', '[3, 3]'],
    [[2 ** 20, 2 ** 20, 1], 'weight', '1099511627776'],
    [[1, 1, 2 ** 40], 'weight', '1099511627776'],
  ] as [unknown[], string, string][]) {
    assertConvError(() => new Conv1d(...(args as [number, number, number])), 'Conv1d', param, [mention]);
  }
  assertConvError(() => new Conv3D(1024, 1024, 1024), 'Conv3D', 'weight', ['elements']);
  assertConvError(() => new ConvTranspose2d(4, 8, 2, { seed: NaN }), 'ConvTranspose2d', 'seed', ['NaN']);
});

// ---------------------------------------------------------------- State dicts

test('loadStateDict is atomic for data that passes the shape check but fails the copy', () => {
  const m = new Conv1d(2, 2, 1, { seed: 21 });
  const before = [Array.from(m.weight.data), Array.from(m.bias!.data)];
  const unchanged = () => assert.deepEqual([Array.from(m.weight.data), Array.from(m.bias!.data)], before);
  const goodWeight = tensor([1, 2, 3, 4], [2, 2, 1]);
  // BigInt data of the right length and a fake tensor-like of the right shape.
  const bigBias = { shape: [2], data: new BigInt64Array(2) };
  assertConvError(() => m.loadStateDict({ weight: goodWeight, bias: bigBias as never }), 'Conv1d.loadStateDict', 'stateDict', ["'bias'", 'BigInt64Array']);
  unchanged();
  const throwing = { shape: [2], get data(): Float32Array { throw new Error('disk gone'); } };
  assertConvError(() => m.loadStateDict({ weight: goodWeight, bias: throwing as never }), 'Conv1d.loadStateDict', 'stateDict', ["'bias'", 'disk gone']);
  unchanged();
  const proxy = new Proxy({}, { get() { throw new TypeError('revoked'); } });
  assertConvError(() => m.loadStateDict({ weight: goodWeight, bias: proxy as never }), 'Conv1d.loadStateDict', 'stateDict', ["'bias'", 'revoked']);
  unchanged();
  assertConvError(() => m.loadStateDict({ weight: goodWeight, bias: tensor([1, 2]) }, { strict: 'no' as never }), 'Conv1d.loadStateDict', 'strict', ["'no'"]);
  unchanged();
  // Plain numeric typed arrays of another type are converted to the parameter's dtype.
  m.loadStateDict({ weight: goodWeight, bias: { shape: [2], data: Int16Array.from([7, -8]) } as never });
  assert.deepEqual([Array.from(m.weight.data), Array.from(m.bias!.data)], [[1, 2, 3, 4], [7, -8]]);
});

test('loadSafetensorsStateDict: a non-function mapKey is a ConvError, and nothing is loaded', () => {
  const m = new Sequential(new Conv1d(1, 1, 1, { bias: false, seed: 22 }));
  const before = Array.from(m.parameters()[0].data);
  const bytes = writeSafetensors({ '0.weight': tensor([5], [1, 1, 1]) });
  for (const mapKey of ['0.weight', 7, {}, Symbol('k')])
    assertConvError(() => loadSafetensorsStateDict(m, bytes, { mapKey: mapKey as never }), 'loadSafetensorsStateDict', 'mapKey', ['must be a function']);
  assert.deepEqual(Array.from(m.parameters()[0].data), before);
  assertConvError(() => loadSafetensorsStateDict(m, bytes, { mapkey: (k: string) => k } as never), 'loadSafetensorsStateDict', 'mapkey', ['strict, mapKey']);
  loadSafetensorsStateDict(m, bytes, { mapKey: (k) => k });
  assert.deepEqual(Array.from(m.parameters()[0].data), [5]);
});

// ---------------------------------------------------------------- TypeError / RangeError → ConvError

test('holes, cyclic lists and symbols in options are ConvErrors naming the option', () => {
  const x = randn([1, 1, 5]), w = randn([1, 1, 2]);
  // eslint-disable-next-line no-sparse-arrays
  assertConvError(() => conv1d(x, w, null, { padding: [,] as never }), 'conv1d', 'padding', ['<empty>']);
  // eslint-disable-next-line no-sparse-arrays
  assertConvError(() => conv2d(randn([1, 1, 3, 3]), randn([1, 1, 1, 1]), null, { stride: [, 2] as never }), 'conv2d', 'stride', ['[<empty>, 2]']);
  // eslint-disable-next-line no-sparse-arrays
  assertConvError(() => paddle.conv1d(x, w, null, { padding: [,] as never }), 'conv1d', 'padding', ['<empty>']);
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  for (const key of ['padding', 'stride', 'dilation'])
    assertConvError(() => conv1d(x, w, null, { [key]: cyclic }), 'conv1d', key, ['[…]']);
  assertConvError(() => paddle.conv1d(x, w, null, { padding: cyclic as never }), 'conv1d', 'padding', ['[…]']);
  assertConvError(() => convTranspose1d(x, randn([1, 1, 2]), null, { outputSize: cyclic as never }), 'convTranspose1d', 'outputSize', []);
  assertConvError(() => conv1d(x, w, null, { stride: Symbol('s') as never }), 'conv1d', 'stride', ['Symbol(s)']);
  assertConvError(() => conv1d(x, w, null, { groups: 10n as never }), 'conv1d', 'groups', ['10n']);
  const getter = { get stride(): number { throw new RangeError('nope'); } };
  assertConvError(() => paddle.conv1d(x, w, null, getter), 'conv1d', 'stride', ['could not be read', 'nope']);
  assertConvError(() => new Conv1d(1, 1, 1, getter), 'Conv1d', 'stride', ['could not be read', 'nope']);
  const trap = new Proxy([1], { get() { throw new Error('trap'); } });
  assertConvError(() => paddle.conv1d(x, w, null, { padding: trap as never }), 'conv1d', 'padding', ['could not be read', 'trap']);
  assertConvError(() => new ConvTranspose1d(1, 1, 1, { outputPadding: trap as never }), 'ConvTranspose1d', 'outputPadding', ['trap']);
});

test('tensor creation refuses BigInt data, DataViews, cyclic nesting and unknown dtypes (never a silent float32)', () => {
  assertConvError(() => tensor(new BigInt64Array(3) as never), 'tensor', 'data', ['BigInt64Array']);
  assertConvError(() => tensor(new BigUint64Array(3) as never), 'tensor', 'data', ['BigUint64Array']);
  assertConvError(() => tensor(new DataView(new ArrayBuffer(8)) as never), 'tensor', 'data', ['DataView']);
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assertConvError(() => tensor(cyclic as never), 'tensor', 'data', ['deeper than 32']);
  assertConvError(() => tensor([1, 2n] as never), 'tensor', 'data', ['2n']);
  assertConvError(() => tensor('123' as never), 'tensor', 'data', ["'123'"]);
  for (const [fn, op] of [[zeros, 'zeros'], [ones, 'ones'], [randn, 'randn'], [rand, 'rand']] as const) {
    assertConvError(() => fn([3], { dtype: 'f16' as never }), op, 'dtype', ["'f16'"]);
    assertConvError(() => fn([3], { dtype: 'float16' as never }), op, 'dtype', ["'float16'"]);
    assertConvError(() => fn([3], null as never), op, 'options', ['null']);
    assertConvError(() => fn([3], { requiresGrad: 1 as never }), op, 'requiresGrad', ['1']);
  }
  assertConvError(() => full([3], 1, { dtype: 'int32' as never }), 'full', 'dtype', ["'int32'"]);
  assertConvError(() => full([3], '1' as never), 'full', 'value', ["'1'"]);
  assertConvError(() => full([3], 1n as never), 'full', 'value', ['1n']);
  assertConvError(() => tensor([1], undefined, { dtype: 'bfloat16' as never }), 'tensor', 'dtype', ["'bfloat16'"]);
  // eslint-disable-next-line no-sparse-arrays
  assertConvError(() => zeros([2, , 3] as never), 'zeros', 'shape', ['<empty>']);
  assertConvError(() => zeros([2 ** 53]), 'zeros', 'shape', []);
  assertConvError(() => randn([2], { seed: 'x' as never }), 'randn', 'seed', ["'x'"]);
  assertConvError(() => manualSeed(1.5), 'manualSeed', 'seed', ['1.5']);
  assertConvError(() => new Generator(NaN), 'Generator', 'seed', ['NaN']);
  assertConvError(() => randn([2]).reshape('2' as never), 'reshape', 'shape', ["'2'"]);
  // -0, NaN and ±Infinity are values, not errors.
  assert.ok(Object.is(full([1], -0).data[0], -0));
  assert.deepEqual(Array.from(tensor([NaN, Infinity, -Infinity]).data), [NaN, Infinity, -Infinity]);
});

test('optimizers refuse unknown options and non-boolean flags (a truthy string is not true)', () => {
  const p = () => tensor([1], undefined, { requiresGrad: true });
  assertConvError(() => new Adam([p()], { amsgrad: 'yes' as never }), 'Adam', 'amsgrad', ["'yes'"]);
  assertConvError(() => new Adam([p()], { maximize: 1 as never }), 'Adam', 'maximize', ['1']);
  assertConvError(() => new Adam([p()], { learningRate: 0.1 } as never), 'Adam', 'learningRate', ['lr, betas, eps, weightDecay, amsgrad, maximize']);
  assertConvError(() => new SGD([p()], { lr: 0.1, nesterov: 'true' as never }), 'SGD', 'nesterov', ["'true'"]);
  assertConvError(() => new SGD([p()], { lr: 0.1, weight_decay: 0.1 } as never), 'SGD', 'weight_decay', ['weightDecay']);
  const trap = new Proxy([], { get() { throw new Error('trap'); } });
  assertConvError(() => new SGD(trap as never, { lr: 0.1 }), 'SGD', 'params', ['trap']);
});

test('noGrad needs a function; describeConv checks its plain-number shapes and op name', () => {
  assertConvError(() => noGrad(3 as never), 'noGrad', 'fn', ['3']);
  assertConvError(() => describeConv('conv1d', null as never, [1, 1, 2]), 'conv1d', 'input', ['null']);
  assertConvError(() => describeConv('conv1d', [1, 1, NaN], [1, 1, 2]), 'conv1d', 'input', ['NaN']);
  assertConvError(() => describeConv('convTranspose1d', [1, 1, 4], [1, '1', 2] as never), 'convTranspose1d', 'weight', ["'1'"]);
  assertConvError(() => describeConv(Symbol('conv1d') as never, [1, 1, 4], [1, 1, 2]), 'describeConv', 'op', ['Symbol(conv1d)']);
  assert.deepEqual([...describeConv('conv1d', [1, 1, 4], [1, 1, 2], { padding: [1] }).outputShape], [1, 1, 5]);
});

// ---------------------------------------------------------------- Fuzzing with hostile values

/**
 * Values a hostile caller passes where numbers, lists or options are expected. The arbitrary yields
 * an index into the list (fast-check itself must never touch a Proxy that throws); `pick` reads it.
 */
const HOSTILE = hostileValues();
const hostile = () => fc.integer({ min: 0, max: HOSTILE.length - 1 });
const pick = (i: number): unknown => HOSTILE[i];
/** Indices of the values that throw when read (a throwing Proxy, a revoked Proxy). */
const THROWING = new Set(HOSTILE.flatMap((v, i) => (typeof v === 'object' && v !== null && isThrowing(v) ? [i] : [])));
function isThrowing(v: object): boolean {
  try {
    return Array.isArray(v) ? (v.length, false) : (Object.keys(v), false);
  } catch {
    return true;
  }
}

function hostileValues(): unknown[] {
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  const throwingProxy = new Proxy([1], { get() { throw new Error('trap'); } });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3];
  return [
    NaN, Infinity, -Infinity, -0, 2 ** 53, 2 ** 31, -1, 0, 1, 2, 1.5, '1', '', 'same', 'SAME', 'valid', {}, [], [[]], [1], [1, 2],
    [[1, 1]], [NaN], null, undefined, true, Symbol('x'), 10n, () => 1, cyclic, throwingProxy, revoked.proxy, sparse, new Float32Array(2),
    new BigInt64Array(1), Object.create(null), new Date(0), [1, '2'], [[0, 0], [0, 0], [1]],
  ];
}

/** Runs `fn`; anything thrown must be a ConvError whose message follows the pattern. */
function onlyConvErrors(what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConvError, `${what}: threw ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
    assert.ok(e.message.startsWith(`${e.op}: ${e.param} `), `${what}: message pattern: ${e.message}`);
  }
}

const describe = (v: unknown) => { try { return fc.stringify(v); } catch { return '<unprintable>'; } };

test('fuzz: hostile option values in functional ops, modules and Paddle\'s API give a result or a ConvError, nothing else', () => {
  const fns: [string, (o: unknown) => unknown][] = [
    ['conv1d', (o) => conv1d(randn([1, 2, 5], { seed: 1 }), randn([2, 2, 2], { seed: 2 }), null, o as never)],
    ['conv2d', (o) => conv2d(randn([1, 2, 4, 4], { seed: 1 }), randn([2, 2, 2, 2], { seed: 2 }), null, o as never)],
    ['convTranspose1d', (o) => convTranspose1d(randn([1, 2, 3], { seed: 1 }), randn([2, 2, 2], { seed: 2 }), null, o as never)],
    ['convTranspose3d', (o) => convTranspose3d(randn([1, 2, 2, 2, 2], { seed: 1 }), randn([2, 1, 1, 2, 1], { seed: 2 }), null, o as never)],
    ['paddle.conv2d', (o) => paddle.conv2d(randn([1, 2, 4, 4], { seed: 1 }), randn([2, 2, 2, 2], { seed: 2 }), null, o as never)],
    ['paddle.conv1dTranspose', (o) => paddle.conv1dTranspose(randn([1, 2, 3], { seed: 1 }), randn([2, 2, 2], { seed: 2 }), null, o as never)],
    ['Conv2d', (o) => new Conv2d(2, 2, 2, o as never).forward(randn([1, 2, 4, 4], { seed: 3 }))],
    ['ConvTranspose2d', (o) => new ConvTranspose2d(2, 2, 2, o as never).forward(randn([1, 2, 3, 3], { seed: 3 }))],
    ['Conv1D', (o) => new Conv1D(2, 2, 2, o as never).forward(randn([1, 2, 5], { seed: 3 }))],
    ['Conv2DTranspose', (o) => new Conv2DTranspose(2, 2, 2, o as never).forward(randn([1, 2, 3, 3], { seed: 3 }))],
  ];
  const keys = ['stride', 'padding', 'dilation', 'groups', 'paddingMode', 'dataFormat', 'outputPadding', 'outputSize', 'bias', 'biasAttr', 'dtype', 'seed', 'other'];
  fc.assert(fc.property(fc.integer({ min: 0, max: fns.length - 1 }), fc.dictionary(fc.constantFrom(...keys), hostile(), { maxKeys: 3 }), fc.boolean(),
    (i, picks, whole) => {
      const [name, fn] = fns[i];
      const o = Object.fromEntries(Object.entries(picks).map(([k, j]) => [k, pick(j)]));
      // whole: the object as options; else one hostile value as the options argument itself.
      const arg = whole ? o : pick(Object.values(picks)[0] ?? 0);
      // The PyTorch functional ops' spec cache (functional/conv.ts) reads option values itself;
      // values that throw when read are exercised through the modules and Paddle's API here.
      if (['conv1d', 'conv2d', 'convTranspose1d', 'convTranspose3d'].includes(name) && Object.values(picks).some((j) => THROWING.has(j))) return;
      onlyConvErrors(`${name}(${describe(arg)})`, () => fn(arg));
    }), { numRuns: 3000, seed: 1301 });
});

test('fuzz: hostile arguments to tensor creation, module constructors, forward, backward, optimizers and state dicts', () => {
  const calls: [string, (v: unknown, u: unknown) => unknown][] = [
    ['tensor(v)', (v) => tensor(v as never)],
    ['tensor([1, 2], v)', (v) => tensor([1, 2], v as never)],
    ['tensor([1], undefined, v)', (v) => tensor([1], undefined, v as never)],
    ['zeros(v)', (v) => zeros(v as never)],
    ['full([2], v)', (v) => full([2], v as never)],
    ['randn([2], { seed: v })', (v) => randn([2], { seed: v as never })],
    ['reshape(v)', (v) => randn([4]).reshape(v as never)],
    ['new Tensor(v, u)', (v, u) => new Tensor(v as never, u as never)],
    ['new Conv1d(v, u, 2)', (v, u) => new Conv1d(v as never, u as never, 2)],
    ['new ConvTranspose1d(2, 2, v)', (v) => new ConvTranspose1d(2, 2, v as never)],
    ['new Conv2DTranspose(1, 1, 2).forward(x, v)', (v) => new Conv2DTranspose(1, 1, 2).forward(randn([1, 1, 2, 2]), v as never)],
    ['new ConvTranspose1d(1, 1, 2).forward(x, v)', (v) => new ConvTranspose1d(1, 1, 2).forward(randn([1, 1, 3]), v as never)],
    ['Conv1d.forward(v)', (v) => new Conv1d(1, 1, 1).forward(v as never)],
    ['backward(v, u)', (v, u) => sum(mul(tensor([1, 2], undefined, { requiresGrad: true }), 2)).backward(v as never, u as never)],
    ['SGD(v, u)', (v, u) => new SGD(v as never, u as never)],
    ['SGD([p], { lr: v }).step()', (v) => { const p = tensor([1], undefined, { requiresGrad: true }); p.grad = tensor([1]); new SGD([p], { lr: v as never }).step(); }],
    ['Adam([p], v).step()', (v) => { const p = tensor([1], undefined, { requiresGrad: true }); p.grad = tensor([1]); new Adam([p], v as never).step(); }],
    ['p.grad = v', (v) => { tensor([1], undefined, { requiresGrad: true }).grad = v as never; }],
    ['p.requiresGrad = v', (v) => { tensor([1]).requiresGrad = v as never; }],
    ['loadStateDict(v, u)', (v, u) => new Conv1d(1, 1, 1).loadStateDict(v as never, u as never)],
    ['loadStateDict({ weight: v })', (v) => new Conv1d(1, 1, 1, { bias: false }).loadStateDict({ weight: v as never })],
    ['loadSafetensorsStateDict(m, bytes, v)', (v) => loadSafetensorsStateDict(new Conv1d(1, 1, 1, { bias: false }), writeSafetensors({ weight: tensor([1], [1, 1, 1]) }), v as never)],
  ];
  fc.assert(fc.property(fc.integer({ min: 0, max: calls.length - 1 }), hostile(), hostile(), (i, vi, ui) => {
    const [name, fn] = calls[i], v = pick(vi), u = pick(ui);
    onlyConvErrors(`${name} with v = ${describe(v)}, u = ${describe(u)}`, () => fn(v, u));
  }), { numRuns: 4000, seed: 1302 });
});

test('fuzz: a module whose loadStateDict or constructor throws is left as it was', () => {
  fc.assert(fc.property(hostile(), hostile(), (wi, bi) => {
    const wv = pick(wi), bv = pick(bi);
    const m = new Conv1d(1, 2, 1, { seed: 23 });
    const before = [...m.weight.data, ...m.bias!.data];
    try {
      m.loadStateDict({ weight: wv as never, bias: bv as never });
    } catch (e) {
      assert.ok(e instanceof ConvError, String(e));
      assert.deepEqual([...m.weight.data, ...m.bias!.data], before);
    }
  }), { numRuns: 800, seed: 1303 });
});

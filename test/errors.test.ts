/**
 * Every error of docs/behaviour.md's list: a ConvError whose op and param are right and whose message names the
 * values. A throwing call leaves modules and tensors unchanged; NaN propagates without an exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, Conv1D, Conv1DTranspose, conv1d, conv2d, conv3d,
  convTranspose1d, convTranspose2d, convTranspose3d, paddle, tensor, zeros, ones, randn, setBackend, withBackend, describeConv,
} from '../src/index.js';
import { assertConvError, directConv, forEachBackend } from './helpers-core.js';

const x1 = (c = 2, L = 5, n = 1) => randn([n, c, L], { seed: 1 });
const w1 = (co = 3, ci = 2, k = 3) => randn([co, ci, k], { seed: 2 });

interface Case { name: string; fn: () => unknown; op: string; param: string; mentions?: string[] }

const cases: Case[] = [
  // Channels and groups.
  { name: 'channel count not matching the weight', fn: () => conv1d(x1(3), w1(3, 2)), op: 'conv1d', param: 'input', mentions: ['3 channels', '[3, 2, 3]', 'expects 2'] },
  { name: 'transposed channel mismatch (weight dim 0 is C_in)', fn: () => convTranspose1d(x1(2), randn([3, 2, 3])), op: 'convTranspose1d', param: 'input', mentions: ['2 channels', 'expects 3'] },
  { name: 'channels-last channel mismatch', fn: () => conv1d(randn([1, 5, 3]), w1(3, 2), null, { dataFormat: 'NLC' }), op: 'conv1d', param: 'input', mentions: ['3 channels', 'channels last'] },
  { name: 'groups not dividing C_out (weight dim 0)', fn: () => conv1d(x1(4), randn([3, 2, 1]), null, { groups: 2 }), op: 'conv1d', param: 'groups', mentions: ['groups=2', '3'] },
  { name: 'groups not dividing C_in (transposed weight dim 0)', fn: () => convTranspose1d(x1(3), randn([3, 1, 1]), null, { groups: 2 }), op: 'convTranspose1d', param: 'groups', mentions: ['groups=2', '3'] },
  { name: 'module: groups not dividing inChannels', fn: () => new Conv1d(3, 4, 1, { groups: 2 }), op: 'Conv1d', param: 'groups', mentions: ['inChannels=3', 'groups=2'] },
  { name: 'module: groups not dividing outChannels', fn: () => new ConvTranspose2d(4, 3, 1, { groups: 2 }), op: 'ConvTranspose2d', param: 'groups', mentions: ['outChannels=3', 'groups=2'] },
  // Non-positive, negative, non-integer, non-finite options.
  { name: 'stride 0', fn: () => conv1d(x1(), w1(), null, { stride: 0 }), op: 'conv1d', param: 'stride', mentions: ['positive', '0'] },
  { name: 'negative stride in one dim', fn: () => conv2d(randn([1, 2, 4, 4]), randn([1, 2, 2, 2]), null, { stride: [1, -2] }), op: 'conv2d', param: 'stride', mentions: ['[1, -2]'] },
  { name: 'dilation 0', fn: () => convTranspose1d(x1(), randn([2, 1, 2]), null, { dilation: 0 }), op: 'convTranspose1d', param: 'dilation', mentions: ['positive', '0'] },
  { name: 'groups 0', fn: () => conv1d(x1(), w1(), null, { groups: 0 }), op: 'conv1d', param: 'groups', mentions: ['positive', '0'] },
  { name: 'groups -1', fn: () => new Conv2d(2, 2, 1, { groups: -1 }), op: 'Conv2d', param: 'groups', mentions: ['-1'] },
  { name: 'negative padding', fn: () => conv1d(x1(), w1(), null, { padding: -1 }), op: 'conv1d', param: 'padding', mentions: ['non-negative', '-1'] },
  { name: 'negative pair padding', fn: () => conv1d(x1(), w1(), null, { padding: [[1, -1]] }), op: 'conv1d', param: 'padding', mentions: ['[[1, -1]]'] },
  { name: 'negative outputPadding', fn: () => convTranspose1d(x1(), randn([2, 1, 2]), null, { stride: 2, outputPadding: -1 }), op: 'convTranspose1d', param: 'outputPadding', mentions: ['-1'] },
  { name: 'non-integer stride', fn: () => conv1d(x1(), w1(), null, { stride: 1.5 }), op: 'conv1d', param: 'stride', mentions: ['1.5'] },
  { name: 'NaN dilation', fn: () => conv1d(x1(), w1(), null, { dilation: NaN }), op: 'conv1d', param: 'dilation', mentions: ['NaN'] },
  { name: 'Infinity padding', fn: () => conv1d(x1(), w1(), null, { padding: Infinity }), op: 'conv1d', param: 'padding', mentions: ['Infinity'] },
  { name: 'string stride', fn: () => conv1d(x1(), w1(), null, { stride: '2' as never }), op: 'conv1d', param: 'stride', mentions: ["'2'"] },
  { name: 'fractional groups', fn: () => conv1d(x1(), w1(), null, { groups: 0.5 }), op: 'conv1d', param: 'groups', mentions: ['0.5'] },
  { name: 'per-dim list of the wrong length', fn: () => conv2d(randn([1, 2, 4, 4]), randn([1, 2, 2, 2]), null, { stride: [1, 1, 1] }), op: 'conv2d', param: 'stride', mentions: ['2 integers', '[1, 1, 1]'] },
  { name: 'module: kernelSize 0', fn: () => new Conv2d(1, 1, 0), op: 'Conv2d', param: 'kernelSize', mentions: ['0'] },
  { name: 'module: kernelSize 2.5', fn: () => new Conv1d(1, 1, 2.5), op: 'Conv1d', param: 'kernelSize', mentions: ['2.5'] },
  { name: 'module: kernelSize of the wrong length', fn: () => new Conv3d(1, 1, [3, 3]), op: 'Conv3d', param: 'kernelSize', mentions: ['[3, 3]'] },
  { name: 'module: inChannels NaN', fn: () => new Conv1d(NaN, 1, 1), op: 'Conv1d', param: 'inChannels', mentions: ['NaN'] },
  { name: 'module: outChannels 0', fn: () => new ConvTranspose1d(1, 0, 1), op: 'ConvTranspose1d', param: 'outChannels', mentions: ['0'] },
  { name: 'module: dtype', fn: () => new Conv1d(1, 1, 1, { dtype: 'float16' as never }), op: 'Conv1d', param: 'dtype', mentions: ["'float16'"] },
  // Output size ≤ 0.
  { name: 'kernel larger than the padded input', fn: () => conv1d(x1(2, 2), w1(3, 2, 3)), op: 'conv1d', param: 'input', mentions: ['too small', '[2]', '[3]', '[0]'] },
  { name: 'dilated kernel larger than the input', fn: () => conv2d(randn([1, 1, 5, 5]), randn([1, 1, 3, 3]), null, { dilation: [1, 3] }), op: 'conv2d', param: 'input', mentions: ['[5, 5]', '[1, 3]', '[3, -1]'] },
  { name: 'transposed padding cropping the whole output', fn: () => convTranspose1d(x1(2, 1), randn([2, 1, 1]), null, { padding: 1 }), op: 'convTranspose1d', param: 'input', mentions: ['crops', '[-1]'] },
  // 'same'.
  { name: "'same' with stride 2", fn: () => conv1d(x1(), w1(), null, { padding: 'same', stride: 2 }), op: 'conv1d', param: 'padding', mentions: ["'same'", '[2]'] },
  { name: "'same' for a transposed convolution (PyTorch spelling)", fn: () => convTranspose1d(x1(), randn([2, 1, 2]), null, { padding: 'same' as never }), op: 'convTranspose1d', param: 'padding', mentions: ["'same'"] },
  { name: 'unknown padding string', fn: () => conv1d(x1(), w1(), null, { padding: 'full' as never }), op: 'conv1d', param: 'padding', mentions: ["'full'"] },
  // outputPadding and outputSize.
  { name: 'outputPadding equal to the stride', fn: () => convTranspose1d(x1(), randn([2, 1, 2]), null, { stride: 2, outputPadding: 2 }), op: 'convTranspose1d', param: 'outputPadding', mentions: ['[2]', 'stride [2]', 'dilation [1]'] },
  { name: 'outputPadding with stride 1 and dilation 1', fn: () => new ConvTranspose2d(1, 1, 2, { outputPadding: [0, 1] }), op: 'ConvTranspose2d', param: 'outputPadding', mentions: ['[0, 1]'] },
  { name: 'outputPadding not below dilation or stride', fn: () => convTranspose1d(x1(), randn([2, 1, 2]), null, { dilation: 2, outputPadding: 2 }), op: 'convTranspose1d', param: 'outputPadding', mentions: ['dilation [2]'] },
  { name: 'outputSize above the range', fn: () => convTranspose1d(randn([1, 16, 10]), randn([16, 8, 3]), null, { stride: 2, padding: 1, outputSize: [21] }), op: 'convTranspose1d', param: 'outputSize', mentions: ['[19]', '[20]', '[21]'] },
  { name: 'outputSize below the range', fn: () => convTranspose2d(randn([1, 1, 3, 3]), randn([1, 1, 2, 2]), null, { stride: 2, outputSize: [6, 5] }), op: 'convTranspose2d', param: 'outputSize', mentions: ['[6, 6]', '[7, 7]', '[6, 5]'] },
  { name: 'outputSize of the wrong length', fn: () => convTranspose2d(randn([1, 1, 3, 3]), randn([1, 1, 2, 2]), null, { stride: 2, outputSize: [1, 1, 1, 6, 6] }), op: 'convTranspose2d', param: 'outputSize', mentions: ['2', '4', '[1, 1, 1, 6, 6]'] },
  { name: 'outputSize full shape with the wrong channels', fn: () => convTranspose1d(randn([1, 2, 3]), randn([2, 4, 2]), null, { stride: 2, outputSize: [1, 3, 7] }), op: 'convTranspose1d', param: 'outputSize', mentions: ['C=4', '[1, 3, 7]'] },
  { name: 'non-integer outputSize', fn: () => convTranspose1d(randn([1, 2, 3]), randn([2, 4, 2]), null, { stride: 2, outputSize: [6.5] }), op: 'convTranspose1d', param: 'outputSize', mentions: ['6.5'] },
  { name: 'module forward with an outputSize out of range', fn: () => new ConvTranspose1d(16, 8, 3, { stride: 2, padding: 1 }).forward(randn([1, 16, 10]), [18]), op: 'ConvTranspose1d', param: 'outputSize', mentions: ['[19]', '[20]', '[18]'] },
  // Ranks and shapes.
  { name: 'input of rank 2 for conv2d', fn: () => conv2d(randn([4, 4]), randn([1, 1, 2, 2])), op: 'conv2d', param: 'input', mentions: ['3-D', '4-D', '[4, 4]'] },
  { name: 'input of rank 6 for conv3d', fn: () => conv3d(randn([1, 1, 1, 2, 2, 2]), randn([1, 1, 1, 1, 1])), op: 'conv3d', param: 'input', mentions: ['[1, 1, 1, 2, 2, 2]'] },
  { name: 'input of rank 4 for convTranspose1d', fn: () => convTranspose1d(randn([1, 1, 2, 2]), randn([1, 1, 1])), op: 'convTranspose1d', param: 'input', mentions: ['[1, 1, 2, 2]'] },
  { name: 'module forward with the wrong rank', fn: () => new Conv1d(2, 3, 3).forward(randn([2])), op: 'Conv1d', param: 'input', mentions: ['[2]'] },
  { name: 'empty spatial dim (PyTorch allows only an empty batch)', fn: () => conv1d(zeros([1, 2, 0]), w1(3, 2, 1), null, { padding: 1 }), op: 'conv1d', param: 'input', mentions: ['[1, 2, 0]'] },
  { name: 'empty spatial dim in a transposed convolution', fn: () => convTranspose2d(zeros([1, 1, 2, 0]), randn([1, 1, 2, 2])), op: 'convTranspose2d', param: 'input', mentions: ['[1, 1, 2, 0]'] },
  { name: 'weight of the wrong rank', fn: () => conv1d(x1(), randn([3, 2, 3, 1])), op: 'conv1d', param: 'weight', mentions: ['3-D', '[3, 2, 3, 1]'] },
  { name: 'weight with a zero size', fn: () => conv1d(x1(), zeros([3, 2, 0])), op: 'conv1d', param: 'weight', mentions: ['[3, 2, 0]'] },
  { name: 'bias of the wrong length', fn: () => conv1d(x1(), w1(), randn([2])), op: 'conv1d', param: 'bias', mentions: ['[3]', '[2]'] },
  { name: 'bias of the wrong rank', fn: () => convTranspose1d(x1(), randn([2, 3, 2]), randn([3, 1])), op: 'convTranspose1d', param: 'bias', mentions: ['[3]', '[3, 1]'] },
  { name: 'input that is not a Tensor', fn: () => conv1d([[[1, 2, 3]]] as never, w1(1, 1, 1)), op: 'conv1d', param: 'input', mentions: ['Tensor'] },
  { name: 'weight that is not a Tensor', fn: () => conv1d(x1(), null as never), op: 'conv1d', param: 'weight', mentions: ['Tensor'] },
  // dtypes.
  { name: 'float64 weight with a float32 input', fn: () => conv1d(x1(), randn([3, 2, 3], { dtype: 'float64' })), op: 'conv1d', param: 'weight', mentions: ['float32', 'float64'] },
  { name: 'float32 bias with float64 operands', fn: () => convTranspose1d(randn([1, 2, 3], { dtype: 'float64' }), randn([2, 3, 2], { dtype: 'float64' }), randn([3])), op: 'convTranspose1d', param: 'bias', mentions: ['float64', 'float32'] },
  { name: 'float64 input to a float32 module', fn: () => new Conv1d(2, 3, 3).forward(randn([1, 2, 5], { dtype: 'float64' })), op: 'Conv1d', param: 'weight', mentions: ['float64', 'float32'] },
  // Padding modes.
  { name: 'reflect padding equal to L', fn: () => conv1d(x1(2, 3), w1(3, 2, 1), null, { padding: 3, paddingMode: 'reflect' }), op: 'conv1d', param: 'padding', mentions: ["'reflect'", '[[3, 3]]', '[3]'] },
  { name: 'reflect padding after (same split) ≥ L', fn: () => conv1d(x1(2, 1), w1(3, 2, 2), null, { padding: 'same', paddingMode: 'reflect' }), op: 'conv1d', param: 'padding', mentions: ['[[0, 1]]', '[1]'] },
  { name: 'circular padding above L', fn: () => conv2d(randn([1, 1, 3, 2]), randn([1, 1, 1, 1]), null, { padding: [1, 3], paddingMode: 'circular' }), op: 'conv2d', param: 'padding', mentions: ["'circular'", '[[1, 1], [3, 3]]', '[3, 2]'] },
  { name: 'paddingMode on a transposed convolution', fn: () => convTranspose1d(x1(), randn([2, 1, 2]), null, { paddingMode: 'reflect' as never }), op: 'convTranspose1d', param: 'paddingMode', mentions: ["'zeros'", "'reflect'"] },
  { name: 'module: paddingMode on ConvTranspose2d', fn: () => new ConvTranspose2d(1, 1, 2, { paddingMode: 'circular' as never }), op: 'ConvTranspose2d', param: 'paddingMode', mentions: ["'circular'"] },
  { name: 'unknown paddingMode', fn: () => new Conv1d(1, 1, 1, { paddingMode: 'mirror' as never }), op: 'Conv1d', param: 'paddingMode', mentions: ["'mirror'", "'reflect'"] },
  // Options.
  { name: 'unknown option', fn: () => conv1d(x1(), w1(), null, { strides: 2 } as never), op: 'conv1d', param: 'strides', mentions: ['is not an option', 'stride'] },
  { name: 'outputPadding given to a convolution', fn: () => conv2d(randn([1, 1, 3, 3]), randn([1, 1, 1, 1]), null, { outputPadding: 1 } as never), op: 'conv2d', param: 'outputPadding', mentions: ['is not an option'] },
  { name: 'module: unknown option', fn: () => new ConvTranspose1d(1, 1, 1, { kernel: 3 } as never), op: 'ConvTranspose1d', param: 'kernel', mentions: ['is not an option'] },
  { name: 'options that are not an object', fn: () => conv1d(x1(), w1(), null, 3 as never), op: 'conv1d', param: 'options', mentions: ['3'] },
  { name: 'dataFormat of another rank', fn: () => conv1d(x1(), w1(), null, { dataFormat: 'NHWC' }), op: 'conv1d', param: 'dataFormat', mentions: ["'NCL'", "'NLC'", "'NHWC'"] },
  { name: 'describeConv of an unknown op', fn: () => describeConv('conv4d' as never, [1], [1]), op: 'describeConv', param: 'op', mentions: ["'conv4d'"] },
  { name: 'unknown backend', fn: () => setBackend('cuda'), op: 'setBackend', param: 'name', mentions: ["'cuda'", "'ref'"] },
  // Outputs too large to allocate: thrown from the plan, before any allocation.
  { name: 'convTranspose1d with stride 1e9', fn: () => convTranspose1d(randn([1, 1, 2]), randn([1, 1, 1]), null, { stride: 1e9 }), op: 'convTranspose1d', param: 'output', mentions: ['1000000001'] },
  { name: 'convTranspose3d with stride 2^20 per dim', fn: () => convTranspose3d(randn([1, 1, 2, 2, 2]), randn([1, 1, 1, 1, 1]), null, { stride: 2 ** 20 }), op: 'convTranspose3d', param: 'output', mentions: ['[1, 1, 1048577, 1048577, 1048577]'] },
  { name: 'conv2d with padding 1e5', fn: () => conv2d(randn([1, 1, 1, 1]), randn([1, 1, 1, 1]), null, { padding: 1e5 }), op: 'conv2d', param: 'output', mentions: ['[1, 1, 200001, 200001]'] },
  { name: 'conv1d with padding 1e300 (not a safe integer)', fn: () => conv1d(randn([1, 1, 1]), randn([1, 1, 1]), null, { padding: 1e300 }), op: 'conv1d', param: 'padding', mentions: ['1e+300', 'below 2^53'] },
  { name: 'huge padding with an empty batch (the per-sample size counts)', fn: () => conv3d(zeros([0, 1, 1, 1, 1]), randn([1, 1, 1, 1, 1]), null, { padding: 1e9 }), op: 'conv3d', param: 'output', mentions: ['[0, 1, 2000000001, 2000000001, 2000000001]'] },
  { name: "replicate padding 1e5 with stride 1e9 (small output, huge padded input)", fn: () => conv2d(randn([1, 1, 2, 2]), randn([1, 1, 1, 1]), null, { padding: 1e5, stride: 1e9, paddingMode: 'replicate' }), op: 'conv2d', param: 'padding', mentions: ['[1, 1, 200002, 200002]', "'replicate'"] },
  { name: "'same' with dilation 1e9 and a padding mode", fn: () => conv1d(randn([1, 1, 3]), randn([1, 1, 3]), null, { padding: 'same', dilation: 1e9, paddingMode: 'replicate' }), op: 'conv1d', param: 'padding', mentions: ['[[1000000000, 1000000000]]'] },
  { name: 'describeConv with stride 1e9', fn: () => describeConv('convTranspose2d', [1, 1, 3, 3], [1, 1, 1, 1], { stride: 1e9 }), op: 'convTranspose2d', param: 'output' },
];

for (const c of cases)
  test(`error: ${c.name}`, () => {
    assertConvError(c.fn, c.op, c.param, c.mentions ?? []);
  });

test('valid boundaries next to the errors do not throw (reflect pad L − 1, circular pad L, op < dilation)', () => {
  forEachBackend(() => {
    // reflect with pad 2 on L = 3: [x2, x1, x0, x1, x2, x1, x0]
    const y = conv1d(tensor([[[1, 2, 3]]]), tensor([[[1]]]), null, { padding: 2, paddingMode: 'reflect' });
    assert.deepEqual(y.toArray(), [[[3, 2, 1, 2, 3, 2, 1]]]);
    // circular with pad 3 on L = 3 wraps a whole period.
    const c = conv1d(tensor([[[1, 2, 3]]]), tensor([[[1]]]), null, { padding: 3, paddingMode: 'circular' });
    assert.deepEqual(c.toArray(), [[[1, 2, 3, 1, 2, 3, 1, 2, 3]]]);
    // outputPadding 1 with stride 1 is allowed when dilation is 2: one extra zero at the end.
    const t = convTranspose1d(tensor([[[1, 2]]]), tensor([[[1, 1]]]), null, { dilation: 2, outputPadding: 1 });
    assert.deepEqual(t.toArray(), [[[1, 2, 1, 2, 0]]]);
    // A stride beyond int32 (2^31) gives one output per sample, the same as any stride ≥ L.
    const x = tensor([[[1, 2, 3]], [[4, 5, 6]]]), w = tensor([[[1, 10, 100]]]);
    assert.deepEqual(conv1d(x, w, null, { stride: 2 ** 31 }).toArray(), [[[321]], [[654]]]);
    assert.deepEqual(convTranspose1d(tensor([[[2]]]), w, null, { stride: 2 ** 31 }).toArray(), [[[2, 20, 200]]]);
  });
});

test('errors from Paddle spellings name Paddle ops', () => {
  assertConvError(() => new Conv1D(2, 2, 3, { padding: 'full' }), 'Conv1D', 'padding', ["'full'"]);
  assertConvError(() => new Conv1DTranspose(2, 2, 3, { stride: 2, outputPadding: 2 }), 'Conv1DTranspose', 'outputPadding', ['[2]']);
  assertConvError(() => paddle.conv1dTranspose(randn([1, 2, 4]), randn([2, 1, 2]), null, { stride: 2, outputSize: [11] }), 'conv1dTranspose', 'outputSize', ['[8]', '[9]', '[11]']);
});

test('a module whose call throws is left unchanged (weights, bias, gradients)', () => {
  const m = new ConvTranspose1d(2, 3, 3, { stride: 2, seed: 9 });
  const m2 = new Conv1d(2, 3, 3, { seed: 9, paddingMode: 'reflect', padding: 1 });
  for (const mod of [m, m2]) {
    const w = Array.from(mod.weight.data), b = Array.from(mod.bias!.data);
    const bad: (() => unknown)[] = [
      () => mod.forward(randn([1, 3, 4])), // wrong channels
      () => mod.forward(randn([1, 2, 4], { dtype: 'float64' })), // wrong dtype
      () => mod.forward(randn([4])), // wrong rank
    ];
    if (mod === m) bad.push(() => m.forward(randn([1, 2, 4]), [100]));
    else bad.push(() => mod.forward(randn([1, 2, 1]))); // reflect pad 1 on L = 1
    for (const f of bad) assert.throws(f, (e: Error) => e.name === 'ConvError');
    assert.deepEqual(Array.from(mod.weight.data), w);
    assert.deepEqual(Array.from(mod.bias!.data), b);
    assert.equal(mod.weight.grad, null);
    assert.equal(mod.bias!.grad, null);
    assert.deepEqual([...mod.weight.shape], mod === m ? [2, 3, 3] : [3, 2, 3]);
  }
});

test('a failing backward leaves gradients untouched; the inputs of a failing call are unchanged', () => {
  const x = randn([1, 2, 5], { seed: 3 });
  x.requiresGrad = true;
  const w = randn([3, 2, 3], { seed: 4 });
  w.requiresGrad = true;
  const y = conv1d(x, w);
  assertConvError(() => y.backward(ones([1, 3, 2])), 'backward', 'gradOutput', ['[1, 3, 3]', '[1, 3, 2]']);
  assertConvError(() => y.backward(), 'backward', 'gradOutput', ['[1, 3, 3]']);
  assert.equal(x.grad, null);
  assert.equal(w.grad, null);
  const xs = Array.from(x.data), ws = Array.from(w.data);
  assert.throws(() => conv1d(x, w, null, { stride: 0 }));
  assert.throws(() => conv1d(x, w, randn([5])));
  assert.deepEqual(Array.from(x.data), xs);
  assert.deepEqual(Array.from(w.data), ws);
  // A valid call afterwards still works and back-propagates.
  y.backward(ones([1, 3, 3]));
  assert.deepEqual([...x.grad!.shape], [1, 2, 5]);
});

test('an empty batch is allowed and gives an empty output of the predicted shape', () => {
  forEachBackend(() => {
    const y = conv2d(zeros([0, 2, 4, 4]), randn([3, 2, 3, 3]), randn([3]), { padding: 1 });
    assert.deepEqual([...y.shape], [0, 3, 4, 4]);
    assert.equal(y.size, 0);
    assert.deepEqual([...convTranspose1d(zeros([0, 2, 3]), randn([2, 5, 2]), null, { stride: 2 }).shape], [0, 5, 6]);
  });
});

test('a failing call restores the backend choice made with withBackend', () => {
  assert.throws(() => withBackend('ref', () => conv1d(x1(), w1(), null, { stride: 0 })));
  assert.throws(() => withBackend('nope', () => 0));
  // The backend is back to auto: a valid call runs.
  assert.deepEqual(conv1d(tensor([[[1, 2]]]), tensor([[[3]]])).toArray(), [[[3, 6]]]);
});

test('NaN propagates as in IEEE arithmetic, never an exception', () => {
  forEachBackend(() => {
    // y[o] = x[o] + x[o + 1]: NaN at index 1 reaches outputs 0 and 1 only.
    const y = conv1d(tensor([[[1, NaN, 3, 4, 5]]]), tensor([[[1, 1]]]));
    assert.deepEqual(y.toArray(), [[[NaN, NaN, 7, 9]]]);
    // A zero weight tap still propagates NaN (0 · NaN = NaN), as IEEE and the frameworks do.
    const z = conv1d(tensor([[[1, NaN, 3]]]), tensor([[[1, 0]]]));
    const expected = directConv([1, NaN, 3], [1, 0], { n: 1, cIn: 1, cOut: 1, groups: 1, inSize: [3], kSize: [2], stride: [1], dilation: [1], pads: [[0, 0]] }).y;
    assert.deepEqual(Array.from(z.data), Array.from(expected));
    assert.ok(Number.isNaN(z.data[0]) && Number.isNaN(z.data[1]));
    // Transposed: NaN scatters into the outputs its input touches.
    const t = convTranspose1d(tensor([[[1, NaN, 2]]]), tensor([[[1, 1]]]), null, { stride: 2 });
    assert.deepEqual(t.toArray(), [[[1, 1, NaN, NaN, 2, 2]]]);
    // NaN in the weight or bias.
    const b = conv1d(tensor([[[1, 2]]]), tensor([[[1]], [[NaN]]]), tensor([0, 1]));
    assert.deepEqual(b.toArray(), [[[1, 2], [NaN, NaN]]]);
    const inf = conv1d(tensor([[[Infinity, 1]]]), tensor([[[1]]]), tensor([-Infinity]));
    assert.deepEqual(inf.toArray(), [[[NaN, -Infinity]]]);
  });
});

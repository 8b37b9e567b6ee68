/**
 * What a port relies on besides the ops: child modules registered by attribute (PyTorch's keys
 * without a namedChildren override), ModuleList, Identity, buffers in the state dict, train/eval,
 * foldBatchNorm (the folded convolution equals conv → BatchNorm in eval mode), and forwardAsync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchNorm1d, BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, Conv3d, ConvError, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
  Identity, Module, ModuleList, ReLU, Sequential, Tensor, asyncSteps, yieldToEventLoop, foldBatchNorm, manualSeed, noGrad, randn, relu, tensor, withBackend,
  type BatchNorm,
} from '../src/index.js';
import { ConvNdBase } from '../src/nn/conv.js';
import { assertClose } from './helpers/close.js';

class Block extends Module {
  readonly conv = new Conv1d(2, 3, 3, { padding: 1 });
  readonly norm = new BatchNorm1d(3);
  readonly scale = 2; // not a module: ignored
  override forward(x: Tensor): Tensor { return relu(this.norm.forward(this.conv.forward(x))); }
}

class Net extends Module {
  readonly conv_pre: Conv1d;
  readonly blocks: ModuleList;
  readonly act = new ReLU();
  readonly head: Sequential;
  constructor() {
    super();
    this.conv_pre = new Conv1d(1, 2, 3, { padding: 1 });
    this.blocks = new ModuleList([new Block(), new Identity()]);
    this.head = new Sequential(new Conv1d(3, 1, 1));
  }
  override forward(x: Tensor): Tensor {
    x = this.conv_pre.forward(x);
    for (const b of this.blocks) x = b.forward(x);
    return this.head.forward(x);
  }
}

test('fields holding modules are children under their names, in declaration order, with PyTorch\'s keys', () => {
  const net = new Net();
  assert.deepEqual(net.namedChildren().map(([k]) => k), ['conv_pre', 'blocks', 'act', 'head']);
  assert.deepEqual(net.namedParameters().map(([k]) => k), [
    'conv_pre.weight', 'conv_pre.bias', 'blocks.0.conv.weight', 'blocks.0.conv.bias', 'blocks.0.norm.weight', 'blocks.0.norm.bias',
    'head.0.weight', 'head.0.bias']);
  // PyTorch's state dict adds the buffers after each module's parameters.
  assert.deepEqual(Object.keys(net.stateDict()), [
    'conv_pre.weight', 'conv_pre.bias', 'blocks.0.conv.weight', 'blocks.0.conv.bias', 'blocks.0.norm.weight', 'blocks.0.norm.bias',
    'blocks.0.norm.running_mean', 'blocks.0.norm.running_var', 'blocks.0.norm.num_batches_tracked', 'head.0.weight', 'head.0.bias']);
  assert.deepEqual(net.namedBuffers().map(([k]) => k), ['blocks.0.norm.running_mean', 'blocks.0.norm.running_var', 'blocks.0.norm.num_batches_tracked']);
  assert.equal(net.parameters().length, 8);
});

test('shared modules and weights: listed once as parameters, under every name in the state dict (as PyTorch); a cycle does not loop', () => {
  class Tied extends Module {
    readonly a = new Conv1d(1, 1, 1);
    b = this.a;
    c = new Conv1d(1, 1, 1);
    parent: Module | null = null;
    override forward(x: Tensor): Tensor { return this.c.forward(this.b.forward(this.a.forward(x))); }
  }
  const t = new Tied();
  t.c.weight = t.a.weight;
  t.parent = t;
  // PyTorch 1.13: named_parameters() → a.weight, a.bias, c.bias; state_dict() → a.*, b.*, c.*.
  assert.deepEqual(t.namedParameters().map(([k]) => k), ['a.weight', 'a.bias', 'c.bias']);
  assert.deepEqual(Object.keys(t.stateDict()), ['a.weight', 'a.bias', 'b.weight', 'b.bias', 'c.weight', 'c.bias']);
  const other = new Tied();
  other.loadStateDict(t.stateDict());
  assert.deepEqual(other.a.weight.data, t.a.weight.data);
  t.train(false);
  assert.equal(t.a.training, false);
});

test('loadStateDict fills buffers too; stateDict copies them', () => {
  const net = new Net(), other = new Net();
  const bn = (net.blocks.at(0) as Block).norm;
  bn.runningMean!.data.set([1, 2, 3]);
  bn.numBatchesTracked!.data[0] = 7;
  const saved = net.stateDict();
  bn.runningMean!.data[0] = 99;
  assert.equal(saved['blocks.0.norm.running_mean'].data[0], 1, 'a saved dict is a snapshot');
  other.loadStateDict(saved);
  const obn = (other.blocks.at(0) as Block).norm;
  assert.deepEqual(Array.from(obn.runningMean!.data), [1, 2, 3]);
  assert.equal(obn.numBatchesTracked!.item(), 7);
  // A missing buffer is a missing key.
  const { ['blocks.0.norm.running_var']: _, ...partial } = saved;
  assert.throws(() => other.loadStateDict(partial), (e: unknown) => e instanceof ConvError && /missing keys \['blocks.0.norm.running_var'\]/.test(e.message));
});

test('loadStateDictAsync with a CPU dict loads as loadStateDict (result, checks, versions)', async () => {
  const net = new Net(), other = new Net();
  const saved = net.stateDict();
  const { ['blocks.0.norm.running_var']: _, ...partial } = saved;
  await assert.rejects(other.loadStateDictAsync(partial), (e: unknown) => e instanceof ConvError && /missing keys \['blocks.0.norm.running_var'\]/.test(e.message));
  await assert.rejects(other.loadStateDictAsync(saved, { strict: 'no' as never }), /strict must be true or false/);
  assert.deepEqual(await other.loadStateDictAsync(partial, { strict: false }), { missingKeys: ['blocks.0.norm.running_var'], unexpectedKeys: [] });
  assert.deepEqual(await other.loadStateDictAsync(saved), { missingKeys: [], unexpectedKeys: [] });
  for (const [k, p] of other.namedParameters()) {
    assert.deepEqual(p.data, saved[k].data, k);
    assert.equal(p.version, 2, `${k}: written twice`);
  }
});

test('train() and eval() reach every descendant; BatchNorm follows them', () => {
  const net = new Net();
  const bn = (net.blocks.at(0) as Block).norm;
  assert.equal(bn.training, true);
  assert.equal(net.eval(), net);
  assert.equal(bn.training, false);
  assert.equal(net.head.at(0).training, false);
  const x = randn([2, 1, 5], { seed: 1 });
  noGrad(() => net.forward(x));
  assert.equal(bn.numBatchesTracked!.item(), 0, 'eval: running statistics unchanged');
  net.train();
  noGrad(() => net.forward(x));
  assert.equal(bn.numBatchesTracked!.item(), 1);
});

test('ModuleList: indexing, append, extend, iteration, errors', () => {
  const a = new Conv1d(1, 1, 1), b = new ReLU(), c = new Identity();
  const list = new ModuleList([a]).append(b).extend([c]);
  assert.equal(list.length, 3);
  assert.equal(list.at(-1), c);
  assert.deepEqual([...list], [a, b, c]);
  assert.deepEqual(list.namedParameters().map(([k]) => k), ['0.weight', '0.bias']);
  assert.throws(() => list.at(3), (e: unknown) => e instanceof ConvError && /^ModuleList: index must be an integer in \[-3, 2\]; got 3/.test(e.message));
  assert.throws(() => list.extend([new ReLU(), 5 as unknown as Module]), (e: unknown) => e instanceof ConvError && /^ModuleList: modules\[1\] must be a Module; got 'number'/.test(e.message));
  assert.equal(list.length, 3, 'a failed extend appends nothing');
  assert.throws(() => list.forward(tensor([1])), (e: unknown) => e instanceof ConvError && /^ModuleList: forward is not defined/.test(e.message));
});

test('Identity returns its input and passes the gradient through', () => {
  const x = tensor([1, -2, 3], undefined, { requiresGrad: true });
  const y = new Identity().forward(x);
  assert.equal(y, x);
  new Sequential(new Identity(), new ReLU()).forward(x).backward(tensor([1, 1, 1]));
  assert.deepEqual(Array.from(x.grad!.data), [1, 0, 1]);
});

/** conv → bn in eval mode against the folded conv, with trained-looking BatchNorm statistics. */
function checkFold(conv: ConvNdBase, bn: BatchNorm, xShape: number[], what: string): void {
  manualSeed(5);
  if (bn.weight) bn.weight.data.set(Array.from(randn([bn.numFeatures]).data, (v) => 1 + 0.3 * v));
  if (bn.bias) bn.bias.data.set(randn([bn.numFeatures]).data);
  bn.runningMean!.data.set(randn([bn.numFeatures]).data);
  bn.runningVar!.data.set(Array.from(randn([bn.numFeatures]).data, (v) => 0.5 + v * v));
  bn.eval();
  const before = [conv.weight.data.slice(), bn.runningMean!.data.slice()];
  const x = randn(xShape, { seed: 9, dtype: conv.weight.dtype });
  const folded = foldBatchNorm(conv, bn);
  assert.equal(folded.constructor, conv.constructor, `${what}: same class`);
  assert.ok(folded.bias, `${what}: the folded conv has a bias`);
  for (const backend of ['ref', 'wasm']) {
    const want = withBackend(backend, () => noGrad(() => bn.forward(conv.forward(x))));
    const got = withBackend(backend, () => noGrad(() => folded.forward(x)));
    assert.deepEqual(got.shape, want.shape);
    assertClose(got.data, want.data, conv.weight.dtype === 'float64' ? 1e-12 : 1e-5, `${what} (${backend})`);
  }
  assert.deepEqual(conv.weight.data, before[0], `${what}: conv unchanged`);
  assert.deepEqual(bn.runningMean!.data, before[1], `${what}: bn unchanged`);
}

test('foldBatchNorm: the folded convolution equals conv → BatchNorm in eval mode', () => {
  checkFold(new Conv1d(4, 6, 3, { padding: 'same', dilation: 2, seed: 1 }), new BatchNorm1d(6), [2, 4, 9], 'Conv1d with bias, same');
  checkFold(new Conv2d(4, 6, 3, { stride: 2, groups: 2, bias: false, paddingMode: 'reflect', padding: 1, seed: 2 }), new BatchNorm2d(6), [1, 4, 7, 6], 'grouped Conv2d, reflect');
  checkFold(new Conv3d(2, 3, 2, { dtype: 'float64', seed: 3 }), new BatchNorm3d(3, { affine: false, dtype: 'float64' }), [1, 2, 3, 3, 3], 'Conv3d float64, no affine');
  checkFold(new ConvTranspose1d(4, 6, 4, { stride: 2, padding: 1, groups: 2, bias: false, seed: 4 }), new BatchNorm1d(6, { eps: 1e-3 }), [2, 4, 5], 'grouped ConvTranspose1d');
  checkFold(new ConvTranspose2d(3, 2, 3, { stride: 2, outputPadding: 1, padding: [[1, 0], [0, 1]], seed: 5 }), new BatchNorm2d(2), [1, 3, 4, 3], 'ConvTranspose2d asymmetric padding, output padding');
  checkFold(new ConvTranspose3d(2, 4, 2, { groups: 2, seed: 6 }), new BatchNorm3d(4), [1, 2, 2, 2, 2], 'grouped ConvTranspose3d');
});

test('foldBatchNorm: mismatched or unsuitable arguments give a ConvError', () => {
  const conv = new Conv1d(2, 3, 1);
  const cases: [() => unknown, RegExp][] = [
    [() => foldBatchNorm(conv, new BatchNorm1d(4)), /^foldBatchNorm: bn must normalise the conv's 3 output channels; got numFeatures=4/],
    [() => foldBatchNorm(conv, new BatchNorm1d(3, { trackRunningStats: false })), /^foldBatchNorm: bn must track running statistics/],
    [() => foldBatchNorm(new ReLU() as unknown as ConvNdBase, new BatchNorm1d(3)), /^foldBatchNorm: conv must be a convolution module.*; got ReLU/],
    [() => foldBatchNorm(conv, new Identity() as unknown as BatchNorm), /^foldBatchNorm: bn must be a BatchNorm1d\/2d\/3d; got Identity/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: unknown) => e instanceof ConvError && re.test(e.message), String(re));
});

test('forwardAsync: the default, Sequential and asyncSteps give forward\'s result and grad mode', async () => {
  const net = new Net();
  const x = randn([2, 1, 6], { seed: 3 });
  const want = noGrad(() => net.forward(x));
  // Net has no forwardAsync of its own: the default runs forward after one turn of the event loop.
  const y = await noGrad(() => net.forwardAsync(x));
  assert.deepEqual(y.data, want.data);
  assert.equal(y.requiresGrad, false);
  const seq = new Sequential(new Conv1d(1, 2, 3), new ReLU(), new Conv1d(2, 1, 1));
  const ys = await seq.forwardAsync(x);
  assert.equal(ys.requiresGrad, true);
  assert.deepEqual(ys.data, noGrad(() => seq.forward(x)).data);
  const yn = await noGrad(() => seq.forwardAsync(x));
  assert.equal(yn.requiresGrad, false, 'the grad mode of the call holds across the awaits');
  // asyncSteps: each step is followed by a turn of the event loop.
  const order: string[] = [];
  const step = noGrad(() => asyncSteps());
  setImmediate(() => order.push('turn'));
  const r = await step(() => { order.push('step'); return relu(tensor([-1, 2], undefined, { requiresGrad: true })); });
  order.push('resolved');
  assert.deepEqual(order, ['step', 'turn', 'resolved']);
  assert.equal(r.requiresGrad, false);
});

test('yieldToEventLoop resolves after pending callbacks, also where setImmediate is missing (browsers)', async () => {
  const order: string[] = [];
  setImmediate(() => order.push('immediate'));
  await yieldToEventLoop();
  order.push('after');
  assert.deepEqual(order, ['immediate', 'after']);
  const g = globalThis as { setImmediate?: typeof setImmediate };
  const saved = g.setImmediate;
  delete g.setImmediate;
  try {
    const seen: string[] = [];
    setTimeout(() => seen.push('timer'), 0);
    await new Promise((r) => setTimeout(r, 5)); // the timer has fired
    await yieldToEventLoop(); // MessageChannel path
    seen.push('after');
    assert.deepEqual(seen, ['timer', 'after']);
  } finally {
    g.setImmediate = saved;
  }
});

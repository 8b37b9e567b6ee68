/**
 * The write counter of tensor storage (Tensor.version) and the in-place paths: every documented
 * write (markChanged, update, optimizer steps, loadStateDict, in-place activations) bumps it, views
 * share it, refused writes leave data and counter alone; in-place activations and the in-place
 * activation after a convolution in Sequential give the same values as the out-of-place ops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam, Conv1d, ConvError, ConvTranspose1d, LeakyReLU, ReLU, Sequential, Sigmoid, SGD, Tanh, leakyRelu, mseLoss, noGrad, randn, relu,
  sigmoid, tanh, tensor, manualSeed,
} from '../src/index.js';

test('markChanged and update bump the version; reshape and detach views share it', () => {
  const t = tensor([1, 2, 3, 4]);
  assert.equal(t.version, 0);
  const v = t.reshape([2, 2]), d = t.detach();
  assert.equal(t.markChanged(), t);
  assert.deepEqual([t.version, v.version, d.version], [1, 1, 1]);
  v.update((data) => data.fill(7));
  assert.deepEqual([...t.data], [7, 7, 7, 7]);
  assert.deepEqual([t.version, v.version, d.version], [2, 2, 2]);
  assert.equal(tensor([1, 2, 3, 4]).version, 0, 'another storage keeps its own count');
  assert.throws(() => t.update(() => { throw new Error('half-way'); }), /half-way/);
  assert.equal(t.version, 3, 'a write that throws half-way still counts (the data may have changed)');
});

test('optimizer steps bump exactly the parameters they update (SGD, Adam)', () => {
  for (const make of [(p: ReturnType<typeof randn>[]) => new SGD(p, { lr: 0.1, momentum: 0.9 }), (p: ReturnType<typeof randn>[]) => new Adam(p, { lr: 0.01 })]) {
    manualSeed(1);
    const m = new Conv1d(2, 3, 3);
    const opt = make(m.parameters());
    const [w, b] = m.parameters();
    const x = randn([1, 2, 8]);
    mseLoss(m.forward(x), randn([1, 3, 6])).backward();
    b.grad = null; // b is skipped this step
    const [vw, vb] = [w.version, b.version];
    opt.step();
    assert.equal(w.version, vw + 1);
    assert.equal(b.version, vb);
  }
});

test('loadStateDict bumps every parameter it writes; a refused dict bumps none', () => {
  const m = new Sequential(new Conv1d(2, 3, 3), new ReLU(), new ConvTranspose1d(3, 2, 2));
  const before = m.parameters().map((p) => p.version);
  const sd = Object.fromEntries(m.namedParameters().map(([k, p]) => [k, tensor(p.data.map((v) => v + 1), p.shape)]));
  assert.throws(() => m.loadStateDict({ ...sd, '0.weight': tensor([1]) }), ConvError);
  assert.deepEqual(m.parameters().map((p) => p.version), before);
  m.loadStateDict(sd);
  assert.deepEqual(m.parameters().map((p) => p.version), before.map((v) => v + 1));
  m.namedParameters().forEach(([k, p]) => assert.deepEqual(p.data, sd[k].data));
});

test('in-place activations write the out-of-place values into the input, bump it, and refuse inputs autograd needs', () => {
  manualSeed(3);
  const ops = [(x: ReturnType<typeof randn>, ip: boolean) => relu(x, ip), (x: ReturnType<typeof randn>, ip: boolean) => leakyRelu(x, 0.2, ip),
    (x: ReturnType<typeof randn>, ip: boolean) => tanh(x, ip), (x: ReturnType<typeof randn>, ip: boolean) => sigmoid(x, ip)];
  for (const dtype of ['float32', 'float64'] as const)
    for (const f of ops) {
      const x = randn([3, 5, 17], { dtype }), expected = f(x, false).data, v = x.version;
      assert.equal(f(x, true), x, 'returns its input');
      assert.deepEqual(x.data, expected);
      assert.equal(x.version, v + 1);
      const g = randn([40], { dtype, requiresGrad: true }), copy = g.data.slice();
      assert.throws(() => f(g, true), (e: unknown) => e instanceof ConvError && /inplace/.test(e.message));
      assert.deepEqual(g.data, copy, 'a refused in-place op changes nothing');
      assert.equal(g.version, 0);
      noGrad(() => f(g, true)); // allowed where nothing is recorded
      assert.equal(g.version, 1);
    }
  assert.throws(() => relu(randn([4]), 'yes' as never), /relu: inplace must be a boolean/);
});

test('Sequential fuses an activation after a convolution: the values and gradients of the two modules run apart', () => {
  manualSeed(5);
  for (const act of [new LeakyReLU(0.1), new ReLU(), new Tanh(), new Sigmoid(), new LeakyReLU(-0.2)]) {
    const m = new Sequential(new Conv1d(3, 8, 5, { padding: 2 }), act, new ConvTranspose1d(8, 4, 4, { stride: 2 }), act);
    const x = randn([2, 3, 50], { requiresGrad: true }), keep = x.data.slice();
    const apart = (h: typeof x) => act.forward(m.at(2).forward(act.forward(m.at(0).forward(h))));
    const fused = m.forward(x), ref = apart(x);
    const tol = act instanceof Tanh || act instanceof Sigmoid ? 1e-6 : 0;
    fused.data.forEach((v, i) => assert.ok(Math.abs(v - ref.data[i]) <= tol, `${String(act)} element ${i}: ${v} vs ${ref.data[i]}`));
    const gy = randn(fused.shape);
    fused.backward(gy);
    const gFused = m.parameters().map((p) => p.grad!.data.slice()), gxFused = x.grad!.data.slice();
    for (const p of [x, ...m.parameters()]) p.grad = null;
    ref.backward(gy);
    m.parameters().forEach((p, i) => p.grad!.data.forEach((v, j) => assert.ok(Math.abs(v - gFused[i][j]) <= 1e-4 * (1 + Math.abs(v)), `grad ${i}[${j}]`)));
    x.grad!.data.forEach((v, j) => assert.ok(Math.abs(v - gxFused[j]) <= 1e-4 * (1 + Math.abs(v)), `gx[${j}]`));
    assert.deepEqual(x.data, keep, 'the input is never written');
    assert.deepEqual(noGrad(() => m.forward(x)).data, fused.data, 'the same values without autograd');
  }
  // An explicitly in-place module writes its input, and refuses where autograd records.
  const x = randn([1, 4, 30]), expected = leakyRelu(x, 0.2).data;
  assert.equal(noGrad(() => new LeakyReLU(0.2, true).forward(x)), x);
  assert.deepEqual(x.data, expected);
  assert.throws(() => new LeakyReLU(0.2, true).forward(randn([3], { requiresGrad: true })), /leakyRelu: inplace needs/);
});

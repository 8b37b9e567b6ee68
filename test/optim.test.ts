/**
 * SGD and Adam against PyTorch trajectories (test/cases/optim.json: Conv1d → LeakyReLU →
 * ConvTranspose1d, float64, five steps each) plus the optimizers' own rules and errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  Adam, Conv1d, ConvError, ConvTranspose1d, LeakyReLU, mseLoss, mul, Sequential, SGD, sum, tensor, Tensor, zeros,
  type AdamOptions, type SGDOptions,
} from '../src/index.js';

interface Enc { shape: number[]; data: number[] }
interface Trajectory {
  name: string; optimizer: 'SGD' | 'Adam'; options: Record<string, unknown>;
  model: { conv: Record<string, number>; leakyRelu: number; convTranspose: Record<string, number> };
  x: Enc; target: Enc; init: Record<string, Enc>; losses: number[]; params: Record<string, Enc>[];
}
const cases: Trajectory[] = JSON.parse(readFileSync(new URL('./cases/optim.json', import.meta.url), 'utf8')).cases;
const f64 = (e: Enc) => tensor(Float64Array.from(e.data), e.shape);

const close = (a: number, e: number, what: string, rtol = 1e-9) =>
  assert.ok(Math.abs(a - e) <= rtol * Math.max(1, Math.abs(e)), `${what}: got ${a}, expected ${e}`);

for (const c of cases) {
  test(`${c.name}: ${c.losses.length} steps match PyTorch (losses and every parameter, 1e-9)`, () => {
    const { conv, convTranspose: ct } = c.model;
    const net = new Sequential(
      new Conv1d(conv.in, conv.out, conv.k, { stride: conv.stride, padding: conv.padding, dtype: 'float64', seed: 1 }),
      new LeakyReLU(c.model.leakyRelu),
      new ConvTranspose1d(ct.in, ct.out, ct.k, { stride: ct.stride, padding: ct.padding, dtype: 'float64', seed: 2 }),
    );
    net.loadStateDict(Object.fromEntries(Object.entries(c.init).map(([k, v]) => [k, f64(v)])));
    const opt = c.optimizer === 'SGD'
      ? new SGD(net.parameters(), c.options as unknown as SGDOptions)
      : new Adam(net.parameters(), c.options as AdamOptions);
    const x = f64(c.x), target = f64(c.target);
    c.losses.forEach((expectedLoss, step) => {
      opt.zeroGrad();
      const loss = mseLoss(net.forward(x), target);
      loss.backward();
      opt.step();
      close(loss.item(), expectedLoss, `step ${step} loss`);
      for (const [k, p] of net.namedParameters())
        c.params[step][k].data.forEach((e, i) => close(p.data[i], e, `step ${step} ${k}[${i}]`));
    });
    assert.ok(c.losses.at(-1)! < c.losses[0], 'the recorded trajectory descends');
  });
}

test('SGD: one plain step is p − lr·g, in place, float32 kept', () => {
  const p = tensor([1, -2, 3], undefined, { requiresGrad: true });
  const data = p.data;
  const opt = new SGD([p], { lr: 0.5 });
  sum(mul(p, tensor([2, 4, -6]))).backward();
  opt.step();
  assert.equal(p.data, data);
  assert.equal(p.dtype, 'float32');
  assert.deepEqual(Array.from(p.data), [0, -4, 6]);
  opt.zeroGrad();
  assert.equal(p.grad, null);
  opt.step(); // no gradient: nothing moves
  assert.deepEqual(Array.from(p.data), [0, -4, 6]);
});

test('SGD momentum: the buffer starts as the first gradient, then μb + (1 − τ)g; maximize ascends', () => {
  const p = tensor(Float64Array.from([0]), [1], { requiresGrad: true });
  const opt = new SGD([p], { lr: 1, momentum: 0.9, dampening: 0.5 });
  // b₁ = 1 (no dampening on the first step), b₂ = 0.9 + 0.5 = 1.4, b₃ = 0.9·1.4 + 0.5 = 1.76
  const expected = [-1, -2.4, -4.16];
  for (const e of expected) {
    p.grad = tensor(Float64Array.from([1]), [1]);
    opt.step();
    close(p.data[0], e, 'momentum');
  }
  const q = tensor(Float64Array.from([1]), [1], { requiresGrad: true });
  const up = new SGD([q], { lr: 0.1, maximize: true });
  q.grad = tensor(Float64Array.from([2]), [1]);
  up.step();
  close(q.data[0], 1.2, 'maximize');
});

test('Adam: the first step moves each parameter by about lr against the gradient sign', () => {
  const p = tensor(Float64Array.from([1, 1, 1]), [3], { requiresGrad: true });
  const opt = new Adam([p], { lr: 0.01 });
  p.grad = tensor(Float64Array.from([1000, -0.001, 0]), [3]);
  opt.step();
  // m̂ = g, v̂ = g² ⇒ Δ = −lr·g/(|g| + ε)
  close(p.data[0], 1 - 0.01 * 1000 / (1000 + 1e-8), 'large g');
  close(p.data[1], 1 + 0.01 * 0.001 / (0.001 + 1e-8), 'small g');
  assert.equal(p.data[2], 1);
  assert.deepEqual([opt.lr, opt.betas, opt.eps, opt.weightDecay, opt.amsgrad], [0.01, [0.9, 0.999], 1e-8, 0, false]);
  assert.equal(new Adam([p]).lr, 1e-3, 'PyTorch default lr');
});

test('a gradient of the wrong shape throws before any parameter changes', () => {
  const a = tensor(Float64Array.from([1, 2]), [2], { requiresGrad: true });
  const b = tensor(Float64Array.from([3, 4]), [2], { requiresGrad: true });
  for (const opt of [new SGD([a, b], { lr: 0.1, momentum: 0.9 }), new Adam([a, b])]) {
    a.grad = tensor(Float64Array.from([1, 1]), [2]);
    // As in PyTorch ("assigned grad has data of a different size"), the assignment itself is refused.
    assert.throws(() => { b.grad = zeros([3], { dtype: 'float64' }); }, (e: unknown) => e instanceof ConvError && e.param === 'grad' && /\[2\].*got shape \[3\]/.test(e.message));
    assert.equal(b.grad, null);
    opt.step();
    assert.deepEqual([...b.data], [3, 4]); // no gradient: b is skipped
    a.data.set([1, 2]);
  }
});

test('optimizer arguments are checked (ConvError naming the option and value)', () => {
  const p = tensor([1], undefined, { requiresGrad: true });
  const err = (op: string, param: string) => (e: unknown) => e instanceof ConvError && e.op === op && e.param === param;
  assert.throws(() => new SGD([p], {} as SGDOptions), err('SGD', 'lr'));
  assert.throws(() => new SGD([p], { lr: -0.1 }), (e: unknown) => err('SGD', 'lr')(e) && /got -0\.1/.test((e as Error).message));
  assert.throws(() => new SGD([p], { lr: 0.1, momentum: -1 }), err('SGD', 'momentum'));
  assert.throws(() => new SGD([p], { lr: 0.1, weightDecay: -1 }), err('SGD', 'weightDecay'));
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), err('SGD', 'nesterov'));
  assert.throws(() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), err('SGD', 'nesterov'));
  assert.throws(() => new SGD([], { lr: 0.1 }), (e: unknown) => err('SGD', 'params')(e) && /empty/.test((e as Error).message));
  assert.throws(() => new SGD([p, p], { lr: 0.1 }), err('SGD', 'params'));
  assert.throws(() => new SGD([mul(p, 2)], { lr: 0.1 }), (e: unknown) => err('SGD', 'params')(e) && /leaf/.test((e as Error).message));
  assert.throws(() => new Adam([p], { betas: [0.9, 1] }), err('Adam', 'betas'));
  assert.throws(() => new Adam([p], { eps: -1 }), err('Adam', 'eps'));
  assert.throws(() => new Adam([p], { lr: NaN }), err('Adam', 'lr'));
  assert.throws(() => new Adam([1] as unknown as Tensor[]), err('Adam', 'params'));
});

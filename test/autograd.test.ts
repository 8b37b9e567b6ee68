/**
 * Autograd around convolutions: the op set against PyTorch (test/cases/ops.json, float64), the
 * Tensor's gradient semantics (accumulation, detach, noGrad, errors), modules' state dicts and Sequential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from './helpers/close.js';
import { readFileSync } from 'node:fs';
import {
  add, Conv1d, ConvError, ConvTranspose1d, conv1d, l1Loss, LeakyReLU, leakyRelu, mean, mseLoss, mul, noGrad, isGradEnabled,
  permute, ReLU, relu, reshape, Sequential, sigmoid, Sigmoid, sub, sum, Tanh, tanh, tensor, Tensor, zeros, randn, type Operand,
} from '../src/index.js';

interface Enc { shape: number[]; data: number[] }
interface OpCase {
  name: string; op: string; args: Record<string, unknown>;
  inputs: (Enc & { requiresGrad: boolean })[]; gy: Enc; out: Enc; grads: (Enc | null)[];
}
const cases: OpCase[] = JSON.parse(readFileSync(new URL('./cases/ops.json', import.meta.url), 'utf8')).cases;

const f64 = (e: Enc, requiresGrad = false) => tensor(Float64Array.from(e.data), e.shape, { requiresGrad });

function assertMatches(actual: Tensor, expected: Enc, what: string, rtol = 1e-9): void {
  assert.deepEqual([...actual.shape], expected.shape, `${what}: shape`);
  assertClose(actual.data, expected.data, { rtol, relativeTo: 'element', floor: 1 }, what);
}

function runOp(c: OpCase, xs: Tensor[]): Tensor {
  const a = c.args as Record<string, never>;
  switch (c.op) {
    case 'add': return a.scalar !== undefined ? add(xs[0], a.scalar as number) : add(xs[0], xs[1]);
    case 'sub': return a.scalarFirst !== undefined ? sub(a.scalarFirst as Operand, xs[0]) : sub(xs[0], xs[1]);
    case 'mul': return a.scalar !== undefined ? mul(xs[0], a.scalar as number) : mul(xs[0], xs[1]);
    case 'relu': return relu(xs[0]);
    case 'leakyRelu': return a.negativeSlope !== undefined ? leakyRelu(xs[0], a.negativeSlope) : leakyRelu(xs[0]);
    case 'tanh': return tanh(xs[0]);
    case 'sigmoid': return sigmoid(xs[0]);
    case 'sum': return sum(xs[0], a.dim, a.keepdim);
    case 'mean': return mean(xs[0], a.dim, a.keepdim);
    case 'reshape': return reshape(xs[0], a.shape);
    case 'permute': return permute(xs[0], a.dims);
    case 'mseLoss': return mseLoss(xs[0], xs[1], a.reduction);
    case 'l1Loss': return l1Loss(xs[0], xs[1], a.reduction);
    case 'composite': return mean(mul(tanh(add(mul(xs[0], xs[1]), xs[2])), xs[0]));
    default: throw new Error(`unknown op ${c.op}`);
  }
}

test(`ops match PyTorch: outputs and gradients (${cases.length} recorded cases, float64)`, () => {
  assert.ok(cases.length >= 30);
  for (const c of cases) {
    const xs = c.inputs.map((e) => f64(e, e.requiresGrad));
    const y = runOp(c, xs);
    assertMatches(y, c.out, `${c.name} output`);
    assert.equal(y.requiresGrad, true, `${c.name}: output requires grad`);
    y.backward(f64(c.gy));
    c.grads.forEach((g, i) => {
      if (g === null) assert.equal(xs[i].grad, null, `${c.name}: input ${i} gets no grad`);
      else assertMatches(xs[i].grad!, g, `${c.name} grad ${i}`);
    });
  }
});

test('ops work in float32 too (values rounded to float32, dtype kept)', () => {
  const x = tensor([[-1, 2], [3, -4]], undefined, { requiresGrad: true });
  const b = tensor([[0.5], [-0.25]]);
  const y = mean(mul(relu(add(x, b)), 3));
  assert.equal(y.dtype, 'float32');
  assert.equal(y.item(), Math.fround(((2.5 + 2.75) * 3) / 4));
  y.backward();
  assert.equal(x.grad!.dtype, 'float32');
  assert.deepEqual(x.grad!.toArray(), [[0, 0.75], [0.75, 0]]);
});

test('a scalar output needs no gradOutput; a non-scalar one does', () => {
  const x = tensor(Float64Array.from([1, 2, 3]), [3], { requiresGrad: true });
  sum(mul(x, x)).backward();
  assert.deepEqual(Array.from(x.grad!.data), [2, 4, 6]);
  const y = mul(x, 2);
  assert.throws(() => y.backward(), (e: unknown) => e instanceof ConvError && /gradOutput must be given/.test(e.message));
});

test('.grad accumulates across backward calls until zeroGrad', () => {
  const w = tensor(Float64Array.from([0.5, -1]), [2], { requiresGrad: true });
  const x = tensor(Float64Array.from([3, 4]), [2]);
  for (let k = 1; k <= 3; k++) {
    sum(mul(w, x)).backward();
    assert.deepEqual(Array.from(w.grad!.data), [3 * k, 4 * k]);
  }
  w.zeroGrad();
  assert.equal(w.grad, null);
  sum(mul(w, x)).backward();
  assert.deepEqual(Array.from(w.grad!.data), [3, 4]);
  assert.equal(x.grad, null, 'a tensor that needs no grad gets none');
});

test('a tensor used along several paths receives the sum of their gradients', () => {
  const x = tensor(Float64Array.from([1.5, -2]), [2], { requiresGrad: true });
  // y = x·x + 3x + x  ⇒ dy/dx = 2x + 4
  sum(add(add(mul(x, x), mul(x, 3)), x)).backward();
  assert.deepEqual(Array.from(x.grad!.data), [2 * 1.5 + 4, 2 * -2 + 4]);
});

test('gradOutput is seeded as given (vector–Jacobian product) and is not modified', () => {
  const x = tensor(Float64Array.from([1, 2, 3]), [3], { requiresGrad: true });
  const y = mul(x, x);
  const gy = tensor(Float64Array.from([1, 10, 100]), [3]);
  y.backward(gy);
  assert.deepEqual(Array.from(x.grad!.data), [2, 40, 600]);
  assert.deepEqual(Array.from(gy.data), [1, 10, 100]);
  // A leaf as the root: its grad is a copy of gradOutput.
  const leaf = tensor(Float64Array.from([7, 8]), [2], { requiresGrad: true });
  const g = tensor(Float64Array.from([1, 2]), [2]);
  leaf.backward(g);
  g.data[0] = 99;
  assert.deepEqual(Array.from(leaf.grad!.data), [1, 2]);
});

test('detach cuts the graph and shares the data', () => {
  const x = tensor(Float64Array.from([2, 3]), [2], { requiresGrad: true });
  const d = mul(x, x).detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  // z = x·stopgrad(x²): dz/dx = x² only.
  sum(mul(x, x.detach())).backward();
  assert.deepEqual(Array.from(x.grad!.data), [2, 3]);
  x.zeroGrad();
  sum(mul(x, d)).backward();
  assert.deepEqual(Array.from(x.grad!.data), [4, 9]);
  const xd = x.detach();
  xd.data[0] = 5;
  assert.equal(x.data[0], 5, 'detach shares storage');
});

test('noGrad records nothing, nests, and restores the mode even when fn throws', () => {
  const w = tensor(Float64Array.from([1, 2]), [2], { requiresGrad: true });
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    const inner = noGrad(() => mul(w, 2));
    assert.equal(isGradEnabled(), false, 'still off after the inner block');
    return add(inner, w);
  });
  assert.equal(isGradEnabled(), true);
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  assert.deepEqual(Array.from(y.data), [3, 6]);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => y.backward(tensor(Float64Array.from([1, 1]), [2])), ConvError);
  // A conv under noGrad leaves parameters gradient-free.
  const m = new Conv1d(1, 2, 3, { seed: 1, dtype: 'float64' });
  const out = noGrad(() => m.forward(randn([1, 1, 5], { dtype: 'float64', seed: 2 })));
  assert.equal(out.requiresGrad, false);
});

test('backward errors: no grad needed, wrong gradOutput shape or dtype → ConvError, nothing changed', () => {
  const plain = tensor([1, 2, 3]);
  assert.throws(() => plain.backward(), (e: unknown) => e instanceof ConvError && e.op === 'backward' && /does not require grad/.test(e.message));
  const m = new Conv1d(2, 3, 3, { seed: 3, dtype: 'float64' });
  const x = randn([2, 2, 6], { dtype: 'float64', seed: 4 });
  const y = m.forward(x);
  sum(y).backward();
  const before = m.parameters().map((p) => Array.from(p.grad!.data));
  const weights = m.parameters().map((p) => Array.from(p.data));
  assert.throws(() => y.backward(zeros([2, 3, 5], { dtype: 'float64' })),
    (e: unknown) => e instanceof ConvError && e.param === 'gradOutput' && /\[2, 3, 4\]/.test(e.message) && /\[2, 3, 5\]/.test(e.message));
  assert.throws(() => y.backward(zeros([2, 3, 4])), (e: unknown) => e instanceof ConvError && /dtype float64/.test(e.message));
  m.parameters().forEach((p, i) => {
    assert.deepEqual(Array.from(p.grad!.data), before[i], 'grads unchanged');
    assert.deepEqual(Array.from(p.data), weights[i], 'weights unchanged');
  });
});

test('op errors are ConvErrors naming the op and the values', () => {
  const a = zeros([2, 3]), b = zeros([4]);
  assert.throws(() => add(a, b), (e: unknown) => e instanceof ConvError && e.message === 'add: shape operands must be broadcastable (sizes equal or 1 in each trailing dim); got [2, 3] and [4]');
  assert.throws(() => mul(a, zeros([2, 3], { dtype: 'float64' })), (e: unknown) => e instanceof ConvError && e.op === 'mul' && /float32; got float64/.test(e.message));
  assert.throws(() => mseLoss(a, zeros([3, 2])), (e: unknown) => e instanceof ConvError && e.op === 'mseLoss' && e.param === 'target');
  assert.throws(() => l1Loss(a, zeros([2, 3]), 'avg' as never), (e: unknown) => e instanceof ConvError && e.param === 'reduction');
  assert.throws(() => sum(a, 2), (e: unknown) => e instanceof ConvError && e.message === 'sum: dim must be an integer or a list of integers in [-2, 1] for shape [2, 3]; got 2');
  assert.throws(() => mean(a, [1, -1]), (e: unknown) => e instanceof ConvError && /repeat/.test(e.message));
  assert.throws(() => add(1 as never, 2 as never), ConvError);
  assert.throws(() => relu([1, 2] as never), (e: unknown) => e instanceof ConvError && e.op === 'relu');
});

test('conv gradients flow through ops: a per-channel affine after conv1d matches the hand-derived chain rule', () => {
  // y = conv1d(x, w) ⊙ s + t with s, t of shape (C, 1); L = Σ y.  dL/dt = N·L_out per channel, dL/ds = Σ conv.
  const x = randn([2, 1, 6], { dtype: 'float64', seed: 10 });
  const w = randn([3, 1, 2], { dtype: 'float64', seed: 11 }); w.requiresGrad = true;
  const s = tensor(Float64Array.from([1, 2, 3]), [3, 1], { requiresGrad: true });
  const t = tensor(Float64Array.from([0, 0, 0]), [3, 1], { requiresGrad: true });
  const c = conv1d(x, w);
  sum(add(mul(c, s), t)).backward();
  assert.deepEqual(Array.from(t.grad!.data), [10, 10, 10]);
  const perChannel = [0, 1, 2].map((co) => { let z = 0; for (let n = 0; n < 2; n++) for (let o = 0; o < 5; o++) z += c.data[(n * 3 + co) * 5 + o]; return z; });
  perChannel.forEach((v, i) => assert.ok(Math.abs(s.grad!.data[i] - v) < 1e-12));
  // dL/dw[co, 0, j] = s[co] · Σ_n Σ_o x[n, 0, o + j]
  for (let co = 0; co < 3; co++)
    for (let j = 0; j < 2; j++) {
      let z = 0;
      for (let n = 0; n < 2; n++) for (let o = 0; o < 5; o++) z += x.data[n * 6 + o + j];
      assert.ok(Math.abs(w.grad!.data[co * 2 + j] - (co + 1) * z) < 1e-12);
    }
});

test('Sequential: numbered keys (nested too), forward in order, parameters in order', () => {
  const inner = new Sequential(new Conv1d(2, 2, 1, { seed: 1, bias: false }), new Tanh());
  const net = new Sequential(new Conv1d(1, 2, 3, { seed: 2 }), new ReLU(), inner, new ConvTranspose1d(2, 1, 3, { seed: 3 }));
  assert.deepEqual(net.namedParameters().map(([k, p]) => [k, [...p.shape]]), [
    ['0.weight', [2, 1, 3]], ['0.bias', [2]], ['2.0.weight', [2, 2, 1]], ['3.weight', [2, 1, 3]], ['3.bias', [1]],
  ]);
  assert.equal(net.length, 4);
  assert.equal(net.at(-1), net.namedChildren()[3][1]);
  assert.throws(() => net.at(4), ConvError);
  const x = randn([1, 1, 7], { seed: 5 });
  const m = net.namedChildren().map(([, c]) => c);
  const manual = m[3].forward(m[2].forward(m[1].forward(m[0].forward(x))));
  assert.deepEqual(Array.from(net.forward(x).data), Array.from(manual.data));
  assert.throws(() => new Sequential({} as never), (e: unknown) => e instanceof ConvError && e.op === 'Sequential');
  assert.match(String(net), /\(1\): ReLU\(\)/);
});

test('activation modules compute their functions', () => {
  const x = tensor(Float64Array.from([-2, -0.5, 0, 1.5]), [4]);
  assert.deepEqual(Array.from(new ReLU().forward(x).data), [0, 0, 0, 1.5]);
  assert.deepEqual(Array.from(new LeakyReLU().forward(x).data), [-0.02, -0.005, 0, 1.5]);
  assert.deepEqual(Array.from(new LeakyReLU(0.5).forward(x).data), [-1, -0.25, 0, 1.5]);
  assert.deepEqual(Array.from(new Tanh().forward(x).data), [-2, -0.5, 0, 1.5].map(Math.tanh));
  Array.from(new Sigmoid().forward(x).data).forEach((v, i) => assert.ok(Math.abs(v - 1 / (1 + Math.exp(-x.data[i]))) < 1e-15));
  assert.deepEqual(new ReLU().parameters(), []);
  assert.throws(() => new LeakyReLU(NaN), ConvError);
});

test('stateDict: PyTorch keys, copies of the values; loadStateDict round-trips in place', () => {
  const make = (seed: number) => new Sequential(new Conv1d(1, 2, 3, { seed }), new LeakyReLU(), new ConvTranspose1d(2, 1, 3, { seed: seed + 1 }));
  const a = make(1), b = make(10);
  const sd = a.stateDict();
  assert.deepEqual(Object.keys(sd), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.notEqual(sd['0.weight'].data, a.parameters()[0].data, 'a copy, not a view');
  const bParams = b.parameters();
  const res = b.loadStateDict(sd);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  b.parameters().forEach((p, i) => {
    assert.equal(p, bParams[i], 'same tensors (optimizers keep them)');
    assert.deepEqual(Array.from(p.data), Array.from(a.parameters()[i].data));
  });
  const x = randn([2, 1, 8], { seed: 3 });
  assert.deepEqual(Array.from(b.forward(x).data), Array.from(a.forward(x).data));
  // A Map works too, and a single module uses plain keys.
  const conv = new Conv1d(1, 2, 3, { seed: 4 });
  assert.deepEqual(Object.keys(conv.stateDict()), ['weight', 'bias']);
  conv.loadStateDict(new Map([['weight', sd['0.weight']], ['bias', sd['0.bias']]]));
  assert.deepEqual(Array.from(conv.weight.data), Array.from(sd['0.weight'].data));
});

test('loadStateDict: missing, unexpected and mis-shaped keys throw one ConvError listing them, and nothing changes', () => {
  const net = new Sequential(new Conv1d(1, 2, 3, { seed: 1 }), new ReLU(), new ConvTranspose1d(2, 1, 3, { seed: 2 }));
  const snapshot = () => net.parameters().map((p) => Array.from(p.data));
  const before = snapshot();
  const good = new Sequential(new Conv1d(1, 2, 3, { seed: 7 }), new ReLU(), new ConvTranspose1d(2, 1, 3, { seed: 8 })).stateDict();
  const bad: Record<string, Tensor> = { ...good, '2.extra': zeros([1]), '0.weight': zeros([2, 1, 4]) };
  delete bad['2.bias'];
  assert.throws(() => net.loadStateDict(bad), (e: unknown) => {
    assert.ok(e instanceof ConvError);
    assert.equal(e.param, 'stateDict');
    assert.match(e.message, /missing keys \['2\.bias'\]/);
    assert.match(e.message, /unexpected keys \['2\.extra'\]/);
    assert.match(e.message, /'0\.weight' has shape \[2, 1, 4\] but the parameter has shape \[2, 1, 3\]/);
    return true;
  });
  assert.deepEqual(snapshot(), before, 'no parameter changed (0.bias and 2.weight were valid but not copied)');
  // Non-strict: keys may differ, the result reports them; shapes must still match.
  assert.throws(() => net.loadStateDict(bad, { strict: false }), /'0\.weight' has shape/);
  assert.deepEqual(snapshot(), before);
  const partial: Record<string, Tensor> = { '0.bias': good['0.bias'], 'x.y': zeros([1]) };
  const res = net.loadStateDict(partial, { strict: false });
  assert.deepEqual(res, { missingKeys: ['0.weight', '2.weight', '2.bias'], unexpectedKeys: ['x.y'] });
  assert.deepEqual(Array.from(net.parameters()[1].data), Array.from(good['0.bias'].data));
  assert.deepEqual(snapshot()[0], before[0]);
  assert.throws(() => net.loadStateDict({ ...good, '0.bias': [1, 2] as never }), /'0\.bias' is not a Tensor/);
  assert.throws(() => net.loadStateDict(null as never), ConvError);
});

test('module zeroGrad clears every parameter gradient; gradients accumulate across calls on modules', () => {
  const net = new Sequential(new Conv1d(1, 2, 3, { seed: 1, dtype: 'float64' }), new Tanh());
  const x = randn([1, 1, 6], { dtype: 'float64', seed: 2 });
  sum(net.forward(x)).backward();
  const once = net.parameters().map((p) => Array.from(p.grad!.data));
  sum(net.forward(x)).backward();
  net.parameters().forEach((p, i) => Array.from(p.grad!.data).forEach((v, q) => assert.ok(Math.abs(v - 2 * once[i][q]) < 1e-12)));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
});

/**
 * The epilogue of a convolution call (`activation`, `negativeSlope`, `residual`):
 * y = act(conv(x, w) + bias + residual), forward and every gradient equal to the unfused
 * composition of the same ops, on every backend, both dtypes, both layouts; a hand-worked value;
 * the option errors. Also the kernel contract under it: every candidate overwrites its output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  add, backends, conv1d, conv2d, convTranspose1d, convTranspose2d, ConvError, leakyRelu, manualSeed, noGrad, randn, relu, sigmoid, sum, mul,
  tanh, tensor, withBackend, type Tensor,
} from '../src/index.js';
import { assertClose } from './helpers/close.js';
import { refBackend } from '../src/kernels/ref/backend.js';
import { jsBackend } from '../src/kernels/cpu/backend.js';
import { wasmBackend } from '../src/kernels/wasm/backend.js';
import { phasePlan } from '../src/plan/phases.js';
import type { Geometry } from '../src/spec/types.js';
import type { F } from '../src/kernels/types.js';

type Act = 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid';
type Op = (x: Tensor, w: Tensor, b: Tensor | null, o: object) => Tensor;

const unfusedAct = (y: Tensor, act: Act | undefined, slope: number | undefined): Tensor =>
  act === 'relu' ? relu(y) : act === 'leakyRelu' ? leakyRelu(y, slope) : act === 'tanh' ? tanh(y) : act === 'sigmoid' ? sigmoid(y) : y;

const cases: { name: string; f: Op; x: number[]; w: number[]; c: number; o: object }[] = [
  { name: 'conv1d', f: conv1d as Op, x: [2, 4, 11], w: [6, 2, 3], c: 6, o: { stride: 2, padding: 1, groups: 2 } },
  { name: 'conv1d unbatched', f: conv1d as Op, x: [3, 9], w: [4, 3, 2], c: 4, o: { dilation: 2 } },
  { name: 'conv2d depthwise', f: conv2d as Op, x: [2, 3, 6, 5], w: [6, 1, 3, 3], c: 6, o: { padding: 1, groups: 3 } },
  { name: 'conv2d channels-last', f: conv2d as Op, x: [2, 5, 6, 3], w: [4, 3, 2, 2], c: 4, o: { dataFormat: 'NHWC', stride: [1, 2] } },
  { name: 'convTranspose1d', f: convTranspose1d as Op, x: [2, 4, 7], w: [4, 3, 4], c: 3, o: { stride: 3, padding: 1, outputPadding: 2 } },
  { name: 'convTranspose2d', f: convTranspose2d as Op, x: [1, 6, 4, 5], w: [6, 2, 3, 3], c: 4, o: { stride: 2, padding: 1, groups: 2 } },
];
const epilogues: { activation?: Act; negativeSlope?: number }[] = [
  {}, { activation: 'relu' }, { activation: 'leakyRelu' }, { activation: 'leakyRelu', negativeSlope: 0.3 },
  { activation: 'leakyRelu', negativeSlope: -0.4 }, { activation: 'tanh' }, { activation: 'sigmoid' },
];

for (const dtype of ['float32', 'float64'] as const)
  test(`fused epilogue equals the unfused composition, values and gradients, on every backend (${dtype})`, () => {
    const tol = dtype === 'float64' ? 1e-12 : 2e-6;
    for (const backend of backends())
      for (const c of cases)
        for (const ep of epilogues)
          for (const withBias of [true, false])
            for (const withResidual of [true, false]) {
              if (!ep.activation && !withResidual) continue;
              manualSeed(5);
              const x = randn(c.x, { dtype, requiresGrad: true }), w = randn(c.w, { dtype, requiresGrad: true });
              const b = withBias ? randn([c.c], { dtype, requiresGrad: true }) : null;
              const plain = withBackend(backend, () => noGrad(() => c.f(x, w, b, c.o)));
              const r = withResidual ? randn(plain.shape, { dtype, requiresGrad: true }) : null;
              const gy = randn(plain.shape, { dtype });
              const what = `${backend} ${c.name} ${JSON.stringify(ep)} bias=${withBias} residual=${withResidual}`;
              const run = (fused: boolean) => withBackend(backend, () => {
                for (const p of [x, w, b, r]) if (p) p.grad = null;
                const y = fused
                  ? c.f(x, w, b, { ...c.o, ...ep, ...(r ? { residual: r } : {}) })
                  : unfusedAct(r ? add(c.f(x, w, b, c.o), r) : c.f(x, w, b, c.o), ep.activation, ep.negativeSlope);
                const inference = noGrad(() => (fused ? c.f(x, w, b, { ...c.o, ...ep, ...(r ? { residual: r } : {}) }) : null));
                sum(mul(y, gy)).backward();
                return { y, inference, grads: [x, w, b, r].map((p) => p?.grad?.data ?? null) };
              });
              const fused = run(true), unfused = run(false);
              assert.deepEqual(fused.y.shape, unfused.y.shape, what);
              assertClose(fused.y.data, unfused.y.data, tol, `${what} y`);
              assertClose(fused.inference!.data, unfused.y.data, tol, `${what} y without recording`);
              fused.grads.forEach((g, i) => {
                if (g === null) assert.equal(unfused.grads[i], null, what);
                else assertClose(g, unfused.grads[i]!, tol, `${what} ${['gx', 'gw', 'gb', 'gr'][i]}`);
              });
            }
  });

test('a hand-worked fused call: relu(conv + bias + residual)', () => {
  // conv1d with a 1-tap weight 2 over [1, −2, 3]: [2, −4, 6]; + bias −1: [1, −5, 5]; + residual [1, 1, −6]: [2, −4, −1].
  const x = tensor([[1, -2, 3]]), w = tensor([[[2]]]), b = tensor([-1]), r = tensor([[1, 1, -6]]);
  assert.deepEqual(conv1d(x, w, b, { residual: r }).toArray(), [[2, -4, -1]]);
  assert.deepEqual(conv1d(x, w, b, { residual: r, activation: 'relu' }).toArray(), [[2, 0, 0]]);
  assert.deepEqual(conv1d(x, w, b, { activation: 'relu' }).toArray(), [[1, 0, 5]]);
  // LeakyReLU's default slope is PyTorch's 0.01.
  assert.deepEqual(Array.from(conv1d(x, w, b, { activation: 'leakyRelu' }).data), [1, Math.fround(-0.05), 5]);
});

test('epilogue options are checked with a ConvError naming the option', () => {
  const x = randn([1, 2, 5]), w = randn([3, 2, 3]);
  const rejects = (o: object, param: string, pattern: RegExp) =>
    assert.throws(() => conv1d(x, w, null, o as never), (e: unknown) => e instanceof ConvError && e.param === param && pattern.test(e.message));
  rejects({ activation: 'gelu' }, 'activation', /must be one of 'relu', 'leakyRelu', 'tanh', 'sigmoid' or null; got 'gelu'/);
  rejects({ activation: 'relu', negativeSlope: 0.1 }, 'negativeSlope', /applies only with activation 'leakyRelu'/);
  rejects({ activation: 'leakyRelu', negativeSlope: Infinity }, 'negativeSlope', /must be a finite number/);
  rejects({ residual: [1, 2, 3] }, 'residual', /must be a Tensor or null/);
  rejects({ residual: randn([1, 3, 4]) }, 'residual', /must have the output's shape \[1, 3, 3\]; got \[1, 3, 4\]/);
  rejects({ residual: randn([1, 3, 3], { dtype: 'float64' }) }, 'residual', /must have the input's dtype float32; got float64/);
  assert.deepEqual(conv1d(x, w, null, { activation: null, residual: null }).data, conv1d(x, w, null).data, 'null means none');
});

/** Every host candidate of every built-in backend overwrites y, gx and gw whatever they held. */
test('every kernel overwrites its output (y =, not y +=)', () => {
  const g: Geometry = { n: 2, cIn: 4, cOut: 4, groups: 4, inSize: [9, 7], outSize: [4, 7], kSize: [3, 3], stride: [2, 1], dilation: [1, 1], padBefore: [1, 1] };
  const len = (shape: number[]) => shape.reduce((p, q) => p * q, 1);
  for (const dtype of ['float32', 'float64'] as const) {
    const make = (n: number, seed: number): F => randn([n], { dtype, seed } as never).data;
    const x = make(g.n * g.cIn * len([...g.inSize]), 1), w = make(g.cOut * len([...g.kSize]), 2), gy = make(g.n * g.cOut * len([...g.outSize]), 3);
    const ref = refBackend.candidates[0].kernels as import('../src/kernels/types.js').ConvKernels;
    const expect = { y: x.slice(), gx: x.slice(), gw: w.slice() };
    expect.y = new (x.constructor as Float64ArrayConstructor)(gy.length);
    ref.conv(x, w, expect.y, g);
    expect.gx = new (x.constructor as Float64ArrayConstructor)(x.length);
    ref.convT(gy, w, expect.gx, g);
    expect.gw = new (x.constructor as Float64ArrayConstructor)(w.length);
    ref.weightGrad(x, gy, expect.gw, g);
    for (const c of [...refBackend.candidates, ...jsBackend.candidates, ...wasmBackend.candidates]) {
      if (c.location !== 'host' || !c.dtypes.includes(dtype)) continue;
      const garbage = (n: number) => { const a = make(n, 9); a[0] = NaN; return a; };
      const y = garbage(gy.length), gx = garbage(x.length), gw = garbage(w.length);
      c.kernels.conv(x, w, y, g);
      if (c.algorithm === 'polyphase') c.kernels.convTPhases(gy, w, gx, g, phasePlan(g));
      else c.kernels.convT(gy, w, gx, g);
      c.kernels.weightGrad(x, gy, gw, g);
      const tol = dtype === 'float64' ? 1e-12 : 2e-6;
      assertClose(y, expect.y, tol, `${c.name} ${dtype} conv`);
      assertClose(gx, expect.gx, tol, `${c.name} ${dtype} convT`);
      assertClose(gw, expect.gw, tol, `${c.name} ${dtype} weightGrad`);
    }
  }
});

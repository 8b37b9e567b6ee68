/**
 * cat, narrow, slice, div and BatchNorm1d/2d/3d against PyTorch 1.13 (float64, recorded by
 * scripts/gen_op_fixtures.py into test/data/models/ops.json): outputs, gradients of every input,
 * running statistics after each step; plus the errors bad arguments give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  BatchNorm1d, BatchNorm2d, BatchNorm3d, ConvError, Tensor, backward, batchNorm, cat, div, narrow, noGrad, slice, tensor,
  type BatchNormModuleOptions,
} from '../src/index.js';
import { assertClose } from './helpers/close.js';

interface Rec { shape: number[]; data: number[] }
interface OpCase { name: string; op: string; args: Record<string, number>; inputs: Rec[]; gy: Rec; out: Rec; grads: Rec[] }
interface BnStep { mode: 'train' | 'eval'; x: Rec; gy: Rec; y: Rec; gx: Rec; gweight: Rec | null; gbias: Rec | null; state: Record<string, Rec> }
interface BnCase { name: string; module: string; numFeatures: number; options: BatchNormModuleOptions; init: Record<string, Rec>; steps: BnStep[] }
const fixtures = JSON.parse(readFileSync(new URL('./data/models/ops.json', import.meta.url), 'utf8')) as { ops: OpCase[]; batchNorm: BnCase[] };

const f64 = (r: Rec, requiresGrad = false) => new Tensor(Float64Array.from(r.data), r.shape, requiresGrad);
const TOL = 1e-12;

const apply = (c: OpCase, xs: Tensor[]): Tensor => {
  const a = c.args;
  switch (c.op) {
    case 'cat': return cat(xs, a.dim);
    case 'narrow': return narrow(xs[0], a.dim, a.start, a.length);
    case 'slice': return slice(xs[0], a.dim, a.start, a.end, a.step);
    case 'div': return a.other !== undefined ? div(xs[0], a.other) : a.input !== undefined ? div(a.input, xs[0]) : div(xs[0], xs[1]);
    default: throw new Error(`unknown op ${c.op}`);
  }
};

for (const c of fixtures.ops)
  test(`${c.op}: ${c.name} matches PyTorch (value and gradients)`, () => {
    const xs = c.inputs.map((r) => f64(r, true));
    const y = apply(c, xs);
    assert.deepEqual(y.shape, c.out.shape);
    assertClose(y.data, c.out.data, TOL, 'output');
    if (y.size > 0) {
      backward(y, f64(c.gy));
      xs.forEach((x, i) => assertClose(x.grad!.data, c.grads[i].data, TOL, `gradient of input ${i}`));
    }
  });

test('the ops record nothing under noGrad and keep the dtype', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]], undefined, { requiresGrad: true });
  for (const y of noGrad(() => [cat([x, x], 0), narrow(x, 1, 1, 2), slice(x, 1, 0, 3, 2), div(x, x)])) {
    assert.equal(y.requiresGrad, false);
    assert.equal(y.dtype, 'float32');
  }
  assert.deepEqual(cat([x, x], 1).toArray(), [[1, 2, 3, 1, 2, 3], [4, 5, 6, 4, 5, 6]]);
  assert.deepEqual(slice(x, -1, 0, Infinity, 2).toArray(), [[1, 3], [4, 6]]);
});

test('a tensor used twice in cat gets both gradient slices', () => {
  const x = tensor([1, 2], undefined, { dtype: 'float64', requiresGrad: true });
  backward(cat([x, x, x], 0), tensor([1, 10, 100, 1000, 10000, 100000], undefined, { dtype: 'float64' }));
  assert.deepEqual(Array.from(x.grad!.data), [10101, 101010]);
});

test('bad arguments give a ConvError naming the parameter and value', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const cases: [() => unknown, RegExp][] = [
    [() => cat([], 0), /^cat: tensors must be a non-empty array of Tensors; got an empty array/],
    [() => cat([x, tensor([[1, 2]])], 0), /^cat: tensors\[1\] must match tensors\[0\]'s shape \[2, 3\] except in dim 0; got \[1, 2\]/],
    [() => cat([x, tensor([[1, 2, 3]], undefined, { dtype: 'float64' })], 0), /^cat: tensors\[1\] must have tensors\[0\]'s dtype float32; got float64/],
    [() => cat([x, x], 2), /^cat: dim must be an integer in \[-2, 1\] for a 2-D tensor; got 2/],
    [() => cat([x, 3 as unknown as Tensor], 0), /^cat: tensors\[1\] must be a Tensor; got 'number'/],
    [() => narrow(x, 1, 2, 2), /^narrow: length must be an integer in \[0, 1\].*; got 2/],
    [() => narrow(x, 1, 4, 0), /^narrow: start must be an integer in \[-3, 3\] for dim 1 of size 3; got 4/],
    [() => narrow(x, 1, 0.5, 1), /^narrow: start must be an integer/],
    [() => slice(x, 0, 0, 2, 0), /^slice: step must be a positive integer; got 0/],
    [() => slice(x, 0, 1.5), /^slice: start must be an integer; got 1.5/],
    [() => slice(tensor(3 as never, []), 0), /^slice: input must be at least 1-D; got shape \[\]/],
    [() => div(x, tensor([1, 2])), /^div: shape operands must be broadcastable.*got \[2, 3\] and \[2\]/],
    [() => div(1, 2), /^div: input needs at least one Tensor operand; got 1 and 2/],
    [() => div(x, tensor([1], undefined, { dtype: 'float64' })), /^div: other must have the input's dtype float32; got float64/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: unknown) => e instanceof ConvError && re.test(e.message), String(re));
});

const BN = { BatchNorm1d, BatchNorm2d, BatchNorm3d } as const;

for (const c of fixtures.batchNorm)
  test(`${c.module}: ${c.name} matches PyTorch (outputs, gradients, buffers)`, () => {
    const bn = new BN[c.module as keyof typeof BN](c.numFeatures, { ...c.options, dtype: 'float64' });
    bn.loadStateDict(Object.fromEntries(Object.entries(c.init).map(([k, r]) => [k, f64(r)])));
    assert.deepEqual(Object.keys(bn.stateDict()), Object.keys(c.init), 'state-dict keys and order');
    c.steps.forEach((s, i) => {
      const what = `step ${i} (${s.mode})`;
      if (s.mode === 'train') bn.train(); else bn.eval();
      bn.zeroGrad();
      const x = f64(s.x, true);
      const y = bn.forward(x);
      assertClose(y.data, s.y.data, 1e-10, `${what}: output`);
      backward(y, f64(s.gy));
      assertClose(x.grad!.data, s.gx.data, 1e-10, `${what}: input gradient`);
      if (s.gweight) assertClose(bn.weight!.grad!.data, s.gweight.data, 1e-10, `${what}: weight gradient`);
      if (s.gbias) assertClose(bn.bias!.grad!.data, s.gbias.data, 1e-10, `${what}: bias gradient`);
      const state = bn.stateDict();
      for (const [k, r] of Object.entries(s.state)) assertClose(state[k].data, r.data, 1e-12, `${what}: ${k}`);
    });
  });

test('BatchNorm: bad input or options give a ConvError and change nothing', () => {
  const bn = new BatchNorm2d(3);
  const before = bn.stateDict();
  const cases: [() => unknown, RegExp][] = [
    [() => bn.forward(tensor(new Float32Array(12), [2, 3, 2])), /^BatchNorm2d: input must be 4-D \(N, C, \*\); got shape \[2, 3, 2\]/],
    [() => bn.forward(tensor(new Float32Array(16), [2, 2, 2, 2])), /^BatchNorm2d: input must have 3 channels in dim 1; got shape \[2, 2, 2, 2\]/],
    [() => bn.forward(tensor(new Float32Array(3), [1, 3, 1, 1])), /^BatchNorm2d: input must hold more than 1 value per channel when training; got shape \[1, 3, 1, 1\]/],
    [() => new BatchNorm1d(0), /^BatchNorm1d: numFeatures must be a positive integer; got 0/],
    [() => new BatchNorm1d(2, { momentum: NaN }), /^BatchNorm1d: momentum must be a finite number or null; got NaN/],
    [() => new BatchNorm1d(2, { eps: -1 }), /^BatchNorm1d: eps must be a non-negative finite number; got -1/],
    [() => batchNorm(tensor(new Float32Array(4), [2, 2]), null, null), /^batchNorm: runningMean and runningVar must be given when not training/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: unknown) => e instanceof ConvError && re.test(e.message), String(re));
  for (const [k, t] of Object.entries(bn.stateDict())) assert.deepEqual(t.data, before[k].data, k);
  // One sample per channel is fine in eval mode (running statistics).
  assert.deepEqual(bn.eval().forward(tensor([[[[1]], [[2]], [[3]]]])).shape, [1, 3, 1, 1]);
});

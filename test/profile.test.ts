/**
 * profile(fn, { module }): kinds that add up to the profiled time, one convolution / elementwise
 * section per op run, per-module calls and times over the module tree with PyTorch key paths, and
 * the modules left as they were (also when fn throws).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv1d, ConvError, ConvTranspose1d, LeakyReLU, OP_KINDS, Sequential, Tanh, add, noGrad, profile, randn, manualSeed } from '../src/index.js';

const model = () => {
  manualSeed(2);
  return new Sequential(new Conv1d(4, 16, 7, { padding: 3 }), new LeakyReLU(0.1), new Sequential(new ConvTranspose1d(16, 8, 4, { stride: 2 }), new Tanh()));
};

test('the kinds add up to the total and count the ops run', () => {
  const m = model(), x = randn([2, 4, 300]);
  const { result, profile: p } = profile(() => add(m.forward(x), 1), { module: m });
  assert.deepEqual(result.data, add(m.forward(x), 1).data, 'profiling does not change the result');
  const sum = OP_KINDS.reduce((s, k) => s + p.byKind[k], 0);
  assert.ok(Math.abs(sum - p.totalMs) <= 1e-6 * Math.max(1, p.totalMs), `kinds sum to ${sum}, total ${p.totalMs}`);
  assert.equal(p.calls.convolution, 2);
  assert.equal(p.calls.elementwise, 2, 'the tanh and the add (leakyRelu is fused into the convolution; tanh is not fused)');
  assert.ok(p.calls['allocation/copy'] >= 3, 'every op output is an allocation');
  assert.ok(p.byKind.convolution > 0 && p.byKind.elementwise > 0);
  assert.match(String(p), /convolution\s+\d+\.\d+/);
});

test('modules are timed per key path with calls, self and total times', () => {
  const m = model(), x = randn([1, 4, 200]);
  const { profile: p } = profile(() => noGrad(() => { m.forward(x); return m.forward(x); }), { module: m });
  assert.deepEqual(p.modules.map((e) => [e.name, e.type, e.calls]),
    [['', 'Sequential', 2], ['0', 'Conv1d', 2], ['1', 'LeakyReLU', 0], ['2', 'Sequential', 2], ['2.0', 'ConvTranspose1d', 2], ['2.1', 'Tanh', 2]],
    'a LeakyReLU after a convolution is fused into it by Sequential (no call of its own); a Tanh runs as a module');
  for (const e of p.modules) assert.ok(e.selfMs >= -1e-9 && e.selfMs <= e.totalMs + 1e-9, JSON.stringify(e));
  const root = p.modules[0], children = p.modules.filter((e) => e.name === '0' || e.name === '2');
  assert.ok(Math.abs(root.totalMs - root.selfMs - children.reduce((s, e) => s + e.totalMs, 0)) < 1e-6);
  assert.ok(root.totalMs <= p.totalMs + 1e-9);
  // An activation that follows no convolution runs as a module.
  const lone = new Sequential(new Tanh(), m);
  const { profile: q } = profile(() => lone.forward(x), { module: lone });
  assert.deepEqual(q.modules.map((e) => [e.name, e.calls]), [['', 1], ['0', 1], ['1', 1], ['1.0', 1], ['1.1', 0], ['1.2', 1], ['1.2.0', 1], ['1.2.1', 1]]);
});

test('modules are restored after a profile, also when fn throws; profiles do not nest', () => {
  const m = model(), x = randn([1, 4, 50]);
  assert.throws(() => profile(() => { m.forward(x); throw new Error('boom'); }, { module: m }), /boom/);
  const walk = (mod: Sequential | unknown): boolean => !Object.prototype.hasOwnProperty.call(mod, 'forward');
  assert.ok([m, m.at(0), m.at(1), m.at(2)].every(walk));
  assert.throws(() => profile(() => profile(() => 1)), (e: unknown) => e instanceof ConvError && /nested/.test(e.message));
  assert.throws(() => profile(42 as never), /profile: fn must be a function/);
  assert.throws(() => profile(() => 1, { module: {} as never }), /profile: module must be a Module/);
  assert.equal(profile(() => 7).result, 7);
});

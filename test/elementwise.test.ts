/**
 * The WebAssembly SIMD elementwise kernels behind add/sub/mul/div, relu, leakyRelu, tanh and sigmoid:
 * bitwise equal to the plain JavaScript formulas (NaN, ±0, ±∞ included) on random broadcasting
 * shapes, forward and gradients, and tanh/sigmoid within their stated float32 bound of Math.tanh
 * and the exact logistic function over a sweep of 4 million float32 values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { add, broadcastShapes, div, mul, sub, relu, leakyRelu, tanh, sigmoid, tensor, Tensor, noGrad } from '../src/index.js';
import { activationGrad, activationInto, binaryInto, elementwiseAvailable } from '../src/kernels/wasm/elementwise.js';

const SPECIAL = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3.5e38, -3.5e38, 0.5, -2.25];

/** Values from a seeded LCG with specials mixed in. */
function data(n: number, seed: number, f64: boolean): Float32Array | Float64Array {
  const out = f64 ? new Float64Array(n) : new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % 7 === 0 ? SPECIAL[(s >>> 8) % SPECIAL.length] : (s / 2 ** 31 - 1) * 8;
  }
  return out;
}

/** Bitwise equality, NaN equal to NaN, +0 distinct from −0. */
function same(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
}

/** Element i of `from` (broadcast to `to`), by index arithmetic. */
function broadcastAt(from: readonly number[], to: readonly number[], i: number): number {
  let src = 0, stride = 1;
  for (let a = to.length - 1, rem = i; a >= 0; a--) {
    const idx = rem % to[a];
    rem = Math.floor(rem / to[a]);
    const fa = a - (to.length - from.length);
    if (fa >= 0) {
      if (from[fa] !== 1) src += idx * stride;
      stride *= from[fa];
    }
  }
  return src;
}

const shapes = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 2, maxLength: 4 }).chain((out) =>
  fc.record({
    out: fc.constant(out),
    // Each operand keeps, drops (to 1) or omits leading dims of the output.
    masks: fc.tuple(...[0, 1].map(() => fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))),
    lead: fc.tuple(fc.integer({ min: 0, max: out.length }), fc.integer({ min: 0, max: out.length })),
    seed: fc.integer({ min: 1, max: 2 ** 30 }), f64: fc.boolean(),
  }));

test('the elementwise module loads', () => assert.equal(elementwiseAvailable(), true));

test('add, sub, mul and div with broadcasting equal the JavaScript formulas bitwise', () => {
  const f = { add: (a: number, b: number) => a + b, sub: (a: number, b: number) => a - b, mul: (a: number, b: number) => a * b, div: (a: number, b: number) => a / b };
  let fast = 0;
  fc.assert(fc.property(shapes, ({ out: full, masks, lead, seed, f64 }) => {
    const [xs, ys] = masks.map((m, k) => full.map((d, a) => (m[a] ? d : 1)).slice(lead[k] === full.length ? 0 : lead[k]));
    const out = broadcastShapes('test', xs, ys);
    const n = out.reduce((p, q) => p * q, 1);
    const x = data(xs.reduce((p, q) => p * q, 1), seed, f64), y = data(ys.reduce((p, q) => p * q, 1), seed + 1, f64);
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const expected = f64 ? new Float64Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) expected[i] = f[op](x[broadcastAt(xs, out, i)], y[broadcastAt(ys, out, i)]);
      const got = f64 ? new Float64Array(n) : new Float32Array(n);
      if (binaryInto(op, x, xs, y, ys, out, got)) {
        fast++;
        same(got, expected, `${op} ${JSON.stringify([xs, ys, out])}`);
      }
      const viaOp = { add, sub, mul, div }[op](new Tensor(x, xs), new Tensor(y, ys));
      same(viaOp.data, expected, `${op} op ${JSON.stringify([xs, ys, out])}`);
    }
  }), { numRuns: 300, seed: 777 });
  assert.ok(fast > 150, `the fast paths ran (${fast} times)`);
});

test('a plain number operand and a per-channel bias take the fast paths', () => {
  const x = data(2 * 5 * 40, 3, false), b = data(5, 4, false), out = new Float32Array(x.length);
  assert.equal(binaryInto('add', x, [2, 5, 40], b, [1, 5, 1], [2, 5, 40], out), true);
  assert.equal(binaryInto('sub', b, [5, 1], x, [2, 5, 40], [2, 5, 40], out), true);
  same(out, x.map((v, i) => Math.fround(b[Math.floor(i / 40) % 5] - v)), 'bias − x');
  const t = new Tensor(x, [2, 5, 40]);
  same(mul(t, 0.1).data, x.map((v) => Math.fround(v * Math.fround(0.1))), 'x · 0.1');
  same(sub(3, t).data, x.map((v) => Math.fround(3 - v)), '3 − x');
  same(div(t, 3).data, x.map((v) => Math.fround(v / 3)), 'x / 3');
  same(div(3, t).data, x.map((v) => Math.fround(3 / v)), '3 / x');
  assert.equal(binaryInto('add', x, [2, 5, 40], data(80, 5, false), [2, 1, 40], [2, 5, 40], out), false, 'a broadcast dim between varying ones has no fast path');
});

const jsAct = {
  relu: (v: number) => (v <= 0 ? 0 : v),
  leakyRelu: (v: number, s: number) => (v > 0 ? v : v * s),
  tanh: Math.tanh,
  sigmoid: (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))),
};

test('relu and leakyRelu equal the JavaScript formulas bitwise, forward and gradients (float32 and float64)', () => {
  for (const f64 of [false, true])
    for (const slope of [0.01, 0.2, -0.3, 0]) {
      const x = data(1003, 17, f64), dtype = f64 ? 'float64' : 'float32';
      const gy = data(1003, 18, f64);
      for (const act of ['relu', 'leakyRelu'] as const) {
        const t = tensor(x, [1003], { dtype, requiresGrad: true });
        const y = act === 'relu' ? relu(t) : leakyRelu(t, slope);
        same(y.data, x.map((v) => jsAct[act](v, slope)), `${act} ${dtype} slope ${slope}`);
        y.backward(new Tensor(gy, [1003]));
        const d = (v: number) => (act === 'relu' ? (v > 0 ? 1 : 0) : v > 0 ? 1 : slope);
        same(t.grad!.data, gy.map((g, i) => g * d(x[i])), `${act} gradient ${dtype}`);
      }
    }
});

/** The float32 bound of tanh and sigmoid: 4 ulp of the correctly rounded value, plus 2^−126 absolute. */
function withinBound(got: number, exact: number): boolean {
  const r = Math.fround(exact);
  if (Number.isNaN(r)) return Number.isNaN(got);
  if (!Number.isFinite(r) || r === 0) return Object.is(got, r) || Math.abs(got - r) <= 2 ** -126;
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(r))) - 23);
  return Math.abs(got - r) <= 4 * ulp + 2 ** -126;
}

test('tanh and sigmoid (float32) are within 4 ulp (+2^−126) of the exact values over 4 million float32 values', () => {
  const N = 1 << 22, bits = new Uint32Array(N);
  for (let i = 0; i < N; i++) bits[i] = (i * 1021 * 1024 + i) >>> 0; // spread over every exponent and sign
  const x = new Float32Array(bits.buffer), out = new Float32Array(N);
  for (const act of ['tanh', 'sigmoid'] as const) {
    assert.equal(activationInto(act, x, out), true);
    for (let i = 0; i < N; i++)
      if (!withinBound(out[i], jsAct[act](x[i]))) assert.fail(`${act}(${x[i]}) is ${out[i]}, exact ${jsAct[act](x[i])}`);
  }
  const sp = new Float32Array([0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 0.625, -0.625, 9, -9, -87.4, -200, 88, 200, ...new Array(17).fill(0.25)]);
  const o = new Float32Array(sp.length);
  activationInto('tanh', sp, o);
  same(o.subarray(0, 7), [0, -0, 1, -1, NaN, Math.fround(1e-30), Math.fround(-1e-30)], 'tanh at ±0, ±∞, NaN and tiny values');
  activationInto('sigmoid', sp, o);
  same(o.subarray(0, 5), [0.5, 0.5, 1, 0, NaN], 'sigmoid at ±0, ±∞, NaN');
});

test('tanh and sigmoid ops: float32 within the bound with exact-formula gradients, float64 exactly Math.tanh', () => {
  const x = data(999, 23, false), gy = data(999, 24, false);
  for (const act of ['tanh', 'sigmoid'] as const) {
    const t = tensor(x, [999], { requiresGrad: true });
    const y = (act === 'tanh' ? tanh : sigmoid)(t);
    y.data.forEach((v, i) => assert.ok(withinBound(v, jsAct[act](x[i])), `${act}(${x[i]}) = ${v}`));
    y.backward(new Tensor(gy, [999]));
    const d = (v: number) => (act === 'tanh' ? 1 - v * v : v * (1 - v));
    same(t.grad!.data, gy.map((g, i) => g * d(y.data[i])), `${act} gradient`);
    assert.deepEqual(activationGrad(act, gy, y.data), t.grad!.data);
    const x64 = data(999, 25, true);
    same((act === 'tanh' ? tanh : sigmoid)(tensor(x64, [999], { dtype: 'float64' })).data, x64.map(jsAct[act]), `${act} float64`);
  }
  // Under noGrad the op records nothing and still computes the same values.
  const t = tensor(x, [999], { requiresGrad: true });
  const y = noGrad(() => tanh(t));
  assert.equal(y.gradFn, null);
  same(y.data, tanh(t).data, 'noGrad tanh');
});

/**
 * Follow-ups of the hardening work: the plain TypeScript backend ('js') propagates NaN/±Inf exactly
 * as the definition (ref) does; hostile values (throwing getters, Proxies, non-iterables, NaN sizes)
 * reach the caller as a ConvError naming the parameter, never as a raw TypeError/RangeError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConvError, throwingGetter } from './helpers-core.js';
import { assertSameNumbers, special } from './helpers/special.js';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BatchNorm1d, BatchNorm2d, BatchNorm3d, broadcastShapes, Conv1d, foldBatchNorm, foldWeightNorm, Parallel, Residual, weightNormWeight, cat, conv1d, conv2d, ConvError, convTranspose1d, convTranspose2d, mean, ModuleList, ones, permute,
  convTranspose1dStream, readNpy, readNpz, readSafetensors, Sequential, sum, tensor, withBackend, writeNpy, writeNpz, writeSafetensors, type Tensor,
} from '../src/index.js';
import { im2colKernels } from '../src/kernels/cpu/im2col.js';
import { refKernels } from '../src/kernels/ref/taps.js';
import type { F } from '../src/kernels/types.js';
import type { Geometry } from '../src/spec/types.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const prod = (a: readonly number[]) => a.reduce((p, q) => p * q, 1);

/** Seeded values in [−1, 1) with NaN, +Inf, −Inf and 0 each at `rate`. */

/** Random 1-D/2-D geometries with leading and trailing padding taps (and some without any). */
const geometry = fc.integer({ min: 1, max: 2 }).chain((rank) =>
  fc.record({
    n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cig: fc.integer({ min: 1, max: 3 }), cog: fc.integer({ min: 1, max: 3 }),
    dims: fc.array(fc.record({
      k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 2 }),
      p0: fc.integer({ min: 0, max: 2 }), p1: fc.integer({ min: 0, max: 2 }), extra: fc.integer({ min: 0, max: rank === 1 ? 12 : 4 }),
    }), { minLength: rank, maxLength: rank }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }), rate: fc.constantFrom(0.05, 0.2),
  })).map(({ n, groups, cig, cog, dims, seed, rate }) => {
    const kSize = dims.map((a) => a.k), stride = dims.map((a) => a.s), dilation = dims.map((a) => a.d);
    const padBefore = dims.map((a) => Math.min(a.p0, a.d * (a.k - 1)));
    const inSize = dims.map((a, i) => Math.max(1, a.d * (a.k - 1) + 1 - padBefore[i] - a.p1) + a.extra);
    const outSize = inSize.map((L, i) => Math.floor((L + padBefore[i] + dims[i].p1 - dilation[i] * (kSize[i] - 1) - 1) / stride[i]) + 1);
    const g: Geometry = { n, cIn: cig * groups, cOut: cog * groups, groups, inSize, outSize, kSize, stride, dilation, padBefore };
    return { g, seed, rate };
  });

test('js kernels: a padding tap adds nothing, whatever w and gy hold (conv, convT, weight grad vs ref)', () => {
  fc.assert(fc.property(geometry, fc.boolean(), ({ g, seed, rate }, f64) => {
    const inLen = g.n * g.cIn * prod(g.inSize), outLen = g.n * g.cOut * prod(g.outSize), wLen = g.cOut * (g.cIn / g.groups) * prod(g.kSize);
    const x = special(inLen, seed, f64 ? 'float64' : 'float32', rate), w = special(wLen, seed + 1, f64 ? 'float64' : 'float32', rate), gy = special(outLen, seed + 2, f64 ? 'float64' : 'float32', rate);
    const zeros = (len: number) => (f64 ? new Float64Array(len) : new Float32Array(len));
    const both = (len: number, f: (k: typeof refKernels, y: F) => void) => {
      const a = zeros(len).fill(12345), r = zeros(len);
      f(im2colKernels, a);
      f(refKernels, r);
      return [a, r] as const;
    };
    const tol = f64 ? 1e-12 : 2e-5, tag = `${JSON.stringify(g)} seed ${seed}`;
    assertSameNumbers(...both(outLen, (k, y) => k.conv(x, w, y, g)), `conv ${tag}`, tol);
    assertSameNumbers(...both(inLen, (k, y) => k.convT(gy, w, y, g)), `convT ${tag}`, tol);
    assertSameNumbers(...both(wLen, (k, gw) => k.weightGrad(x, gy, gw, g)), `weight grad ${tag}`, tol);
  }), { numRuns: 200, seed: 1301 });
});

test('js backend: NaN/Inf in x, w and gy give ref\'s outputs and gradients through the public API', () => {
  let ran = 0;
  fc.assert(fc.property(geometry, fc.boolean(), ({ g, seed, rate }, transposed) => {
    const r = g.inSize.length;
    const xs = transposed ? [g.n, g.cOut, ...g.outSize] : [g.n, g.cIn, ...g.inSize], ws = [g.cOut, g.cIn / g.groups, ...g.kSize];
    const opts = { stride: g.stride, dilation: g.dilation, padding: g.padBefore, groups: g.groups };
    const run = () => {
      const x = tensor(special(prod(xs), seed, 'float32', rate), xs, { requiresGrad: true });
      const w = tensor(special(prod(ws), seed + 1, 'float32', rate), ws, { requiresGrad: true });
      let y: Tensor;
      try {
        y = transposed ? (r === 1 ? convTranspose1d : convTranspose2d)(x, w, null, opts) : (r === 1 ? conv1d : conv2d)(x, w, null, opts);
      } catch (e) {
        if (e instanceof ConvError) return null; // a geometry the API refuses (e.g. convT padding ≥ its reach)
        throw e;
      }
      y.backward(tensor(special(prod(y.shape), seed + 2, 'float32', rate), [...y.shape]));
      return [y.data, x.grad!.data, w.grad!.data] as F[];
    };
    const js = withBackend('js', run);
    if (!js) return;
    ran++;
    const ref = withBackend('ref', run)!;
    ['y', 'gx', 'gw'].forEach((k, i) => assertSameNumbers(js[i], ref[i], `${transposed ? 'convT' : 'conv'} ${k} ${JSON.stringify(g)}`, 2e-5));
  }), { numRuns: 150, seed: 1302 });
  assert.ok(ran >= 100, `${ran} of 150 calls ran`);
});

test('js backend: a NaN weight next to padding leaves the output its taps never reach (worked by hand)', () => {
  // y[o] = Σ_j w[j]·x[o + j − 1]: y[0] = NaN·pad + 1·1 = 1 (the padding tap adds nothing), y[1], y[2] meet NaN·x.
  for (const b of ['js', 'ref'])
    withBackend(b, () => assert.deepEqual(Array.from(conv1d(tensor([[[1, 2]]]), tensor([[[NaN, 1]]]), null, { padding: 1 }).data), [1, NaN, NaN], b));
  // padding [[1, 0]]: y[o] = w[0]·x[o − 1] + w[1]·x[o]; with gy = [NaN, 2], gw[0] = NaN·pad + 2·x[0] = 2, gw[1] = NaN·x[0] + 2·x[1] = NaN.
  for (const b of ['js', 'ref'])
    withBackend(b, () => {
      const w = tensor([[[5, 7]]], undefined, { requiresGrad: true });
      conv1d(tensor([[[1, 2]]]), w, null, { padding: [[1, 0]] }).backward(tensor([[[NaN, 2]]]));
      assert.deepEqual(Array.from(w.grad!.data), [2, NaN], b);
    });
});

test('the explainer page\'s browser-only type check (web/tsconfig.json) compiles the library', () => {
  // No Node types there: src/nn/async.ts must not name Node's setImmediate as a global.
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', join(ROOT, 'web/tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc -p web/tsconfig.json failed:\n${(e as { stdout?: string }).stdout ?? e}`);
  }
});

// ——— hostile input: every throw is a ConvError naming the parameter ———

const trap = (): never => { throw new TypeError('trap'); };
/** An object every read of which throws (get, has, keys, prototype). */
const throwingObject = () => new Proxy({}, { get: trap, has: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap });
/** An array every element or length read of which throws (Array.isArray still answers true). */
const throwingArray = () => new Proxy([0, 1], { get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });

test('permute, broadcastShapes, sum/mean dims and cat lists: bad values are ConvErrors naming the parameter', () => {
  const x = ones([1, 2, 3]);
  assertConvError(() => permute(x, null as never), 'permute', 'dims', /must be a permutation of 0\.\.2; got null/);
  assertConvError(() => permute(null as never, [0]), 'permute', 'input', /must be a Tensor/);
  assertConvError(() => permute(x, throwingArray()), 'permute', 'dims', /could not be read \(trap\)/);
  assertConvError(() => broadcastShapes('add', NaN as never, [2]), 'add', 'shape', /must be a list of non-negative integers; got NaN/);
  assertConvError(() => broadcastShapes('add', [2], [1.5]), 'add', 'shape', /got \[1\.5\]/);
  assert.deepEqual(broadcastShapes('add', [2, 1], [3]), [2, 3]);
  assertConvError(() => sum(x, throwingArray()), 'sum', 'dim', /could not be read \(trap\)/);
  assertConvError(() => mean(x, throwingArray()), 'mean', 'dim', /could not be read \(trap\)/);
  assert.deepEqual(Array.from(sum(x, [0, 2]).data), [3, 3]);
  assertConvError(() => cat(throwingArray() as never), 'cat', 'tensors', /could not be read \(trap\)/);
  assert.deepEqual(cat([x, x], 0).shape, [2, 2, 3]);
});

test('ModuleList, Sequential and BatchNorm constructors: non-iterables, Proxies and throwing getters are ConvErrors', () => {
  for (const v of [NaN, 5, {}, null, 'ab'])
    assertConvError(() => new ModuleList(v as never), 'ModuleList', 'modules', /must be an iterable of at most \d+ Modules/);
  assertConvError(() => new ModuleList(throwingArray() as never), 'ModuleList', 'modules', /could not be read \(trap\)/);
  assertConvError(() => new ModuleList([throwingObject()] as never), 'ModuleList', 'modules[0]', /could not be read/);
  assert.equal(new ModuleList([new Sequential()]).length, 1);
  assertConvError(() => new Sequential(throwingObject() as never), 'Sequential', 'modules[0]', /could not be read \(trap\)/);
  for (const [C, op] of [[BatchNorm1d, 'BatchNorm1d'], [BatchNorm2d, 'BatchNorm2d'], [BatchNorm3d, 'BatchNorm3d']] as const) {
    assertConvError(() => new C(2, throwingObject() as never), op, 'eps', /could not be read \(trap\)/);
    for (const k of ['eps', 'momentum', 'affine', 'trackRunningStats', 'dtype'])
      assertConvError(() => new C(2, throwingGetter(k) as never), op, k, /could not be read \(getter\)/);
    // Defaults and explicit values still apply (null momentum: a cumulative average, as in PyTorch).
    const bn = new C(2, { momentum: null, eps: 1e-3 });
    assert.deepEqual([bn.momentum, bn.eps, bn.affine], [null, 1e-3, true]);
  }
});

test('Residual, Parallel, foldBatchNorm and weight norm folding: Proxies and throwing getters are ConvErrors', () => {
  assertConvError(() => new Residual(throwingObject() as never), 'Residual', 'inner', /could not be read \(trap\)/);
  assertConvError(() => new Parallel(throwingArray() as never), 'Parallel', 'branches', /could not be read \(trap\)/);
  assertConvError(() => new Parallel([new Sequential()], null as never), 'Parallel', 'options', /must be an object; got null/);
  assertConvError(() => new Parallel([new Sequential()], throwingGetter('reduce') as never), 'Parallel', 'reduce', /could not be read \(getter\)/);
  assertConvError(() => new Parallel([new Sequential()], { reduce: null as never }), 'Parallel', 'reduce', /must be 'sum' or 'mean'; got null/);
  assert.equal(new Parallel([new Sequential()], { reduce: 'mean' }).reduce, 'mean');
  assertConvError(() => foldBatchNorm(throwingArray() as never, new BatchNorm1d(2)), 'foldBatchNorm', 'module', /could not be read/);
  assertConvError(() => foldBatchNorm(new Conv1d(1, 2, 1), throwingObject() as never), 'foldBatchNorm', 'bn', /could not be read/);
  assertConvError(() => foldWeightNorm(throwingObject() as never), 'foldWeightNorm', 'stateDict', /could not be read/);
  assertConvError(() => weightNormWeight(null as never, ones([2, 1])), 'foldWeightNorm', 'weight', /must be Tensors; got 'object' and 'object'/);
  assertConvError(() => weightNormWeight(ones([2, 1]), ones([2, 1]), Symbol('k') as never), 'foldWeightNorm', 'key', /must be a string; got 'symbol'/);
});

test('io read/write functions: throwing options, dicts and byte arguments are ConvErrors naming them', () => {
  const x = ones([2]), npy = writeNpy(x), npz = writeNpz({ a: x }), st = writeSafetensors({ a: x });
  assertConvError(() => readNpy(throwingObject() as never), 'npy', 'bytes', /could not be read/);
  assertConvError(() => readNpy(throwingArray() as never), 'npy', 'bytes', /could not be read/);
  assertConvError(() => readNpy(npy, throwingObject()), 'npy', 'dtype', /could not be read \(trap\)/);
  assertConvError(() => readNpy(npy, throwingGetter('maxElements')), 'npy', 'maxElements', /could not be read \(getter\)/);
  assertConvError(() => readNpy(npy, null as never), 'npy', 'options', /must be an object; got null/);
  assertConvError(() => readNpz(npz, throwingGetter('maxBytes')), 'npz', 'maxBytes', /could not be read \(getter\)/);
  assertConvError(() => readNpz(npz, throwingObject()), 'npz', 'dtype', /could not be read/);
  assertConvError(() => writeNpz(throwingObject() as never), 'npz', 'tensors', /could not be read/);
  assertConvError(() => writeNpz(throwingGetter('a') as never), 'npz', 'tensors.a', /could not be read \(getter\)/);
  assertConvError(() => writeNpz({ a: x }, throwingGetter('compress')), 'npz', 'compress', /could not be read \(getter\)/);
  assertConvError(() => readSafetensors(st, throwingGetter('dtype')), 'safetensors', 'dtype', /could not be read \(getter\)/);
  assertConvError(() => writeSafetensors(throwingObject() as never), 'safetensors', 'tensors', /could not be read/);
  assertConvError(() => writeSafetensors(throwingGetter('a') as never), 'safetensors', 'tensors.a', /could not be read \(getter\)/);
  assertConvError(() => writeSafetensors({ a: x }, throwingObject() as never), 'safetensors', 'metadata', /could not be read/);
  assertConvError(() => writeSafetensors({ a: x }, throwingGetter('k') as never), 'safetensors', 'metadata', /could not be read \(getter\)/);
  // The values still round-trip with plain options.
  assert.deepEqual(Array.from(readNpy(npy, { dtype: 'float64' }).data), [1, 1]);
  assert.deepEqual(Array.from(readNpz(npz, { maxBytes: 1 << 20 }).a.data), [1, 1]);
  assert.deepEqual(Array.from(readSafetensors(st, { maxElements: 2 }).tensors.a.data), [1, 1]);
});

test('PyTorch functional conv ops: option objects that are Proxies or have throwing getters are ConvErrors naming the option', () => {
  const x = ones([1, 2, 4]), w = ones([2, 2, 1]), wT = ones([2, 1, 1]);
  for (const [f, ww, op] of [[conv1d, w, 'conv1d'], [convTranspose1d, wT, 'convTranspose1d']] as const) {
    assertConvError(() => f(x, ww, null, throwingObject() as never), op, 'activation', /could not be read \(trap\)/);
    assertConvError(() => f(x, ww, null, throwingGetter('stride') as never), op, 'stride', /could not be read \(getter\)/);
    // With an epilogue key present, the other options are read once too.
    assertConvError(() => f(x, ww, null, Object.assign(throwingGetter('padding'), { activation: 'relu' }) as never), op, 'padding', /could not be read \(getter\)/);
  }
  assert.deepEqual(Array.from(conv1d(x, w, null, { stride: 2, activation: 'relu' }).data), [2, 2, 2, 2]);
  assertConvError(() => convTranspose1dStream(wT, null, throwingObject() as never), 'convTranspose1dStream', 'outputSize', /could not be read \(trap\)/);
});

test('sweep: hostile values in any argument of the fixed entry points give a ConvError or a result, never a raw TypeError/RangeError', () => {
  const hostile = fc.constantFrom<() => unknown>(
    () => null, () => NaN, () => -1, () => 2 ** 53, () => 'x', () => ({}), () => [], () => [NaN], () => 10n,
    throwingObject, throwingArray, () => throwingGetter('stride'), () => throwingGetter('eps'), () => throwingGetter('dtype'),
  );
  const x = ones([1, 2, 4]);
  const calls: Record<string, (a: unknown, b: unknown) => unknown> = {
    permute: (a, b) => permute(a as never, b as never), broadcastShapes: (a, b) => broadcastShapes('op', a as never, b as never),
    sum: (a, b) => sum(x, a as never, b as never), mean: (a) => mean(x, a as never), cat: (a, b) => cat(a as never, b as never),
    ModuleList: (a) => new ModuleList(a as never), Sequential: (a, b) => new Sequential(a as never, b as never),
    BatchNorm1d: (a, b) => new BatchNorm1d(a as never, b as never), BatchNorm2d: (a) => new BatchNorm2d(2, a as never), BatchNorm3d: (a) => new BatchNorm3d(2, a as never),
    readNpy: (a, b) => readNpy(a as never, b as never), readNpz: (a, b) => readNpz(a as never, b as never), readSafetensors: (a, b) => readSafetensors(a as never, b as never),
    readNpyOpts: (a) => readNpy(writeNpy(x), a as never), readNpzOpts: (a) => readNpz(writeNpz({ x }), a as never), readSafetensorsOpts: (a) => readSafetensors(writeSafetensors({ x }), a as never),
    writeNpz: (a, b) => writeNpz(a as never, b as never), writeSafetensors: (a, b) => writeSafetensors(a as never, b as never),
    Residual: (a) => new Residual(a as never), Parallel: (a, b) => new Parallel(a as never, b as never),
    foldBatchNorm: (a, b) => foldBatchNorm(a as never, b as never), foldWeightNorm: (a) => foldWeightNorm(a as never),
    weightNormWeight: (a, b) => weightNormWeight(a as never, b as never), weightNormKey: (a) => weightNormWeight(ones([2, 1]), ones([2, 1]), a as never),
    convTranspose1dStream: (a) => convTranspose1dStream(ones([2, 1, 1]), null, a as never),
    conv1d: (a) => conv1d(x, ones([2, 2, 1]), null, a as never), convTranspose1d: (a) => convTranspose1d(x, ones([2, 1, 1]), null, a as never),
  };
  fc.assert(fc.property(fc.constantFrom(...Object.keys(calls)), hostile, hostile, (name, a, b) => {
    try {
      calls[name](a(), b());
    } catch (e) {
      if (!(e instanceof ConvError)) assert.fail(`${name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }), { numRuns: 600, seed: 1303 });
});

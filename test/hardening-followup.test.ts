/**
 * Follow-ups of the hardening work: the plain TypeScript backend ('js') propagates NaN/±Inf exactly
 * as the definition (ref) does; hostile values (throwing getters, Proxies, non-iterables, NaN sizes)
 * reach the caller as a ConvError naming the parameter, never as a raw TypeError/RangeError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conv1d, conv2d, ConvError, convTranspose1d, convTranspose2d, tensor, withBackend, type Tensor } from '../src/index.js';
import { im2colKernels } from '../src/kernels/cpu/im2col.js';
import { refKernels } from '../src/kernels/ref/taps.js';
import type { F } from '../src/kernels/types.js';
import type { Geometry } from '../src/spec/types.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const prod = (a: readonly number[]) => a.reduce((p, q) => p * q, 1);

/** Seeded values in [−1, 1) with NaN, +Inf, −Inf and 0 each at `rate`. */
function special(len: number, seed: number, rate: number, f64 = false): F {
  const out = f64 ? new Float64Array(len) : new Float32Array(len);
  let s = seed >>> 0 || 1;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < len; i++) {
    const r = next(), v = next() * 2 - 1;
    out[i] = r < rate ? NaN : r < 2 * rate ? Infinity : r < 3 * rate ? -Infinity : r < 4 * rate ? 0 : v;
  }
  return out;
}

/** Same NaN positions, same ±Inf positions and signs, finite values within tol·(largest finite |ref| + 1). */
function assertSameNumbers(a: F, ref: F, what: string, tol: number): void {
  assert.equal(a.length, ref.length, `${what}: length`);
  let scale = 1;
  for (const v of ref) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    const r = ref[i], v = a[i];
    const ok = Number.isNaN(r) ? Number.isNaN(v) : Number.isFinite(r) ? Math.abs(v - r) <= tol * scale : v === r;
    if (!ok) assert.fail(`${what}: element ${i} is ${v}, reference ${r}`);
  }
}

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
    const x = special(inLen, seed, rate, f64), w = special(wLen, seed + 1, rate, f64), gy = special(outLen, seed + 2, rate, f64);
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
      const x = tensor(special(prod(xs), seed, rate), xs, { requiresGrad: true });
      const w = tensor(special(prod(ws), seed + 1, rate), ws, { requiresGrad: true });
      let y: Tensor;
      try {
        y = transposed ? (r === 1 ? convTranspose1d : convTranspose2d)(x, w, null, opts) : (r === 1 ? conv1d : conv2d)(x, w, null, opts);
      } catch (e) {
        if (e instanceof ConvError) return null; // a geometry the API refuses (e.g. convT padding ≥ its reach)
        throw e;
      }
      y.backward(tensor(special(prod(y.shape), seed + 2, rate), [...y.shape]));
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

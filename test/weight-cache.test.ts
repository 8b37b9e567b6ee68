/**
 * The WebAssembly kernels keep a weight's packed copy in linear memory between calls, keyed on its
 * storage and Tensor.version: a second call with the same weight reuses it (wasmStats counts the hit
 * and packs nothing), every documented write invalidates it, views share it, the cap evicts, a
 * release empties it — and every result equals the reference and, bitwise, the uncached kernels, on
 * 1 and 2 threads, float32 and float64, for conv (GEMM, depthwise) and convT (polyphase, GEMM + col2im).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  Adam, Conv1d, ConvError, ConvTranspose1d, SGD, Tensor, cat, conv1d, narrow, conv2d, convTranspose1d, convTranspose2d, mul, noGrad, randn, relu, setNumThreads, sum, wasmStats, withBackend,
  type DType,
} from '../src/index.js';
import { releaseWasmMemory, setWeightCacheBytes } from '../src/kernels/wasm/glue.js';
import { DEFAULT_CACHE_BYTES, WeightCache } from '../src/kernels/wasm/weight-cache.js';
import { selectKernels } from '../src/plan/select.js';
import type { Geometry } from '../src/spec/types.js';

const counts = () => wasmStats().weightCache;
/** Hits and misses since `before`. */
const delta = (before: { hits: number; misses: number }) => {
  const now = counts();
  return { hits: now.hits - before.hits, misses: now.misses - before.misses };
};

/** One kernel path of the wasm backend: the call, its operands' shapes and the candidate that runs it (at 1 thread, for the geometry `g`). */
interface Case {
  name: string; kernel: string; x: number[]; w: number[]; g: Geometry; dir: 'conv' | 'convT';
  run(x: Tensor, w: Tensor): Tensor;
}
// Each but DCGAN's first layer large enough (≥ 2^20 multiply-adds, several units) that 2 threads share the task.
const cases: Case[] = [
  {
    name: 'conv 1-D (GEMM reading x directly)', kernel: 'gemm', x: [2, 32, 128], w: [64, 32, 3], dir: 'conv',
    g: { n: 2, cIn: 32, cOut: 64, groups: 1, inSize: [128], outSize: [128], kSize: [3], stride: [1], dilation: [1], padBefore: [1] },
    run: (x, w) => conv1d(x, w, null, { padding: 1 }),
  },
  {
    name: 'conv 2-D (GEMM over im2col)', kernel: 'gemm', x: [2, 16, 24, 24], w: [32, 16, 3, 3], dir: 'conv',
    g: { n: 2, cIn: 16, cOut: 32, groups: 1, inSize: [24, 24], outSize: [24, 24], kSize: [3, 3], stride: [1, 1], dilation: [1, 1], padBefore: [1, 1] },
    run: (x, w) => conv2d(x, w, null, { padding: 1 }),
  },
  {
    name: 'conv (depthwise)', kernel: 'depthwise', x: [2, 64, 4096], w: [64, 1, 5], dir: 'conv',
    g: { n: 2, cIn: 64, cOut: 64, groups: 64, inSize: [4096], outSize: [4096], kSize: [5], stride: [1], dilation: [1], padBefore: [2] },
    run: (x, w) => conv1d(x, w, null, { padding: 2, groups: 64 }),
  },
  {
    name: 'convT (polyphase)', kernel: 'polyphase', x: [2, 64, 128], w: [64, 64, 4], dir: 'convT',
    g: { n: 2, cIn: 64, cOut: 64, groups: 1, inSize: [256], outSize: [128], kSize: [4], stride: [2], dilation: [1], padBefore: [1] },
    run: (x, w) => convTranspose1d(x, w, null, { stride: 2, padding: 1 }),
  },
  {
    // DCGAN's first layer: ConvTranspose2d(100, 512, 4) on a 1×1 input (one phase, 819200 weights to pack).
    name: 'convT 2-D on a 1×1 input (polyphase)', kernel: 'polyphase', x: [1, 100, 1, 1], w: [100, 512, 4, 4], dir: 'convT',
    g: { n: 1, cIn: 512, cOut: 100, groups: 1, inSize: [4, 4], outSize: [1, 1], kSize: [4, 4], stride: [1, 1], dilation: [1, 1], padBefore: [0, 0] },
    run: (x, w) => convTranspose2d(x, w),
  },
  {
    name: 'convT (GEMM + col2im)', kernel: 'gemm', x: [2, 256, 80], w: [256, 8, 4], dir: 'convT',
    g: { n: 2, cIn: 8, cOut: 256, groups: 1, inSize: [160], outSize: [80], kSize: [4], stride: [2], dilation: [1], padBefore: [1] },
    run: (x, w) => convTranspose1d(x, w, null, { stride: 2, padding: 1 }),
  },
];

const wasm = <T>(fn: () => T): T => withBackend('wasm', () => noGrad(fn));
const bits = (t: Tensor): number[] => Array.from(t.data);
function assertNear(a: Tensor, b: Tensor, tol: number, what: string): void {
  assert.equal(a.size, b.size, what);
  for (let i = 0; i < a.size; i++)
    assert.ok(Math.abs(a.data[i] - b.data[i]) <= tol * (1 + Math.abs(b.data[i])), `${what}: element ${i}: ${a.data[i]} vs ${b.data[i]}`);
}
const tolOf = (dtype: DType) => (dtype === 'float64' ? 1e-12 : 1e-4);
/** The result with the cache off (the kernels copy and pack on every call). */
function uncached<T>(fn: () => T): T {
  setWeightCacheBytes(0);
  try {
    return fn();
  } finally {
    setWeightCacheBytes(DEFAULT_CACHE_BYTES);
  }
}

for (const dtype of ['float32', 'float64'] as const)
  for (const c of cases)
    test(`${c.name}, ${dtype}: a second call reuses the packed weights; results equal the reference and, bitwise, the uncached kernels on 1 and 2 threads`, () => {
      assert.equal(selectKernels(c.g, dtype, c.dir).name, `wasm-${c.kernel}`, 'the path under test runs');
      const x = randn(c.x, { seed: 1, dtype }), w = randn(c.w, { seed: 2, dtype });
      const ref = withBackend('ref', () => c.run(x, w));
      const byThreads: number[][] = [];
      try {
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          // The uncached run of the previous thread count emptied the cache: each count packs once.
          const before = counts();
          const first = wasm(() => c.run(x, w));
          assert.deepEqual(delta(before), { hits: 0, misses: 1 }, 'packed on the first call');
          const again = wasm(() => c.run(x, w));
          assert.deepEqual(delta(before), { hits: 1, misses: 1 }, 'the second call packs nothing');
          const plain = uncached(() => wasm(() => c.run(x, w)));
          assert.deepEqual(delta(before), { hits: 1, misses: 1 }, 'the cache off counts nothing');
          assert.deepEqual(bits(first), bits(plain), 'the packing call equals the uncached kernels bitwise');
          assert.deepEqual(bits(again), bits(plain), 'the reusing call equals the uncached kernels bitwise');
          assertNear(again, ref, tolOf(dtype), 'against the reference');
          byThreads.push(bits(again));
        }
      } finally {
        setNumThreads(0);
      }
      assert.deepEqual(byThreads[0], byThreads[1], 'bitwise the same on 1 and 2 threads');
    });

/** A module whose every forward is checked against the reference on a fresh copy of its weights (a new storage, so nothing cached). */
function checker(dtype: DType = 'float32') {
  const m = new Conv1d(16, 32, 3, { padding: 1, seed: 3, dtype });
  const x = randn([2, 16, 64], { seed: 4, dtype });
  const forward = () => wasm(() => m.forward(x));
  const fresh = () => withBackend('ref', () => noGrad(() => conv1d(x, new Tensor(m.weight.data.slice(), m.weight.shape), new Tensor(m.bias!.data.slice(), m.bias!.shape), { padding: 1 })));
  return { m, x, forward, fresh };
}

/** Establishes a hit, applies `write`, and checks the next forward packs the new values (a miss) and equals the reference. */
function invalidatedBy(what: string, write: (m: Conv1d, x: Tensor) => void): void {
  test(`${what} invalidates the packed weights: the next call packs the new values`, () => {
    const { m, x, forward, fresh } = checker();
    const old = forward();
    const before = counts();
    assert.deepEqual(bits(forward()), bits(old));
    assert.deepEqual(delta(before), { hits: 1, misses: 0 });
    const version = m.weight.version;
    write(m, x);
    assert.ok(m.weight.version > version, 'the write counts');
    const mid = counts();
    const y = forward();
    assert.deepEqual(delta(mid), { hits: 0, misses: 1 }, 'packed again');
    assertNear(y, fresh(), 1e-4, 'the new weights');
    assert.notDeepEqual(bits(y), bits(old), 'the result changed');
  });
}

/** One training step: loss = Σ conv(x)², gradients, then the optimizer's step. */
function step(opt: SGD | Adam, m: Conv1d, x: Tensor): void {
  opt.zeroGrad();
  const y = withBackend('wasm', () => m.forward(x));
  sum(mul(y, y)).backward();
  opt.step();
}

invalidatedBy('an SGD step', (m, x) => step(new SGD(m.parameters(), { lr: 0.1 }), m, x));
invalidatedBy('an Adam step', (m, x) => step(new Adam(m.parameters(), { lr: 0.1 }), m, x));
invalidatedBy('loadStateDict', (m) => {
  const w = randn(m.weight.shape, { seed: 9 });
  m.loadStateDict({ weight: w, bias: m.bias! });
});
invalidatedBy('markChanged() after data.set', (m) => {
  m.weight.data.set(randn(m.weight.shape, { seed: 10 }).data);
  m.weight.markChanged();
});
invalidatedBy('update()', (m) => m.weight.update((d) => { for (let i = 0; i < d.length; i++) d[i] = -d[i]; }));
invalidatedBy('an in-place op on the weight', (m) => noGrad(() => relu(m.weight, true)));
invalidatedBy('a write through a view (reshape, detach)', (m) => m.weight.reshape([m.weight.size]).detach().update((d) => d.fill(0.5)));

test('training: forward and both gradients equal the reference while the weights change every step', () => {
  const { m, x } = checker();
  const r = new Conv1d(16, 32, 3, { padding: 1, seed: 3 });
  const optW = new SGD(m.parameters(), { lr: 0.05 }), optR = new SGD(r.parameters(), { lr: 0.05 });
  for (let i = 0; i < 3; i++) {
    step(optW, m, x);
    withBackend('ref', () => step(optR, r, x));
    assertNear(m.weight, r.weight, 1e-4, `weights after step ${i}`);
    assertNear(m.weight.grad!, r.weight.grad!, 1e-4, `weight gradient of step ${i}`);
  }
});

test('a stream reuses the packed weights from push to push, and a weight write between pushes is seen by the next push', () => {
  const x = randn([1, 64, 60], { seed: 5 });
  for (const m of [new Conv1d(64, 64, 7, { padding: 3, dilation: 2, seed: 6 }), new ConvTranspose1d(64, 32, 16, { stride: 8, padding: 4, seed: 7 })]) {
    const name = m.constructor.name, s = m.stream();
    /** The outputs of pushing x[.., from:to) in chunks of 3 positions (and of flush() where `end`). */
    const pushed = (from: number, to: number, end: boolean): Tensor[] => wasm(() => {
      const out: Tensor[] = [];
      for (let t = from; t < to; t += 3) out.push(s.push(narrow(x, 2, t, Math.min(3, to - t))));
      if (end) out.push(s.flush());
      return out;
    });
    const full = wasm(() => m.forward(x));
    const before = counts();
    const head = pushed(0, 30, false);
    const d = delta(before);
    assert.ok(d.misses <= 1 && d.hits >= 5, `${name}: the pushes pack at most once; got ${JSON.stringify(d)}`);
    const all = wasm(() => cat([...head, ...pushed(30, 60, true)], 2));
    assert.deepEqual(bits(all), bits(full), `${name}: stream = full forward bitwise`);
    // A write between pushes: every push after it uses the new weights (a Conv1d output is one sum computed when it is emitted).
    s.reset();
    const t0 = pushed(0, 30, false).reduce((n, y) => n + y.shape[2], 0);
    m.weight.update((w) => { for (let i = 0; i < w.length; i++) w[i] *= -0.5; });
    const tail = wasm(() => cat(pushed(30, 60, true), 2)), fresh = withBackend('ref', () => noGrad(() => m.forward(x)));
    // ConvTranspose1d outputs overlap-add contributions of inputs before and after the write: compare those fed only by inputs after it (the last 8).
    const from = m instanceof Conv1d ? 0 : tail.shape[2] - 8, c = tail.shape[1], T = tail.shape[2], F = fresh.shape[2];
    for (let ch = 0; ch < c; ch++)
      for (let t = from; t < T; t++) {
        const a = tail.data[ch * T + t], b = fresh.data[ch * F + t0 + t];
        assert.ok(Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b)), `${name}: channel ${ch}, output ${t0 + t} after the write: ${a} vs ${b}`);
      }
  }
});

test('a direct write without markChanged() is not seen until markChanged(): the documented stale result', () => {
  const { m, forward, fresh } = checker();
  const old = forward();
  m.weight.data[0] += 1; // no markChanged()
  assert.deepEqual(bits(forward()), bits(old), 'the packed copy of the old values is used');
  m.weight.markChanged();
  const y = forward();
  assertNear(y, fresh(), 1e-4, 'after markChanged() the new values');
  assert.notDeepEqual(bits(y), bits(old));
});

test('a different tensor with equal values packs its own copy; views and modules sharing a storage share one', () => {
  const { m, x, forward } = checker();
  const old = forward();
  const before = counts();
  const copy = new Tensor(m.weight.data.slice(), m.weight.shape);
  const viaCopy = wasm(() => conv1d(x, copy, m.bias, { padding: 1 }));
  assert.deepEqual(delta(before), { hits: 0, misses: 1 }, 'a new storage');
  assert.deepEqual(bits(viaCopy), bits(old));
  // Views (reshape, detach) and a tensor made on the same array share the storage, hence its version.
  const views = [m.weight.detach(), m.weight.reshape([32, 16, 3]), new Tensor(m.weight.data, m.weight.shape)];
  for (const v of views) assert.deepEqual(bits(wasm(() => conv1d(x, v, m.bias, { padding: 1 }))), bits(old));
  const other = new Conv1d(16, 32, 3, { padding: 1, seed: 99 });
  other.weight = m.weight;
  other.bias = m.bias;
  assert.deepEqual(bits(wasm(() => other.forward(x))), bits(old));
  assert.deepEqual(delta(before), { hits: 4, misses: 1 }, 'views and the second module reuse the packing');
  // A write through the second module is seen by the first.
  step(new SGD(other.parameters(), { lr: 0.1 }), other, x);
  const mid = counts();
  assert.deepEqual(bits(forward()), bits(wasm(() => other.forward(x))));
  assert.deepEqual(delta(mid), { hits: 1, misses: 1 });
});

test('the cap bounds the cached bytes: least recently used weights are evicted, results stay right', () => {
  const x = randn([1, 16, 64], { seed: 5 });
  const ws = [0, 1, 2].map((s) => randn([32, 16, 3], { seed: 20 + s }));
  const packed = 32 * 16 * 3 * 4; // cOut is a multiple of MR: no padding rows
  const refs = ws.map((w) => withBackend('ref', () => conv1d(x, w, null, { padding: 1 })));
  releaseWasmMemory();
  setWeightCacheBytes(2 * packed);
  try {
    for (let round = 0; round < 2; round++)
      ws.forEach((w, i) => {
        const before = counts();
        assertNear(wasm(() => conv1d(x, w, null, { padding: 1 })), refs[i], 1e-4, `weight ${i}`);
        assert.deepEqual(delta(before), { hits: 0, misses: 1 }, 'cycling three weights through room for two evicts each before its reuse');
        assert.ok(counts().bytes <= 2 * packed && counts().entries <= 2, `${counts().bytes} bytes held`);
      });
    // The two most recent stay.
    const before = counts();
    wasm(() => conv1d(x, ws[2], null, { padding: 1 }));
    wasm(() => conv1d(x, ws[1], null, { padding: 1 }));
    assert.deepEqual(delta(before), { hits: 2, misses: 0 });
    setWeightCacheBytes(packed);
    assert.deepEqual([counts().bytes, counts().entries], [packed, 1], 'lowering the cap evicts at once');
    setWeightCacheBytes(0);
    assert.deepEqual([counts().bytes, counts().entries], [0, 0]);
  } finally {
    setWeightCacheBytes(DEFAULT_CACHE_BYTES);
  }
  assert.throws(() => setWeightCacheBytes(-1), (e: unknown) => e instanceof ConvError && /setWeightCacheBytes: bytes must be an integer/.test(e.message));
  assert.throws(() => setWeightCacheBytes(1.5), ConvError);
});

test('the arena reuses gaps, moves the slots down (keeping their bytes) where no gap fits, and evicts the least recently used', () => {
  const memory = new Uint8Array(4096), cache = new WeightCache(64);
  cache.setCap(512);
  const slot = (bytes: number) => cache.reserve({}, 0, 'k', bytes, memory)!;
  const [a, b, c, d] = [1, 2, 3, 4].map((v) => {
    const s = slot(128);
    memory.fill(v, s.at, s.at + s.bytes);
    return s;
  });
  assert.deepEqual([a.at, b.at, c.at, d.at], [64, 192, 320, 448], 'one after another from the base, up to the cap');
  cache.drop(a);
  cache.drop(c);
  // 256 bytes: free are two gaps of 128 and nothing past the cap, so b and d move down.
  const e = slot(256);
  assert.deepEqual([b.at, d.at, e.at], [64, 192, 320]);
  assert.ok(memory.subarray(b.at, b.at + 128).every((v) => v === 2) && memory.subarray(d.at, d.at + 128).every((v) => v === 4), 'moved slots keep their bytes');
  assert.equal(cache.end, 576);
  // Full (512 of 512): another 100 bytes (64-byte multiples: 128) evict b, the least recently used, and take its place.
  const f = slot(100);
  assert.deepEqual([b.live, f.at, f.bytes], [false, 64, 128]);
  assert.deepEqual(cache.stats(), { hits: 0, misses: 0, bytes: 512, entries: 3 });
  assert.equal(slot(1024 + 1), null, 'a slot over the cap is not kept');
});

test('releasing the memory drops the cached weights; the next call packs again on the fresh memory', () => {
  const { forward, fresh } = checker('float64');
  const old = forward();
  assert.ok(counts().entries > 0);
  releaseWasmMemory();
  assert.deepEqual([counts().bytes, counts().entries], [0, 0]);
  const before = counts();
  assert.deepEqual(bits(forward()), bits(old));
  assert.deepEqual(delta(before), { hits: 0, misses: 1 });
  assertNear(forward(), fresh(), 1e-12, 'float64');
});

test('a weight that is garbage-collected frees its packed copy: the cache keeps no tensor alive', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  releaseWasmMemory();
  const x = randn([1, 16, 64], { seed: 5 });
  (() => {
    const w = randn([32, 16, 3], { seed: 30 });
    wasm(() => conv1d(x, w, null, { padding: 1 }));
  })();
  assert.deepEqual([counts().entries, counts().bytes], [1, 32 * 16 * 3 * 4]);
  for (let i = 0; i < 100 && counts().entries > 0; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual([counts().entries, counts().bytes], [0, 0], 'freed once the weight is collected');
});

test('calls without a tensor weight key (the kernels called directly) copy and pack as before', () => {
  const c = cases[0];
  const x = randn(c.x, { seed: 1 }), w = randn(c.w, { seed: 2 });
  const y = new Float32Array(2 * 64 * 128);
  const before = counts();
  selectKernels(c.g, 'float32', 'conv').conv(x.data, w.data, y, c.g);
  selectKernels(c.g, 'float32', 'conv').conv(x.data, w.data, y, c.g, undefined, { storage: new Float32Array(1), version: 0 });
  assert.deepEqual(delta(before), { hits: 0, misses: 0 }, 'no key, or a key of another array, is not cached');
  assert.deepEqual(Array.from(y), bits(wasm(() => c.run(x, w))));
});

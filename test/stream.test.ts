/**
 * Streams: concatenating every push and the flush equals the full forward, bitwise, for random
 * modules, options, dtypes and chunkings on every backend; hand-worked examples; every refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  backends, Conv1d, Conv1D, Conv1DTranspose, Conv2d, ConvTranspose1d, conv1dStream, convTranspose1dStream, LeakyReLU,
  Module, noGrad, BatchNorm1d, Identity, Parallel, paddleConv1dStream, paddleConv1dTransposeStream, randn, registerPointwiseStream, ReLU, Residual, Sequential,
  Sigmoid, Tanh, tensor, withBackend, conv1d, convTranspose1d, span, getNumThreads, setNumThreads, type DType, type Stream, type Tensor,
} from '../src/index.js';
import { assertConvError } from './helpers-core.js';
import { assertSame, catTime, sliceTime, streamWhole, type TimeLayout } from './helpers/stream.js';

const RUNS = Number(process.env.CONVKIT_PROPERTY_RUNS ?? 120);
const SEED = Number(process.env.CONVKIT_PROPERTY_SEED ?? 20261201);

interface LayerCase {
  transposed: boolean;
  api: 'torch' | 'functional' | 'paddle';
  n: number; groups: number; cig: number; cog: number;
  k: number; s: number; d: number; p0: number; p1: number; op: number;
  mode: 'zeros' | 'reflect' | 'replicate';
  same: boolean; batched: boolean; channelsLast: boolean; bias: boolean;
  L: number; cuts: number[]; seed: number;
}

/** Random valid single layers: sizes clamped so that the full forward accepts the whole input. */
const layerArb: fc.Arbitrary<LayerCase> = fc.record({
  transposed: fc.boolean(),
  api: fc.constantFrom('torch', 'torch', 'functional', 'paddle') as fc.Arbitrary<LayerCase['api']>,
  n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }), cig: fc.integer({ min: 1, max: 2 }), cog: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 6 }), s: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 1, max: 3 }),
  p0: fc.integer({ min: 0, max: 7 }), p1: fc.integer({ min: 0, max: 7 }), op: fc.integer({ min: 0, max: 3 }),
  mode: fc.constantFrom('zeros', 'zeros', 'reflect', 'replicate') as fc.Arbitrary<LayerCase['mode']>,
  same: fc.boolean(), batched: fc.boolean(), channelsLast: fc.boolean(), bias: fc.boolean(),
  L: fc.integer({ min: 1, max: 40 }),
  cuts: fc.oneof(fc.constant([1]), fc.constant([]), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 6 })),
  seed: fc.integer({ min: 1, max: 1e6 }),
}).map((raw) => {
  const c = raw.api === 'paddle' ? { ...raw, batched: true } : raw; // Paddle's layers take batched input only
  const sp = span(c.k, c.d);
  if (c.transposed) {
    const same = c.same && c.api === 'paddle' && c.s === 1; // Paddle's 'SAME' (dilation taken as 1)
    const op = same ? 0 : c.op % (c.api === 'paddle' ? c.s : Math.max(c.s, c.d)); // Paddle's 1-D op: output padding < stride
    const full = (c.L - 1) * c.s + sp + op;
    const p0 = Math.min(c.p0, full - 1);
    return { ...c, mode: 'zeros' as const, same, op, p0, p1: Math.min(c.p1, full - 1 - p0), batched: c.batched || c.api === 'paddle' };
  }
  const same = c.same && c.s === 1;
  let { p0, p1, L } = c;
  if (same) [p0, p1] = c.api === 'paddle' ? [Math.floor((c.k - 1) / 2), c.k - 1 - Math.floor((c.k - 1) / 2)] : [Math.floor((sp - 1) / 2), sp - 1 - Math.floor((sp - 1) / 2)];
  if (c.mode === 'reflect') L = Math.max(L, p0 + 1, p1 + 1);
  L = Math.max(L, sp - p0 - p1, 1);
  const d = same && c.api === 'paddle' ? 1 : c.d; // Paddle's 'SAME' takes dilation as 1
  return { ...c, same, p0, p1, L: Math.max(L, span(c.k, d) - p0 - p1), op: 0, api: c.mode !== 'zeros' && c.api === 'paddle' ? 'torch' : c.api };
}).map((c) => (c.api === 'paddle' ? { ...c, batched: true } : c)); // Paddle takes batched input only

/** The layer of a case (a module, or the weights plus the functional stream and op) in float `dtype`. */
function build(c: LayerCase, dtype: DType): { forward: (x: Tensor) => Tensor; stream: () => Stream; layout: TimeLayout; cIn: number } {
  const cIn = c.groups * c.cig, cOut = c.groups * c.cog;
  const layout: TimeLayout = c.channelsLast ? 'channelsLast' : 'channelsFirst';
  const padding = c.same ? (c.api === 'paddle' ? 'SAME' : 'same') : [[c.p0, c.p1]] as [number, number][];
  const common = { stride: c.s, dilation: c.d, groups: c.groups };
  if (c.api === 'paddle') {
    const o = { ...common, padding: c.same ? 'SAME' : [c.p0, c.p1], dataFormat: (c.channelsLast ? 'NLC' : 'NCL') as 'NLC' | 'NCL' };
    const m = c.transposed
      ? new Conv1DTranspose(cIn, cOut, c.k, { ...o, outputPadding: c.op, biasAttr: c.bias ? undefined : false, dtype, seed: c.seed })
      : new Conv1D(cIn, cOut, c.k, { ...o, biasAttr: c.bias ? undefined : false, dtype, seed: c.seed });
    if (m.bias) m.bias.data.set(randn([cOut], { seed: c.seed + 9, dtype }).data);
    const fn = c.seed % 2 === 0 ? () => m.stream()
      : () => (c.transposed ? paddleConv1dTransposeStream(m.weight, m.bias, { ...o, outputPadding: c.op }) : paddleConv1dStream(m.weight, m.bias, o));
    return { forward: (x) => m.forward(x), stream: fn, layout, cIn };
  }
  const o = { ...common, padding, dataFormat: layout };
  if (c.transposed) {
    const m = new ConvTranspose1d(cIn, cOut, c.k, { ...common, padding: [[c.p0, c.p1]], outputPadding: c.op, dataFormat: layout, bias: c.bias, dtype, seed: c.seed });
    if (c.api === 'functional') {
      const opts = { ...common, padding: [[c.p0, c.p1]] as [number, number][], outputPadding: c.op, dataFormat: layout };
      return { forward: (x) => convTranspose1d(x, m.weight, m.bias, opts), stream: () => convTranspose1dStream(m.weight, m.bias, opts), layout, cIn };
    }
    return { forward: (x) => m.forward(x), stream: () => m.stream(), layout, cIn };
  }
  const mode = { paddingMode: c.mode };
  const m = new Conv1d(cIn, cOut, c.k, { ...o, ...mode, bias: c.bias, dtype, seed: c.seed });
  if (c.api === 'functional') return { forward: (x) => conv1d(x, m.weight, m.bias, { ...o, ...mode }), stream: () => conv1dStream(m.weight, m.bias, { ...o, ...mode }), layout, cIn };
  return { forward: (x) => m.forward(x), stream: () => m.stream(), layout, cIn };
}

function inputOf(c: LayerCase, cIn: number, layout: TimeLayout, dtype: DType): Tensor {
  const s = layout === 'channelsLast' ? [c.L, cIn] : [cIn, c.L];
  return randn(c.batched ? [c.n, ...s] : s, { seed: c.seed + 1, dtype });
}

test(`one layer: pushes + flush equal the full forward bitwise (${RUNS} random layers × chunkings × dtypes × every backend)`, () => {
  assert.deepEqual(['ref', 'js', 'wasm'].filter((b) => backends().includes(b)), ['ref', 'js', 'wasm']);
  fc.assert(fc.property(layerArb, fc.constantFrom('float32', 'float64') as fc.Arbitrary<DType>, (c, dtype) => {
    const { forward, stream, layout, cIn } = build(c, dtype);
    const x = inputOf(c, cIn, layout, dtype);
    for (const b of ['ref', 'js', 'wasm']) withBackend(b, () => {
      const want = noGrad(() => forward(x));
      const s = stream();
      const { y, pieces } = streamWhole(s, x, layout, c.cuts);
      assertSame(y, want, `${b} ${dtype} ${JSON.stringify(c)}`);
      assert.ok(pieces.every((p) => !p.requiresGrad));
      // reset() starts again: a second pass (other cuts) gives the same.
      s.reset();
      assertSame(streamWhole(s, x, layout, [3, 1]).y, want, `${b} after reset`);
    });
  }), { numRuns: RUNS, seed: SEED });
});

interface StackCase { ch: number; layers: { kind: number; k: number; s: number; d: number }[]; L: number; cuts: number[]; seed: number; batched: boolean }

/** Generator-like stacks: convolutions, upsamplers, residual dilated blocks and activations. */
function buildStack(c: StackCase, dtype: DType): Sequential {
  const ch = c.ch, mods: Module[] = [];
  let seed = c.seed;
  const conv = (k: number, d: number, pads?: [number, number]) =>
    new Conv1d(ch, ch, k, { dilation: d, padding: pads ? [pads] : 'same', dtype, seed: seed++ });
  for (const q of c.layers) {
    const span1 = span(q.k, q.d);
    if (q.kind === 0) mods.push(conv(q.k, q.d));
    else if (q.kind === 1) mods.push(new ConvTranspose1d(ch, ch, 2 * q.s, { stride: q.s, padding: Math.floor(q.s / 2), outputPadding: q.s > 1 ? q.s % 2 : 0, dtype, seed: seed++ }));
    else if (q.kind === 2) mods.push(new Residual(new Sequential(new LeakyReLU(0.1), conv(q.k, q.d), new LeakyReLU(0.1), conv(q.k, 1))));
    else if (q.kind === 3) mods.push(new Residual(conv(q.k, q.d, [span1 - 1, 0]))); // causal
    else if (q.kind === 6) // HiFi-GAN's MRF: the mean of residual blocks of different kernels
      mods.push(new Parallel([2, q.k].map((k) => new Residual(new Sequential(new LeakyReLU(0.1), conv(k, q.d)))), { reduce: q.s === 1 ? 'sum' : 'mean' }));
    else if (q.kind === 4) mods.push(new Conv1d(ch, ch, q.k, { stride: q.s, dilation: q.d, padding: Math.min(q.k, 3), dtype, seed: seed++ }));
    else mods.push([new Tanh(), new ReLU(), new Sigmoid(), new LeakyReLU(0.2)][q.k % 4]);
  }
  return new Sequential(...mods);
}

const stackArb: fc.Arbitrary<StackCase> = fc.record({
  ch: fc.integer({ min: 1, max: 3 }),
  layers: fc.array(fc.record({ kind: fc.integer({ min: 0, max: 6 }), k: fc.integer({ min: 1, max: 5 }), s: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 5 }),
  L: fc.integer({ min: 12, max: 40 }), cuts: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }),
  seed: fc.integer({ min: 1, max: 1e6 }), batched: fc.boolean(),
});

test(`Sequential and Residual stacks stream exactly (${Math.ceil(RUNS / 2)} random stacks × every backend)`, () => {
  fc.assert(fc.property(stackArb, fc.constantFrom('float32', 'float64') as fc.Arbitrary<DType>, (c, dtype) => {
    const model = buildStack(c, dtype);
    const x = randn(c.batched ? [2, c.ch, c.L] : [c.ch, c.L], { seed: c.seed, dtype });
    let want: Tensor;
    try { want = noGrad(() => model.forward(x)); } catch { return; } // a strided stack that shrinks the input below a kernel
    for (const b of ['ref', 'js', 'wasm']) withBackend(b, () => {
      const ref = noGrad(() => model.forward(x));
      const s = model.stream();
      const { y, pieces } = streamWhole(s, x, 'channelsFirst', c.cuts);
      assertSame(y, ref, `${b} ${dtype} ${JSON.stringify(c)}`);
      // latency is a promise: output u (at input position u / rate) is out once input u / rate + latency is in.
      const T = y.shape[y.ndim - 1], beforeFlush = T - pieces[pieces.length - 1].shape[y.ndim - 1];
      const promised = Math.min(T, Math.max(0, Math.floor((c.L - 1 - s.latency) * s.rate + 1e-9) + 1));
      assert.ok(beforeFlush >= promised, `latency ${s.latency}, rate ${s.rate}: ${beforeFlush} of ${T} out before flush, ${promised} promised`);
    });
    assert.ok(want);
  }), { numRuns: Math.ceil(RUNS / 2), seed: SEED + 1 });
});

const vals = (t: Tensor) => Array.from(t.data);
const push1 = (s: Stream, v: number[]) => vals(s.push(tensor([[v]])));

test('hand-worked: strided transposed convolution carries its overlap-add across a chunk boundary', () => {
  // y[i·2 + j] += x[i]·w[j], w = [1, 10, 100], x = [1, 2, 3] → [1, 10, 100 + 2, 20, 200 + 3, 30, 300]
  const m = new ConvTranspose1d(1, 1, 3, { stride: 2, bias: false });
  m.weight.data.set([1, 10, 100]);
  const s = m.stream();
  assert.equal(s.latency, 0);
  assert.equal(s.rate, 2);
  assert.deepEqual(push1(s, [1]), [1, 10]); // position 2 waits for x[1]'s tap 0
  assert.deepEqual(push1(s, [2]), [102, 20]); // 100 from x[0], 2 from x[1]
  assert.deepEqual(push1(s, [3]), [203, 30]);
  assert.deepEqual(vals(s.flush()), [300]);
  assert.deepEqual(vals(m.forward(tensor([[[1, 2, 3]]]))), [1, 10, 102, 20, 203, 30, 300]);
  // padding 1 crops one position each side: output u is full position u + 1, final once (u + 1) < 2·received.
  const p = new ConvTranspose1d(1, 1, 3, { stride: 2, padding: 1, bias: false });
  p.weight.data.set([1, 10, 100]);
  const sp = p.stream();
  assert.equal(sp.latency, 0.5); // output 1 (input position 0.5) needs x[1]
  assert.deepEqual(push1(sp, [1]), [10]);
  assert.deepEqual(push1(sp, [2]), [102, 20]);
  assert.deepEqual(push1(sp, [3]), [203, 30]);
  assert.deepEqual(vals(sp.flush()), []);
});

test("hand-worked: dilated 'same' convolution waits for its look-ahead", () => {
  // span 5, pads [2, 2]: y[o] = x[o − 2]·1 + x[o]·10 + x[o + 2]·100; x = [1, 2, 3, 4, 5]
  const m = new Conv1d(1, 1, 3, { dilation: 2, padding: 'same', bias: false });
  m.weight.data.set([1, 10, 100]);
  const s = m.stream();
  assert.equal(s.latency, 2);
  const empty = s.push(tensor([[[1, 2]]]));
  assert.deepEqual([...empty.shape], [1, 1, 0]); // y[0] needs x[2]
  assert.deepEqual(push1(s, [3]), [310]);
  assert.deepEqual(push1(s, [4, 5]), [420, 531]);
  assert.equal(s.received, 5);
  assert.equal(s.emitted, 3);
  assert.deepEqual(vals(s.flush()), [42, 53]); // the end padding arrives with flush()
  assert.deepEqual(vals(m.forward(tensor([[[1, 2, 3, 4, 5]]]))), [310, 420, 531, 42, 53]);
});

test('hand-worked: reflect padding is written once the start is known, and at flush() for the end', () => {
  // padding 1 reflect: x = [1, 2, 3] → padded [2, 1, 2, 3, 2]; w = [1, 10, 100]
  const m = new Conv1d(1, 1, 3, { padding: 1, paddingMode: 'reflect', bias: false });
  m.weight.data.set([1, 10, 100]);
  const s = m.stream();
  assert.deepEqual(push1(s, [1]), []); // the left pad is x[1]
  assert.deepEqual(push1(s, [2]), [212]);
  assert.deepEqual(push1(s, [3]), [321]);
  assert.deepEqual(vals(s.flush()), [232]);
  const r = new Conv1d(1, 1, 3, { padding: 1, paddingMode: 'replicate', bias: false });
  r.weight.data.set([1, 10, 100]);
  const sr = r.stream();
  assert.deepEqual(push1(sr, [1]), []); // y[0] reads x[1]
  assert.deepEqual(push1(sr, [2]), [211]); // the left pad (x[0]) is known with the first position
  assert.deepEqual(vals(sr.flush()), [221]); // the right pad is x[1]
});

test('the state stays O(receptive field) however long the stream runs', () => {
  const m = new Sequential(new Conv1d(2, 4, 7, { padding: 3 }), new ConvTranspose1d(4, 2, 8, { stride: 4, padding: 2 }),
    new Residual(new Sequential(new LeakyReLU(0.1), new Conv1d(2, 2, 3, { dilation: 5, padding: 5 }))));
  const s = m.stream();
  const sizes: number[] = [];
  for (let i = 0; i < 400; i++) { s.push(randn([1, 2, 1 + (i % 5)], { seed: i })); sizes.push(s.stateBytes); }
  const late = Math.max(...sizes.slice(200)), early = Math.max(...sizes.slice(0, 200));
  assert.ok(late <= early, `state grew from ${early} to ${late} bytes`);
  assert.ok(late > 0 && late <= 4 * (6 + 4 + 2 * 10 + 8) * 4, `state ${late} bytes`);
});

test('unbatched and channels-last chunks, and empty pushes', () => {
  const m = new Conv1d(3, 2, 4, { padding: [[1, 2]], dataFormat: 'channelsLast', dtype: 'float64' });
  const x = randn([11, 3], { seed: 5, dtype: 'float64' });
  const want = noGrad(() => m.forward(x));
  const s = m.stream();
  const first = s.push(sliceTime(x, 'channelsLast', 0, 0));
  assert.deepEqual([...first.shape], [0, 2]);
  assertSame(catTime([first, streamWhole(s, sliceTime(x, 'channelsLast', 0, 11), 'channelsLast', [2, 0, 5]).y], 'channelsLast'), want, 'NLC');
});

test('a Residual adds its inner output to its input (forward) and keeps the shape', () => {
  const inner = new Conv1d(2, 2, 3, { padding: 1 });
  const r = new Residual(inner);
  const x = randn([1, 2, 6], { seed: 3 });
  const y = r.forward(x), f = inner.forward(x);
  assert.deepEqual(vals(y), vals(x).map((v, i) => Math.fround(v + f.data[i])));
  assert.deepEqual(r.namedParameters().map(([k]) => k), ['inner.weight', 'inner.bias']);
  assertConvError(() => new Residual(new Conv1d(2, 2, 3)).forward(x), 'Residual', 'inner', ['[1, 2, 6]', '[1, 2, 4]']);
  assertConvError(() => new Residual({} as Module), 'Residual', 'inner');
});

test('a Parallel adds its branches in order (and divides with reduce mean)', () => {
  const a = new Conv1d(2, 3, 3, { padding: 1, dtype: 'float64' }), b = new Conv1d(2, 3, 5, { padding: 2, dtype: 'float64' });
  const x = randn([1, 2, 7], { seed: 6, dtype: 'float64' });
  const ya = vals(a.forward(x)), yb = vals(b.forward(x));
  assert.deepEqual(vals(new Parallel([a, b]).forward(x)), ya.map((v, i) => v + yb[i]));
  assert.deepEqual(vals(new Parallel([a, b], { reduce: 'mean' }).forward(x)), ya.map((v, i) => (v + yb[i]) / 2));
  assert.deepEqual(new Parallel([a, b]).namedParameters().map(([k]) => k), ['0.weight', '0.bias', '1.weight', '1.bias']);
  assertConvError(() => new Parallel([a, new Conv1d(2, 3, 3, { dtype: 'float64' })]).forward(x), 'Parallel', 'branches[1]', ['[1, 3, 7]', '[1, 3, 5]']);
  assertConvError(() => new Parallel([]), 'Parallel', 'branches');
  assertConvError(() => new Parallel([a], { reduce: 'max' as 'sum' }), 'Parallel', 'reduce');
  assertConvError(() => new Parallel([a, new Conv1d(2, 3, 3, { dtype: 'float64' })]).stream(), 'Parallel.stream', 'branches[1]', ['length']);
  assertConvError(() => new Parallel([a, new ConvTranspose1d(2, 3, 2, { stride: 2, dtype: 'float64' })]).stream(), 'Parallel.stream', 'branches[1]', ['rate 2']);
  const s = new Parallel([a, b], { reduce: 'mean' }).stream();
  assert.equal(s.latency, 2);
  assertSame(streamWhole(s, x, 'channelsFirst', [1, 2]).y, noGrad(() => new Parallel([a, b], { reduce: 'mean' }).forward(x)), 'Parallel stream');
});

test('refusals: modules and options that cannot stream say why', () => {
  assertConvError(() => new Conv1d(1, 1, 3, { padding: 1, paddingMode: 'circular' }).stream(), 'Conv1d.stream', 'paddingMode', ["'circular'", 'flush()']);
  assertConvError(() => new Conv2d(1, 1, 3).stream(), 'Conv2d.stream', 'module', ['1-D', '2-D']);
  class Custom extends Module { override forward(x: Tensor): Tensor { return x; } }
  assertConvError(() => new Custom().stream(), 'Custom.stream', 'module', ['Custom']);
  assertConvError(() => new Sequential(new ReLU(), new Custom()).stream(), 'Custom.stream', 'module');
  assertConvError(() => new Conv1D(1, 1, 3, { padding: 'SAME', stride: 2 }).stream(), 'Conv1D.stream', 'padding', ["'SAME'", 'stride [2]']);
  assertConvError(() => new Conv1DTranspose(1, 1, 4, { padding: 'SAME', stride: 2 }).stream(), 'Conv1DTranspose.stream', 'padding');
  assertConvError(() => convTranspose1dStream(randn([1, 1, 3]), null, { outputSize: [9] } as object), 'convTranspose1dStream', 'outputSize');
  assertConvError(() => conv1dStream(randn([1, 1, 3]), randn([2]), {}), 'conv1dStream', 'bias', ['[1]']);
  assertConvError(() => conv1dStream(randn([1, 1, 3]), null, { groups: 2 }), 'conv1dStream', 'groups');
  assertConvError(() => conv1dStream(randn([1, 3]), null), 'conv1dStream', 'weight');
  assertConvError(() => new Residual(new ConvTranspose1d(1, 1, 2, { stride: 2 })).stream(), 'Residual.stream', 'inner', ['rate 2']);
  assertConvError(() => new Residual(new Conv1d(1, 1, 3)).stream(), 'Residual.stream', 'inner', ['length']);
  const bn = new BatchNorm1d(1);
  assertConvError(() => bn.stream(), 'BatchNorm1d.stream', 'module', ['training=true', 'eval()']);
  bn.runningMean!.data.set([0.5]);
  bn.eval();
  const seq = new Sequential(new Conv1d(1, 1, 3, { padding: 1 }), bn, new Identity());
  seq.eval();
  const x = randn([1, 1, 9], { seed: 4 });
  assertSame(streamWhole(seq.stream(), x, 'channelsFirst', [2, 3]).y, noGrad(() => seq.forward(x)), 'eval BatchNorm1d, Identity');
  // Registering makes a module pointwise-streamable.
  class Scale extends Module { override forward(x: Tensor): Tensor { return x; } }
  assertConvError(() => new Scale().stream(), 'Scale.stream', 'module');
  registerPointwiseStream(Scale);
  assert.equal(new Sequential(new Scale(), new Conv1d(1, 1, 3)).stream().latency, 2);
});

test('refusals: bad chunks change nothing; the life cycle is push* → flush → reset', () => {
  const m = new Conv1d(2, 3, 3, { padding: 1, dtype: 'float64' });
  const x = randn([1, 2, 9], { seed: 8, dtype: 'float64' });
  const s = m.stream();
  assertConvError(() => s.flush(), 'Conv1d.stream', 'flush', ['no']);
  const a = s.push(sliceTime(x, 'channelsFirst', 0, 4));
  assertConvError(() => s.push(randn([1, 3, 2], { dtype: 'float64' })), 'Conv1d.stream', 'chunk', ['2 channels', '[1, 3, 2]']);
  assertConvError(() => s.push(randn([1, 2, 2])), 'Conv1d.stream', 'chunk', ['float64', 'float32']);
  assertConvError(() => s.push(randn([2, 2, 2], { dtype: 'float64' })), 'Conv1d.stream', 'chunk', ['batch size 1']);
  assertConvError(() => s.push(randn([2, 2], { dtype: 'float64' })), 'Conv1d.stream', 'chunk', ['batch size 1']);
  assertConvError(() => s.push(randn([1, 1, 2, 2], { dtype: 'float64' })), 'Conv1d.stream', 'chunk', ['3-D']);
  assertConvError(() => s.push([1, 2] as unknown as Tensor), 'Conv1d.stream', 'chunk', ['Tensor']);
  // What the functional op refuses, the first chunk is refused for (Paddle: batched input only).
  const p = new Conv1D(2, 3, 3, { padding: 1 }).stream();
  assertConvError(() => p.push(randn([2, 4])), 'Conv1D', 'input', ['batched']);
  assert.equal(p.received, 0);
  const b = s.push(sliceTime(x, 'channelsFirst', 4, 5));
  const c = s.flush();
  assertSame(catTime([a, b, c], 'channelsFirst'), noGrad(() => m.forward(x)), 'after refused chunks');
  assert.equal(s.ended, true);
  assertConvError(() => s.push(x), 'Conv1d.stream', 'push', ['after flush()', 'reset()']);
  assertConvError(() => s.flush(), 'Conv1d.stream', 'flush', ['after flush()']);
  s.reset();
  assert.equal(s.received, 0);
  assertSame(streamWhole(s, x, 'channelsFirst', [2]).y, noGrad(() => m.forward(x)), 'after reset');
});

test('refusals at flush() match the full forward and leave the stream usable', () => {
  const m = new Conv1d(1, 1, 5);
  const s = m.stream();
  s.push(randn([1, 1, 2]));
  assertConvError(() => s.flush(), 'Conv1d.stream', 'input', ['too small', '2 positions']);
  assert.throws(() => m.forward(randn([1, 1, 2])));
  const more = randn([1, 1, 4], { seed: 2 });
  const y = catTime([s.push(more), s.flush()], 'channelsFirst');
  assert.equal(y.shape[2], 2);
  const r = new Conv1d(1, 1, 3, { padding: 2, paddingMode: 'reflect' }).stream();
  r.push(randn([1, 1, 2]));
  assertConvError(() => r.flush(), 'Conv1d.stream', 'padding', ["'reflect'", '2 positions']);
  const t = new ConvTranspose1d(1, 1, 2, { padding: 1 }).stream();
  t.push(randn([1, 1, 1]));
  assertConvError(() => t.flush(), 'ConvTranspose1d.stream', 'input', ['crops the whole output']);
});

test('a Sequential whose parts disagree fails once and then refuses until reset()', () => {
  const bad = new Sequential(new Conv1d(1, 2, 3, { padding: 1 }), new Conv1d(3, 1, 1));
  const s = bad.stream();
  assertConvError(() => s.push(randn([1, 1, 4])), 'Conv1d.stream', 'chunk', ['3 channels']);
  assertConvError(() => s.push(randn([1, 1, 4])), 'Sequential.stream', 'push', ['reset()']);
  s.reset();
  assertConvError(() => s.push(randn([1, 2, 4])), 'Conv1d.stream', 'chunk', ['1 channels']); // the first part's check: nothing changed
  assertConvError(() => s.push(randn([1, 1, 4])), 'Conv1d.stream', 'chunk', ['3 channels']);
  // A bad chunk for the first convolution behind pointwise parts changes nothing either.
  const act = new Sequential(new LeakyReLU(0.1), new Conv1d(2, 1, 3, { padding: 1 }));
  const sa = act.stream();
  assertConvError(() => sa.push(randn([1, 3, 4])), 'Conv1d.stream', 'chunk', ['2 channels']);
  const x = randn([1, 2, 5], { seed: 1 });
  assertSame(streamWhole(sa, x, 'channelsFirst', [2]).y, noGrad(() => act.forward(x)), 'after a refused chunk');
});

test('wide layers on the default backend, 1 and 2 threads: still bitwise (packed GEMM blocks, polyphase, depthwise)', () => {
  const layers = [new Conv1d(96, 64, 7, { padding: 3 }), new ConvTranspose1d(96, 48, 16, { stride: 8, padding: 4 }), new Conv1d(96, 96, 31, { padding: 15, groups: 96 })];
  const x = randn([2, 96, 300], { seed: 3 });
  const before = getNumThreads();
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      for (const m of layers) {
        const want = noGrad(() => m.forward(x));
        for (const cuts of [[1, 7, 64, 3], [100]]) assertSame(streamWhole(m.stream(), x, 'channelsFirst', cuts).y, want, `${String(m)} ${threads} threads, cuts ${cuts}`);
      }
    }
  } finally {
    setNumThreads(before);
  }
});

/**
 * The ported HiFi-GAN generator (examples/models/hifigan.ts, a custom Module whose stream() is built
 * from sequentialStream / residualStream / parallelStream / pointwiseStream): the small fixture
 * model of test/models.test.ts streamed in random chunks equals its own forward bitwise and
 * PyTorch's recorded output within float32 tolerance, on every backend; the full V1 configuration
 * streamed over a short input equals its forward; the composition API's refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  add, Conv1d, ConvTranspose1d, div, Identity, leakyRelu, loadSafetensorsStateDict, Module, noGrad, parallelStream, pointwiseStream, randn,
  readSafetensors, residualStream, ReLU, Sequential, sequentialStream, tanh, withBackend, type Stream, type Tensor,
} from '../src/index.js';
import { HIFIGAN_SMALL, HIFIGAN_V1, HifiganGenerator } from '../examples/models/hifigan.js';
import { assertConvError } from './helpers-core.js';
import { assertClose } from './helpers/close.js';
import { assertSame, catTime, sliceTime, streamWhole } from './helpers/stream.js';

const DATA = new URL('./data/models/', import.meta.url).pathname;
const file = (name: string) => new Uint8Array(readFileSync(DATA + name));

function loaded(fused = false): HifiganGenerator {
  const g = new HifiganGenerator(HIFIGAN_SMALL, { fused });
  assert.deepEqual(loadSafetensorsStateDict(g, file('hifigan.safetensors')), { missingKeys: [], unexpectedKeys: [] });
  return g;
}

test('ported HiFi-GAN (fixture): streamed in random chunks = its forward bitwise and PyTorch within float32 tolerance, every backend', () => {
  const g = loaded();
  const io = readSafetensors(file('hifigan-io.safetensors')).tensors;
  assert.deepEqual([...io.x.shape], [2, 8, 10]);
  const fulls = new Map(['ref', 'js', 'wasm'].map((b) => [b, withBackend(b, () => noGrad(() => g.forward(io.x)))]));
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 6 }), fc.constantFrom('ref', 'js', 'wasm'), (cuts, b) => {
    const { y } = withBackend(b, () => streamWhole(g.stream(), io.x, 'channelsFirst', cuts));
    assertSame(y, fulls.get(b)!, `${b} cuts ${cuts}`);
    assertClose(y.data, io.y.data, 2e-5, `${b} cuts ${cuts}: against PyTorch`);
  }), { numRuns: 30, seed: 12 });
});

test('ported HiFi-GAN (fixture): latency, rate, state, reset, and the fused generator streams its unfused steps', () => {
  const g = loaded(), s = g.stream();
  assert.equal(s.rate, 8); // upsampling 4 · 2
  // Look-ahead in mel frames: conv_pre 3; up0 (k8, s4, p2) 1/2; per stage the slowest resblock
  // (k7, dilations 1, 3, 5: 2·(3 + 9 + 15)/2 = 27 positions of 3 + 3 + 3 = 9 from the second convs),
  // i.e. (27 + 9) / 4 at ×4 and again / 8 at ×8; up1 (k4, s2, p1) 1/2 at ×4; conv_post 3 at ×8.
  assert.equal(s.latency, 3 + 0.5 + 36 / 4 + 0.5 / 4 + 36 / 8 + 3 / 8);
  const io = readSafetensors(file('hifigan-io.safetensors')).tensors;
  const x = randn([1, 8, 40], { seed: 3 });
  const full = noGrad(() => g.forward(x));
  s.push(x);
  assert.equal(s.emitted, Math.floor(8 * (40 - s.latency)), 'everything but the last latency · rate samples is final');
  assert.ok(s.stateBytes > 0 && s.stateBytes < 40 * 8 * 4 * 8 * 16, `state ${s.stateBytes} B`);
  s.reset();
  assertSame(streamWhole(s, x, 'channelsFirst', [7, 1]).y, full, 'after reset');
  // The fused generator's stream runs the unfused steps: its forward to float rounding.
  const fused = loaded(true);
  const { y } = streamWhole(fused.stream(), io.x, 'channelsFirst', [3]);
  assertSame(y, noGrad(() => g.forward(io.x)), 'fused stream = unfused forward');
  assertClose(y.data, noGrad(() => fused.forward(io.x)).data, 1e-6, 'fused stream ≈ fused forward');
});

test('ported HiFi-GAN V1 (full size): streamed over a short input equals its forward bitwise', () => {
  const g = new HifiganGenerator(HIFIGAN_V1);
  const x = randn([1, 80, 6], { seed: 9 });
  const full = noGrad(() => g.forward(x));
  assert.deepEqual([...full.shape], [1, 1, 6 * 256]);
  const s = g.stream();
  assert.equal(s.rate, 256);
  assertSame(streamWhole(s, x, 'channelsFirst', [2, 1, 3]).y, full, 'V1, chunks 2, 1, 3');
});

test('a custom module built from the composable streams streams inside a Sequential', () => {
  /** x → mean(x + conv_a(lrelu(x)), conv_b(x)) → tanh: a residual and a parallel branch of different latencies. */
  class Block extends Module {
    readonly a = new Conv1d(3, 3, 3, { dilation: 2, padding: 2, dtype: 'float64', seed: 1 });
    readonly b = new Conv1d(3, 3, 7, { padding: 3, dtype: 'float64', seed: 2 });
    override forward(x: Tensor): Tensor {
      return tanh(div(add(add(x, this.a.forward(leakyRelu(x, 0.2))), this.b.forward(x)), 2));
    }
    override stream(): Stream {
      return sequentialStream([
        parallelStream([residualStream(sequentialStream([pointwiseStream((x) => leakyRelu(x, 0.2)), this.a.stream()])), this.b.stream()], { reduce: 'mean' }),
        pointwiseStream(tanh),
      ]);
    }
  }
  const m = new Sequential(new Conv1d(2, 3, 1, { dtype: 'float64', seed: 3 }), new Block(), new ReLU());
  const x = randn([2, 2, 17], { seed: 5, dtype: 'float64' });
  const s = m.stream();
  assert.equal(s.latency, 3); // the slower branch: b's look-ahead 3 (a's is 2)
  assertSame(streamWhole(s, x, 'channelsFirst', [1, 4, 0, 2]).y, noGrad(() => m.forward(x)), 'custom block in a Sequential');
});

test('refusals of the composable streams', () => {
  const conv = () => new Conv1d(2, 2, 3, { padding: 1 }).stream();
  assertConvError(() => sequentialStream([]), 'sequentialStream', 'streams', ['non-empty']);
  assertConvError(() => sequentialStream([conv(), {} as Stream]), 'sequentialStream', 'streams[1]', ['made by convkit']);
  const c = conv();
  assertConvError(() => sequentialStream([c, c]), 'sequentialStream', 'streams[1]', ['twice']);
  const pushed = conv();
  pushed.push(randn([1, 2, 4]));
  assertConvError(() => residualStream(pushed), 'residualStream', 'inner', ['pushed', '4 positions']);
  const inner = conv(), seq = sequentialStream([inner]);
  assertConvError(() => parallelStream([inner]), 'parallelStream', 'branches[0]', ['already part']);
  assertConvError(() => inner.push(randn([1, 2, 4])), 'Conv1d.stream', 'push', ['part of a composite']);
  assertConvError(() => inner.reset(), 'Conv1d.stream', 'reset', ['part of a composite']);
  assert.equal(seq.push(randn([1, 2, 4])).shape[2], 3, 'the composite still works');
  assertConvError(() => parallelStream([conv()], { reduce: 'max' as 'sum' }), 'parallelStream', 'reduce', ["'max'"]);
  assertConvError(() => pointwiseStream(3 as unknown as (x: Tensor) => Tensor), 'pointwiseStream', 'fn', ['function']);
  const shrink = sequentialStream([pointwiseStream((x) => sliceTime(x, 'channelsFirst', 0, 1)), conv()]);
  assertConvError(() => shrink.push(randn([1, 2, 4])), 'pointwiseStream', 'fn', ['time length', '[1, 2, 1]']);
  assertConvError(() => residualStream(new ConvTranspose1d(2, 2, 2, { stride: 2 }).stream()), 'residualStream', 'inner', ['rate 2']);
  class Bad extends Module {
    override forward(x: Tensor): Tensor { return x; }
    override stream(): Stream { return { push: (x: Tensor) => x } as unknown as Stream; }
  }
  assertConvError(() => new Sequential(new Bad()).stream(), 'Bad.stream', 'stream', ['made by convkit']);
});

test('results are the caller\'s: later pushes never overwrite an earlier result, even one passed through unchanged', () => {
  // Inside a composite a convolution's output lives in a reused array (the next step consumes it at
  // once); Identity passes it on as it is, so the composite must hand out a copy.
  for (const last of [new Identity(), new Conv1d(2, 2, 1, { dtype: 'float64', seed: 2 })]) {
    const m = new Sequential(new Conv1d(2, 2, 3, { padding: 1, dtype: 'float64', seed: 1 }), last);
    const x = randn([1, 2, 12], { seed: 4, dtype: 'float64' });
    const s = m.stream();
    const pieces = [0, 3, 3, 3, 3].map((a, i, cuts) => s.push(sliceTime(x, 'channelsFirst', cuts.slice(0, i).reduce((p, q) => p + q, 0), a)));
    const kept = pieces.map((p) => Array.from(p.data));
    pieces.push(s.flush());
    pieces.forEach((p, i) => { if (i < kept.length) assert.deepEqual(Array.from(p.data), kept[i], `piece ${i} unchanged`); });
    assertSame(catTime(pieces, 'channelsFirst'), noGrad(() => m.forward(x)), `Sequential(conv, ${last.constructor.name})`);
  }
});

/**
 * Streams on the WebGPU backend (Dawn on SwiftShader where there is no GPU): GPU chunks through a
 * module whose parameters are on the GPU give GPU tensors that equal the CPU stream within float32
 * tolerance — the ported HiFi-GAN fixture generator (and PyTorch's output), single layers with
 * every streaming option the GPU takes, Residual and Parallel — and the refusals. No adapter is a failure.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  Conv1d, ConvTranspose1d, LeakyReLU, loadSafetensorsStateDict, noGrad, Parallel, randn, readSafetensors, Residual, Sequential, Tanh,
  type Module, type Stream, type Tensor,
} from '../src/index.js';
import { HIFIGAN_SMALL, HifiganGenerator } from '../examples/models/hifigan.js';
import { assertConvError } from './helpers-core.js';
import { assertClose } from './helpers/close.js';
import { catTime, sliceTime, streamWhole, type TimeLayout } from './helpers/stream.js';
import { startWebGPU } from './helpers/webgpu.js';

const DATA = new URL('./data/models/', import.meta.url).pathname;
const file = (name: string) => new Uint8Array(readFileSync(DATA + name));
const RTOL = 1e-4;

before(async () => {
  await startWebGPU();
});

const axis = (t: Tensor, layout: TimeLayout) => (layout === 'channelsLast' ? t.ndim - 2 : t.ndim - 1);

/** Streams CPU `x` in chunks of `cuts` through the GPU stream; every piece must be a GPU tensor. Returns the joined output, read back. */
async function streamOnGpu(s: Stream, x: Tensor, layout: TimeLayout, cuts: readonly number[]): Promise<Tensor> {
  const L = x.shape[axis(x, layout)], pieces: Tensor[] = [];
  let at = 0, i = 0;
  do {
    const n = Math.min(cuts[i++ % cuts.length], L - at);
    const y = s.push(sliceTime(x, layout, at, n).to('webgpu'));
    assert.equal(y.device, 'webgpu', 'a push returns a GPU tensor');
    pieces.push(await y.cpu());
    at += n;
    assert.equal(s.received, at);
  } while (at < L);
  const last = s.flush();
  assert.equal(last.device, 'webgpu', 'flush returns a GPU tensor');
  pieces.push(await last.cpu());
  const y = catTime(pieces, layout);
  assert.equal(s.emitted, y.shape[axis(y, layout)]);
  return y;
}

test('ported HiFi-GAN on the GPU: GPU chunks in, GPU audio out, equal to the CPU stream and PyTorch within float32 tolerance', async () => {
  const g = new HifiganGenerator(HIFIGAN_SMALL);
  assert.deepEqual(loadSafetensorsStateDict(g, file('hifigan.safetensors')), { missingKeys: [], unexpectedKeys: [] });
  const io = readSafetensors(file('hifigan-io.safetensors')).tensors;
  const cpu = streamWhole(g.stream(), io.x, 'channelsFirst', [3, 1, 0, 4]).y;
  g.to('webgpu');
  for (const cuts of [[3, 1, 0, 4], [1], [10]]) {
    const y = await streamOnGpu(g.stream(), io.x, 'channelsFirst', cuts);
    assert.deepEqual([...y.shape], [...cpu.shape]);
    assertClose(y.data, cpu.data, RTOL, `cuts ${cuts}: GPU stream vs CPU stream`);
    assertClose(y.data, io.y.data, RTOL, `cuts ${cuts}: GPU stream vs PyTorch`);
  }
});

const LAYERS: { name: string; layout: TimeLayout; x: number[]; build: () => Module }[] = [
  { name: 'strided dilated conv', layout: 'channelsFirst', x: [2, 3, 23], build: () => new Conv1d(3, 4, 3, { stride: 2, dilation: 2, padding: 3, seed: 1 }) },
  { name: "grouped 'same' conv, unbatched", layout: 'channelsFirst', x: [4, 19], build: () => new Conv1d(4, 6, 4, { groups: 2, padding: 'same', seed: 2 }) },
  { name: 'padding wider than the kernel (outputs of the bias alone)', layout: 'channelsFirst', x: [1, 3, 9], build: () => new Conv1d(3, 4, 2, { padding: 3, seed: 10 }) },
  { name: 'transposed conv with output padding and cropping', layout: 'channelsFirst', x: [1, 3, 13], build: () => new ConvTranspose1d(3, 2, 5, { stride: 3, padding: 2, outputPadding: 1, seed: 3 }) },
  { name: 'channels-last conv', layout: 'channelsLast', x: [1, 17, 3], build: () => new Conv1d(3, 2, 5, { padding: 2, dataFormat: 'channelsLast', seed: 4 }) },
  { name: 'Residual and Parallel (mean) around an upsampler', layout: 'channelsFirst', x: [1, 2, 15], build: () => new Sequential(
    new Conv1d(2, 4, 3, { padding: 1, seed: 5 }), new LeakyReLU(0.1), new ConvTranspose1d(4, 3, 4, { stride: 2, padding: 1, seed: 6 }),
    new Parallel([
      new Residual(new Sequential(new LeakyReLU(0.1), new Conv1d(3, 3, 3, { dilation: 3, padding: 3, seed: 7 }))),
      new Residual(new Sequential(new LeakyReLU(0.1), new Conv1d(3, 3, 5, { padding: 2, seed: 8 }))),
    ], { reduce: 'mean' }),
    new Conv1d(3, 1, 7, { padding: 3, seed: 9 }), new Tanh()) },
];

for (const c of LAYERS)
  test(`on the GPU: ${c.name} streams as on the CPU`, async () => {
    const m = c.build(), x = randn(c.x, { seed: 11 });
    const want = noGrad(() => m.forward(x));
    const cpu = streamWhole(m.stream(), x, c.layout, [2, 0, 5, 1]).y;
    m.to('webgpu');
    const y = await streamOnGpu(m.stream(), x, c.layout, [2, 0, 5, 1]);
    assert.deepEqual([...y.shape], [...want.shape]);
    assertClose(y.data, cpu.data, RTOL, 'GPU stream vs CPU stream');
  });

test('on the GPU: refusals name the device (and the stream is unchanged)', async () => {
  const m = new Conv1d(2, 2, 3, { padding: 1, seed: 1 });
  const cpuStream = m.stream();
  assertConvError(() => cpuStream.push(randn([1, 2, 4]).to('webgpu')), 'Conv1d.stream', 'chunk', ["device 'cpu'", "'webgpu'"]);
  m.to('webgpu');
  const s = m.stream();
  assertConvError(() => s.push(randn([1, 2, 4])), 'Conv1d.stream', 'chunk', ["device 'webgpu'", "on 'cpu'"]);
  assert.equal(s.received, 0);
  const r = new Conv1d(2, 2, 3, { padding: 1, paddingMode: 'reflect' });
  r.to('webgpu');
  assertConvError(() => r.stream().push(randn([1, 2, 4]).to('webgpu')), 'Conv1d.stream', 'paddingMode', ["'reflect'", 'CPU only']);
  const e = s.push(randn([1, 2, 0]).to('webgpu'));
  assert.equal(e.device, 'webgpu');
  assert.deepEqual([...e.shape], [1, 2, 0]);
});

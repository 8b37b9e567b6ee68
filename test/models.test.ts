/**
 * Whole ported models (examples/models/, small configurations) against PyTorch 1.13: weights
 * recorded by scripts/gen_model_fixtures.py as PyTorch state dicts in .safetensors (weight norm as
 * weight_g/weight_v, BatchNorm buffers with int64 num_batches_tracked) load with
 * loadSafetensorsStateDict and no key map, and reproduce PyTorch's output, input gradient and
 * parameter gradients on every backend and with 1 and 2 threads; the async forward and the BatchNorm-folded DCGAN agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  Module, Tensor, foldWeightNorm, loadSafetensorsStateDict, noGrad, readSafetensors, setNumThreads, withBackend,
} from '../src/index.js';
import { HIFIGAN_SMALL, HIFIGAN_V1, HifiganGenerator } from '../examples/models/hifigan.js';
import { DCGAN, DCGAN_SMALL, DcganGenerator, foldDcgan } from '../examples/models/dcgan.js';
import { UNET1D_SMALL, Unet1d } from '../examples/models/unet1d.js';
import { assertClose } from './helpers/close.js';

const DATA = new URL('./data/models/', import.meta.url).pathname;
const file = (name: string) => new Uint8Array(readFileSync(DATA + name));
const tensors = (name: string) => readSafetensors(file(name)).tensors;

/** `file` names the fixtures; the fused HiFi-GAN (convolution epilogues) is checked against the same PyTorch model. */
interface Ported { name: string; file: string; build: () => Module }
const MODELS: Ported[] = [
  { name: 'hifigan', file: 'hifigan', build: () => new HifiganGenerator(HIFIGAN_SMALL) },
  { name: 'dcgan', file: 'dcgan', build: () => new DcganGenerator(DCGAN_SMALL).eval() },
  { name: 'unet1d', file: 'unet1d', build: () => new Unet1d(UNET1D_SMALL) },
  { name: 'hifigan fused', file: 'hifigan', build: () => new HifiganGenerator(HIFIGAN_SMALL, { fused: true }) },
];
const RTOL = 2e-5;

function loaded(m: Ported): Module {
  const model = m.build();
  assert.deepEqual(loadSafetensorsStateDict(model, file(`${m.file}.safetensors`)), { missingKeys: [], unexpectedKeys: [] });
  return model;
}

for (const m of MODELS) {
  test(`${m.name}: the PyTorch state dict's keys are the module's, in PyTorch's order`, () => {
    const want = Object.keys(foldWeightNorm(tensors(`${m.file}.safetensors`)));
    const got = Object.keys(m.build().stateDict());
    if (m.file === 'hifigan') assert.deepEqual([...got].sort(), [...want].sort()); // folding moves the weights to the end
    else assert.deepEqual(got, want);
  });

  test(`${m.name}: output and gradients (input, every parameter) match PyTorch on every backend, 1 and 2 threads`, () => {
    const model = loaded(m);
    const io = tensors(`${m.file}-io.safetensors`);
    const wasmOut: number[][] = [];
    for (const backend of ['ref', 'js', 'wasm'])
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        try {
          const what = `${m.name} ${backend} ${threads} thread(s)`;
          const x = new Tensor(io.x.data.slice(), io.x.shape, true);
          const y = withBackend(backend, () => {
            const out = model.forward(x);
            out.backward(io.gy);
            return out;
          });
          assert.deepEqual(y.shape, io.y.shape, what);
          assertClose(y.data, io.y.data, RTOL, `${what}: output`);
          assertClose(x.grad!.data, io.gx.data, RTOL, `${what}: input gradient`);
          const params = new Map(model.namedParameters());
          const grads = Object.keys(io).filter((k) => k.startsWith('grad.'));
          assert.equal(grads.length, params.size, `${what}: a recorded gradient for every parameter`);
          for (const k of grads) assertClose(params.get(k.slice(5))!.grad!.data, io[k].data, RTOL, `${what}: gradient of ${k.slice(5)}`);
          if (backend === 'wasm') wasmOut.push(Array.from(y.data));
        } finally {
          setNumThreads(0);
        }
        model.zeroGrad();
      }
    assert.deepEqual(wasmOut[1], wasmOut[0], `${m.name}: wasm output bitwise equal with 1 and 2 threads`);
    // The weights matter: a model with its initial weights is far off.
    const fresh = noGrad(() => m.build().forward(io.x));
    assert.ok(Array.from(fresh.data).some((v, i) => Math.abs(v - io.y.data[i]) > 1e-2));
  });

  test(`${m.name}: forwardAsync gives forward's result, lets the event loop run, and follows noGrad`, async () => {
    const model = loaded(m);
    const io = tensors(`${m.file}-io.safetensors`);
    // Counts turns of the event loop while the forward is in flight.
    let turns = 0, done = false;
    const tick = () => { if (!done) { turns++; setImmediate(tick); } };
    setImmediate(tick);
    const y = await noGrad(() => model.forwardAsync(io.x)).finally(() => { done = true; });
    assert.ok(turns > 0, 'the event loop ran while the forward was in flight');
    assert.equal(y.requiresGrad, false, 'noGrad around the call: nothing recorded');
    assertClose(y.data, io.y.data, RTOL, 'async output');
    const x = new Tensor(io.x.data.slice(), io.x.shape, true);
    const yg = await model.forwardAsync(x);
    assert.equal(yg.requiresGrad, true);
    yg.backward(io.gy);
    assertClose(x.grad!.data, io.gx.data, RTOL, 'async input gradient');
  });
}

test('hifigan: the fused forward agrees with the unfused one to float rounding, on every backend', () => {
  const io = tensors('hifigan-io.safetensors');
  const plain = loaded(MODELS[0]), fused = loaded(MODELS[3]);
  for (const backend of ['ref', 'js', 'wasm']) {
    const a = withBackend(backend, () => noGrad(() => plain.forward(io.x))), b = withBackend(backend, () => noGrad(() => fused.forward(io.x)));
    assertClose(b.data, a.data, 1e-6, `fused vs unfused (${backend})`);
  }
});

test('dcgan: a training-mode step uses batch statistics and updates the buffers as PyTorch', () => {
  const model = loaded(MODELS[1]).train();
  const io = tensors('dcgan-io.safetensors');
  const y = noGrad(() => model.forward(io.x_train));
  assertClose(y.data, io.y_train.data, RTOL, 'training output');
  const after = tensors('dcgan-after.safetensors');
  const state = model.stateDict();
  for (const [k, want] of Object.entries(after)) assertClose(state[k].data, want.data, 1e-6, k);
  assert.equal(state['main.1.num_batches_tracked'].item(), 4);
});

test('dcgan: the BatchNorm-folded generator equals the eval-mode one and leaves it unchanged', () => {
  const model = loaded(MODELS[1]) as DcganGenerator;
  const before = model.stateDict();
  const io = tensors('dcgan-io.safetensors');
  const folded = foldDcgan(model);
  assert.deepEqual(Object.keys(folded.stateDict()), ['0.weight', '0.bias', '3.weight', '3.bias', '6.weight', '6.bias', '9.weight', '9.bias', '12.weight']);
  for (const backend of ['js', 'wasm']) assertClose(withBackend(backend, () => noGrad(() => folded.forward(io.x))).data, io.y.data, RTOL, `folded, ${backend}`);
  for (const [k, t] of Object.entries(model.stateDict())) assert.deepEqual(t.data, before[k].data, k);
});

test('full-size configurations build with the published shapes', () => {
  const h = new HifiganGenerator(HIFIGAN_V1);
  const shapes = Object.fromEntries(h.namedParameters().map(([k, t]) => [k, t.shape]));
  assert.deepEqual(shapes['conv_pre.weight'], [512, 80, 7]);
  assert.deepEqual(shapes['ups.0.weight'], [512, 256, 16]);
  assert.deepEqual(shapes['ups.3.weight'], [64, 32, 4]);
  assert.deepEqual(shapes['resblocks.11.convs1.2.weight'], [32, 32, 11]);
  assert.deepEqual(shapes['conv_post.weight'], [1, 32, 7]);
  assert.equal(h.namedParameters().length, 2 + 4 * 2 + 12 * 12 + 2);
  // As PyTorch's V1 generator after remove_weight_norm (13,936,130 with the weight-norm g and v).
  assert.equal(h.parameters().reduce((n, t) => n + t.size, 0), 13_926_017);
  const d = new DcganGenerator(DCGAN);
  assert.deepEqual(d.stateDict()['main.0.weight'].shape, [100, 512, 4, 4]);
  assert.equal(d.parameters().reduce((n, t) => n + t.size, 0), 3_576_704);
});

/**
 * Whole models on the WebGPU backend (Dawn on SwiftShader where there is no GPU): the ported
 * HiFi-GAN and 1-D U-Net fixture models end to end (output and every gradient against PyTorch,
 * no round trip to the CPU between layers), and a short training run on the GPU whose losses follow
 * the CPU run's. No adapter is a failure.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Adam, Generator, Module, Tensor, loadSafetensorsStateDict, mseLoss, noGrad, readSafetensors } from '../src/index.js';
import { HIFIGAN_SMALL, HifiganGenerator } from '../examples/models/hifigan.js';
import { UNET1D_SMALL, Unet1d } from '../examples/models/unet1d.js';
import { buildAutoencoder, makeSignals } from '../examples/train-autoencoder.js';
import { assertClose } from './helpers/close.js';
import { startWebGPU } from './helpers/webgpu.js';

const DATA = new URL('./data/models/', import.meta.url).pathname;
const file = (name: string) => new Uint8Array(readFileSync(DATA + name));
const RTOL = 1e-4;

before(async () => {
  await startWebGPU();
});

const MODELS: { name: string; build: () => Module }[] = [
  { name: 'hifigan', build: () => new HifiganGenerator(HIFIGAN_SMALL) },
  { name: 'unet1d', build: () => new Unet1d(UNET1D_SMALL) },
];

for (const m of MODELS) {
  test(`${m.name} on the GPU: output and every gradient match PyTorch, every layer on the device`, async () => {
    const model = m.build();
    assert.deepEqual(loadSafetensorsStateDict(model, file(`${m.name}.safetensors`)), { missingKeys: [], unexpectedKeys: [] });
    model.to('webgpu');
    assert.ok(model.parameters().every((p) => p.device === 'webgpu'));
    const io = readSafetensors(file(`${m.name}-io.safetensors`)).tensors;
    const x = io.x.to('webgpu');
    x.requiresGrad = true;
    const y = model.forward(x);
    assert.equal(y.device, 'webgpu');
    y.backward(io.gy.to('webgpu'));
    assertClose((await y.cpu()).data, io.y.data, RTOL, 'output');
    assertClose((await x.grad!.cpu()).data, io.gx.data, RTOL, 'input gradient');
    const params = new Map(model.namedParameters());
    const grads = Object.keys(io).filter((k) => k.startsWith('grad.'));
    assert.equal(grads.length, params.size);
    for (const k of grads) assertClose((await params.get(k.slice(5))!.grad!.cpu()).data, io[k].data, RTOL, `gradient of ${k.slice(5)}`);
  });
}

test('training on the GPU (Adam, conv autoencoder) follows the CPU run step by step and learns', async () => {
  const steps = 12;
  const run = async (device: 'cpu' | 'webgpu') => {
    const gen = new Generator(3);
    const model = buildAutoencoder(3);
    if (device === 'webgpu') model.to('webgpu');
    const opt = new Adam(model.parameters(), { lr: 5e-3 });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const { noisy, clean } = makeSignals(8, 64, gen);
      const [xn, xc] = device === 'cpu' ? [noisy, clean] : [noisy.to('webgpu'), clean.to('webgpu')];
      opt.zeroGrad();
      const loss = mseLoss(model.forward(xn), xc);
      loss.backward();
      opt.step();
      losses.push(device === 'cpu' ? loss.item() : (await loss.cpu()).item());
    }
    const params = await Promise.all(model.parameters().map(async (p: Tensor) => (await p.cpu()).data));
    return { losses, params };
  };
  const cpu = await run('cpu'), gpu = await run('webgpu');
  for (let s = 0; s < steps; s++)
    assert.ok(Math.abs(gpu.losses[s] - cpu.losses[s]) <= 1e-4 * Math.max(1, cpu.losses[s]), `step ${s}: GPU ${gpu.losses[s]}, CPU ${cpu.losses[s]}`);
  assert.ok(gpu.losses[steps - 1] < gpu.losses[0], `the GPU run descends: ${gpu.losses[0]} → ${gpu.losses[steps - 1]}`);
  cpu.params.forEach((p, i) => assertClose(gpu.params[i], p, 1e-3, `parameter ${i} after training`));
});

test('inference under noGrad records nothing and stays on the device', async () => {
  const cpuModel = new HifiganGenerator(HIFIGAN_SMALL), model = new HifiganGenerator(HIFIGAN_SMALL);
  model.loadStateDict(cpuModel.stateDict());
  model.to('webgpu');
  const x = readSafetensors(file('hifigan-io.safetensors')).tensors.x;
  const y = noGrad(() => model.forward(x.to('webgpu')));
  assert.equal(y.device, 'webgpu');
  assert.equal(y.gradFn, null);
  assertClose((await y.cpu()).data, noGrad(() => cpuModel.forward(x)).data, RTOL, 'GPU inference = CPU inference');
});

/**
 * A tiny HiFi-GAN-style generator trained-format checkpoint (weight norm in both PyTorch spellings,
 * saved as .safetensors by scripts/gen_io_fixtures.py) loaded into convkit modules reproduces
 * PyTorch's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConvError, Conv1d, ConvTranspose1d, LeakyReLU, Module, Sequential, Tanh, Tensor, add, leakyRelu, noGrad,
} from '../src/index.js';
import { loadSafetensorsStateDict, readNpy, readSafetensors } from '../src/io/index.js';

const DATA = new URL('./data/hifigan/', import.meta.url).pathname;
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(join(DATA, p)));

/** HiFi-GAN's residual block: x ← conv(leakyRelu(x, 0.1)) + x for each dilation. */
class ResBlock extends Module {
  readonly convs: Conv1d[];
  constructor(ch: number, k: number, dilations: number[]) {
    super();
    this.convs = dilations.map((d) => new Conv1d(ch, ch, k, { dilation: d, padding: (d * (k - 1)) / 2 }));
  }
  override namedChildren(): [string, Module][] {
    return this.convs.map((c, i) => [`convs.${i}`, c]);
  }
  override forward(x: Tensor): Tensor {
    for (const c of this.convs) x = add(c.forward(leakyRelu(x, 0.1)), x);
    return x;
  }
}

const build = () => new Sequential(
  new Conv1d(4, 8, 7, { padding: 3 }), // conv_pre
  new LeakyReLU(0.1),
  new ConvTranspose1d(8, 4, 4, { stride: 2, padding: 1 }), // up: ×2 upsampling
  new ResBlock(4, 3, [1, 3]), // res
  new LeakyReLU(0.01),
  new Conv1d(4, 1, 7, { padding: 3 }), // conv_post
  new Tanh(),
);
const TORCH_TO_SEQ: Record<string, string> = { conv_pre: '0', up: '2', res: '3', conv_post: '5' };
const mapKey = (k: string) => k.replace(/^([a-z_]+)\./, (_, p: string) => `${TORCH_TO_SEQ[p] ?? p}.`);

test('HiFi-GAN generator: weights from safetensors reproduce PyTorch\'s output', () => {
  const model = build();
  const result = loadSafetensorsStateDict(model, bytes('generator.safetensors'), { mapKey });
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  const x = readNpy(bytes('input.npy'));
  const want = readNpy(bytes('output.npy'));
  const y = noGrad(() => model.forward(x));
  assert.deepEqual(y.shape, [1, 1, 32]);
  assert.deepEqual(y.shape, want.shape);
  let maxRel = 0;
  const scale = Math.max(...Array.from(want.data, Math.abs));
  for (let i = 0; i < y.size; i++) maxRel = Math.max(maxRel, Math.abs(y.data[i] - want.data[i]) / scale);
  assert.ok(maxRel < 1e-5, `max relative error ${maxRel}`);
  // The weights matter: an unloaded model is far off.
  const fresh = noGrad(() => build().forward(x));
  assert.ok(Array.from(fresh.data).some((v, i) => Math.abs(v - want.data[i]) > 1e-2));
});

test('HiFi-GAN generator: gradients flow through the loaded model', () => {
  const model = build();
  loadSafetensorsStateDict(model, bytes('generator.safetensors'), { mapKey });
  const x = readNpy(bytes('input.npy'));
  model.forward(x).backward(new Tensor(new Float32Array(32).fill(1), [1, 1, 32]));
  for (const [k, p] of model.namedParameters()) {
    assert.ok(p.grad, `${k} has a gradient`);
    assert.ok(Array.from(p.grad!.data).some((v) => v !== 0), `${k} gradient is not all zero`);
  }
});

test('HiFi-GAN generator: a mismatched checkpoint changes nothing and says why', () => {
  const model = build();
  const before = model.stateDict();
  // Without the key mapping the PyTorch names do not match the Sequential's.
  assert.throws(() => loadSafetensorsStateDict(model, bytes('generator.safetensors')), (e: unknown) =>
    e instanceof ConvError && /missing keys \['0.weight'/.test(e.message) && /unexpected keys \[.*'conv_post.bias'/.test(e.message) && /'conv_pre.weight'/.test(e.message));
  // A wrongly sized layer.
  const small = new Sequential(new Conv1d(4, 8, 5, { padding: 2 }), new LeakyReLU(0.1), new ConvTranspose1d(8, 4, 4, { stride: 2, padding: 1 }),
    new ResBlock(4, 3, [1, 3]), new LeakyReLU(0.01), new Conv1d(4, 1, 7, { padding: 3 }), new Tanh());
  assert.throws(() => loadSafetensorsStateDict(small, bytes('generator.safetensors'), { mapKey }),
    (e: unknown) => e instanceof ConvError && /'0.weight' has shape \[8, 4, 7\] but the parameter has shape \[8, 4, 5\]/.test(e.message));
  for (const [k, t] of Object.entries(model.stateDict())) assert.deepEqual(t.data, before[k].data, k);
  // The raw checkpoint has the weight-norm keys in both spellings.
  const keys = Object.keys(readSafetensors(bytes('generator.safetensors')).tensors);
  assert.ok(keys.includes('conv_pre.weight_g') && keys.includes('up.parametrizations.weight.original1'));
});

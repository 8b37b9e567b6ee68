/**
 * The small HiFi-GAN fixture generator (test/data/hifigan, recorded from PyTorch by
 * scripts/gen_io_fixtures.py), rebuilt from Sequential and Residual so that it streams: streamed in
 * random chunks it gives PyTorch's output, and exactly its own full forward, on every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Conv1d, ConvTranspose1d, LeakyReLU, noGrad, Residual, Sequential, Tanh, withBackend } from '../src/index.js';
import { loadSafetensorsStateDict, readNpy } from '../src/io/index.js';
import { assertSame, streamWhole } from './helpers/stream.js';

const DATA = new URL('./data/hifigan/', import.meta.url).pathname;
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(join(DATA, p)));

/** HiFi-GAN's residual block as Residuals: x ← x + conv(leakyRelu(x, 0.1)) for each dilation. */
const resBlock = (ch: number, k: number, dilations: number[]) =>
  new Sequential(...dilations.map((d) => new Residual(new Sequential(new LeakyReLU(0.1), new Conv1d(ch, ch, k, { dilation: d, padding: (d * (k - 1)) / 2 })))));

const build = () => new Sequential(
  new Conv1d(4, 8, 7, { padding: 3 }), // conv_pre
  new LeakyReLU(0.1),
  new ConvTranspose1d(8, 4, 4, { stride: 2, padding: 1 }), // up: ×2
  resBlock(4, 3, [1, 3]), // res
  new LeakyReLU(0.01),
  new Conv1d(4, 1, 7, { padding: 3 }), // conv_post
  new Tanh(),
);
/** PyTorch's names → the Sequential's: res.convs.i → 3.i.inner.1 (the conv after the activation). */
const mapKey = (k: string) => k
  .replace(/^res\.convs\.(\d+)\./, '3.$1.inner.1.')
  .replace(/^conv_pre\./, '0.').replace(/^up\./, '2.').replace(/^conv_post\./, '5.');

function loaded(): Sequential {
  const model = build();
  assert.deepEqual(loadSafetensorsStateDict(model, bytes('generator.safetensors'), { mapKey }), { missingKeys: [], unexpectedKeys: [] });
  return model;
}

test('HiFi-GAN generator streamed in random chunks gives PyTorch\'s output and its own full forward bitwise', () => {
  const model = loaded();
  const x = readNpy(bytes('input.npy')), want = readNpy(bytes('output.npy'));
  assert.deepEqual([...x.shape], [1, 4, 16]);
  const scale = Math.max(...Array.from(want.data, Math.abs));
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 8 }), (cuts) => {
    for (const b of ['ref', 'js', 'wasm']) withBackend(b, () => {
      const full = noGrad(() => model.forward(x));
      const { y } = streamWhole(model.stream(), x, 'channelsFirst', cuts);
      assertSame(y, full, `${b} cuts ${cuts}`);
      let maxRel = 0;
      for (let i = 0; i < want.size; i++) maxRel = Math.max(maxRel, Math.abs(y.data[i] - want.data[i]) / scale);
      assert.ok(maxRel < 1e-5, `${b}: max relative error ${maxRel} against PyTorch`);
    });
  }), { numRuns: 40, seed: 7 });
});

test('HiFi-GAN generator: latency and what is held back', () => {
  const s = loaded().stream();
  // Look-ahead in input frames: conv_pre 3, up ½, res (1 + 3)/2, conv_post 3/2 (the last three at ×2).
  assert.equal(s.rate, 2);
  assert.equal(s.latency, 7);
  const x = readNpy(bytes('input.npy'));
  s.push(x);
  assert.equal(s.emitted, 2 * 16 - 2 * 7); // everything but the last 14 samples is final
  assert.equal(s.flush().shape[2], 14);
});

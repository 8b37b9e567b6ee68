/** A shortened run of examples/train-autoencoder.ts: the conv autoencoder must actually learn. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAutoencoder, makeSignals, trainAutoencoder } from '../examples/train-autoencoder.js';
import { Generator, mseLoss, noGrad } from '../src/index.js';

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

test('the autoencoder learns: held-out MSE falls at least 10× in 150 steps (float32)', () => {
  const r = trainAutoencoder({ steps: 150, seed: 3 });
  assert.equal(r.losses.length, 150);
  assert.ok(r.startLoss > 0.1, `start loss ${r.startLoss} (the signals have power ≈ 0.5)`);
  assert.ok(r.endLoss * 10 <= r.startLoss, `start ${r.startLoss}, end ${r.endLoss}`);
  assert.ok(mean(r.losses.slice(-10)) * 10 <= mean(r.losses.slice(0, 10)), 'the training loss falls too');
  assert.ok(r.losses.every(Number.isFinite));
  assert.equal(r.model.parameters()[0].dtype, 'float32');
});

test('training is reproducible from the seed, and a state dict carries the trained model', () => {
  const a = trainAutoencoder({ steps: 20, seed: 5 }), b = trainAutoencoder({ steps: 20, seed: 5 });
  assert.deepEqual(a.losses, b.losses);
  assert.notDeepEqual(a.losses, trainAutoencoder({ steps: 20, seed: 6 }).losses);
  const fresh = buildAutoencoder(99);
  const { noisy, clean } = makeSignals(8, 64, new Generator(1));
  const before = noGrad(() => mseLoss(fresh.forward(noisy), clean).item());
  fresh.loadStateDict(a.model.stateDict());
  const loaded = noGrad(() => mseLoss(fresh.forward(noisy), clean).item());
  assert.equal(loaded, noGrad(() => mseLoss(a.model.forward(noisy), clean).item()));
  assert.notEqual(loaded, before);
});

test('float64 training also descends', () => {
  const r = trainAutoencoder({ steps: 60, seed: 2, dtype: 'float64' });
  assert.equal(r.model.parameters()[0].dtype, 'float64');
  assert.ok(r.endLoss * 3 <= r.startLoss, `start ${r.startLoss}, end ${r.endLoss}`);
});

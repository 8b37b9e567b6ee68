/**
 * Soak: 10,000 small calls of mixed ops (functional and module, both layouts, padding modes, many
 * input sizes so that plan caches evict, forward and backward) must not grow memory. Heap and RSS
 * are compared after a warm-up and after the loop, each after a full garbage collection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  Conv1d, ConvTranspose2d, conv1d, conv2d, convTranspose1d, noGrad, paddle, randn, sum, Tensor,
} from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const settle = (): { heap: number; rss: number } => {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
};
const MB = 2 ** 20;

test('10,000 mixed calls (forward and backward) leave heap and RSS where the warm-up left them', (t) => {
  const m1 = new Conv1d(4, 6, 3, { padding: 1, paddingMode: 'circular', seed: 1 });
  const m2 = new ConvTranspose2d(3, 2, [3, 2], { stride: 2, padding: 1, seed: 2 });
  const w1 = randn([5, 4, 3], { seed: 3 }), b1 = randn([5], { seed: 4 });
  const wt = randn([4, 3, 4], { seed: 5, requiresGrad: true });
  const w2 = randn([2, 3, 3, 3], { seed: 6 });
  const inputs = Array.from({ length: 12 }, (_, L) => randn([2, 4, 6 + L], { seed: 10 + L }));
  const images = Array.from({ length: 4 }, (_, k) => randn([1, 5 + k, 4, 3], { seed: 30 + k })); // NHWC, C = 3
  let check = 0;

  const step = (i: number): void => {
    const x = inputs[i % inputs.length];
    switch (i % 6) {
      case 0: { // functional, options object new each call, sizes cycling past the plan cache's bound
        const y = noGrad(() => conv1d(x, w1, b1, { stride: 1 + (i % 2), padding: 1 }));
        check += y.data[0];
        break;
      }
      case 1: { // module forward + backward (circular padding), gradients zeroed
        m1.zeroGrad();
        const y = m1.forward(x);
        sum(y).backward();
        check += m1.weight.grad!.data[0];
        break;
      }
      case 2: { // transposed conv with a weight that needs a gradient
        wt.zeroGrad();
        const y = convTranspose1d(x, wt, null, { stride: 2, padding: 1, outputPadding: 1 });
        y.backward(new Tensor(new Float32Array(y.size).fill(1), y.shape));
        check += wt.grad!.data[1];
        break;
      }
      case 3: { // channels-last without grad (scratch path) and with the input needing a gradient
        const img = images[i % images.length];
        const y = noGrad(() => conv2d(img, w2, null, { padding: 1, dataFormat: 'NHWC' }));
        const xg = new Tensor(img.data, img.shape, true);
        sum(conv2d(xg, w2, null, { padding: 1, dataFormat: 'NHWC' })).backward();
        check += y.data[0] + xg.grad!.data[0];
        break;
      }
      case 4: { // 2-D transposed module on an unbatched input, then backward
        m2.zeroGrad();
        const y = m2.forward(randn([3, 3 + (i % 5), 4], { seed: i }));
        sum(y).backward();
        check += m2.weight.grad!.data[0];
        break;
      }
      case 5: { // Paddle spelling: 'SAME' and NLC
        const xl = new Tensor(x.data, [x.shape[0], x.shape[2], x.shape[1]]);
        const y = noGrad(() => paddle.conv1d(xl, w1, b1, { padding: 'SAME', stride: 2, dataFormat: 'NLC' }));
        check += y.data[0];
        break;
      }
    }
  };

  const t0 = performance.now();
  for (let i = 0; i < 1500; i++) step(i);
  const before = settle();
  for (let i = 0; i < 10000; i++) step(i);
  const after = settle();
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(Number.isFinite(check), 'the loop computed finite values');
  const heapGrowth = (after.heap - before.heap) / MB, rssGrowth = (after.rss - before.rss) / MB;
  t.diagnostic(`heap ${(before.heap / MB).toFixed(1)} → ${(after.heap / MB).toFixed(1)} MB, RSS ${(before.rss / MB).toFixed(1)} → ${(after.rss / MB).toFixed(1)} MB, ${seconds.toFixed(1)} s`);
  // Bounds far above noise (the loop allocates well over a gigabyte in total) and far below a leak of even 1 kB a call.
  assert.ok(heapGrowth < 4, `heap grew by ${heapGrowth.toFixed(2)} MB (${(before.heap / MB).toFixed(1)} → ${(after.heap / MB).toFixed(1)} MB)`);
  assert.ok(rssGrowth < 48, `RSS grew by ${rssGrowth.toFixed(2)} MB (${(before.rss / MB).toFixed(1)} → ${(after.rss / MB).toFixed(1)} MB)`);
  assert.ok(seconds < 20, `took ${seconds.toFixed(1)} s`);
});

/**
 * pad (torch.nn.functional.pad): hand-worked values for every mode and negative pads, the
 * PyTorch 1.13 fixtures of test/cases/pad.json (scripts/gen_pad_fixtures.py) forward and backward,
 * the argument errors, and its use as an ordinary differentiable op.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConvError, pad, sum, mul, tensor, randn, type PadMode } from '../src/index.js';
import { assertClose } from './helpers/close.js';

interface Enc { shape: number[]; data: number[] }
interface Case { x: Enc; pad: number[]; mode: PadMode; value: number | null; error?: string; y?: Enc; gy?: Enc; gx?: Enc }
const fixtures = JSON.parse(readFileSync(new URL('./cases/pad.json', import.meta.url), 'utf8')) as { cases: Case[] };

test('hand-worked values: each mode, the pad list from the last dim, negative pads crop', () => {
  const x = tensor([[1, 2, 3]]);
  assert.deepEqual(pad(x, [2, 1]).toArray(), [[0, 0, 1, 2, 3, 0]]);
  assert.deepEqual(pad(x, [1, 1], 'constant', 7).toArray(), [[7, 1, 2, 3, 7]]);
  assert.deepEqual(pad(x, [2, 1], 'reflect').toArray(), [[3, 2, 1, 2, 3, 2]]);
  assert.deepEqual(pad(x, [2, 1], 'replicate').toArray(), [[1, 1, 1, 2, 3, 3]]);
  // Circular pads an (N, C, …) input only.
  assert.deepEqual(pad(tensor([[[1, 2, 3]]]), [2, 1], 'circular').toArray(), [[[2, 3, 1, 2, 3, 1]]]);
  assert.deepEqual(pad(x, [-1, 0]).toArray(), [[2, 3]]);
  // Reflect reads the whole input (i = o − p0); circular wraps what the crop leaves ([2, 3]).
  assert.deepEqual(pad(x, [-1, 2], 'reflect').toArray(), [[2, 3, 2, 1]]);
  assert.deepEqual(pad(tensor([[[1, 2, 3]]]), [-1, 2], 'circular').toArray(), [[[2, 3, 2, 3]]]);
  // [left, right, top, bottom]: the last dim first.
  assert.deepEqual(pad(tensor([[1, 2], [3, 4]]), [1, 0, 0, 1]).toArray(), [[0, 1, 2], [0, 3, 4], [0, 0, 0]]);
});

test('the gradient sends each output element back to its source', () => {
  const x = tensor([[1, 2, 3]], undefined, { requiresGrad: true });
  sum(mul(pad(x, [2, 1], 'reflect'), tensor([[1, 10, 100, 1000, 10000, 100000]]))).backward();
  // Sources of [3, 2, 1, 2, 3, 2]: x2, x1, x0, x1, x2, x1.
  assert.deepEqual(Array.from(x.grad!.data), [100, 10 + 1000 + 100000, 1 + 10000]);
  const c = tensor([[1, 2, 3]], undefined, { requiresGrad: true });
  sum(mul(pad(c, [1, -1], 'constant', 5), tensor([[1, 10, 100]]))).backward();
  assert.deepEqual(Array.from(c.grad!.data), [10, 100, 0]);
});

for (const dtype of ['float32', 'float64'] as const)
  test(`PyTorch 1.13 fixtures: values and input gradients (${dtype})`, () => {
    const tol = dtype === 'float64' ? 1e-12 : 1e-6;
    for (const c of fixtures.cases) {
      const what = `${c.mode} pad ${JSON.stringify(c.pad)} on ${JSON.stringify(c.x.shape)}`;
      const x = tensor(c.x.data, c.x.shape, { dtype, requiresGrad: true });
      const call = () => pad(x, c.pad, c.mode, c.value ?? undefined);
      if (c.error) {
        assert.throws(call, ConvError, `${what}: PyTorch raises ${c.error}`);
        continue;
      }
      const y = call();
      assert.deepEqual([...y.shape], c.y!.shape, what);
      assertClose(y.data, c.y!.data, tol, `${what} y`);
      sum(mul(y, tensor(c.gy!.data, c.gy!.shape, { dtype }))).backward();
      assertClose(x.grad!.data, c.gx!.data, tol, `${what} gx`);
    }
  });

test('argument errors name the parameter and the rule', () => {
  const x = randn([1, 2, 3]);
  const rejects = (f: () => unknown, param: string, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof ConvError && e.param === param && pattern.test(e.message));
  rejects(() => pad(x, [1]), 'pad', /pad: pad must have an even number of elements .*; got \[1\]/);
  rejects(() => pad(x, [1.5, 1]), 'pad', /must be a list of integers; got \[1\.5, 1\]/);
  rejects(() => pad(x, [1, 1, 1, 1, 1, 1, 1, 1]), 'pad', /pads 4 dims but the input has 3/);
  rejects(() => pad(x, [1, 1], 'wrap' as PadMode), 'mode', /must be one of 'constant', 'reflect', 'replicate', 'circular'; got 'wrap'/);
  rejects(() => pad(x, [1, 1], 'reflect', 0), 'value', /is only taken by mode 'constant'/);
  rejects(() => pad(x, [3, 0], 'reflect'), 'pad', /must be smaller than the dim it pads for mode 'reflect'; got \(3, 0\) for dim 2 of size 3/);
  rejects(() => pad(x, [4, 0], 'circular'), 'pad', /at most the size dim 2 keeps after cropping \(3\)/);
  rejects(() => pad(x, [0, -4]), 'pad', /crops dim 2 of size 3 to -1 elements/);
  rejects(() => pad(randn([3]), [1, 1], 'replicate'), 'input', /must be 2-D or 3-D for mode 'replicate' padding 1 dim/);
  rejects(() => pad(randn([2, 3]), [1, 1], 'circular'), 'input', /must be 3-D for mode 'circular'/);
  rejects(() => pad([1, 2] as never, [1, 1]), 'input', /must be a Tensor/);
});

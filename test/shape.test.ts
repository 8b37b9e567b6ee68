/** The shape helpers on hand-worked values, and the identities that tie them together. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convOutSize, convTransposeOutSize, describeConv, outputSizeRange, paddleSamePads, span, torchSamePads } from '../src/index.js';

test('span: dilated kernel extent δ(k − 1) + 1', () => {
  assert.equal(span(3, 1), 3);
  assert.equal(span(3, 2), 5);
  assert.equal(span(1, 7), 1);
  assert.equal(span(4, 3), 10);
});

test('convOutSize: floor((L + p0 + p1 − δ(k − 1) − 1)/s) + 1 on hand-worked values', () => {
  assert.equal(convOutSize(50, 3, 2, 1, [0, 0]), 24); // docs/behaviour.md example 4: floor(47/2) + 1
  assert.equal(convOutSize(5, 3, 1, 1, [1, 1]), 5); // (5 + 2 − 3)/1 + 1
  assert.equal(convOutSize(7, 3, 2, 2, [1, 2]), 3); // floor((7 + 3 − 5)/2) + 1 = 2 + 1
  assert.equal(convOutSize(8, 2, 3, 1, [0, 0]), 3); // floor(6/3) + 1
  assert.equal(convOutSize(9, 2, 3, 1, [0, 0]), 3); // floor(7/3) + 1
  assert.equal(convOutSize(10, 2, 3, 1, [0, 0]), 3); // floor(8/3) + 1
  assert.equal(convOutSize(11, 2, 3, 1, [0, 0]), 4); // floor(9/3) + 1
  assert.equal(convOutSize(3, 3, 1, 1, [0, 0]), 1); // kernel exactly fits
  assert.equal(convOutSize(2, 3, 1, 1, [0, 0]), 0); // kernel larger than input: ≤ 0 (an error for the ops)
  assert.equal(convOutSize(2, 3, 1, 1, [0, 1]), 1); // one trailing pad makes it fit
  assert.equal(convOutSize(4, 3, 1, 2, [0, 0]), 0); // dilated extent 5 > 4
});

test('convTransposeOutSize: (L − 1)·s − p0 − p1 + δ(k − 1) + op + 1 on hand-worked values', () => {
  assert.equal(convTransposeOutSize(10, 3, 2, 1, [1, 1], 1), 20); // docs/behaviour.md example 3 (seed 000's 21 is wrong)
  assert.equal(convTransposeOutSize(16, 4, 2, 1, [1, 1], 0), 32); // docs/behaviour.md example 5
  assert.equal(convTransposeOutSize(4, 2, 1, 1, [0, 0], 0), 5); // docs/behaviour.md example 1
  assert.equal(convTransposeOutSize(2, 2, 1, 1, [0, 0], 0), 3); // example 2, stride 1
  assert.equal(convTransposeOutSize(2, 2, 2, 1, [0, 0], 0), 4); // example 2, stride 2 along W
  assert.equal(convTransposeOutSize(2, 2, 1, 2, [0, 0], 0), 4); // example 2, dilation 2
  assert.equal(convTransposeOutSize(2, 2, 1, 1, [1, 1], 0), 1); // example 2, padding 1
  assert.equal(convTransposeOutSize(2, 2, 2, 1, [0, 0], 1), 5); // example 2, output padding 1
  assert.equal(convTransposeOutSize(4, 3, 2, 1, [1, 0], 0), 8); // asymmetric: 6 − 1 + 2 + 1
  assert.equal(convTransposeOutSize(3, 2, 3, 2, [0, 2], 1), 8); // 6 − 2 + 2 + 1 + 1
  assert.equal(convTransposeOutSize(1, 1, 1, 1, [1, 1], 0), -1); // padding crops everything: invalid for the ops
});

test('outputSizeRange: [min, min + s − 1] with min the size without output padding', () => {
  assert.deepEqual(outputSizeRange(10, 3, 2, 1, [1, 1]), { min: 19, max: 20 });
  assert.deepEqual(outputSizeRange(16, 4, 2, 1, [1, 1]), { min: 32, max: 33 });
  assert.deepEqual(outputSizeRange(5, 3, 3, 1, [0, 0]), { min: 15, max: 17 });
  assert.deepEqual(outputSizeRange(5, 3, 1, 1, [0, 0]), { min: 7, max: 7 }); // stride 1: a single size
  assert.deepEqual(outputSizeRange(3, 2, 4, 3, [1, 2]), { min: 9, max: 12 }); // 8 − 3 + 3 + 1
});

test('torchSamePads: total δ(k − 1), before = total // 2, the odd one after', () => {
  assert.deepEqual(torchSamePads(1, 1), [0, 0]);
  assert.deepEqual(torchSamePads(3, 1), [1, 1]);
  assert.deepEqual(torchSamePads(4, 1), [1, 2]);
  assert.deepEqual(torchSamePads(5, 1), [2, 2]);
  assert.deepEqual(torchSamePads(3, 2), [2, 2]);
  assert.deepEqual(torchSamePads(2, 3), [1, 2]);
  assert.deepEqual(torchSamePads(4, 3), [4, 5]);
  for (let L = 1; L <= 9; L++)
    for (let k = 1; k <= 5; k++)
      for (let d = 1; d <= 3; d++) assert.equal(convOutSize(L, k, 1, d, torchSamePads(k, d)), L, `L=${L} k=${k} δ=${d}`);
});

test("paddleSamePads: o = ceil(L/s), padSum = max((o − 1)s + k − L, 0), before = floor(padSum/2)", () => {
  assert.deepEqual(paddleSamePads(4, 2, 2), [0, 0]); // o = 2: 2 + 2 − 4 = 0
  assert.deepEqual(paddleSamePads(5, 3, 2), [1, 1]); // o = 3: 4 + 3 − 5 = 2
  assert.deepEqual(paddleSamePads(10, 3, 2), [0, 1]); // o = 5: 8 + 3 − 10 = 1
  assert.deepEqual(paddleSamePads(7, 4, 3), [1, 2]); // o = 3: 6 + 4 − 7 = 3
  assert.deepEqual(paddleSamePads(3, 5, 1), [2, 2]); // o = 3: 2 + 5 − 3 = 4
  assert.deepEqual(paddleSamePads(2, 1, 5), [0, 0]); // o = 1: 0 + 1 − 2 < 0 → 0
  assert.deepEqual(paddleSamePads(4, 4, 1), [1, 2]); // o = 4: 3 + 4 − 4 = 3
  for (let L = 1; L <= 12; L++)
    for (let k = 1; k <= 5; k++)
      for (let s = 1; s <= 4; s++) {
        const p = paddleSamePads(L, k, s);
        // The convolution output is ceil(L/s) …
        assert.equal(convOutSize(L, k, s, 1, p), Math.ceil(L / s), `conv L=${L} k=${k} s=${s}`);
        // … and the transposed output (L − 1)s − padSum + k, which is L·s when s divides L and k ≥ s.
        const t = convTransposeOutSize(L, k, s, 1, p, 0);
        assert.equal(t, (L - 1) * s - p[0] - p[1] + k);
        if (L % s === 0 && k >= s) assert.equal(t, L * s, `transposed L=${L} k=${k} s=${s}`);
      }
});

test('convOutSize inverts convTransposeOutSize for every output padding below the stride', () => {
  for (let L = 1; L <= 6; L++)
    for (let k = 1; k <= 4; k++)
      for (let s = 1; s <= 3; s++)
        for (let d = 1; d <= 2; d++)
          for (let op = 0; op < s; op++) {
            const pad = [1, 0] as const;
            const T = convTransposeOutSize(L, k, s, d, pad, op);
            if (T > 0) assert.equal(convOutSize(T, k, s, d, pad), L, `L=${L} k=${k} s=${s} δ=${d} op=${op}`);
          }
});

test('describeConv: docs/behaviour.md examples 3–5 and resolved pads, without running', () => {
  const e3 = describeConv('convTranspose1d', [1, 16, 10], [16, 8, 3], { stride: 2, padding: 1, outputPadding: 1 });
  assert.deepEqual([...e3.outputShape], [1, 8, 20]);
  assert.deepEqual(e3.pads.map((p) => [...p]), [[1, 1]]);
  assert.deepEqual([...e3.outputPadding], [1]);
  // A transposed op's geometry is the convolution it transposes: its output lives in inSize.
  assert.deepEqual([...e3.geometry.inSize], [20]);
  assert.deepEqual([...e3.geometry.outSize], [10]);
  assert.deepEqual([...describeConv('conv1d', [20, 16, 50], [33, 16, 3], { stride: 2 }).outputShape], [20, 33, 24]);
  assert.deepEqual([...describeConv('convTranspose2d', [1, 32, 16, 16], [32, 64, 4, 4], { stride: 2, padding: 1 }).outputShape], [1, 64, 32, 32]);
  const same = describeConv('conv2d', [1, 1, 5, 6], [1, 1, 4, 3], { padding: 'same', dilation: [1, 2] });
  assert.deepEqual(same.pads.map((p) => [...p]), [[1, 2], [2, 2]]);
  assert.deepEqual([...same.outputShape], [1, 1, 5, 6]);
  const sized = describeConv('convTranspose1d', [1, 16, 10], [16, 8, 3], { stride: 2, padding: 1, outputSize: [20] });
  assert.deepEqual([...sized.outputPadding], [1]);
});

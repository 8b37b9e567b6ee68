/**
 * The step generators of src/explain/steps.ts (behind `convkit explain` and the page): hand-worked
 * steps, and the steps' products summed reproduce the ref kernels' convolutions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from './helpers/close.js';
import {
  conv2d, convTranspose2d, fullCellKind, fullOutSize, scatterTaps, stepOutSize, tensor, windowTaps, withBackend, type StepGeometry,
} from '../src/index.js';

/** ConvTranspose2d(1, 1, 2) on a 2×2 input. */
const small = (stride: number, pad: number, outputPadding: number): StepGeometry => ({
  n: 1, cIn: 1, cOut: 1, groups: 1, inSize: [2, 2], kSize: [2, 2], stride: [stride, stride], dilation: [1, 1],
  pads: [[pad, pad], [pad, pad]], outputPadding: [outputPadding, outputPadding],
});

test('scatter of ConvTranspose2d(1, 1, 2), stride 2, output_padding 1: f = i·s + j, nothing cropped, the last row and column untouched', () => {
  const g = small(2, 0, 1);
  assert.deepEqual(fullOutSize(g), [4, 4]);
  assert.deepEqual(stepOutSize(g, true), [5, 5]);
  const taps = [...scatterTaps(g)];
  assert.deepEqual(taps.map((t) => [t.i, t.j, t.f]), [
    [[0, 0], [0, 0], [0, 0]], [[0, 0], [0, 1], [0, 1]], [[0, 0], [1, 0], [1, 0]], [[0, 0], [1, 1], [1, 1]],
    [[0, 1], [0, 0], [0, 2]], [[0, 1], [0, 1], [0, 3]], [[0, 1], [1, 0], [1, 2]], [[0, 1], [1, 1], [1, 3]],
    [[1, 0], [0, 0], [2, 0]], [[1, 0], [0, 1], [2, 1]], [[1, 0], [1, 0], [3, 0]], [[1, 0], [1, 1], [3, 1]],
    [[1, 1], [0, 0], [2, 2]], [[1, 1], [0, 1], [2, 3]], [[1, 1], [1, 0], [3, 2]], [[1, 1], [1, 1], [3, 3]],
  ]);
  assert.ok(taps.every((t) => t.o !== null && t.o.join() === t.f.join() && !t.outputPadding && t.co === 0 && t.c === 0));
  assert.equal(fullCellKind(g, [4, 0]), 'outpad');
  assert.equal(fullCellKind(g, [0, 4]), 'outpad');
  assert.equal(fullCellKind(g, [3, 3]), null);
});

test('scatter with padding 1: only the centre of the 3×3 full output survives, reached by four taps (sum 11)', () => {
  const g = small(1, 1, 0);
  assert.deepEqual(fullOutSize(g), [3, 3]);
  assert.deepEqual(stepOutSize(g, true), [1, 1]);
  const kept = [...scatterTaps(g)].filter((t) => t.o !== null);
  assert.deepEqual(kept.map((t) => [t.i, t.j, t.o]), [
    [[0, 0], [1, 1], [0, 0]], [[0, 1], [1, 0], [0, 0]], [[1, 0], [0, 1], [0, 0]], [[1, 1], [0, 0], [0, 0]],
  ]);
  const x = [0, 1, 2, 3], w = [1.1, 2.2, 3.3, 4.4];
  assertClose([kept.reduce((s, t) => s + x[t.iq] * w[t.kq], 0)], [11], 1e-12);
  assert.equal(fullCellKind(g, [0, 1]), 'crop');
});

test('scatter with stride 2, padding 1, output_padding 1: the tap at full[3, 3] is kept by output padding', () => {
  const g = small(2, 1, 1);
  assert.deepEqual(stepOutSize(g, true), [3, 3]);
  const last = [...scatterTaps(g)].at(-1)!;
  assert.deepEqual([last.f, last.o, last.outputPadding], [[3, 3], [2, 2], true]);
  const first = [...scatterTaps(g)][0];
  assert.deepEqual([first.f, first.o, first.outputPadding], [[0, 0], null, false]);
});

test('windows of a 1-D convolution, k 2, padding [1, 0]: i = o + j − 1', () => {
  const g: StepGeometry = { n: 1, cIn: 1, cOut: 1, groups: 1, inSize: [3], kSize: [2], stride: [1], dilation: [1], pads: [[1, 0]] };
  assert.deepEqual(stepOutSize(g, false), [3]);
  assert.deepEqual([...windowTaps(g)].map((t) => [t.o[0], t.j[0], t.i[0], t.inPad]), [
    [0, 0, -1, true], [0, 1, 0, false], [1, 0, 0, false], [1, 1, 1, false], [2, 0, 1, false], [2, 1, 2, false],
  ]);
});

/** Deterministic, varied values. */
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 11) / 4 - 1.2);

test('summing the scatter taps\' products reproduces the ref convTranspose2d (groups, stride, dilation, padding, output padding)', () => {
  const g: StepGeometry = {
    n: 2, cIn: 4, cOut: 6, groups: 2, inSize: [3, 4], kSize: [2, 3], stride: [2, 1], dilation: [1, 2],
    pads: [[1, 1], [2, 2]], outputPadding: [1, 1],
  };
  const x = values(2 * 4 * 3 * 4, 1), w = values(4 * 3 * 2 * 3, 5);
  const out = stepOutSize(g, true), outVol = out[0] * out[1], kVol = 6, inVol = 12, coutG = 3;
  const y = new Array<number>(2 * 6 * outVol).fill(0);
  let kept = 0;
  for (const t of scatterTaps(g)) {
    if (!t.o) continue;
    kept++;
    y[(t.n * 6 + t.co) * outVol + t.o[0] * out[1] + t.o[1]] += x[(t.n * 4 + t.ci) * inVol + t.iq] * w[(t.ci * coutG + t.c) * kVol + t.kq];
  }
  assert.ok(kept > 0 && kept < 2 * 4 * inVol * coutG * kVol, 'some taps are cropped, some kept');
  const ref = withBackend('ref', () => convTranspose2d(tensor(x, [2, 4, 3, 4], { dtype: 'float64' }), tensor(w, [4, 3, 2, 3], { dtype: 'float64' }), null,
    { stride: [2, 1], dilation: [1, 2], padding: [1, 2], outputPadding: [1, 1], groups: 2 }));
  assert.deepEqual(ref.shape, [2, 6, ...out]);
  assertClose(y, Array.from(ref.data), 1e-12);
});

test('summing the window taps\' products reproduces the ref conv2d (groups, stride, dilation, zero padding)', () => {
  const g: StepGeometry = {
    n: 2, cIn: 4, cOut: 6, groups: 2, inSize: [5, 6], kSize: [2, 3], stride: [2, 1], dilation: [1, 2], pads: [[1, 1], [2, 2]],
  };
  const x = values(2 * 4 * 30, 3), w = values(6 * 2 * 6, 2);
  const out = stepOutSize(g, false), outVol = out[0] * out[1];
  const y = new Array<number>(2 * 6 * outVol).fill(0);
  for (const t of windowTaps(g))
    if (!t.inPad) y[(t.n * 6 + t.co) * outVol + t.oq] += w[(t.co * 2 + t.c) * 6 + t.kq] * x[(t.n * 4 + t.ci) * 30 + t.i[0] * 6 + t.i[1]];
  const ref = withBackend('ref', () => conv2d(tensor(x, [2, 4, 5, 6], { dtype: 'float64' }), tensor(w, [6, 2, 2, 3], { dtype: 'float64' }), null,
    { stride: [2, 1], dilation: [1, 2], padding: [1, 2], groups: 2 }));
  assert.deepEqual(ref.shape, [2, 6, ...out]);
  assertClose(y, Array.from(ref.data), 1e-12);
});

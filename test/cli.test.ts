/**
 * The `convkit` binary (dist/cli/main.js, spawned as a user would run it): shape, run, explain,
 * bench, --help and errors. Arrays and expected outputs in test/data/cli come from PyTorch
 * (scripts/gen_io_fixtures.py). `npm test` builds first; a stale or missing build is rebuilt here.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from './helpers/close.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Tensor, convTranspose1d, conv1d, convTranspose2d, describeConv, outputSizeRange, paddleSamePads, tensor,
} from '../src/index.js';
import { readNpy, readSafetensors, writeNpz } from '../src/io/index.js';
import { manualSeed, rand } from '../src/index.js';
import { parseOp, planFor } from '../src/cli/conv-args.js';
import { ensureBuilt, ROOT } from './helpers/build.js';
import { BIN, fails, quiet } from './helpers/cli.js';
import { removeDir, tempDir } from './helpers/tmp.js';

const DATA = join(ROOT, 'test/data/cli');
const fixture = (name: string) => join(DATA, `${name}.npy`);
const load = (path: string) => readNpy(new Uint8Array(readFileSync(path)));

before(() => ensureBuilt(BIN));

function close(got: Tensor, want: Tensor, rel: number, what: string): void {
  assert.deepEqual(got.shape, want.shape, what);
  assertClose(got.data, want.data, { rtol: rel, relativeTo: 'largest', floor: 1 }, what);
}

let tmp = '';
before(() => { tmp = tempDir('cli'); });
process.on('exit', () => removeDir(tmp));

// ---------------------------------------------------------------------------------------------
test('shape: docs/behaviour.md example 3 with the formula substituted and the outputSize range', () => {
  const out = quiet('shape', 'convTranspose1d', '--input', '1,16,10', '--weight', '16,8,3', '--stride', '2', '--padding', '1', '--output-padding', '1');
  const want = describeConv('convTranspose1d', [1, 16, 10], [16, 8, 3], { stride: 2, padding: 1, outputPadding: 1 });
  const range = outputSizeRange(10, 3, 2, 1, [1, 1]);
  assert.match(out, new RegExp(`→ output \\[${want.outputShape.join(', ')}\\]`));
  assert.ok(out.includes('= (10 − 1)·2 − 1 − 1 + 1·(3 − 1) + 1 + 1 = 20'), out);
  assert.ok(out.includes(`L ∈ [${range.min}, ${range.max}]`), out);
  const json = JSON.parse(quiet('shape', 'convTranspose1d', '--input', '1,16,10', '--weight', '16,8,3', '--stride', '2', '--padding', '1', '--output-padding', '1', '--json'));
  assert.deepEqual(json.outputShape, want.outputShape);
  assert.deepEqual(json.dims[0].outputSizeRange, range);
});

test('shape: channels and kernel size instead of a weight; 2-D; Paddle SAME with stride', () => {
  const conv = JSON.parse(quiet('shape', 'conv1d', '--input', '20,16,50', '--out-channels', '33', '--kernel-size', '3', '--stride', '2', '--json'));
  assert.deepEqual(conv.weightShape, [33, 16, 3]);
  assert.deepEqual(conv.outputShape, describeConv('conv1d', [20, 16, 50], [33, 16, 3], { stride: 2 }).outputShape);
  assert.equal(conv.dims[0].substituted, 'floor((50 + 0 + 0 − 1·(3 − 1) − 1) / 2) + 1 = 24');
  const t2 = quiet('shape', 'ConvTranspose2d', '--input', '1,32,16,16', '--out-channels', '64', '--kernel-size', '4', '--stride', '2', '--padding', '1');
  assert.match(t2, /→ output \[1, 64, 32, 32\]/);
  assert.match(t2, /H: .*\n.*= \(16 − 1\)·2 − 1 − 1 \+ 1·\(4 − 1\) \+ 0 \+ 1 = 32/);
  const same = JSON.parse(quiet('shape', 'conv2d', '--paddle', '--padding', 'SAME', '--stride', '2', '--input', '1,3,10,9', '--weight', '8,3,3,3', '--json'));
  const pads = [paddleSamePads(10, 3, 2), paddleSamePads(9, 3, 2)];
  assert.deepEqual(same.dims.map((d: { padding: number[] }) => d.padding), pads);
  assert.deepEqual(same.outputShape, [1, 8, Math.ceil(10 / 2), Math.ceil(9 / 2)]);
  // Channels-last input: channels come from the last dim.
  const nlc = JSON.parse(quiet('shape', 'conv1d', '--input', '2,9,3', '--data-format', 'NLC', '--out-channels', '4', '--kernel-size', '3', '--json'));
  assert.deepEqual(nlc.outputShape, [2, 7, 4]);
});

// ---------------------------------------------------------------------------------------------
test('run: transposed conv on .npy files reproduces PyTorch; outputSize; --print', () => {
  const y = join(tmp, 'y.npy');
  const out = quiet('run', 'convTranspose1d', '--input', fixture('ct_x'), '--weight', fixture('ct_w'), '--bias', fixture('ct_b'),
    '--stride', '2', '--padding', '1', '--output-padding', '1', '--out', y);
  assert.match(out, /convTranspose1d: input \[1, 3, 5\], weight \[3, 2, 3\], bias \[2\] → output \[1, 2, 10\] float32, wrote .*y\.npy/);
  close(load(y), load(fixture('ct_y')), 1e-5, 'ct_y');
  quiet('run', 'conv_transpose1d', '--input', fixture('ct_x'), '--weight', fixture('ct_w'), '--bias', fixture('ct_b'),
    '--stride', '3', '--padding', '1', '--output-size', '15', '--out', y);
  close(load(y), load(fixture('ct_y_size15')), 1e-5, 'ct_y_size15');
  const printed = quiet('run', 'convTranspose1d', '--input', fixture('ct_x'), '--weight', fixture('ct_w'), '--stride', '2', '--print');
  const want = convTranspose1d(load(fixture('ct_x')), load(fixture('ct_w')), null, { stride: 2 });
  assert.deepEqual(JSON.parse(printed.trim().split('\n')[1]), want.toArray());
});

test('run: Paddle SAME with stride 2 in NLC layout and float64, against PyTorch with explicit padding', () => {
  const y = join(tmp, 'same.npy');
  quiet('run', 'conv1d', '--paddle', '--padding', 'same', '--stride', '2', '--data-format', 'NLC',
    '--input', fixture('c_x_nlc'), '--weight', fixture('c_w'), '--out', y);
  const got = load(y);
  assert.equal(got.dtype, 'float64');
  close(got, load(fixture('c_y_same_nlc')), 1e-12, 'c_y_same_nlc');
  quiet('run', 'conv1d', '--paddle', '--padding', 'SAME', '--stride', '2', '--input', fixture('c8_x'), '--weight', fixture('c_w'), '--out', y);
  close(load(y), load(fixture('c8_y_same')), 1e-12, 'c8_y_same');
  // --dtype float32 converts the float64 arrays.
  const s = JSON.parse(quiet('run', 'conv1d', '--dtype', 'float32', '--input', fixture('c8_x'), '--weight', fixture('c_w'), '--json'));
  assert.equal(s.dtype, 'float32');
  assert.deepEqual(s.output, [2, 4, 6]);
});

test('run: arrays from .npz and output to .safetensors by key', () => {
  const x = tensor([[[[0, 1], [2, 3]]]]), w = tensor([[[[1.1, 2.2], [3.3, 4.4]]]]);
  const npz = join(tmp, 'in.npz');
  writeFileSync(npz, writeNpz({ x, w }, { compress: true }));
  const st = join(tmp, 'out.safetensors');
  quiet('run', 'convTranspose2d', '--input', `${npz}:x`, '--weight', `${npz}:w`, '--stride', '1,2', '--out', `${st}:y`);
  const y = readSafetensors(new Uint8Array(readFileSync(st))).tensors.y;
  close(y, convTranspose2d(x, w, null, { stride: [1, 2] }), 1e-6, 'y');
  fails(/--input must name one of the arrays in .*in\.npz as .*:KEY \(x, w\)/, 'run', 'conv2d', '--input', npz, '--weight', `${npz}:w`);
});

// ---------------------------------------------------------------------------------------------
test('explain: transposed conv scatter, full output, crop and output padding agree with the op', () => {
  const text = quiet('explain', 'convTranspose1d', '--stride', '2', '--padding', '1', '--output-padding', '1', '--x', '1,2,3', '--w', '1,10,100');
  const x = tensor([[[1, 2, 3]]]), w = tensor([[[1, 10, 100]]]);
  const full = convTranspose1d(x, w, null, { stride: 2 });
  const y = convTranspose1d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 });
  assert.ok(text.includes('x[1] = 2  →  full[2] += 2·1  full[3] += 2·10  full[4] += 2·100'), text);
  assert.ok(text.includes('x[0] = 1  →  full[0] += 1·1 (cropped)'), text);
  const fullLine = text.split('\n').find((l) => l.startsWith('  full = ['));
  assert.deepEqual(fullLine?.replace(/.*\[|\].*/g, '').trim().split(/\s+/).map(Number), Array.from(full.data));
  assert.match(text, /L: padding \[1, 1\] removes 1 element before and 1 after: full\[1 … 5\] remain/);
  assert.match(text, /L: outputPadding 1 keeps full\[6 … 6\] that the trailing crop would remove/);
  const e = JSON.parse(quiet('explain', 'convTranspose1d', '--stride', '2', '--padding', '1', '--output-padding', '1', '--x', '1,2,3', '--w', '1,10,100', '--json'));
  assert.equal(e.checked, true);
  assert.equal(e.scatter.length, 9);
  for (const s of e.scatter) {
    assert.equal(s.product, s.xValue * s.wValue);
    assert.equal(s.full[2], s.x[2] * 2 + s.w[2]); // f = i·s + j·δ
  }
  assert.deepEqual(e.full, Array.from(full.data));
  assert.deepEqual(e.output.values, Array.from(y.data));
  // Output padding beyond the full output adds zeros (stride 2, no padding).
  const e2 = JSON.parse(quiet('explain', 'convTranspose2d', '--stride', '2', '--output-padding', '1', '--json'));
  assert.deepEqual(e2.crop.map((c: { zeros: number }) => c.zeros), [1, 1]);
  assert.deepEqual(e2.output.shape, [1, 1, 5, 5]);
  assert.ok(e2.output.values.slice(20).every((v: number) => v === 0));
});

test('explain: a convolution shows which window each output reads', () => {
  const text = quiet('explain', 'conv1d', '--padding', '1', '--stride', '2', '--b', '10');
  const y = conv1d(tensor([[[1, 2, 3, 4, 5]]]), tensor([[[1, 2, 3]]]), tensor([10]), { stride: 2, padding: 1 });
  assert.ok(text.includes(`y[0] = 1·pad[-1] + 2·x[0] + 3·x[1] + b = 1·0 + 2·1 + 3·2 + 10 = ${y.data[0]}`), text);
  assert.ok(text.includes(`y[1] = 1·x[1] + 2·x[2] + 3·x[3] + b = 1·2 + 2·3 + 3·4 + 10 = ${y.data[1]}`), text);
  const e = JSON.parse(quiet('explain', 'conv2d', '--input', '1,2,4,4', '--out-channels', '2', '--groups', '2', '--padding-mode', 'reflect', '--padding', '1', '--json'));
  assert.equal(e.windows.length, 2 * 5 * 5);
  assert.deepEqual(e.windows[0].terms[0].padded, [-1, -1]);
  assert.deepEqual(e.windows[0].terms[0].x, [0, 0, 1, 1]); // reflect: −1 → 1
});

// ---------------------------------------------------------------------------------------------
test('--help on every command', () => {
  assert.match(quiet('--help'), /Usage: convkit \[options\] \[command\][\s\S]*shape[\s\S]*run[\s\S]*explain[\s\S]*bench/);
  for (const c of ['shape', 'run', 'explain', 'bench']) assert.match(quiet(c, '--help'), new RegExp(`Usage: convkit ${c} `));
});

test('errors: one line on stderr and a non-zero exit', () => {
  fails(/^convkit: op must be one of conv1d, .*got 'conv4d'$/, 'shape', 'conv4d', '--input', '1,2,3');
  fails(/^convkit: convTranspose1d: outputPadding must be smaller than either stride or dilation.*got outputPadding \[2\], stride \[2\]/,
    'shape', 'convTranspose1d', '--input', '1,16,10', '--weight', '16,8,3', '--stride', '2', '--output-padding', '2');
  fails(/^convkit: convTranspose1d: outputSize must lie between \[19\] and \[20\].*got \[21\]$/,
    'shape', 'convTranspose1d', '--input', '1,16,10', '--weight', '16,8,3', '--stride', '2', '--padding', '1', '--output-size', '21');
  fails(/^convkit: conv1d: input has 3 channels but weight \[4, 2, 3\]/, 'shape', 'conv1d', '--input', '1,3,10', '--weight', '4,2,3');
  fails(/^convkit: conv1d: stride must be positive; got 0$/, 'shape', 'conv1d', '--input', '1,3,10', '--weight', '4,3,3', '--stride', '0');
  fails(/^convkit: npy: path cannot be read \(ENOENT\)/, 'run', 'conv1d', '--input', join(tmp, 'missing.npy'), '--weight', fixture('c_w'));
  const bad = join(tmp, 'bad.npy');
  writeFileSync(bad, readFileSync(fixture('c_x')).subarray(0, 150));
  fails(/^convkit: npy: data is truncated/, 'run', 'conv1d', '--input', bad, '--weight', fixture('c_w'));
  fails(/^convkit: --out must end in .npy, .npz or .safetensors/, 'run', 'conv1d', '--input', fixture('c_x'), '--weight', fixture('c_w'), '--out', join(tmp, 'y.txt'));
  fails(/^convkit: explain: input is too large to explain step by step/, 'explain', 'conv2d', '--input', '1,8,32,32', '--out-channels', '8');
  fails(/^error: unknown option '--bogus'/, 'shape', 'conv1d', '--input', '1,3,10', '--weight', '4,3,3', '--bogus');
  fails(/^error: required option '--input <shape>' not specified/, 'shape', 'conv1d');
});

test('bench: runs the benchmark through runBench and forwards its options', () => {
  const json = join(tmp, 'bench.json');
  const out = quiet('bench', '--only', 'T3', '--libs', 'convkit-1t', '--verify-only', '--no-progress', '--json', json);
  assert.match(out, /T3 .*ok/);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.ok(Array.isArray(report.cells) && report.cells.some((c: { id: string; status: string }) => c.id === 'T3' && c.status === 'ok'));
});

test('planning a Paddle call builds no module: the global random generator does not move', () => {
  const info = parseOp('conv2dTranspose');
  manualSeed(3);
  const want = Array.from(rand([4]).data);
  manualSeed(3);
  const plan = planFor(info, { stride: 2, padding: 'SAME' } as never, true, [1, 4, 5, 6], [4, 2, 3, 3]);
  assert.deepEqual(Array.from(rand([4]).data), want);
  assert.equal(plan.spec.op, 'Conv2DTranspose');
  // Paddle's 'SAME', stride 2, k 3: padSum = max((⌈L/2⌉ − 1)·2 + 3 − L, 0) is 2 for L = 5 and 1 for L = 6;
  // the output (L − 1)·2 − padSum + 3 is 9 and 12.
  assert.deepEqual([...plan.outShape], [1, 2, 9, 12]);
});

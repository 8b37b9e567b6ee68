/**
 * The benchmark harness on tiny workloads: every library runs in its own child process and each
 * output is checked against convkit's float64 reference. Nothing is timed here (verify-only mode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBench, label, formatReport, type BenchReport } from '../bench/run.js';
import { runBrowserBench, runBrowserModelBench } from '../bench/browser.js';
import { verify } from '../bench/measure.js';
import { macs, outSize, selectWorkloads, workloads, type Workload } from '../bench/workloads.js';

const tiny: Workload[] = [
  { id: 'tT', op: 'convTranspose2d', n: 2, cIn: 4, cOut: 6, inSize: [5, 6], kSize: [3, 3], stride: [2, 2],
    padding: [1, 1], dilation: [1, 1], outputPadding: [1, 1], groups: 1 },
  { id: 'tG', op: 'convTranspose1d', n: 2, cIn: 4, cOut: 6, inSize: [7], kSize: [4], stride: [3],
    padding: [1], dilation: [2], outputPadding: [1], groups: 2 },
  { id: 'tD', op: 'conv1d', n: 2, cIn: 4, cOut: 8, inSize: [20], kSize: [3], stride: [1],
    padding: [2], dilation: [2], outputPadding: [0], groups: 4 },
  { id: 'tC', op: 'conv2d', n: 1, cIn: 3, cOut: 5, inSize: [9, 8], kSize: [3, 2], stride: [2, 1],
    padding: [1, 0], dilation: [1, 1], outputPadding: [0], groups: 1 },
];

test('verify: accepts agreement within 1e-3 of the scale, reports the relative error otherwise', () => {
  const ref = Float64Array.from({ length: 50 }, (_, i) => Math.sin(i) * 4);
  const close = Float32Array.from(ref, (v, i) => v + (i === 7 ? 2e-3 : 0));
  assert.equal(verify(close, ref).ok, true);
  const off = Float32Array.from(ref, (v, i) => v + (i === 7 ? 0.04 : 0));
  const v = verify(off, ref);
  const scale = Math.max(...ref.map(Math.abs));
  assert.equal(v.ok, false);
  assert.ok(Math.abs(v.relErr - Math.abs(off[7] - ref[7]) / scale) < 1e-9);
  assert.equal(verify(off.subarray(1), ref).ok, false);
  assert.equal(verify(Float32Array.from(ref, (x, i) => (i === 3 ? NaN : x)), ref).ok, false);
});

test('workloads: output sizes and MAC counts follow the formulas', () => {
  const t3 = selectWorkloads(['t3'])[0];
  assert.deepEqual(outSize(t3), [20]);                       // docs/behaviour.md worked example 3
  assert.equal(macs(t3), 1 * 16 * 10 * (8 / 1) * 3);         // N·Cin·L·(Cout/g)·k
  const c2 = selectWorkloads(['C2'])[0];
  assert.deepEqual(outSize(c2), [24]);                       // docs/behaviour.md worked example 4
  assert.equal(macs(c2), 20 * 33 * 24 * 16 * 3);             // N·Cout·Lout·(Cin/g)·k
  assert.equal(workloads.length, 11);
  assert.throws(() => selectWorkloads(['T1', 'X9']), /X9/);
  assert.equal(label(tiny[1]), 'convT1d N2 4→6 g2 L7 k4 s3 p1 d2 op1');
});

test('runBench (verify only): each library\'s output matches the reference or is n/a', async () => {
  const lines: string[] = [];
  const report = await runBench({
    workloads: tiny, libs: ['convkit-1t', 'tfjs-cpu', 'tfjs-wasm', 'ort-web-1t', 'ort-node-1t'],
    verifyOnly: true, progress: 'none', log: (s) => lines.push(s), childTimeoutS: 120,
  });
  assert.equal(report.mode, 'verify');
  for (const l of report.libraries) {
    assert.equal(l.error, undefined, `${l.id}: ${l.error}`);
    assert.ok(l.maxRssMB !== null && l.maxRssMB > 0);
  }
  assert.equal(report.cells.length, 5 * tiny.length);
  for (const c of report.cells) {
    assert.equal(c.ms, null, 'nothing is timed');
    const tfjsCannot = c.lib.startsWith('tfjs') && c.id === 'tG';   // grouped, dilated transposed conv
    if (tfjsCannot) assert.equal(c.status, 'n/a');
    else {
      assert.equal(c.status, 'ok', `${c.lib} ${c.id}: ${c.status} ${c.note ?? ''} ${c.relErr}`);
      assert.ok(c.relErr !== null && c.relErr < 1e-5, `${c.lib} ${c.id}: relErr ${c.relErr}`);
    }
  }
  const text = lines.join('\n');
  for (const w of tiny) assert.match(text, new RegExp(`^${w.id} `, 'm'));
  assert.match(text, /tfjs-cpu: n\/a \(no groups for conv2dTranspose\): tG/);
});

test('formatReport: a mismatch and an n/a are shown in the table and the notes, with ratios against convkit', () => {
  const w = tiny[0], m = macs(w);
  const lib = (id: string) => ({ id, note: '', maxRssMB: 100 });
  const report: BenchReport = {
    date: '', mode: 'quick', wallS: 1,
    machine: { cpu: 'cpu', cores: 2, loadavg: [0, 0, 0], node: process.version },
    workloads: [{ ...w, macs: m, label: label(w) }],
    reference: lib('reference'),
    libraries: [lib('convkit-1t'), lib('ort-node-1t'), lib('tfjs-cpu')],
    cells: [
      { lib: 'convkit-1t', id: w.id, status: 'ok', ms: 2, runs: 3, gflops: (2 * m) / 2e6, ratio: 1, relErr: 0 },
      { lib: 'ort-node-1t', id: w.id, status: 'mismatch', ms: 1, runs: 3, gflops: (2 * m) / 1e6, ratio: 0.5, relErr: 0.25 },
      { lib: 'tfjs-cpu', id: w.id, status: 'n/a', ms: null, runs: 0, gflops: null, ratio: null, relErr: null, note: 'why' },
    ],
  };
  const text = formatReport(report).join('\n');
  assert.match(text, / 1\.00 \(0\.50×\) MISMATCH/);
  assert.match(text, /ort-node-1t: mismatch rel\. error 2\.50e-1: tT/);
  assert.match(text, /tfjs-cpu: n\/a \(why\): tT/);
  assert.match(text, new RegExp(`${((2 * m) / 1e6).toFixed(2)} MISMATCH`));
});

test('runBrowserBench (verify only): in a crossOriginIsolated Chromium page, convkit on 1 and 2 threads and onnxruntime-web match the reference', async () => {
  const lines: string[] = [];
  const wl = tiny[2]; // grouped, dilated, padded conv1d
  const report = await runBrowserBench({
    workloads: [wl], libs: ['convkit-1t', 'convkit-2t', 'ort-web-2t'], verifyOnly: true, log: (s) => lines.push(s), pageTimeoutS: 120,
  });
  assert.equal(report.mode, 'verify');
  assert.match(report.machine.browser, /^Chromium \d+/);
  const note = (id: string) => {
    const l = report.libraries.find((x) => x.id === id)!;
    assert.equal(l.error, undefined, `${id}: ${l.error}`);
    return l.note;
  };
  // convkit reports 2 threads only in a dedicated worker with shared memory, i.e. a crossOriginIsolated page.
  assert.match(note('convkit-1t'), /setNumThreads\(1\) → 1 thread/);
  assert.match(note('convkit-2t'), /setNumThreads\(2\) → 2 thread/);
  assert.match(note('ort-web-2t'), /numThreads 2.*loaded ort-wasm-simd-threaded\.wasm/);
  assert.equal(report.cells.length, 3);
  for (const c of report.cells) {
    assert.equal(c.ms, null, 'nothing is timed');
    assert.equal(c.status, 'ok', `${c.lib}: ${c.status} ${c.note ?? ''}`);
    // A float32 output compared with the float64 reference: a small error, never exactly none.
    assert.ok(c.relErr !== null && c.relErr > 0 && c.relErr < 1e-5, `${c.lib}: relErr ${c.relErr}`);
  }
  assert.match(lines.join('\n'), /\[3\/3\] ort-web-2t tD ok/);
});

test('runBrowserBench: a page served without COOP/COEP stops the run with an error naming crossOriginIsolated', async () => {
  await assert.rejects(
    runBrowserBench({ workloads: [tiny[2]], libs: ['convkit-1t'], verifyOnly: true, isolate: false, log: () => undefined, pageTimeoutS: 60 }),
    /not crossOriginIsolated/,
  );
});

test('runBrowserModelBench with profile: a convkit page prints the profile of one call of the model, its kinds and modules, as Node\'s --profile does', async () => {
  const lines: string[] = [];
  const report = await runBrowserModelBench({ only: ['dcgan-1'], libs: ['convkit-1t'], quick: true, profile: true, log: (s) => lines.push(s), progress: false, pageTimeoutS: 300 });
  const lib = report.libraries.find((l) => l.id === 'convkit-1t')!;
  assert.equal(lib.error, undefined, lib.error);
  assert.equal(report.cells.find((c) => c.id === 'dcgan-1')?.status, 'ok');
  const text = lines.join('\n');
  const at = text.indexOf('convkit-1t dcgan-1, one profiled call in Chromium');
  assert.ok(at >= 0, text);
  const table = text.slice(at);
  // The DCGAN generator: five transposed convolutions, the kinds' rows and its modules by key.
  assert.match(table, /^convolution\s+[\d.]+\s+[\d.]+%\s+5$/m);
  assert.match(table, /^total [\d.]+ ms$/m);
  assert.match(table, /ConvTranspose2d/);
});

/**
 * `npm run bench -- --webgpu [--quick] [--only T1,C4]`: convkit's WebGPU backend on the layer
 * workloads and the small HiFi-GAN generator, next to onnxruntime-web's WebGPU execution provider
 * and tfjs-webgpu, which run in headless Chromium (bench/webgpu-peers.ts: under Node ORT-web's
 * WebGPU EP does not run). Every call is timed by wall clock including the readback of the output
 * and, where the adapter has 'timestamp-query', by GPU timestamps (the sum of the compute passes'
 * durations); the ratio uses GPU time when both sides have it. Each output is checked against
 * convkit's CPU result. On SwiftShader (no GPU: Vulkan on the CPU) the table is labelled CPU
 * emulation: its ratios are a proxy for work done, not GPU speed. A peer that cannot run a row
 * says why in the notes.
 */
import { create, globals } from 'webgpu';
import { HIFIGAN_SMALL, HifiganGenerator } from '../examples/models/hifigan.js';
import * as ck from '../src/index.js';
import { startGpuTiming, stopGpuTiming } from '../src/kernels/webgpu/device.js';
import { traceOps } from '../src/profile/trace.js';
import { onnxFromTrace } from './onnx-model.js';
import { decodeOutput, openPeerPage, type PeerPage, type PeerResult } from './webgpu-peers.js';
import { isTransposed, operands, selectWorkloads, wShape, xShape, type Workload } from './workloads.js';

export interface WebgpuBenchOptions {
  readonly only?: readonly string[];
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
}

export type WebgpuLib = 'convkit-webgpu' | 'ort-web-webgpu' | 'tfjs-webgpu';
/** One library on one workload: wall-clock ms (with readback), GPU ms (timestamps) or null, error vs convkit's CPU result; or a note why not. */
export interface Row { id: string; lib: WebgpuLib; ms: number | null; gpuMs: number | null; relErr: number | null; note?: string }

const LIBS: readonly WebgpuLib[] = ['convkit-webgpu', 'ort-web-webgpu', 'tfjs-webgpu'];
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** A warm-up call, then `runs` timed calls: medians of wall clock and (with timestamps) of GPU time. */
async function time(runs: number, timestamps: boolean, f: () => Promise<unknown>): Promise<{ ms: number; gpuMs: number | null }> {
  await f(); // warm-up: pipelines compiled, buffers allocated
  const wall: number[] = [], gpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (timestamps) startGpuTiming();
    const t0 = performance.now();
    await f();
    wall.push(performance.now() - t0);
    if (timestamps) gpu.push((await stopGpuTiming()) / 1e6);
  }
  return { ms: median(wall), gpuMs: timestamps ? median(gpu) : null };
}

function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) return Infinity;
  let scale = 0, err = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(a[i] - ref[i]));
  return err / Math.max(scale, Number.MIN_VALUE);
}

type Fn = (x: ck.Tensor, w: ck.Tensor, b: ck.Tensor, o: object) => ck.Tensor;
const OPS: Record<string, Fn> = {
  conv1d: ck.conv1d as Fn, conv2d: ck.conv2d as Fn, convTranspose1d: ck.convTranspose1d as Fn, convTranspose2d: ck.convTranspose2d as Fn,
};
const optionsOf = (wl: Workload) => ({
  stride: wl.stride, padding: wl.padding, dilation: wl.dilation, groups: wl.groups, ...(isTransposed(wl) ? { outputPadding: wl.outputPadding } : {}),
});

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);

function peerRow(id: string, lib: WebgpuLib, r: PeerResult, ref: ArrayLike<number>): Row {
  if ('unavailable' in r) return { id, lib, ms: null, gpuMs: null, relErr: null, note: r.unavailable };
  return { id, lib, ms: r.ms, gpuMs: r.gpuMs, relErr: relErr(decodeOutput(r.y), ref) };
}

export async function runWebgpuBench(o: WebgpuBenchOptions = {}): Promise<Row[]> {
  const log = o.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const info = await ck.initWebGPU({ gpu });
  const emulated = /swiftshader/i.test(info.adapter);
  const runs = o.quick ? 3 : 10;
  const rows: Row[] = [];
  let page: PeerPage | null = null, pageProblem = '';
  try {
    page = await openPeerPage();
  } catch (e) {
    pageProblem = `headless Chromium with WebGPU did not start (${firstLine(e)})`;
  }
  const missing = (id: string, lib: WebgpuLib, note: string): Row => ({ id, lib, ms: null, gpuMs: null, relErr: null, note });
  try {
    for (const wl of selectWorkloads(o.only)) {
      const { x, w, b } = operands(wl);
      const xt = new ck.Tensor(x, xShape(wl)), wt = new ck.Tensor(w, wShape(wl)), bt = new ck.Tensor(b, [wl.cOut]);
      const ref = ck.noGrad(() => OPS[wl.op](xt, wt, bt, optionsOf(wl))).data;
      const xg = xt.to('webgpu'), wg = wt.to('webgpu'), bg = bt.to('webgpu');
      let out: Float32Array = new Float32Array(0);
      const t = await time(runs, info.timestampQuery, async () => { out = (await ck.noGrad(() => OPS[wl.op](xg, wg, bg, optionsOf(wl))).cpu()).data as Float32Array; });
      rows.push({ id: wl.id, lib: 'convkit-webgpu', ...t, relErr: relErr(out, ref) });
      log(`${wl.id} convkit-webgpu ${t.ms.toFixed(2)} ms`);
      if (!page) {
        rows.push(missing(wl.id, 'ort-web-webgpu', pageProblem), missing(wl.id, 'tfjs-webgpu', pageProblem));
        continue;
      }
      rows.push(peerRow(wl.id, 'ort-web-webgpu', await page.ortLayer(wl.id, runs), ref));
      rows.push(page.tfjsProblem ? missing(wl.id, 'tfjs-webgpu', `tfjs-webgpu did not start: ${page.tfjsProblem}`)
        : peerRow(wl.id, 'tfjs-webgpu', await page.tfjsLayer(wl.id, runs), ref));
      log(`${wl.id} peers done`);
    }
    // A whole model: the small HiFi-GAN generator (random weights), 64 mel frames; ORT-web runs its traced ONNX graph.
    const model = new HifiganGenerator(HIFIGAN_SMALL);
    const mel = ck.randn([1, HIFIGAN_SMALL.numMels, 64], { seed: 1 });
    const traced = traceOps(() => ck.noGrad(() => model.forward(mel)));
    const want = traced.result.data;
    const onnx = onnxFromTrace(traced.ops, mel, traced.result, 'hifigan-small');
    model.to('webgpu');
    const melG = mel.to('webgpu');
    let got: Float32Array = new Float32Array(0);
    const t = await time(runs, info.timestampQuery, async () => { got = (await ck.noGrad(() => model.forward(melG)).cpu()).data as Float32Array; });
    rows.push({ id: 'hifigan-small', lib: 'convkit-webgpu', ...t, relErr: relErr(got, want) });
    rows.push(page ? peerRow('hifigan-small', 'ort-web-webgpu', await page.ortModel(onnx, mel.data as Float32Array, mel.shape, runs), want)
      : missing('hifigan-small', 'ort-web-webgpu', pageProblem));
    rows.push(missing('hifigan-small', 'tfjs-webgpu', 'tfjs has no conv1dTranspose (nor an ONNX importer): the generator is not ported to it'));
  } finally {
    await page?.close();
  }
  printTable(rows, log, {
    adapter: info.adapter, emulated, timestamps: info.timestampQuery,
    peerAdapter: page ? `${page.adapter}${page.timestampQuery ? '' : ' (no timestamp-query: wall clock only)'}` : null,
  });
  return rows;
}

function printTable(rows: readonly Row[], log: (s: string) => void, h: { adapter: string; emulated: boolean; timestamps: boolean; peerAdapter: string | null }): void {
  const ms = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  const cell = (r: Row) => (r.ms === null ? 'n/a ¹' : `${ms(r.gpuMs)} / ${ms(r.ms)}`);
  log('');
  log(`convkit: Node, npm 'webgpu' (Dawn), adapter ${h.adapter || '(unnamed)'}${h.emulated ? ' — CPU emulation on SwiftShader: ratios are a proxy for work done, not GPU speed' : ''}`);
  log(`peers: headless Chromium, adapter ${h.peerAdapter ?? 'none (see notes)'}`);
  log(`Timing: median per call; "GPU / wall" ms: GPU = timestamp queries (sum of the compute passes${h.timestamps ? '' : '; n/a: no timestamp-query'}), wall = wall clock including the readback of the output.`);
  log('Ratio: peer / convkit, on GPU time where both have it, else wall clock. rel. err: max |y − y_cpu| / max |y_cpu| against convkit\'s CPU result.');
  log('');
  log(`| workload | ${LIBS.map((l) => `${l} ms (GPU / wall)`).join(' | ')} | rel. err (${LIBS.map((l) => l.split('-')[0]).join(' / ')}) | ratio ort / convkit | ratio tfjs / convkit |`);
  log(`|---|${LIBS.map(() => '---:').join('|')}|---:|---:|---:|`);
  const notes: string[] = [];
  for (const id of [...new Set(rows.map((r) => r.id))]) {
    const by = LIBS.map((l) => rows.find((r) => r.id === id && r.lib === l)!);
    const c = by[0];
    const ratio = (p: Row) => {
      if (p.ms === null || c.ms === null) return 'n/a';
      return p.gpuMs !== null && c.gpuMs !== null ? (p.gpuMs / c.gpuMs).toFixed(2) : `${(p.ms / c.ms).toFixed(2)} (wall)`;
    };
    for (const r of by) if (r.note) notes.push(`¹ ${id} ${r.lib}: ${r.note}`);
    log(`| ${id} | ${by.map(cell).join(' | ')} | ${by.map((r) => (r.relErr === null ? 'n/a' : r.relErr.toExponential(1))).join(' / ')} | ${ratio(by[1])} | ${ratio(by[2])} |`);
  }
  if (notes.length) log('');
  for (const n of notes) log(n);
}

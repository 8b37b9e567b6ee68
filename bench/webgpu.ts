/**
 * `npm run bench -- --webgpu [--quick] [--only T1,C4]`: convkit's WebGPU backend on the layer
 * workloads and the small HiFi-GAN generator, with onnxruntime-web's WebGPU execution provider as
 * the peer column (n/a under Node: see ortNote). Timed by wall clock including the readback of the output (this harness does
 * not use timestamp queries). On SwiftShader (no GPU: Dawn's Vulkan on the CPU) the table is
 * labelled CPU emulation: its ratios are a proxy for work done, not GPU speed.
 */
import { create, globals } from 'webgpu';
import { HIFIGAN_SMALL, HifiganGenerator } from '../examples/models/hifigan.js';
import * as ck from '../src/index.js';
import { isTransposed, operands, selectWorkloads, wShape, xShape, type Workload } from './workloads.js';

export interface WebgpuBenchOptions {
  readonly only?: readonly string[];
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
}

interface Row { id: string; lib: string; ms: number | null; relErr: number | null; note?: string }

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function time(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up: pipelines compiled, buffers allocated
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
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

export async function runWebgpuBench(o: WebgpuBenchOptions = {}): Promise<Row[]> {
  const log = o.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const info = await ck.initWebGPU({ gpu });
  const emulated = /swiftshader/i.test(info.adapter);
  const runs = o.quick ? 3 : 10;
  const rows: Row[] = [];
  // onnxruntime-web's WebGPU EP under Node with the 'webgpu' package: a session is created, but its
  // first run fails ('Invalid argument') or blocks the whole process (no timer can bound it), so it
  // is not run in this process; running it in Chromium is left to do.
  const ortNote = "does not run under Node with the 'webgpu' package (session created; the first run fails with 'Invalid argument' or blocks the process); not measured";
  for (const wl of selectWorkloads(o.only)) {
    const { x, w, b } = operands(wl);
    const xt = new ck.Tensor(x, xShape(wl)), wt = new ck.Tensor(w, wShape(wl)), bt = new ck.Tensor(b, [wl.cOut]);
    const ref = ck.noGrad(() => OPS[wl.op](xt, wt, bt, optionsOf(wl))).data;
    const xg = xt.to('webgpu'), wg = wt.to('webgpu'), bg = bt.to('webgpu');
    let out: Float32Array = new Float32Array(0);
    const ms = await time(runs, async () => { out = (await ck.noGrad(() => OPS[wl.op](xg, wg, bg, optionsOf(wl))).cpu()).data as Float32Array; });
    rows.push({ id: wl.id, lib: 'convkit-webgpu', ms, relErr: relErr(out, ref) });
    log(`${wl.id} convkit-webgpu ${ms.toFixed(2)} ms`);
    rows.push({ id: wl.id, lib: 'ort-web-webgpu', ms: null, relErr: null, note: ortNote });
  }
  // A whole model: the small HiFi-GAN generator (random weights), 64 mel frames.
  const model = new HifiganGenerator(HIFIGAN_SMALL);
  const mel = ck.randn([1, HIFIGAN_SMALL.numMels, 64], { seed: 1 });
  const want = ck.noGrad(() => model.forward(mel)).data;
  model.to('webgpu');
  const melG = mel.to('webgpu');
  let got: Float32Array = new Float32Array(0);
  const hms = await time(runs, async () => { got = (await ck.noGrad(() => model.forward(melG)).cpu()).data as Float32Array; });
  rows.push({ id: 'hifigan-small', lib: 'convkit-webgpu', ms: hms, relErr: relErr(got, want) });
  rows.push({ id: 'hifigan-small', lib: 'ort-web-webgpu', ms: null, relErr: null, note: ortNote });

  log('');
  log(`WebGPU adapter: ${info.adapter || '(unnamed)'}${emulated ? ' — CPU emulation on SwiftShader: ratios are a proxy for work done, not GPU speed' : ''}`);
  log('Timing: wall clock per call including the readback of the output (median).');
  log('');
  log('| workload | convkit-webgpu ms | rel. err | ort-web-webgpu ms | ratio (ort / convkit) |');
  log('|---|---:|---:|---:|---:|');
  const ids = [...new Set(rows.map((r) => r.id))];
  const notes = new Set<string>();
  for (const id of ids) {
    const c = rows.find((r) => r.id === id && r.lib === 'convkit-webgpu')!, p = rows.find((r) => r.id === id && r.lib === 'ort-web-webgpu')!;
    if (p.note) notes.add(p.note);
    log(`| ${id} | ${c.ms!.toFixed(2)} | ${c.relErr!.toExponential(1)} | ${p.ms === null ? 'n/a' : p.ms.toFixed(2)} | ${p.ms === null ? 'n/a' : (p.ms / c.ms!).toFixed(2)} |`);
  }
  for (const n of notes) log(`ort-web-webgpu n/a: ${n}`);
  return rows;
}

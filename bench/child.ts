/**
 * Benchmark child process: loads one library (or computes the reference), runs the workloads it is
 * given and reports each result to the parent over IPC. Node-only (bench/ is not library code).
 *
 *   node --import tsx bench/child.ts '<json ChildTask>'
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { operands, xShape, wShape, yShape, type Workload } from './workloads.js';
import { fullPolicy, median, moreRuns, moreWarmup, quickPolicy, verify } from './measure.js';
import type { Prepared } from './peers.js';

export interface ChildTask {
  /** A library id from peers.ts, or 'reference' to write convkit's float64 reference outputs. */
  readonly lib: string;
  readonly workloads: readonly Workload[];
  readonly refDir: string;
  readonly mode: 'full' | 'quick' | 'verify';
}

export type ChildMessage =
  | { type: 'ready'; lib: string; note: string }
  | { type: 'result'; lib: string; id: string; status: 'ok' | 'mismatch' | 'n/a' | 'error';
      ms: number | null; runs: number; relErr: number | null; note?: string }
  | { type: 'done'; lib: string; maxRssMB: number }
  | { type: 'fatal'; lib: string; message: string };

export const refPath = (dir: string, wl: Workload): string => join(dir, `${wl.id.replace(/[^A-Za-z0-9_-]/g, '_')}.f64`);

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send) process.send(m, () => resolve());
    else { console.log(JSON.stringify(m)); resolve(); }
  });
}

async function reference(task: ChildTask): Promise<void> {
  const ck = await import('../src/index.js');
  await send({ type: 'ready', lib: task.lib, note: 'convkit ref backend, float64' });
  for (const wl of task.workloads) {
    const d = operands(wl);
    const f64 = (a: Float32Array, shape: number[]) => ck.tensor(Float64Array.from(a), shape, { dtype: 'float64' });
    const x = f64(d.x, xShape(wl)), w = f64(d.w, wShape(wl)), b = f64(d.b, [wl.cOut]);
    const o = { stride: wl.stride, padding: wl.padding, dilation: wl.dilation, groups: wl.groups };
    const ot = { ...o, outputPadding: wl.outputPadding };
    const y = ck.withBackend('ref', () => ck.noGrad(() => ({
      conv1d: () => ck.conv1d(x, w, b, o), conv2d: () => ck.conv2d(x, w, b, o),
      convTranspose1d: () => ck.convTranspose1d(x, w, b, ot), convTranspose2d: () => ck.convTranspose2d(x, w, b, ot),
    })[wl.op]()));
    const want = yShape(wl);
    if (y.shape.join() !== want.join())
      throw new Error(`reference ${wl.id}: output shape ${y.shape.join('×')}, expected ${want.join('×')}`);
    writeFileSync(refPath(task.refDir, wl), new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    await send({ type: 'result', lib: task.lib, id: wl.id, status: 'ok', ms: null, runs: 0, relErr: 0 });
  }
}

async function callOnce(p: Prepared): Promise<unknown> {
  const r = p.call();
  return p.async ? await r : r;
}

async function bench(task: ChildTask): Promise<void> {
  const { loadLibrary } = await import('./peers.js');
  const lib = await loadLibrary(task.lib);
  await send({ type: 'ready', lib: task.lib, note: lib.describe() });
  const policy = task.mode === 'quick' ? quickPolicy : fullPolicy;
  for (const wl of task.workloads) {
    const base = { type: 'result' as const, lib: task.lib, id: wl.id };
    let p: Prepared | undefined;
    try {
      const prep = await lib.prepare(wl, operands(wl));
      if ('unavailable' in prep) {
        await send({ ...base, status: 'n/a', ms: null, runs: 0, relErr: null, note: prep.unavailable });
        continue;
      }
      p = prep;
      // The first call is both the first warm-up and the output that is verified.
      let t0 = performance.now();
      const first = await callOnce(p);
      let warm = performance.now() - t0, calls = 1;
      const raw = readFileSync(refPath(task.refDir, wl));
      const ref = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const v = verify(p.channelsFirst(first), ref);
      const status = v.ok ? 'ok' : 'mismatch';
      const relErr = Number.isNaN(v.relErr) ? null : v.relErr;
      if (task.mode === 'verify') {
        await send({ ...base, status, ms: null, runs: 0, relErr, note: v.note });
        continue;
      }
      while (moreWarmup(policy, calls, warm)) {
        t0 = performance.now();
        await callOnce(p);
        warm += performance.now() - t0;
        calls++;
      }
      const times: number[] = [];
      let total = 0;
      while (moreRuns(policy, times.length, total)) {
        t0 = performance.now();
        const r = p.call();
        if (p.async) await r;
        const dt = performance.now() - t0;
        times.push(dt);
        total += dt;
      }
      await send({ ...base, status, ms: median(times), runs: times.length, relErr, note: v.note });
    } catch (e) {
      await send({ ...base, status: 'error', ms: null, runs: 0, relErr: null, note: (e as Error).message.split('\n')[0] });
    } finally {
      p?.dispose();
    }
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as ChildTask;
  try {
    if (task.lib === 'reference') await reference(task);
    else await bench(task);
    await send({ type: 'done', lib: task.lib, maxRssMB: process.resourceUsage().maxRSS / 1024 });
  } catch (e) {
    await send({ type: 'fatal', lib: task.lib, message: (e as Error).message.split('\n')[0] });
  }
  // Thread pools (onnxruntime, workers) may keep the event loop alive.
  process.disconnect?.();
  process.exit(0);
}

void main();

/**
 * Benchmark child process: loads one library (or computes the reference), runs the workloads it is
 * given and reports each result to the parent over IPC. Node-only (bench/ is not library code).
 *
 *   node --import tsx bench/child.ts '<json ChildTask>'
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { operands, xShape, wShape, yShape, type Workload } from './workloads.js';
import { fullPolicy, quickPolicy, verify } from './measure.js';
import type { Prepared } from './peers.js';
import { runChild, send as sendAny, timeCalls, type LifecycleMessage, type ResultMessage, type TaskBase } from './child-ipc.js';

/** `lib`: a library id from peers.ts, or 'reference' to write convkit's float64 reference outputs. */
export interface ChildTask extends TaskBase {
  readonly workloads: readonly Workload[];
}

export type ChildMessage = LifecycleMessage | ResultMessage<'ok' | 'mismatch' | 'n/a' | 'error'>;

export const refPath = (dir: string, wl: Workload): string => join(dir, `${wl.id.replace(/[^A-Za-z0-9_-]/g, '_')}.f64`);

const send = (m: ChildMessage): Promise<void> => sendAny(m);

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
      const t0 = performance.now();
      const first = await callOnce(p);
      const firstMs = performance.now() - t0;
      const raw = readFileSync(refPath(task.refDir, wl));
      const ref = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const v = verify(p.channelsFirst(first), ref);
      const status = v.ok ? 'ok' : 'mismatch';
      const relErr = Number.isNaN(v.relErr) ? null : v.relErr;
      if (task.mode === 'verify') {
        await send({ ...base, status, ms: null, runs: 0, relErr, note: v.note });
        continue;
      }
      const { ms, runs } = await timeCalls(policy, () => prep.call(), prep.async, firstMs);
      await send({ ...base, status, ms, runs, relErr, note: v.note });
    } catch (e) {
      await send({ ...base, status: 'error', ms: null, runs: 0, relErr: null, note: (e as Error).message.split('\n')[0] });
    } finally {
      p?.dispose();
    }
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as ChildTask;
  await runChild(task.lib, () => (task.lib === 'reference' ? reference(task) : bench(task)));
}

void main();

/**
 * Whole-model benchmark child: builds one model case (bench/models.ts, seeded, so every child
 * builds the same weights and input), then either writes the reference output ('reference') or
 * runs the model in one library — convkit with N threads, or ONNX Runtime (web wasm / node native)
 * on the ONNX graph traced from the convkit module — checks its first output against the reference
 * and times it. `--profile` (lib 'profile') prints convkit's profile of one call instead.
 *
 *   node --import tsx bench/model-child.ts '<json ModelTask>'
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fullPolicy, quickPolicy, verify } from './measure.js';
import { modelCase } from './models.js';
import { runChild, send as sendAny, timeCalls, type LifecycleMessage, type ResultMessage, type TaskBase } from './child-ipc.js';

/** `lib`: 'reference', 'profile', 'convkit-1t', 'convkit-2t', 'ort-web-1t', 'ort-web-2t', 'ort-node-1t', 'ort-node-2t'. */
export interface ModelTask extends TaskBase {
  readonly models: readonly string[];
}

export type ModelMessage = LifecycleMessage | ResultMessage<'ok' | 'mismatch' | 'error'> | { type: 'profile'; lib: string; id: string; text: string };

export const modelRefPath = (dir: string, id: string): string => join(dir, `${id}.f32`);

const send = (m: ModelMessage): Promise<void> => sendAny(m);

type Runner = { call: () => Promise<Float32Array> | Float32Array; dispose: () => void };

async function runnerFor(lib: string, id: string): Promise<{ run: Runner; note: string }> {
  const ck = await import('../src/index.js');
  const c = await modelCase(id);
  const threads = Number(/-(\d+)t$/.exec(lib)?.[1] ?? 1);
  if (lib.startsWith('convkit-')) {
    ck.setNumThreads(threads);
    const { module, input } = c;
    return {
      note: `convkit, ${threads} thread(s), ${ck.relaxedSimdSupported() ? 'relaxed SIMD' : 'SIMD'}`,
      run: { call: () => ck.noGrad(() => module.forward(input).data as Float32Array), dispose: () => undefined },
    };
  }
  const kind = lib.startsWith('ort-web') ? 'web' : 'node';
  const { traceOps } = await import('../src/profile/trace.js');
  const { onnxFromTrace } = await import('./onnx-model.js');
  ck.setNumThreads(1);
  const { result, ops } = traceOps(() => ck.noGrad(() => c.module.forward(c.input)));
  const bytes = onnxFromTrace(ops, c.input, result, id);
  type Ort = typeof import('onnxruntime-common');
  const ort = (kind === 'web' ? await import('onnxruntime-web') : await import('onnxruntime-node')) as unknown as Ort;
  if (kind === 'web') { ort.env.wasm.numThreads = threads; ort.env.wasm.simd = true; }
  const options = kind === 'web'
    ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' as const }
    : { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' as const, graphOptimizationLevel: 'all' as const };
  const session = await ort.InferenceSession.create(bytes, options);
  const x = new ort.Tensor('float32', Float32Array.from(c.input.data), [...c.input.shape]);
  return {
    note: `onnxruntime-${kind} ${ort.env.versions?.common ?? ''}, ${threads} thread(s), ${ops.length} traced ops`,
    run: { call: async () => (await session.run({ X: x })).Y.data as Float32Array, dispose: () => { void session.release(); } },
  };
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as ModelTask;
  await runChild(task.lib, async () => {
    const ck = await import('../src/index.js');
    await send({ type: 'ready', lib: task.lib, note: task.lib === 'reference' ? 'convkit reference (see bench/models.ts)' : task.lib });
    for (const id of task.models) {
      const base = { type: 'result' as const, lib: task.lib, id };
      if (task.lib === 'reference') {
        const c = await modelCase(id);
        ck.setNumThreads(1);
        const y = ck.withBackend(c.referenceBackend, () => ck.noGrad(() => c.module.forward(c.input)));
        const f32 = Float32Array.from(y.data);
        writeFileSync(modelRefPath(task.refDir, id), new Uint8Array(f32.buffer));
        await send({ ...base, status: 'ok', ms: null, runs: 0, relErr: 0, note: `backend ${c.referenceBackend}` });
        continue;
      }
      if (task.lib === 'profile') {
        const c = await modelCase(id);
        ck.setNumThreads(2);
        ck.noGrad(() => c.module.forward(c.input)); // warm: pool, plans, kernels compiled
        const { profile: p } = ck.profile(() => ck.noGrad(() => c.module.forward(c.input)), { module: c.module });
        await send({ type: 'profile', lib: task.lib, id, text: String(p) });
        continue;
      }
      let run: Runner | undefined;
      try {
        const r = await runnerFor(task.lib, id);
        run = r.run;
        const t0 = performance.now();
        const first = await run.call();
        const firstMs = performance.now() - t0;
        const raw = readFileSync(modelRefPath(task.refDir, id));
        const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        const v = verify(first, ref);
        const status = v.ok ? 'ok' : 'mismatch', relErr = Number.isNaN(v.relErr) ? null : v.relErr;
        if (task.mode === 'verify') { await send({ ...base, status, ms: null, runs: 0, relErr, note: v.note ?? r.note }); continue; }
        const policy = task.mode === 'quick' ? quickPolicy : fullPolicy;
        const { ms, runs } = await timeCalls(policy, r.run.call, true, firstMs);
        await send({ ...base, status, ms, runs, relErr, note: v.note ?? r.note });
      } catch (e) {
        await send({ ...base, status: 'error', ms: null, runs: 0, relErr: null, note: (e as Error).message.split('\n')[0] });
      } finally {
        run?.dispose();
      }
    }
  });
}

void main();

/**
 * The browser benchmark's code inside the page: a dedicated module Web Worker (bench/browser-page.ts
 * starts it) loads one library — convkit with N threads, onnxruntime-web's wasm backend, tfjs's
 * wasm or cpu backend — runs the layer workloads (bench/peers.ts's adapters, the same as in Node)
 * or the whole models (bench/models.ts), checks each first output against the reference the Node
 * side computed (bench/measure.ts `verify`) and times the rest with the Node children's policy
 * (bench/child-ipc.ts `timeCalls`). Each message goes back to the page, which hands it to Node.
 *
 * A dedicated worker is where a page runs heavy compute, and the only place convkit's synchronous
 * API may use threads (docs/threads.md); every library runs there, so all are compared alike.
 */
import { fullPolicy, quickPolicy, verify } from './measure.js';
import { timeCalls } from './child-ipc.js';
import { operands, type Workload } from './workloads.js';
import type { Prepared } from './peers.js';

/** What the Node side asks one page to run. */
export interface PageTask {
  readonly lib: string;
  readonly mode: 'full' | 'quick' | 'verify';
  /** Layer workloads, or model ids (with `models`). */
  readonly workloads?: readonly Workload[];
  readonly models?: readonly string[];
  /** Reference output of each case: address of its file (float64 for layers, float32 for models). */
  readonly refs: Readonly<Record<string, string>>;
  /** For ORT on a model: the traced ONNX graph and the input (float32) the Node side wrote. */
  readonly modelData?: Readonly<Record<string, { readonly onnx: string; readonly input: string; readonly shape: readonly number[] }>>;
  /** Folders of onnxruntime-web's and tfjs-backend-wasm's dist files. */
  readonly ortWasm: string;
  readonly tfjsWasm: string;
  /** convkit on models: after the timed calls, one profiled call of each (a 'profile' message with its table). */
  readonly profile?: boolean;
}

export type PageMessage =
  | { type: 'ready'; lib: string; note: string; threads: number; isolated: boolean }
  | { type: 'result'; lib: string; id: string; status: 'ok' | 'mismatch' | 'n/a' | 'error'; ms: number | null; runs: number; relErr: number | null; note?: string }
  | { type: 'profile'; lib: string; id: string; text: string }
  | { type: 'done'; lib: string; note: string }
  | { type: 'fatal'; lib: string; message: string };

const post = (m: PageMessage): void => (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(m);

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`fetch ${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

const threadsOf = (lib: string): number => Number(/-(\d+)t$/.exec(lib)?.[1] ?? 1);

/** convkit's pool: its Web Workers load while this thread is free (a worker cannot start while the thread that created it blocks in a call). */
async function startConvkitPool(threads: number): Promise<void> {
  if (threads < 2) return;
  const ck = await import('../src/index.js');
  await ck.threadsReady(10000);
}

/** Configures a peer before it loads (wasm file locations, threads) and describes what ran. */
async function setUp(lib: string): Promise<{ threads: number; note: () => Promise<string> }> {
  const ck = await import('../src/index.js');
  const relaxed = `relaxed SIMD ${(await import('../src/kernels/wasm/glue.js')).relaxedSimdSupported() ? 'supported by this browser' : 'not supported by this browser'}`;
  if (lib.startsWith('convkit-')) {
    const threads = threadsOf(lib);
    return {
      threads,
      note: async () => {
        const pool = await import('../src/kernels/threads/pool.js');
        return `convkit, backend ${ck.getBackend()}, setNumThreads(${threads}) → ${ck.getNumThreads()} thread(s), ${pool.unitsByWorkers()} units run by Web Workers, `
          + `${ck.relaxedSimdSupported() ? 'relaxed-SIMD (FMA) kernels' : 'SIMD kernels (no relaxed SIMD)'}`;
      },
    };
  }
  if (lib.startsWith('ort-web-')) {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.wasmPaths = new URL(PAGE_TASK!.ortWasm, location.href).href;
    ort.env.wasm.proxy = false;
    const threads = threadsOf(lib);
    return { threads, note: async () => `onnxruntime-web ${ort.env.versions?.web ?? ''}, wasm execution provider, env.wasm.numThreads ${ort.env.wasm.numThreads}; ${relaxed}` };
  }
  if (lib === 'tfjs-wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const tf = await import('@tensorflow/tfjs-core');
    wasm.setWasmPaths(new URL(PAGE_TASK!.tfjsWasm, location.href).href);
    wasm.setThreadsCount(2);
    // tfjs caps its thread pool at navigator.hardwareConcurrency / 2: on a 2-core machine it would
    // run one thread whatever setThreadsCount asks, so it is told of 4 cores to get the 2 threads the others get.
    const cores = navigator.hardwareConcurrency;
    if (cores < 4) Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 4, configurable: true });
    // Whether tfjs can take its threaded binary: it checks for shared memory and wasm threads.
    const multi = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    return {
      threads: multi ? 2 : 1,
      note: async () => `tfjs-core ${tf.version_core}, backend wasm, ${multi && simd ? 'threaded SIMD' : simd ? 'SIMD (no threads)' : 'plain'} binary, `
        + `${wasm.getThreadsCount()} thread(s)${cores < 4 ? ` (navigator.hardwareConcurrency ${cores} shown to tfjs as 4: its pool is capped at half of it)` : ''}; ${relaxed}`,
    };
  }
  const tf = await import('@tensorflow/tfjs-core');
  return { threads: 1, note: async () => `tfjs-core ${tf.version_core}, backend cpu (plain JavaScript)` };
}

let PAGE_TASK: PageTask | undefined;

/**
 * The first call (verified), then, unless verifying only, the timed calls. `settle` runs after the
 * first call: convkit's pool, started by that call, finishes loading before the timed calls block.
 */
async function measure(task: PageTask, id: string, call: () => unknown, awaitEach: boolean,
  output: (first: unknown) => Float32Array, ref: ArrayLike<number>, settle: () => Promise<void>): Promise<PageMessage> {
  const t0 = performance.now();
  const r = call();
  const first = awaitEach ? await r : r;
  const firstMs = performance.now() - t0;
  await settle();
  const v = verify(output(first), ref);
  const status = v.ok ? 'ok' as const : 'mismatch' as const;
  const relErr = Number.isNaN(v.relErr) ? null : v.relErr;
  const base = { type: 'result' as const, lib: task.lib, id, status, relErr, note: v.note };
  if (task.mode === 'verify') return { ...base, ms: null, runs: 0 };
  const { ms, runs } = await timeCalls(task.mode === 'quick' ? quickPolicy : fullPolicy, call, awaitEach, firstMs);
  return { ...base, ms, runs };
}

async function layers(task: PageTask, convkitThreads: number): Promise<void> {
  const { loadLibrary } = await import('./peers.js');
  const lib = await loadLibrary(task.lib);
  for (const wl of task.workloads ?? []) {
    const base = { type: 'result' as const, lib: task.lib, id: wl.id, ms: null, runs: 0, relErr: null };
    let p: Prepared | undefined;
    try {
      const prep = await lib.prepare(wl, operands(wl));
      if ('unavailable' in prep) { post({ ...base, status: 'n/a', note: prep.unavailable }); continue; }
      p = prep;
      const ref = new Float64Array(await fetchBytes(task.refs[wl.id]));
      post(await measure(task, wl.id, () => prep.call(), prep.async, (y) => prep.channelsFirst(y), ref, () => startConvkitPool(convkitThreads)));
    } catch (e) {
      post({ ...base, status: 'error', note: String((e as Error)?.message ?? e).split('\n')[0] });
    } finally {
      p?.dispose();
    }
  }
}

async function models(task: PageTask, convkitThreads: number): Promise<void> {
  const ck = await import('../src/index.js');
  for (const id of task.models ?? []) {
    const base = { type: 'result' as const, lib: task.lib, id, ms: null, runs: 0, relErr: null };
    let dispose = (): void => undefined;
    try {
      const ref = new Float32Array(await fetchBytes(task.refs[id]));
      let call: () => unknown, awaitEach: boolean, profiled: (() => string) | null = null;
      if (task.lib.startsWith('convkit-')) {
        const { modelCase } = await import('./models.js');
        const c = await modelCase(id);
        ck.setNumThreads(convkitThreads);
        call = () => ck.noGrad(() => c.module.forward(c.input).data as Float32Array);
        awaitEach = false;
        if (task.profile) profiled = () => String(ck.profile(() => ck.noGrad(() => c.module.forward(c.input)), { module: c.module }).profile);
      } else {
        const ort = await import('onnxruntime-web');
        ort.env.wasm.numThreads = threadsOf(task.lib);
        ort.env.wasm.simd = true;
        const data = task.modelData![id];
        const session = await ort.InferenceSession.create(new Uint8Array(await fetchBytes(data.onnx)), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
        const x = new ort.Tensor('float32', new Float32Array(await fetchBytes(data.input)), [...data.shape]);
        call = async () => (await session.run({ X: x })).Y.data as Float32Array;
        awaitEach = true;
        dispose = () => { void session.release(); };
      }
      post(await measure(task, id, call, awaitEach, (y) => y as Float32Array, ref, () => startConvkitPool(convkitThreads)));
      if (profiled) post({ type: 'profile', lib: task.lib, id, text: profiled() });
    } catch (e) {
      post({ ...base, status: 'error', note: String((e as Error)?.message ?? e).split('\n')[0] });
    } finally {
      dispose();
    }
  }
}

async function run(task: PageTask): Promise<void> {
  PAGE_TASK = task;
  try {
    const isolated = (globalThis as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    const { threads, note } = await setUp(task.lib);
    post({ type: 'ready', lib: task.lib, note: '', threads, isolated });
    const convkitThreads = task.lib.startsWith('convkit-') ? threads : 0;
    await (task.models ? models(task, convkitThreads) : layers(task, convkitThreads));
    post({ type: 'done', lib: task.lib, note: await note() });
  } catch (e) {
    post({ type: 'fatal', lib: task.lib, message: String((e as Error)?.message ?? e).split('\n')[0] });
  }
}

(globalThis as unknown as { onmessage: (e: MessageEvent<PageTask>) => void }).onmessage = (e) => { void run(e.data); };

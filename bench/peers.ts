/**
 * One adapter per benchmarked library. `prepare` builds everything a call needs (weights in the
 * library's layout, sessions, input tensors) outside the timed region; `call` is what is timed;
 * `channelsFirst` turns the library's output back into (N, C, *spatial) for verification only.
 * A library that cannot run a workload as the same op says why and is reported as n/a.
 */
import { isTransposed, outSize, xShape, wShape, type Operands, type Workload } from './workloads.js';
import { onnxModel } from './onnx-model.js';

export interface Prepared {
  /** One timed call; its result is the library's output (possibly a promise of it). */
  call(): unknown;
  /** Whether `call` returns a promise that must be awaited. */
  readonly async: boolean;
  /** The (possibly awaited) result of `call` as a channels-first float32 array. */
  channelsFirst(result: unknown): Float32Array;
  dispose(): void;
}

export type Preparation = Prepared | { readonly unavailable: string };

export interface Library {
  readonly id: string;
  readonly threads: number;
  prepare(wl: Workload, data: Operands): Promise<Preparation>;
  /** A note for the table (versions, threads actually in use). */
  describe(): string;
}

/** The library ids the harness knows, in table order. */
export const libraryIds = [
  'convkit-1t', 'convkit-2t', 'tfjs-cpu', 'tfjs-wasm', 'ort-web-1t', 'ort-web-2t', 'ort-node-1t', 'ort-node-2t',
] as const;
export type LibraryId = (typeof libraryIds)[number];

/** (N, …spatial, C) → (N, C, …spatial). */
function toChannelsFirst(y: ArrayLike<number>, n: number, c: number, vol: number): Float32Array {
  const out = new Float32Array(n * c * vol);
  for (let b = 0; b < n; b++)
    for (let s = 0; s < vol; s++) {
      const src = (b * vol + s) * c;
      for (let ch = 0; ch < c; ch++) out[(b * c + ch) * vol + s] = y[src + ch];
    }
  return out;
}

const prod = (a: readonly number[]): number => a.reduce((p, v) => p * v, 1);

// ---------------------------------------------------------------- convkit (public API only)

async function convkit(threads: number): Promise<Library> {
  const ck = await import('../src/index.js');
  const setNumThreads = (ck as Record<string, unknown>).setNumThreads as ((n: number) => unknown) | undefined;
  if (threads > 1 && typeof setNumThreads !== 'function')
    throw new Error(`convkit-${threads}t: setNumThreads is not exported by convkit`);
  if (typeof setNumThreads === 'function') await setNumThreads(threads);
  return {
    id: `convkit-${threads}t`,
    threads,
    describe: () => `backend ${ck.getBackend()} of [${ck.backends().join(', ')}], ${typeof setNumThreads === 'function' ? `setNumThreads(${threads})` : 'no setNumThreads'}`,
    async prepare(wl, data) {
      const x = ck.tensor(data.x, xShape(wl)), w = ck.tensor(data.w, wShape(wl)), b = ck.tensor(data.b, [wl.cOut]);
      const common = { stride: wl.stride, padding: wl.padding, dilation: wl.dilation, groups: wl.groups };
      const fns = {
        conv1d: () => ck.conv1d(x, w, b, common),
        conv2d: () => ck.conv2d(x, w, b, common),
        convTranspose1d: () => ck.convTranspose1d(x, w, b, { ...common, outputPadding: wl.outputPadding }),
        convTranspose2d: () => ck.convTranspose2d(x, w, b, { ...common, outputPadding: wl.outputPadding }),
      };
      const f = fns[wl.op];
      return {
        async: false,
        call: () => ck.noGrad(f),
        channelsFirst: (y) => Float32Array.from((y as InstanceType<typeof ck.Tensor>).data),
        dispose: () => undefined,
      };
    },
  };
}

// ---------------------------------------------------------------- TensorFlow.js (cpu, wasm)

async function tfjs(backend: 'cpu' | 'wasm'): Promise<Library> {
  const tf = await import('@tensorflow/tfjs-core');
  if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs-${backend}: backend failed to initialise`);
  await tf.ready();
  type T4 = import('@tensorflow/tfjs-core').Tensor4D;
  return {
    id: `tfjs-${backend}`,
    threads: 1,
    describe: () => `tfjs-core ${tf.version_core}, backend ${tf.getBackend()}`,
    async prepare(wl, data) {
      const rank = wl.inSize.length, transposed = isTransposed(wl);
      if (transposed && wl.groups > 1) return { unavailable: 'no groups for conv2dTranspose' };
      if (transposed && wl.dilation.some((d) => d > 1)) return { unavailable: 'no dilation for conv2dTranspose' };
      const depthwise = !transposed && wl.groups > 1 && wl.groups === wl.cIn;
      if (!transposed && wl.groups > 1 && !depthwise) return { unavailable: 'no grouped conv2d' };
      if (!transposed && wl.stride.some((s) => s > 1) && wl.dilation.some((d) => d > 1))
        return { unavailable: 'dilation with stride > 1' };
      // 1-D runs as 2-D with height 1; layout NHWC; weights (kH, kW, …).
      const hw = rank === 1 ? [1, wl.inSize[0]] : [...wl.inSize];
      const kHW = rank === 1 ? [1, wl.kSize[0]] : [...wl.kSize];
      const two = (v: readonly number[]): [number, number] => (rank === 1 ? [1, v[0]] : [v[0], v[1]]);
      const pads: [[number, number], [number, number], [number, number], [number, number]] = rank === 1
        ? [[0, 0], [0, 0], [wl.padding[0], wl.padding[0]], [0, 0]]
        : [[0, 0], [wl.padding[0], wl.padding[0]], [wl.padding[1], wl.padding[1]], [0, 0]];
      const nchw = tf.tensor(data.x, [wl.n, wl.cIn, ...hw]);
      const x = tf.transpose(nchw, [0, 2, 3, 1]) as T4;
      nchw.dispose();
      const ws = wShape(wl);
      const w4 = tf.tensor(data.w, [ws[0], ws[1], ...kHW]);
      // conv (cOut, cIn/g, kH, kW) → (kH, kW, cIn, cOut); transposed (cIn, cOut, kH, kW) → (kH, kW, cOut, cIn);
      // depthwise (cIn·m, 1, kH, kW) → (kH, kW, cIn, m).
      const filter = (depthwise
        ? tf.reshape(tf.transpose(w4, [2, 3, 1, 0]), [kHW[0], kHW[1], wl.cIn, wl.cOut / wl.cIn])
        : tf.transpose(w4, [2, 3, 1, 0])) as T4;
      w4.dispose();
      const bias = tf.tensor1d(data.b);
      const oSize = outSize(wl), oHW = rank === 1 ? [1, oSize[0]] : oSize;
      let run: () => T4;
      if (transposed) {
        const outShape: [number, number, number, number] = [wl.n, oHW[0], oHW[1], wl.cOut];
        run = () => tf.tidy(() => tf.add(tf.conv2dTranspose(x, filter, outShape, two(wl.stride), pads), bias) as T4);
      } else if (depthwise) {
        // fused.depthwiseConv2d takes no explicit padding; the unfused op plus a bias add is the same op.
        run = () => tf.tidy(() => tf.add(tf.depthwiseConv2d(x, filter, two(wl.stride), pads, 'NHWC', two(wl.dilation)), bias) as T4);
      } else {
        run = () => tf.fused.conv2d({ x, filter, strides: two(wl.stride), pad: pads, dilations: two(wl.dilation), bias }) as T4;
      }
      return {
        async: false,
        call: () => {
          const y = run();
          const v = y.dataSync() as Float32Array;   // include the read-back: convkit returns its data too
          y.dispose();
          return v;
        },
        channelsFirst: (v) => toChannelsFirst(v as Float32Array, wl.n, wl.cOut, prod(oSize)),
        dispose: () => { x.dispose(); filter.dispose(); bias.dispose(); },
      };
    },
  };
}

// ---------------------------------------------------------------- ONNX Runtime (web = wasm, node = native)

type Ort = typeof import('onnxruntime-common');

async function ort(kind: 'web' | 'node', threads: number): Promise<Library> {
  const mod = (kind === 'web' ? await import('onnxruntime-web') : await import('onnxruntime-node')) as unknown as Ort;
  if (kind === 'web') {
    mod.env.wasm.numThreads = threads;
    mod.env.wasm.simd = true;
  }
  const sessionOptions = kind === 'web'
    ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' as const }
    : { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' as const, graphOptimizationLevel: 'all' as const };
  return {
    id: `ort-${kind}-${threads}t`,
    threads,
    describe: () => `onnxruntime-${kind} ${mod.env.versions?.common ?? ''}, ${threads} thread(s)`,
    async prepare(wl, data) {
      const session = await mod.InferenceSession.create(onnxModel(wl, data.w, data.b), sessionOptions);
      const x = new mod.Tensor('float32', data.x, xShape(wl));
      return {
        async: true,
        call: async () => {
          const out = await session.run({ X: x });
          return out.Y.data as Float32Array;
        },
        channelsFirst: (v) => v as Float32Array,
        dispose: () => { void session.release(); },
      };
    },
  };
}

const loaders: Record<LibraryId, () => Promise<Library>> = {
  'convkit-1t': () => convkit(1),
  'convkit-2t': () => convkit(2),
  'tfjs-cpu': () => tfjs('cpu'),
  'tfjs-wasm': () => tfjs('wasm'),
  'ort-web-1t': () => ort('web', 1),
  'ort-web-2t': () => ort('web', 2),
  'ort-node-1t': () => ort('node', 1),
  'ort-node-2t': () => ort('node', 2),
};

/** Loads a library in this process (each benchmark child loads exactly one). */
export function loadLibrary(id: string): Promise<Library> {
  if (!(libraryIds as readonly string[]).includes(id))
    throw new Error(`bench: library must be one of ${libraryIds.join(', ')}; got ${id}`);
  return loaders[id as LibraryId]();
}

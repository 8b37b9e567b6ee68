/**
 * The page of `npm run bench -- --webgpu`'s peer columns (bench/webgpu-peers.ts builds and serves
 * it): onnxruntime-web's WebGPU execution provider and tfjs-webgpu on the layer workloads (the same
 * operands as every library, bench/workloads.ts) and ORT-web on a model given as ONNX bytes. Each
 * call is timed by wall clock including the readback of the output, and by GPU timestamp queries
 * (gpu-timer.ts) where the adapter has 'timestamp-query'. Published on `window.bench`.
 */
import * as ort from 'onnxruntime-web/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { onnxModel } from '../onnx-model.js';
import { isTransposed, operands, outSize, selectWorkloads, wShape, xShape, type Workload } from '../workloads.js';
import { installGpuTimer, type GpuTimer } from './gpu-timer.js';

/** One peer's result on one workload: timings (ms) and the output (channels-first, base64 float32), or why it cannot run. */
export type PeerResult = { ms: number; gpuMs: number | null; y: string; note: string } | { unavailable: string };

const timer: GpuTimer = installGpuTimer();
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const reason = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);

function b64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function unb64(s: string): Uint8Array {
  const bin = atob(s), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A warm-up call, then `runs` timed calls: the medians of wall clock and of GPU time. */
async function time(runs: number, f: () => Promise<Float32Array>): Promise<{ ms: number; gpuMs: number | null; y: Float32Array }> {
  let y = await f();
  const wall: number[] = [], gpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    timer.start();
    const t0 = performance.now();
    y = await f();
    wall.push(performance.now() - t0);
    const ns = await timer.stop();
    if (ns !== null) gpu.push(ns / 1e6);
  }
  return { ms: median(wall), gpuMs: gpu.length === runs ? median(gpu) : null, y };
}

ort.env.wasm.numThreads = 1; // no cross-origin isolation here: ORT's wasm part runs single-threaded
ort.env.wasm.wasmPaths = new URL('./', location.href).href;

async function ortSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' });
}

async function ortRun(session: ort.InferenceSession, x: Float32Array, shape: readonly number[], runs: number): Promise<PeerResult> {
  const input = new ort.Tensor('float32', x, [...shape]);
  const r = await time(runs, async () => (await session.run({ X: input })).Y.getData(true) as Promise<Float32Array>);
  return { ms: r.ms, gpuMs: r.gpuMs, y: b64(r.y), note: `onnxruntime-web ${ort.env.versions?.web ?? ''} WebGPU EP` };
}

async function ortLayer(id: string, runs: number): Promise<PeerResult> {
  const wl = selectWorkloads([id])[0];
  const d = operands(wl);
  try {
    const session = await ortSession(onnxModel(wl, d.w, d.b));
    try {
      return await ortRun(session, d.x, xShape(wl), runs);
    } finally {
      await session.release();
    }
  } catch (e) {
    return { unavailable: `fails: ${reason(e)}` };
  }
}

async function ortModel(model: string, x: string, shape: readonly number[], runs: number): Promise<PeerResult> {
  try {
    const session = await ortSession(unb64(model));
    try {
      const u = unb64(x);
      return await ortRun(session, new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4), shape, runs);
    } finally {
      await session.release();
    }
  } catch (e) {
    return { unavailable: `fails: ${reason(e)}` };
  }
}

/** Why tfjs has no form of this workload (its conv ops and their options), or null. */
function tfjsGap(wl: Workload): string | null {
  const transposed = isTransposed(wl);
  if (transposed && wl.groups > 1) return 'tfjs has no groups for conv2dTranspose';
  if (transposed && wl.dilation.some((v) => v > 1)) return 'tfjs has no dilation for conv2dTranspose';
  const depthwise = !transposed && wl.groups > 1 && wl.groups === wl.cIn;
  if (!transposed && wl.groups > 1 && !depthwise) return 'tfjs has no grouped conv2d';
  if (wl.stride.some((s) => s > 1) && wl.dilation.some((v) => v > 1)) return 'tfjs refuses dilation with stride > 1';
  return null;
}

async function tfjsLayer(id: string, runs: number): Promise<PeerResult> {
  const wl = selectWorkloads([id])[0];
  const gap = tfjsGap(wl);
  if (gap) return { unavailable: gap };
  const d = operands(wl);
  const rank = wl.inSize.length, transposed = isTransposed(wl), depthwise = !transposed && wl.groups > 1;
  // 1-D runs as 2-D with height 1 (tfjs has no conv1dTranspose); layout NHWC; filters (kH, kW, …).
  const two = (v: readonly number[]): [number, number] => (rank === 1 ? [1, v[0]] : [v[0], v[1]]);
  const hw = two(wl.inSize), kHW = two(wl.kSize), pad = rank === 1 ? [0, wl.padding[0]] : wl.padding;
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad[0], pad[0]], [pad[1], pad[1]], [0, 0]];
  const x = tf.tidy(() => tf.transpose(tf.tensor(d.x, [wl.n, wl.cIn, ...hw]), [0, 2, 3, 1])) as tf.Tensor4D;
  const ws = wShape(wl);
  // conv (cOut, cIn/g, kH, kW) → (kH, kW, cIn, cOut); transposed (cIn, cOut, kH, kW) → (kH, kW, cOut, cIn); depthwise → (kH, kW, cIn, m).
  const filter = tf.tidy(() => {
    const w4 = tf.transpose(tf.tensor(d.w, [ws[0], ws[1], ...kHW]), [2, 3, 1, 0]);
    return depthwise ? tf.reshape(w4, [kHW[0], kHW[1], wl.cIn, wl.cOut / wl.cIn]) : w4;
  }) as tf.Tensor4D;
  const bias = tf.tensor1d(d.b);
  const o = two(outSize(wl));
  const run = (): tf.Tensor4D => tf.tidy(() => (transposed
    ? tf.add(tf.conv2dTranspose(x, filter, [wl.n, o[0], o[1], wl.cOut], two(wl.stride), pads), bias)
    : depthwise ? tf.add(tf.depthwiseConv2d(x, filter, two(wl.stride), pads, 'NHWC', two(wl.dilation)), bias)
      : tf.fused.conv2d({ x, filter, strides: two(wl.stride), pad: pads, dilations: two(wl.dilation), bias })) as tf.Tensor4D);
  try {
    const r = await time(runs, async () => {
      const y = run();
      // Back to channels-first for the comparison (on the GPU, inside the timed call like every peer's readback).
      const nchw = tf.transpose(y, [0, 3, 1, 2]);
      const v = (await nchw.data()) as Float32Array;
      y.dispose();
      nchw.dispose();
      return v;
    });
    return { ms: r.ms, gpuMs: r.gpuMs, y: b64(r.y), note: `tfjs ${tf.version_core} webgpu backend${rank === 1 ? ' (1-D as 2-D with height 1)' : ''}` };
  } catch (e) {
    return { unavailable: `fails: ${reason(e)}` };
  } finally {
    x.dispose();
    filter.dispose();
    bias.dispose();
  }
}

/** The adapter (and whether it offers timestamps); tfjs-webgpu started. */
async function start(): Promise<{ adapter: string; timestampQuery: boolean; tfjs: string | null }> {
  const a = await navigator.gpu?.requestAdapter();
  if (!a) throw new Error('no WebGPU adapter in this page (navigator.gpu.requestAdapter() returned null)');
  const i = a.info;
  let tfjs: string | null = null;
  try {
    if (!(await tf.setBackend('webgpu'))) tfjs = "tf.setBackend('webgpu') returned false";
    await tf.ready();
  } catch (e) {
    tfjs = reason(e);
  }
  return { adapter: [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' '), timestampQuery: a.features.has('timestamp-query'), tfjs };
}

(window as unknown as { bench: unknown }).bench = { start, ortLayer, ortModel, tfjsLayer };

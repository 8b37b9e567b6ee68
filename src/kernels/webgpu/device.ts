/// <reference types="@webgpu/types" />
/**
 * The WebGPU device convkit runs on: initialisation (bounded waits), buffers, readback, the
 * pipeline cache and the dispatch queue. Commands are recorded into one encoder and submitted
 * when a value is read (or every few hundred passes), so enqueueing stays synchronous.
 */
import { ConvError, fmt } from '../../spec/errors.js';

/** Options of `initWebGPU`. */
export interface InitWebGPUOptions {
  /** A `GPU` object (`navigator.gpu` by default; in Node `create([])` of the npm package `webgpu`). */
  gpu?: GPU;
  /** A device the caller already holds (takes precedence over `gpu`). */
  device?: GPUDevice;
  /** Passed to `requestAdapter` (e.g. `{ powerPreference: 'high-performance' }`). */
  adapterOptions?: GPURequestAdapterOptions;
  /** How long the adapter and device requests may take, in milliseconds (default 15000). */
  timeoutMs?: number;
}

/** What `webgpuInfo()` reports about the device in use. */
export interface WebGPUInfo {
  /** Adapter description ('swiftshader', a GPU name, or '' when the device was given without one). */
  readonly adapter: string;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly timestampQuery: boolean;
}

interface State {
  readonly device: GPUDevice;
  /** The GPU object and adapter the device came from, kept alive with it (Dawn frees the instance when they are collected). */
  readonly keep: readonly unknown[];
  readonly info: WebGPUInfo;
  lost: string | null;
  error: string | null;
  encoder: GPUCommandEncoder | null;
  passes: number;
  /** Uniform buffers of the recorded passes, destroyed once submitted. */
  transient: GPUBuffer[];
  /** An open GPU-time measurement (startGpuTiming), or null. */
  timing: Timing | null;
}

/** Timestamp pairs of the passes recorded since the last submit, and the sums of the submitted ones. */
interface Timing {
  set: GPUQuerySet | null;
  used: number;
  readonly pending: Promise<number>[];
}

let state: State | null = null;
const pipelines = new Map<string, GPUComputePipeline>();

/** Bounded wait: `p`, or a ConvError naming `what` after `ms`. */
function within<T>(p: Promise<T>, ms: number, op: string, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConvError(op, what, `did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Starts the WebGPU backend: `await initWebGPU()` uses `navigator.gpu`, `{ gpu }` a GPU object,
 * `{ device }` a device of the caller's. Throws a ConvError saying why when there is no WebGPU,
 * no adapter, or the device request fails or takes longer than `timeoutMs`.
 * @example import { create, globals } from 'webgpu'; Object.assign(globalThis, globals);
 *          await initWebGPU({ gpu: create([]) });
 */
export async function openWebGPU(opts: InitWebGPUOptions = {}): Promise<WebGPUInfo> {
  if (opts === null || typeof opts !== 'object') throw new ConvError('initWebGPU', 'options', `must be an object; got ${fmt(opts)}`);
  const ms = opts.timeoutMs ?? 15000;
  if (typeof ms !== 'number' || !(ms > 0)) throw new ConvError('initWebGPU', 'timeoutMs', `must be a positive number; got ${fmt(ms)}`);
  let device = opts.device;
  let adapterName = '';
  const keep: unknown[] = [];
  if (!device) {
    const gpu = opts.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu || typeof gpu.requestAdapter !== 'function')
      throw new ConvError('initWebGPU', 'gpu', `is not available: this runtime has no navigator.gpu; pass { gpu } (in Node: create([]) from the 'webgpu' package) or { device }; got ${fmt(typeof gpu)}`);
    let adapter: GPUAdapter | null;
    try {
      adapter = await within(gpu.requestAdapter(opts.adapterOptions), ms, 'initWebGPU', 'adapter request');
    } catch (e) {
      if (e instanceof ConvError) throw e;
      throw new ConvError('initWebGPU', 'adapter', `request failed: ${reason(e)}`);
    }
    keep.push(gpu, adapter);
    if (!adapter)
      throw new ConvError('initWebGPU', 'adapter', 'was not found: requestAdapter() returned null (no WebGPU driver; in Node set VK_ICD_FILENAMES to a Vulkan driver such as SwiftShader)');
    const a = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    adapterName = a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') : '';
    const want = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension'] as const;
    const requiredLimits: Record<string, number> = {};
    for (const k of want) requiredLimits[k] = adapter.limits[k];
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    try {
      device = await within(adapter.requestDevice({ requiredLimits, requiredFeatures }), ms, 'initWebGPU', 'device request');
    } catch (e) {
      if (e instanceof ConvError) throw e;
      throw new ConvError('initWebGPU', 'device', `request failed: ${reason(e)}`);
    }
  }
  if (!device || typeof device.createBuffer !== 'function') throw new ConvError('initWebGPU', 'device', `must be a GPUDevice; got ${fmt(typeof device)}`);
  const l = device.limits;
  const info: WebGPUInfo = {
    adapter: adapterName,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    timestampQuery: device.features.has('timestamp-query'),
  };
  const s: State = { device, keep, info, lost: null, error: null, encoder: null, passes: 0, transient: [], timing: null };
  device.lost.then((i) => { s.lost = `${i.reason}: ${i.message}`; });
  device.addEventListener('uncapturederror', (ev) => {
    s.error ??= (ev as GPUUncapturedErrorEvent).error.message;
  });
  pipelines.clear();
  state = s;
  return info;
}

/** Whether `initWebGPU` succeeded and the device has not been lost. */
export function webgpuAvailable(): boolean {
  return state !== null && state.lost === null;
}

/** The adapter and limits in use (null before `initWebGPU`). */
export function webgpuInfo(): WebGPUInfo | null {
  return state?.info ?? null;
}

/** The live state, or a ConvError saying why there is none. */
export function gpu(op: string): State {
  if (!state) throw new ConvError(op, 'device', "'webgpu' is not initialised: call `await initWebGPU()` first");
  if (state.lost !== null) throw new ConvError(op, 'device', `'webgpu' was lost (${state.lost}); call \`await initWebGPU()\` again`);
  if (state.error !== null) {
    const e = state.error;
    state.error = null;
    throw new ConvError(op, 'device', `reported an error on earlier GPU work: ${e}`);
  }
  return state;
}

/** A float32 buffer on the GPU; the storage of a 'webgpu' tensor (autograd's DeviceStorage). */
export class GpuStorage {
  readonly device = 'webgpu' as const;
  constructor(readonly buffer: GPUBuffer, readonly length: number, private readonly owner: State) {}

  read(): Promise<Float32Array> {
    return readBuffer(this.owner, this.buffer, this.length);
  }

  /**
   * Overwrites this buffer with `src`'s values by a copy on the GPU (ordered after the work recorded
   * so far; no readback). Both must belong to the current device and have the same length; the
   * same buffer is left as it is.
   */
  copyFrom(op: string, src: GpuStorage): void {
    const s = gpu(op);
    if (src.owner !== s || this.owner !== s)
      throw new ConvError(op, 'tensor', 'belongs to a WebGPU device that has been replaced by a later initWebGPU()');
    if (src.length !== this.length) throw new ConvError(op, 'tensor', `must have ${this.length} elements to be copied; got ${src.length}`);
    if (src.buffer === this.buffer) return;
    copyStorage(src, this, this.length);
  }
}

const USAGE_STORAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST

/** Checks a buffer of `n` float32 elements against the device's limits. */
export function checkElements(op: string, what: string, n: number): void {
  const s = gpu(op);
  const bytes = n * 4;
  const limit = Math.min(s.info.maxStorageBufferBindingSize, s.info.maxBufferSize);
  if (bytes > limit)
    throw new ConvError(op, what, `needs a GPU buffer of ${bytes} bytes (${n} float32), more than this device's limit of ${limit} bytes (maxStorageBufferBindingSize/maxBufferSize)`);
}

/** A fresh storage buffer of `n` float32 (contents undefined until written; WebGPU zero-fills). */
export function allocStorage(op: string, n: number): GpuStorage {
  checkElements(op, 'output', n);
  const s = gpu(op);
  const buffer = s.device.createBuffer({ size: Math.max(16, Math.ceil((n * 4) / 16) * 16), usage: USAGE_STORAGE });
  return new GpuStorage(buffer, n, s);
}

/** Uploads a typed array (converted to float32). */
export function uploadArray(op: string, values: ArrayLike<number>): GpuStorage {
  const st = allocStorage(op, values.length);
  writeArray(st, values);
  return st;
}

function writeArray(st: GpuStorage, values: ArrayLike<number>): void {
  if (values.length === 0) return;
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  const s = gpu('write');
  flush(s); // writes are ordered after the work recorded so far
  s.device.queue.writeBuffer(st.buffer, 0, f.buffer, f.byteOffset, f.byteLength);
}

/** Passes per command buffer: the encoder is submitted after this many (so one query set of 2·PASSES timestamps covers it). */
const PASSES = 256;

/** Submits the recorded passes. */
export function flush(s: State = gpu('flush')): void {
  if (!s.encoder) return;
  const read = s.timing ? resolveTimestamps(s, s.timing, s.encoder) : null;
  s.device.queue.submit([s.encoder.finish()]);
  if (read) s.timing!.pending.push(read());
  for (const b of s.transient) b.destroy();
  s.transient = [];
  s.encoder = null;
  s.passes = 0;
}

/** How long one readback may take before it is a ConvError (milliseconds). */
let readTimeoutMs = 120000;
/** Sets the readback bound (default 120 s: SwiftShader runs compute shaders on the CPU). */
export function setReadTimeout(ms: number): void {
  if (typeof ms !== 'number' || !(ms > 0)) throw new ConvError('setReadTimeout', 'ms', `must be a positive number; got ${fmt(ms)}`);
  readTimeoutMs = ms;
}

async function readBuffer(owner: State, buffer: GPUBuffer, n: number): Promise<Float32Array> {
  const s = gpu('cpu');
  if (s !== owner) throw new ConvError('cpu', 'tensor', 'belongs to a WebGPU device that has been replaced by a later initWebGPU()');
  const out = new Float32Array(n);
  if (n === 0) return out;
  const staging = s.device.createBuffer({ size: Math.ceil((n * 4) / 4) * 4, usage: 0x01 | 0x08 }); // MAP_READ | COPY_DST
  const enc = encoder(s);
  enc.copyBufferToBuffer(buffer, 0, staging, 0, n * 4);
  flush(s);
  const lost = s.device.lost.then((i) => { throw new ConvError('cpu', 'device', `was lost while reading (${i.reason}: ${i.message})`); });
  try {
    await within(Promise.race([staging.mapAsync(0x01), lost]), readTimeoutMs, 'cpu', 'GPU readback');
  } catch (e) {
    staging.destroy();
    if (e instanceof ConvError) throw e;
    throw new ConvError('cpu', 'readback', `failed: ${reason(e)}`);
  }
  out.set(new Float32Array(staging.getMappedRange(0, n * 4)));
  staging.unmap();
  staging.destroy();
  if (s.error !== null) gpu('cpu'); // throws the recorded error
  return out;
}

function encoder(s: State): GPUCommandEncoder {
  return (s.encoder ??= s.device.createCommandEncoder());
}

/** Copies `n` elements between storage buffers. */
export function copyStorage(src: GpuStorage, dst: GpuStorage, n: number, srcOffset = 0, dstOffset = 0): void {
  if (n === 0) return;
  encoder(gpu('copy')).copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, n * 4);
}

/** The cached pipeline for `key`, compiled from `code()` once. */
function pipeline(s: State, key: string, code: () => string): GPUComputePipeline {
  let p = pipelines.get(key);
  if (!p) {
    const module = s.device.createShaderModule({ code: code() });
    p = s.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    pipelines.set(key, p);
  }
  return p;
}

/** Number of pipelines compiled so far (steady state: no new ones per call). */
export function pipelineCount(): number {
  return pipelines.size;
}

/**
 * Records one compute pass: `uniforms` (32-bit words) at binding 0, the storage buffers at 1…,
 * `groups` workgroups. Workgroup counts must already respect the device's limit.
 */
export function dispatch(op: string, key: string, code: () => string, uniforms: Int32Array | Uint32Array | Float32Array | ArrayBuffer,
  buffers: readonly GPUBuffer[], groups: readonly [number, number, number]): void {
  const s = gpu(op);
  const max = s.info.maxComputeWorkgroupsPerDimension;
  if (groups.some((g) => !Number.isInteger(g) || g < 0 || g > max))
    throw new ConvError(op, 'dispatch', `needs workgroups ${fmt(groups)}, more than this device's maxComputeWorkgroupsPerDimension ${max}`);
  if (groups.some((g) => g === 0)) return;
  const p = pipeline(s, key, code);
  const raw = uniforms instanceof ArrayBuffer ? new Uint8Array(uniforms) : new Uint8Array(uniforms.buffer, uniforms.byteOffset, uniforms.byteLength);
  const u = s.device.createBuffer({ size: Math.max(16, Math.ceil(raw.byteLength / 16) * 16), usage: 0x40 | 0x08, mappedAtCreation: true }); // UNIFORM | COPY_DST
  new Uint8Array(u.getMappedRange()).set(raw);
  u.unmap();
  s.transient.push(u);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: u } }];
  buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b } }));
  const bind = s.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  const t = s.timing;
  if (t) t.set ??= s.device.createQuerySet({ type: 'timestamp', count: 2 * PASSES });
  const pass = encoder(s).beginComputePass(t ? { timestampWrites: { querySet: t.set!, beginningOfPassWriteIndex: 2 * t.used, endOfPassWriteIndex: 2 * t.used++ + 1 } } : undefined);
  pass.setPipeline(p);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
  pass.end();
  if (++s.passes >= PASSES) flush(s);
}

/** Resolves the pass timestamps recorded into `enc`; the returned function (called after submit) maps them and sums end − begin in ns. */
function resolveTimestamps(s: State, t: Timing, enc: GPUCommandEncoder): (() => Promise<number>) | null {
  const set = t.set, n = t.used;
  t.set = null;
  t.used = 0;
  if (!set || n === 0) return null;
  const resolve = s.device.createBuffer({ size: 16 * n, usage: 0x200 | 0x04 }); // QUERY_RESOLVE | COPY_SRC
  const read = s.device.createBuffer({ size: 16 * n, usage: 0x01 | 0x08 }); // MAP_READ | COPY_DST
  enc.resolveQuerySet(set, 0, 2 * n, resolve, 0);
  enc.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
  return async () => {
    try {
      await within(read.mapAsync(0x01), readTimeoutMs, 'gpuTiming', 'timestamp readback');
      const ts = new BigUint64Array(read.getMappedRange());
      let ns = 0;
      for (let k = 0; k < n; k++) if (ts[2 * k + 1] > ts[2 * k]) ns += Number(ts[2 * k + 1] - ts[2 * k]);
      return ns;
    } finally {
      read.destroy();
      resolve.destroy();
      set.destroy();
    }
  };
}

/**
 * Starts measuring the GPU time of the passes recorded from now on with timestamp queries; false
 * (and nothing measured) when the device has no 'timestamp-query'. For benchmarks.
 */
export function startGpuTiming(): boolean {
  const s = gpu('gpuTiming');
  if (!s.info.timestampQuery) return false;
  flush(s); // earlier passes are not part of the measurement
  s.timing = { set: null, used: 0, pending: [] };
  return true;
}

/** Ends the measurement: the time the GPU spent in the measured compute passes (ns, gaps between passes excluded). */
export async function stopGpuTiming(): Promise<number> {
  const s = gpu('gpuTiming');
  const t = s.timing;
  if (!t) throw new ConvError('gpuTiming', 'measurement', 'was not started: call startGpuTiming() first (on a device with timestamp-query)');
  flush(s);
  s.timing = null;
  return (await Promise.all(t.pending)).reduce((a, b) => a + b, 0);
}

/** Largest workgroup count per dimension. */
export function maxGroups(op: string): number {
  return gpu(op).info.maxComputeWorkgroupsPerDimension;
}

/** A copy of a storage buffer on the GPU. */
export function cloneStorage(from: GpuStorage): GpuStorage {
  const st = allocStorage('clone', from.length);
  copyStorage(from, st, from.length);
  return st;
}

/** Overwrites a storage buffer with `values` (ordered after the work recorded so far). */
export function writeStorage(st: GpuStorage, values: ArrayLike<number>): void {
  writeArray(st, values);
}

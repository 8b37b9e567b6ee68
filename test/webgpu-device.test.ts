/**
 * The WebGPU device's life cycle: no WebGPU, no adapter, a request that never answers, a failing
 * device request, limits checked before any dispatch, the pipeline cache in steady state, and a lost
 * device: each a ConvError that says why, never a hang. The real adapter (SwiftShader where there
 * is no GPU) must exist: its absence fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ck from '../src/index.js';
import { ConvError, initWebGPU, webgpuAvailable } from '../src/index.js';
import { pipelineCount, startGpuTiming, stopGpuTiming } from '../src/kernels/webgpu/device.js';
import { SWIFTSHADER_ICD } from './helpers/webgpu.js';

const convError = (param: string, text: RegExp) => (e: unknown) =>
  e instanceof ConvError && e.param === param && text.test(e.message);

test('before initWebGPU: moving a tensor to the GPU says to initialise first', () => {
  assert.equal(webgpuAvailable(), false);
  assert.throws(() => ck.zeros([2]).to('webgpu'), (e: unknown) => e instanceof ConvError && /initWebGPU/.test(e.message));
});

test('no navigator.gpu, no adapter, a hanging or failing request: a ConvError saying why', async () => {
  await assert.rejects(initWebGPU(), convError('gpu', /navigator\.gpu/));
  await assert.rejects(initWebGPU({ gpu: { requestAdapter: async () => null } as unknown as GPU }), convError('adapter', /not found/));
  const never = { requestAdapter: () => new Promise<never>(() => {}) } as unknown as GPU;
  const t0 = Date.now();
  await assert.rejects(initWebGPU({ gpu: never, timeoutMs: 200 }), convError('adapter request', /within 200 ms/));
  assert.ok(Date.now() - t0 < 5000);
  const failing = {
    requestAdapter: async () => ({
      info: { vendor: 'test' }, features: new Set(), limits: { maxStorageBufferBindingSize: 1, maxBufferSize: 1, maxComputeWorkgroupsPerDimension: 1 },
      requestDevice: async () => { throw new Error('out of devices'); },
    }),
  } as unknown as GPU;
  await assert.rejects(initWebGPU({ gpu: failing }), convError('device', /out of devices/));
  await assert.rejects(initWebGPU({ gpu: failing, timeoutMs: -1 }), convError('timeoutMs', /positive/));
  assert.equal(webgpuAvailable(), false);
});

/** Dawn frees its instance when the GPU object is collected: a caller holding only the device keeps it. */
const alive: unknown[] = [];

async function realAdapter(): Promise<GPUAdapter> {
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  assert.ok(adapter, 'a WebGPU adapter must exist (SwiftShader: VK_ICD_FILENAMES)');
  alive.push(gpu, adapter);
  return adapter;
}

test('a device of the caller with default limits: calls beyond them are refused before any dispatch', async () => {
  const adapter = await realAdapter();
  const device = await adapter.requestDevice(); // default limits: 128 MiB per storage binding
  const info = await initWebGPU({ device });
  assert.ok(webgpuAvailable());
  assert.equal(info.maxStorageBufferBindingSize, device.limits.maxStorageBufferBindingSize);
  const before = pipelineCount();
  // The output of 2^25 + 1 float32 exceeds a 128 MiB binding: refused while planning the call.
  const x = ck.ones([1, 1, 2]).to('webgpu'), w = ck.ones([1, 1, 1]).to('webgpu');
  assert.throws(() => ck.convTranspose1d(x, w, null, { stride: 2 ** 25 }), convError('output', /maxStorageBufferBindingSize/));
  // Index arithmetic beyond i32: refused, not wrapped.
  assert.throws(() => ck.conv1d(ck.ones([1, 1, 4]).to('webgpu'), w, null, { stride: 2 ** 30, padding: 2 ** 30 }), convError('geometry', /i32/));
  assert.equal(pipelineCount(), before, 'nothing was compiled or dispatched for the refused calls');
  // Near the limits it computes: a stride and padding of 2^29.
  const y = ck.conv1d(ck.tensor([[[1, 2, 3, 4]]]).to('webgpu'), w, null, { stride: 2 ** 29, padding: 2 ** 29 });
  assert.deepEqual(await y.toArrayAsync(), [[[0, 1, 0]]]); // o·s − p = −2^29, 0, 2^29: only x[0] is read
  const y2 = ck.conv1d(ck.tensor([[[1, 2, 3, 4]]]).to('webgpu'), w, null, { stride: 2 ** 29 - 2, padding: 2 ** 29 - 3 });
  assert.deepEqual(await y2.toArrayAsync(), (await ck.conv1d(ck.tensor([[[1, 2, 3, 4]]]), ck.ones([1, 1, 1]), null, { stride: 2 ** 29 - 2, padding: 2 ** 29 - 3 }).toArrayAsync()));
});

test('steady state: a repeated call compiles no pipeline', async () => {
  const x = ck.randn([2, 3, 20]).to('webgpu'), w = ck.randn([4, 3, 5]).to('webgpu'), b = ck.randn([4]).to('webgpu');
  const run = async () => (await ck.conv1d(x, w, b, { stride: 2, padding: 2 }).cpu()).data;
  const first = await run();
  const n = pipelineCount();
  for (let i = 0; i < 3; i++) assert.deepEqual(await run(), first);
  assert.equal(pipelineCount(), n);
});

test('GPU timing: timestamp queries where the device has them (requested by initWebGPU), none on a device without', async () => {
  const adapter = await realAdapter();
  await initWebGPU({ device: await adapter.requestDevice() }); // the caller's device, without 'timestamp-query'
  assert.equal(startGpuTiming(), false);
  await assert.rejects(stopGpuTiming(), convError('measurement', /startGpuTiming/));
  const { create } = await import('webgpu');
  const gpu = create([]);
  alive.push(gpu);
  const info = await initWebGPU({ gpu });
  assert.equal(info.timestampQuery, adapter.features.has('timestamp-query'), 'requested whenever the adapter offers it');
  assert.ok(info.timestampQuery, 'the adapter here (SwiftShader included) offers timestamp-query');
  assert.equal(startGpuTiming(), true);
  // 300 passes: more than one command buffer (submitted every 256), each with its own query set.
  let t = ck.ones([64]).to('webgpu');
  for (let i = 0; i < 300; i++) t = ck.add(t, 1);
  assert.deepEqual(Array.from((await t.cpu()).data), new Array(64).fill(301));
  const ns = await stopGpuTiming();
  assert.ok(Number.isFinite(ns) && ns > 0, `GPU time of the measured passes: ${ns} ns`);
  await assert.rejects(stopGpuTiming(), convError('measurement', /startGpuTiming/), 'one stop per start');
});

test('a lost device: every later call and a pending read is a ConvError naming the loss', async () => {
  const adapter = await realAdapter();
  const device = await adapter.requestDevice();
  await initWebGPU({ device });
  const t = ck.randn([4, 5]).to('webgpu');
  const pending = ck.relu(t).cpu();
  device.destroy();
  await pending.then(() => {}, (e: unknown) => assert.ok(e instanceof ConvError, String(e))); // done before the loss, or a ConvError
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(webgpuAvailable(), false);
  assert.throws(() => ck.relu(t), convError('device', /lost/));
  assert.throws(() => ck.zeros([2]).to('webgpu'), convError('device', /lost/));
  await assert.rejects(t.cpu(), convError('device', /lost/));
});

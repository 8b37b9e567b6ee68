/**
 * Starts convkit's WebGPU backend for the GPU tests: Dawn (npm `webgpu`) on SwiftShader when no
 * Vulkan driver is configured. No adapter is a failure (the tests must not pass without a GPU).
 */
import assert from 'node:assert/strict';
import { initWebGPU, randn, type Tensor, type WebGPUInfo } from '../../src/index.js';
import { assertClose } from './close.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let started: Promise<WebGPUInfo> | null = null;

/** Initialises WebGPU once per process; rejects (failing the test) when no adapter is found. */
export function startWebGPU(): Promise<WebGPUInfo> {
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  started ??= (async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    return initWebGPU({ gpu: create([]) });
  })();
  return started;
}

/** A GPU tensor's values on the host. */
export const values = async (t: Tensor): Promise<Float32Array> => (await t.cpu()).data as Float32Array;

/**
 * f on CPU copies and on GPU copies of `inputs` agree: the GPU result is a GPU tensor of the same
 * shape and values (within rtol), and so is every input's gradient after backward of one seeded gy.
 */
export async function sameOnGpu(name: string, inputs: Tensor[], f: (...t: Tensor[]) => Tensor, rtol = 1e-5): Promise<void> {
  const cpu = inputs.map((t) => { const c = t.clone(); c.requiresGrad = true; return c; });
  const gpu = inputs.map((t) => { const g = t.to('webgpu'); g.requiresGrad = true; return g; });
  const yc = f(...cpu), yg = f(...gpu);
  assert.equal(yg.device, 'webgpu', name);
  assert.deepEqual(yg.shape, yc.shape, `${name} shape`);
  assertClose(await values(yg), yc.data, rtol, `${name} y`);
  const gy = randn([...yc.shape], { seed: 7 });
  yc.backward(gy);
  yg.backward(gy.to('webgpu'));
  for (let i = 0; i < inputs.length; i++) {
    assert.equal(gpu[i].grad!.device, 'webgpu', `${name} grad ${i} device`);
    assertClose(await values(gpu[i].grad!), cpu[i].grad!.data, rtol, `${name} grad ${i}`);
  }
}

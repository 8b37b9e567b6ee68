/**
 * Starts convkit's WebGPU backend for the GPU tests: Dawn (npm `webgpu`) on SwiftShader when no
 * Vulkan driver is configured. No adapter is a failure (the tests must not pass without a GPU).
 */
import { initWebGPU, type WebGPUInfo } from '../../src/index.js';

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

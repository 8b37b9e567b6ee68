/**
 * `npm run bench -- --webgpu`'s harness: convkit on WebGPU in Node and its peers, onnxruntime-web's
 * WebGPU EP and tfjs-webgpu, in headless Chromium (SwiftShader where there is no GPU), on one layer
 * workload and the HiFi-GAN model. Every library that runs must match convkit's CPU result; a
 * library that cannot run a row says why; SwiftShader is labelled CPU emulation. Nothing here
 * judges speed. No adapter (in Node or in the page) is a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWebgpuBench } from '../bench/webgpu.js';

test('bench --webgpu --quick --only T3: every library on the GPU, outputs equal to the CPU, gaps explained', async () => {
  const lines: string[] = [];
  const rows = await runWebgpuBench({ only: ['T3'], quick: true, log: (s) => lines.push(s) });
  const text = lines.join('\n');
  const row = (id: string, lib: string) => rows.find((r) => r.id === id && r.lib === lib)!;
  for (const [id, lib] of [['T3', 'convkit-webgpu'], ['T3', 'ort-web-webgpu'], ['T3', 'tfjs-webgpu'], ['hifigan-small', 'convkit-webgpu'], ['hifigan-small', 'ort-web-webgpu']]) {
    const r = row(id, lib);
    assert.equal(r.note, undefined, `${id} ${lib} ran: ${r.note}`);
    assert.ok(r.ms !== null && r.ms > 0, `${id} ${lib} timed by wall clock`);
    assert.ok(r.gpuMs !== null && r.gpuMs > 0, `${id} ${lib} timed by GPU timestamps (the adapters here offer them)`);
    assert.ok(r.relErr !== null && r.relErr < 1e-5, `${id} ${lib} matches the CPU result: rel. err ${r.relErr}`);
  }
  const gap = row('hifigan-small', 'tfjs-webgpu');
  assert.equal(gap.ms, null);
  assert.match(gap.note ?? '', /conv1dTranspose/);
  assert.ok(text.includes(`hifigan-small tfjs-webgpu: ${gap.note}`), 'the note is printed under the table');
  assert.match(text, /\| T3 \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \|/);
  if (/swiftshader/i.test(text)) assert.match(text, /CPU emulation on SwiftShader/);
});

/**
 * convkit on WebGPU in headless Chromium: a page (test/pages/webgpu/) bundled with esbuild, served
 * from 127.0.0.1 (WebGPU needs a secure context), runs convolutions forward and backward on GPU
 * tensors through `navigator.gpu` (SwiftShader: --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader)
 * and the same calls on the CPU. No adapter in the page is a failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser } from 'playwright-core';
import { launchChromium, serve, type Served } from './helpers/browser.js';
import { assertClose } from './helpers/close.js';
import { removeDir, tempDir } from './helpers/tmp.js';

const PAGE = fileURLToPath(new URL('./pages/webgpu/', import.meta.url));
/** The flags that give headless Chromium a WebGPU adapter on SwiftShader (no GPU needed). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

let dir = '';
let server: Served;
let browser: Browser;
let base = '';

before(async () => {
  dir = tempDir('webgpu-page');
  await build({ entryPoints: [join(PAGE, 'main.ts')], bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'main.js'), logLevel: 'silent' });
  copyFileSync(join(PAGE, 'index.html'), join(dir, 'index.html'));
  server = await serve(dir);
  base = server.url;
  // The GPU process stays on (no --disable-gpu): it holds the SwiftShader adapter.
  browser = await launchChromium({ gpu: true, extra: WEBGPU_FLAGS });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) removeDir(dir);
});

test('a page runs convolutions forward and backward on WebGPU, equal to the CPU', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 120000 });
  const r = await page.evaluate(() => (window as unknown as { result: { adapter: string; error?: string; cases: { name: string; gpu: number[]; cpu: number[] }[] } }).result);
  assert.equal(r.error, undefined, r.error);
  assert.deepEqual(errors, []);
  assert.ok(r.adapter.length > 0, 'the adapter is named');
  assert.equal(r.cases.length, 4);
  for (const c of r.cases) {
    assert.ok(c.cpu.length > 0 && c.gpu.length === c.cpu.length, c.name);
    assertClose(c.gpu, c.cpu, 1e-4, c.name);
  }
  await page.close();
});

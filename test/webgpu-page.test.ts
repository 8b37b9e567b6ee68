/**
 * convkit on WebGPU in headless Chromium: a page (test/pages/webgpu/) bundled with esbuild, served
 * from 127.0.0.1 (WebGPU needs a secure context), runs convolutions forward and backward on GPU
 * tensors through `navigator.gpu` (SwiftShader: --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader)
 * and the same calls on the CPU. No adapter in the page is a failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { assertClose } from './helpers/close.js';

const PAGE = fileURLToPath(new URL('./pages/webgpu/', import.meta.url));
/** The flags that give headless Chromium a WebGPU adapter on SwiftShader (no GPU needed). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

let dir = '';
let server: Server;
let browser: Browser;
let base = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'convkit-webgpu-page-'));
  await build({ entryPoints: [join(PAGE, 'main.ts')], bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'main.js'), logLevel: 'silent' });
  const files: Record<string, [string, string]> = {
    '/': [join(PAGE, 'index.html'), 'text/html'], '/main.js': [join(dir, 'main.js'), 'text/javascript'],
  };
  server = createServer(async (req, res) => {
    const f = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!f) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': f[1] });
    res.end(await readFile(f[0]));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', ...WEBGPU_FLAGS],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
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

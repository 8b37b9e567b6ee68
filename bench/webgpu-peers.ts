/**
 * The peer columns of `npm run bench -- --webgpu`, run where they work: in headless Chromium with
 * WebGPU (on SwiftShader where there is no GPU). Under Node with the 'webgpu' package,
 * onnxruntime-web's WebGPU EP creates a session but its first run fails ('Invalid argument') or
 * blocks the process, so the page bench/webgpu-page/ is bundled with esbuild, served from
 * 127.0.0.1 (WebGPU needs a secure context) and driven with playwright-core.
 */
import { createServer, type Server } from 'node:http';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { PeerResult } from './webgpu-page/main.js';

export type { PeerResult };

/** Chromium's flags for WebGPU without a GPU: the GPU process stays on (no --disable-gpu) and hands out SwiftShader. */
export const CHROMIUM_WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'];

/** The page, started: the adapter it got and the peers' calls. */
export interface PeerPage {
  readonly adapter: string;
  readonly timestampQuery: boolean;
  /** Why tfjs-webgpu did not start, or null. */
  readonly tfjsProblem: string | null;
  ortLayer(id: string, runs: number): Promise<PeerResult>;
  tfjsLayer(id: string, runs: number): Promise<PeerResult>;
  ortModel(model: Uint8Array, x: Float32Array, shape: readonly number[], runs: number): Promise<PeerResult>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const asked = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = asked.endsWith(sep) ? join(asked, 'index.html') : asked;
    try {
      if (!file.startsWith(root + sep)) throw new Error('outside root');
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/` });
  }));
}

/** Builds the page, serves it and opens it in headless Chromium (`/usr/bin/chromium` unless `executablePath`). */
export async function openPeerPage(executablePath = '/usr/bin/chromium', timeoutMs = 600000): Promise<PeerPage> {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-webgpu-peers-'));
  let server: Server | null = null, browser: Browser | null = null;
  const cleanup = async () => {
    await browser?.close().catch(() => undefined);
    await new Promise((r) => (server ? server.close(r) : r(null)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const here = fileURLToPath(new URL('./webgpu-page/', import.meta.url));
    await build({ entryPoints: [join(here, 'main.ts')], bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'main.js'), logLevel: 'silent' });
    copyFileSync(join(here, 'index.html'), join(dir, 'index.html'));
    // ORT-web's WebGPU build loads its wasm part from env.wasm.wasmPaths: the page's folder.
    const ortDist = join(createRequire(import.meta.url).resolve('onnxruntime-web'), '..');
    for (const f of readdirSync(ortDist)) if (/^ort-wasm-simd-threaded\..*(mjs|wasm)$/.test(f)) copyFileSync(join(ortDist, f), join(dir, f));
    const served = await serve(dir);
    server = served.server;
    browser = await chromium.launch({
      executablePath, headless: true,
      args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', ...CHROMIUM_WEBGPU_FLAGS],
    });
    const page: Page = await browser.newPage();
    page.setDefaultTimeout(timeoutMs);
    await page.goto(served.url);
    await page.waitForFunction(() => 'bench' in window);
    type Bench = {
      start(): Promise<{ adapter: string; timestampQuery: boolean; tfjs: string | null }>;
      ortLayer(id: string, runs: number): Promise<PeerResult>;
      tfjsLayer(id: string, runs: number): Promise<PeerResult>;
      ortModel(model: string, x: string, shape: readonly number[], runs: number): Promise<PeerResult>;
    };
    const info = await page.evaluate(() => (window as unknown as { bench: Bench }).bench.start());
    const b64 = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    return {
      adapter: info.adapter, timestampQuery: info.timestampQuery, tfjsProblem: info.tfjs,
      ortLayer: (id, runs) => page.evaluate(([i, r]) => (window as unknown as { bench: Bench }).bench.ortLayer(i, r), [id, runs] as const),
      tfjsLayer: (id, runs) => page.evaluate(([i, r]) => (window as unknown as { bench: Bench }).bench.tfjsLayer(i, r), [id, runs] as const),
      ortModel: (model, x, shape, runs) => page.evaluate(([m, xx, s, r]) => (window as unknown as { bench: Bench }).bench.ortModel(m, xx, s, r),
        [b64(model), b64(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)), [...shape], runs] as const),
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** A peer's output (base64 float32 from the page) as an array. */
export function decodeOutput(y: string): Float32Array {
  const b = Buffer.from(y, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

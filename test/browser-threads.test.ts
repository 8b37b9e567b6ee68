/**
 * The async API in Chromium: a test page (test/pages/threads/) built with Vite is served from
 * 127.0.0.1 once with COOP/COEP headers (crossOriginIsolated: the driver's pool runs units on
 * module Web Workers over shared memory) and once without (one thread). Both give the synchronous
 * result bit for bit, and the same bits as Node.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium, type BrowserContext } from 'playwright-core';
import { convTranspose1d, setNumThreads, tensor, withBackend } from '../src/index.js';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CHROMIUM = '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

let outDir = '', userDataDir = '';
let isolated: Server, plain: Server;
let context: BrowserContext;

function serve(root: string, headers: Record<string, string>): Promise<Server> {
  const s = createServer(async (req, res) => {
    try {
      let file = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
      if (file !== root && !file.startsWith(root + sep)) throw new Error('outside root');
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(s)));
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as { port: number }).port}/`;

before(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'convkit-threads-page-'));
  await build({
    configFile: false, root: join(repo, 'test/pages/threads'), base: './', logLevel: 'silent',
    resolve: { alias: { convkit: join(repo, 'src/index.ts') } },
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
    worker: { format: 'es' },
  });
  isolated = await serve(outDir, ISOLATION);
  plain = await serve(outDir, {});
  userDataDir = await mkdtemp(join(tmpdir(), 'convkit-threads-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
});

after(async () => {
  await context?.close();
  for (const s of [isolated, plain]) if (s) await new Promise((ok) => s.close(ok));
  for (const d of [userDataDir, outDir]) if (d) await rm(d, { recursive: true, force: true });
});

interface Report {
  isolated: boolean; syncThreads: number; asyncThreads: number; shape: number[]; syncHash: string; asyncHash: string;
  bitwiseEqual: boolean; driverThreads: number; kernels: string; offloaded: number; unitsByWorkers: number; ticksWhileWaiting: number;
}

async function runPage(base: string, threads: number): Promise<Report> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  try {
    await page.goto(base);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 15000 });
    const report = await page.evaluate((t) => (globalThis as unknown as { convkitCheck(t: number): Promise<Report> }).convkitCheck(t), threads);
    assert.deepEqual(problems, []);
    return report;
  } finally {
    await page.close();
  }
}

/** The page's inputs and hash, in Node. */
const data = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => (((i + salt) * 7919) % 1009 - 504) / 256);
function hashBits(a: Float32Array): string {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193) >>> 0;
  return h.toString(16);
}
function nodeResult(): { shape: number[]; hash: string } {
  setNumThreads(1);
  const y = withBackend('wasm', () => convTranspose1d(tensor(data(2 * 32 * 3000, 1), [2, 32, 3000]), tensor(data(32 * 16 * 8, 2), [32, 16, 8]), null, { stride: 4, padding: 2 }));
  setNumThreads(0);
  return { shape: y.shape, hash: hashBits(y.data as Float32Array) };
}

test('crossOriginIsolated page: convTranspose1dAsync with 2 threads runs units on Web Workers and equals the sync result bitwise', async (t) => {
  const r = await runPage(urlOf(isolated), 2);
  t.diagnostic(JSON.stringify(r));
  const node = nodeResult();
  assert.equal(r.isolated, true, 'COOP/COEP make the page crossOriginIsolated');
  assert.equal(r.syncThreads, 1, 'the main thread may not block: the sync API runs on one thread');
  assert.equal(r.asyncThreads, 2);
  assert.equal(r.driverThreads, 2, "the driver's pool used two threads");
  assert.ok(r.unitsByWorkers > 0, `Web Workers ran units (${r.unitsByWorkers})`);
  assert.match(r.kernels, /^wasm-/);
  assert.ok(r.bitwiseEqual, 'async equals sync bit for bit');
  assert.equal(r.asyncHash, r.syncHash);
  assert.ok(r.ticksWhileWaiting > 0, 'the main thread ran timers while the call was in flight');
  assert.deepEqual(r.shape, node.shape);
  assert.equal(r.asyncHash, node.hash, 'the same bits as Node');
});

test('the same page without the headers runs on one thread and gives the same numbers', async (t) => {
  const r = await runPage(urlOf(plain), 2);
  t.diagnostic(JSON.stringify(r));
  const node = nodeResult();
  assert.equal(r.isolated, false);
  assert.equal(r.asyncThreads, 1, 'no shared memory: one thread');
  assert.equal(r.driverThreads, 1);
  assert.equal(r.unitsByWorkers, 0);
  assert.ok(r.bitwiseEqual, 'async equals sync bit for bit');
  assert.equal(r.asyncHash, node.hash, 'the same bits as Node');
});

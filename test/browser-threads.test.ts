/**
 * The async API in Chromium: a test page (test/pages/threads/) built with Vite is served from
 * 127.0.0.1 once with COOP/COEP headers (crossOriginIsolated: the driver's pool runs units on
 * module Web Workers over shared memory) and once without (one thread). Both give the synchronous
 * result bit for bit, and the same bits as Node.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { convTranspose1d, setNumThreads, tensor, withBackend } from '../src/index.js';
import { launchChromiumContext, pageProblems, serve, type ChromiumContext, type Served } from './helpers/browser.js';
import { removeDir, tempDir } from './helpers/tmp.js';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

let outDir = '';
let isolated: Served, plain: Served;
let chromium: ChromiumContext;

before(async () => {
  outDir = tempDir('threads-page');
  await build({
    configFile: false, root: join(repo, 'test/pages/threads'), base: './', logLevel: 'silent',
    resolve: { alias: { convkit: join(repo, 'src/index.ts') } },
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
    worker: { format: 'es' },
  });
  isolated = await serve(outDir, ISOLATION);
  plain = await serve(outDir, {});
  chromium = await launchChromiumContext('threads-chromium');
});

after(async () => {
  await chromium?.close();
  for (const s of [isolated, plain]) if (s) await s.close();
  if (outDir) removeDir(outDir);
});

interface Report {
  isolated: boolean; syncThreads: number; asyncThreads: number; shape: number[]; syncHash: string; asyncHash: string;
  bitwiseEqual: boolean; driverThreads: number; kernels: string; offloaded: number; unitsByWorkers: number; ticksWhileWaiting: number;
}

async function runPage(base: string, threads: number): Promise<Report> {
  const page = await chromium.context.newPage();
  const problems = pageProblems(page);
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
  const r = await runPage(isolated.url, 2);
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
  const r = await runPage(plain.url, 2);
  t.diagnostic(JSON.stringify(r));
  const node = nodeResult();
  assert.equal(r.isolated, false);
  assert.equal(r.asyncThreads, 1, 'no shared memory: one thread');
  assert.equal(r.driverThreads, 1);
  assert.equal(r.unitsByWorkers, 0);
  assert.ok(r.bitwiseEqual, 'async equals sync bit for bit');
  assert.equal(r.asyncHash, node.hash, 'the same bits as Node');
});

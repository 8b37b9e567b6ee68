/**
 * A new user's first hour with a bundler: the packed package (npm pack) is installed into a fresh
 * app, which is bundled by esbuild, webpack, Rollup (+ @rollup/plugin-node-resolve) and Vite through
 * their JavaScript APIs (and served by Vite's dev server), served with COOP/COEP headers (a cross-origin-isolated page), and run in
 * headless Chromium. Each app runs an offloaded async call (the driver worker, and its unit workers)
 * and a sync call; their values must be identical, the async call must have run on the driver with
 * asyncThreads() threads, and getNumThreads() must say what a sync call on the page uses. Vite and
 * webpack need no configuration; esbuild and Rollup emit no worker files of their own, so the app
 * names the two worker entry points (the one line README documents). A worker that fails to load is
 * a ConvError naming its URL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { launchChromium, serve } from './helpers/browser.js';
import { ensureBuilt, installPacked, ROOT } from './helpers/build.js';
import { removeDir, tempDir } from './helpers/tmp.js';

let dir = '';
let app = '';
let browser: Browser;

const MAIN = `import { conv1d, conv1dAsync, randn, asyncThreads, asyncStats, getNumThreads } from 'convkit';
const x = randn([1, 64, 4096], { seed: 1 }), w = randn([64, 64, 5], { seed: 2 });
let result;
try {
  const b = await conv1dAsync(x, w); // 84 M multiply-adds: offloaded to the driver worker
  const a = conv1d(x, w);
  result = { same: a.data.length === b.data.length && a.data.every((v, i) => Object.is(v, b.data[i])), n: a.data.length,
    stats: asyncStats(), asyncThreads: asyncThreads(), numThreads: getNumThreads(), isolated: globalThis.crossOriginIsolated };
} catch (e) {
  result = { error: String(e && e.message || e), name: e && e.name };
}
globalThis.__result = result;
document.title = 'done';
`;
const page = (script: string, module = true) =>
  `<!doctype html><html><head><meta charset="utf-8"><script ${module ? 'type="module" ' : ''}src="${script}"></script></head><body></body></html>`;
/** A cross-origin-isolated page (COOP/COEP), its files same-origin only. */
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };

before(async () => {
  ensureBuilt(join(ROOT, 'dist/index.js'));
  dir = tempDir('bundlers');
  app = join(dir, 'app');
  installPacked(app, dir); // the package exactly as npm would install it
  mkdirSync(join(app, 'src'));
  writeFileSync(join(app, 'src', 'main.js'), MAIN);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (dir) removeDir(dir);
});

interface Result { same?: boolean; n?: number; stats?: { offloaded: number; threads: number; kernels: string; unitsByWorkers: number }; asyncThreads?: number; numThreads?: number; isolated?: boolean; error?: string; name?: string }

/** Serves `out` at the root of a new origin and runs its index.html. */
async function run(out: string): Promise<{ result: Result; failed: string[]; base: string }> {
  const server = await serve(out, ISOLATION);
  const base = server.url;
  const p = await browser.newPage();
  const failed: string[] = [];
  p.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) failed.push(new URL(r.url()).pathname); });
  p.on('pageerror', (e) => failed.push(`pageerror: ${e.message}`));
  try {
    await p.goto(base);
    await p.waitForFunction(() => document.title === 'done', undefined, { timeout: 60_000 });
    return { result: await p.evaluate(() => (globalThis as unknown as { __result: Result }).__result), failed, base };
  } finally {
    await p.close();
    await server.close();
  }
}

function assertWorks(name: string, r: { result: Result; failed: string[] }): void {
  assert.deepEqual(r.failed, [], `${name}: requests failed`);
  assert.equal(r.result.error, undefined, `${name}: ${r.result.name}: ${r.result.error}`);
  assert.equal(r.result.isolated, true, name);
  assert.equal(r.result.n, 64 * 4092);
  assert.equal(r.result.same, true, `${name}: the async values differ from the sync ones`);
  // The async call ran on the driver worker with its pool: 2 threads (the default), units on a unit worker.
  assert.equal(r.result.asyncThreads, 2, name);
  assert.equal(r.result.stats!.offloaded, 1, name);
  assert.equal(r.result.stats!.threads, 2, name);
  assert.ok(r.result.stats!.unitsByWorkers > 0, `${name}: no unit ran on a unit worker`);
  assert.match(r.result.stats!.kernels, /^wasm/, name);
  // A sync call on the page's main thread cannot block, so it runs on one thread: getNumThreads() says so.
  assert.equal(r.result.numThreads, 1, name);
}

/** The workers were bundled, not copied raw into the app as an inlined asset. */
function assertNoInlinedSources(out: string): void {
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  const js = walk(out).filter((f) => f.endsWith('.js'));
  assert.ok(js.length >= 3, `expected the app and two worker files; got ${js.join(', ')}`);
  for (const f of js) assert.ok(!readFileSync(f, 'utf8').includes('data:text/javascript'), `${f} inlines a source file`);
}

/** The worker entry points, for bundlers that emit no worker files of their own (README, "Install"). */
const WORKERS = { 'driver-worker': 'convkit/driver-worker', 'browser-worker': 'convkit/browser-worker' };

test('esbuild: the app runs its async call on the workers (worker entry points named)', async () => {
  const esbuild = await import('esbuild');
  const out = join(app, 'out-esbuild');
  await esbuild.build({ absWorkingDir: app, entryPoints: { main: 'src/main.js', ...WORKERS }, bundle: true, format: 'esm', outdir: out, logLevel: 'silent' });
  writeFileSync(join(out, 'index.html'), page('./main.js'));
  assertWorks('esbuild', await run(out));
});

test('esbuild without the worker entry points: the async call fails with a ConvError naming the URL', async () => {
  const esbuild = await import('esbuild');
  const out = join(app, 'out-esbuild-bare');
  await esbuild.build({ absWorkingDir: app, entryPoints: ['src/main.js'], bundle: true, format: 'esm', outdir: out, logLevel: 'silent' });
  writeFileSync(join(out, 'index.html'), page('./main.js'));
  const r = await run(out);
  assert.equal(r.result.name, 'ConvError', JSON.stringify(r.result));
  assert.match(r.result.error!, new RegExp(`^async: driver stopped: the worker script ${r.base.replace(/[.]/g, '\\.')}driver-worker\\.js did not load .*'convkit/driver-worker'`));
});

test('Rollup (+ node-resolve): the app runs its async call on the workers (worker entry points named)', async () => {
  const { rollup } = await import('rollup');
  const { nodeResolve } = await import('@rollup/plugin-node-resolve');
  const out = join(app, 'out-rollup');
  const bundle = await rollup({ input: { main: join(app, 'src/main.js'), ...WORKERS }, plugins: [nodeResolve({ browser: true, rootDir: app })], logLevel: 'silent' });
  await bundle.write({ dir: out, format: 'es' });
  await bundle.close();
  writeFileSync(join(out, 'index.html'), page('./main.js'));
  assertWorks('rollup', await run(out));
});

test('webpack: the app runs its async call on the workers without configuration', async () => {
  const { default: webpack } = await import('webpack');
  const out = join(app, 'out-webpack');
  const stats = await new Promise<import('webpack').Stats>((ok, fail) =>
    webpack({ mode: 'development', devtool: false, context: app, entry: './src/main.js', output: { path: out, filename: 'main.js' } }, (e, s) => (e || !s ? fail(e) : ok(s))));
  assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
  assert.ok(!stats.hasWarnings(), stats.toString('errors-warnings'));
  assertNoInlinedSources(out);
  writeFileSync(join(out, 'index.html'), page('./main.js', false));
  assertWorks('webpack', await run(out));
});

test('Vite: the app runs its async call on the workers without configuration, and builds without warnings', async () => {
  const { build, createLogger } = await import('vite');
  const warnings: string[] = [];
  const logger = createLogger('warn', { allowClearScreen: false });
  logger.warn = (m) => { warnings.push(m); };
  logger.warnOnce = (m) => { warnings.push(m); };
  writeFileSync(join(app, 'index.html'), page('./src/main.js'));
  await build({ root: app, configFile: false, logLevel: 'warn', customLogger: logger, build: { outDir: join(app, 'out-vite'), emptyOutDir: true } });
  // Rolldown notes slow plugins on a busy machine ([PLUGIN_TIMINGS]): about the machine, not the package.
  assert.deepEqual(warnings.filter((m) => !m.includes('[PLUGIN_TIMINGS]')), []);
  assertNoInlinedSources(join(app, 'out-vite'));
  assertWorks('vite', await run(join(app, 'out-vite')));
});

test('Vite dev server: the app runs its async call on the workers without configuration (dependency pre-bundling included)', async () => {
  const { createServer } = await import('vite');
  writeFileSync(join(app, 'index.html'), page('./src/main.js'));
  const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  const server = await createServer({ root: app, configFile: false, logLevel: 'silent', cacheDir: join(dir, 'vite-cache'), server: { host: '127.0.0.1', port: 0, headers } });
  await server.listen();
  try {
    const url = server.resolvedUrls!.local[0];
    const p = await browser.newPage();
    const failed: string[] = [];
    p.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) failed.push(new URL(r.url()).pathname); });
    try {
      await p.goto(url);
      await p.waitForFunction(() => document.title === 'done', undefined, { timeout: 60_000 });
      assertWorks('vite dev', { result: await p.evaluate(() => (globalThis as unknown as { __result: Result }).__result), failed });
    } finally {
      await p.close();
    }
  } finally {
    await server.close();
  }
});

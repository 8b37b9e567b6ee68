/**
 * `npm run bench -- --browser [--models]`: the layer workloads (or the whole models) timed where
 * browser users run them — headless Chromium, a page served from 127.0.0.1 with COOP/COEP headers
 * (crossOriginIsolated: shared memory, so every library has its threads), each library in a fresh
 * page of its own, one after another, inside a dedicated module Web Worker (bench/browser-bench.ts).
 * The page code is bundled with esbuild (convkit from src/, its unit worker as `browser-worker.js`
 * beside the bundle, as README "Install" tells esbuild users); onnxruntime-web's and
 * tfjs-backend-wasm's wasm files are served from node_modules. The references come from the Node
 * benchmark's reference children (bench/child.ts, bench/model-child.ts) and every first output is
 * checked against them before timing; the ONNX graphs of the models are traced here, in Node, as
 * bench/model-child.ts does. Node-only.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { macs, selectWorkloads, type Workload } from './workloads.js';
import { ISOLATION, serveMounts } from './static-server.js';
import { benchCells, formatReport, label, type BenchLibrary, type BenchOptions, type BenchReport } from './run.js';
import type { ModelReport } from './models.js';
import type { PageMessage, PageTask } from './browser-bench.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

/** Debian's Chromium and the project's flags (as the browser tests launch it). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'];

/** The libraries of the browser run, in table order. */
export const BROWSER_LIBS = ['convkit-1t', 'convkit-2t', 'tfjs-cpu', 'tfjs-wasm', 'ort-web-1t', 'ort-web-2t'] as const;
/** Those that run the whole models (tfjs has no ONNX or convkit model to run). */
export const BROWSER_MODEL_LIBS = ['convkit-1t', 'convkit-2t', 'ort-web-1t', 'ort-web-2t'] as const;

/** The Node bench's options that mean the same here (BenchOptions of bench/run.ts), and the browser's own. */
export interface BrowserBenchOptions extends Pick<BenchOptions, 'only' | 'workloads' | 'libs' | 'quick' | 'verifyOnly' | 'json' | 'log'> {
  /** Whole models (bench/models.ts) instead of the layer workloads; `only` then names models. */
  readonly models?: boolean;
  /** With `models`: print convkit's profile of one call of each model (after its timed calls) in each convkit page. */
  readonly profile?: boolean;
  /** Progress lines, one per cell (default true). */
  readonly progress?: boolean;
  /** Per-page time limit in seconds (default 300 for layers, 900 for models). */
  readonly pageTimeoutS?: number;
  /**
   * Serve the COOP/COEP headers (default true). Without them the page is not crossOriginIsolated
   * and the run stops with an error saying so (libraries would silently lose their threads).
   */
  readonly isolate?: boolean;
}

/** What every browser report adds: the browser and whether each page was isolated. */
interface BrowserMachine { readonly browser: string }
export type BrowserBenchReport = BenchReport & { readonly machine: BenchReport['machine'] & BrowserMachine };
export type BrowserModelReport = ModelReport & { readonly machine: ModelReport['machine'] & BrowserMachine; readonly wallS: number };

const INDEX = '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="./page.js"></script>\n';

/** Bundles the page, the benchmark worker and convkit's unit worker (its package export `./browser-worker`) into `outDir`. */
async function bundle(outDir: string): Promise<void> {
  const esbuild = await import('esbuild');
  // bench/models.ts imports Node modules for its own runner; the page only builds models with it.
  const nodeShim = {
    name: 'node-builtins',
    setup(b: import('esbuild').PluginBuild) {
      b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-shim' }));
      b.onLoad({ filter: /.*/, namespace: 'node-shim' }, () => ({
        contents: "module.exports = { fileURLToPath: () => '/', dirname: () => '/', resolve: () => '/', join: (...p) => p.join('/') };",
        loader: 'js',
      }));
      // onnxruntime-web's wasm build, its glue and .wasm loaded from env.wasm.wasmPaths (served from node_modules).
      b.onResolve({ filter: /^onnxruntime-web$/ }, () => ({ path: join(repoRoot, 'node_modules/onnxruntime-web/dist/ort.wasm.min.mjs') }));
    },
  };
  await esbuild.build({
    entryPoints: {
      page: join(here, 'browser-page.ts'),
      bench: join(here, 'browser-bench.ts'),
      'browser-worker': join(repoRoot, 'src/kernels/threads/browser-worker.ts'), // = convkit/browser-worker, from source
    },
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outdir: outDir,
    external: ['onnxruntime-node'], plugins: [nodeShim], logLevel: 'error',
  });
  writeFileSync(join(outDir, 'index.html'), INDEX);
}

interface Served { readonly url: string; readonly wasmFetched: string[]; close(): Promise<void> }

/** Serves `mounts` (URL prefix → folder) on 127.0.0.1, every response uncached and with the isolation headers when `isolate`; records the .wasm files fetched. */
async function serve(mounts: Record<string, string>, isolate: boolean): Promise<Served> {
  const wasmFetched: string[] = [];
  const s = await serveMounts(mounts, { 'cache-control': 'no-store', ...(isolate ? ISOLATION : {}) }, (file) => { if (file.endsWith('.wasm')) wasmFetched.push(file); });
  return { url: s.url, wasmFetched, close: () => s.close() };
}

/** Runs a Node benchmark child (bench/child.ts or bench/model-child.ts) for the references; rejects on its failure. */
function referenceChild(script: string, task: object, timeoutS: number, onResult: (id: string) => void): Promise<{ note: string; maxRssMB: number | null }> {
  return new Promise((done, fail) => {
    const child = fork(join(here, script), [JSON.stringify(task)], {
      cwd: repoRoot, execArgv: [...process.execArgv.filter((a) => a.startsWith('--experimental-wasm')), '--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let note = '', maxRssMB: number | null = null, error = '', stderr = '';
    child.stdout?.resume();
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    const timer = setTimeout(() => { error = `timed out after ${timeoutS} s`; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('message', (m: { type: string; note?: string; id?: string; maxRssMB?: number; message?: string }) => {
      if (m.type === 'ready') note = m.note ?? '';
      else if (m.type === 'result') onResult(m.id ?? '');
      else if (m.type === 'done') maxRssMB = m.maxRssMB ?? null;
      else if (m.type === 'fatal') error = m.message ?? 'failed';
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!error && maxRssMB === null) error = `exited (${signal ?? code}) before finishing: ${stderr.trim().split('\n').pop() ?? ''}`;
      if (error) fail(new Error(`bench --browser: reference failed: ${error}`));
      else done({ note, maxRssMB });
    });
  });
}

/** Whether a peer's wasm binary uses relaxed SIMD, told by validating it where relaxed SIMD is off (Node 20 without the flag). */
async function binaryNote(files: readonly string[]): Promise<string> {
  if (files.length === 0) return '';
  const { relaxedSimdSupported } = await import('../src/index.js');
  const names = [...new Set(files)].map((f) => {
    if (relaxedSimdSupported()) return basename(f); // this Node has relaxed SIMD: validation cannot tell
    return `${basename(f)} (${WebAssembly.validate(readFileSync(f)) ? 'no relaxed-SIMD instructions' : 'does not validate without relaxed SIMD'})`;
  });
  return `; loaded ${names.join(', ')}`;
}

type Result = Extract<PageMessage, { type: 'result' }>;
interface PageOutcome { note: string; threads: number; error?: string }

/** One library in a fresh page (its own browser context) of the running Chromium. */
async function runPage(browser: Browser, served: Served, task: PageTask, timeoutS: number, onResult: (m: Result) => void,
  onProfile: (m: Extract<PageMessage, { type: 'profile' }>) => void = () => undefined): Promise<PageOutcome> {
  const context: BrowserContext = await browser.newContext();
  const outcome: PageOutcome = { note: '', threads: 1 };
  const problems: string[] = [];
  const fetchedBefore = served.wasmFetched.length;
  let timer: NodeJS.Timeout | undefined;
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => { if (process.env.BENCH_DEBUG) console.error('console', m.type(), m.text()); if (m.type() === 'error') problems.push(m.text()); });
    let finished!: () => void;
    const over = new Promise<void>((r) => { finished = r; });
    await page.exposeFunction('benchMessage', (m: PageMessage) => {
      if (m.type === 'ready') {
        outcome.threads = m.threads;
        if (!m.isolated) outcome.error = 'the benchmark worker is not crossOriginIsolated';
      } else if (m.type === 'result') onResult(m);
      else if (m.type === 'profile') onProfile(m);
      else if (m.type === 'done') { outcome.note = m.note; finished(); } else { outcome.error = m.message; finished(); }
    });
    await page.goto(served.url);
    await page.waitForFunction(() => document.title === 'ready', null, { timeout: 30000 });
    if (!(await page.evaluate(() => crossOriginIsolated)))
      throw new Error(`bench --browser: the page ${served.url} is not crossOriginIsolated (no COOP/COEP headers?): shared memory and threads are off, so nothing would be measured as browser users with threads run it`);
    const limit = new Promise<void>((r) => { timer = setTimeout(() => { outcome.error = `timed out after ${timeoutS} s`; r(); }, timeoutS * 1000); });
    void page.evaluate((t) => (globalThis as unknown as { benchRun(t: PageTask): Promise<void> }).benchRun(t), task).catch(() => undefined);
    await Promise.race([over, limit]);
    if (outcome.error && problems.length) outcome.error += ` (${problems[0].split('\n')[0]})`;
    outcome.note += await binaryNote(served.wasmFetched.slice(fetchedBefore));
    return outcome;
  } finally {
    clearTimeout(timer);
    await context.close();
  }
}

interface Session { browser: Browser; served: Served; version: string; close(): Promise<void> }

async function openSession(dirs: Record<string, string>, isolate: boolean): Promise<Session> {
  const { chromium } = await import('playwright-core');
  const served = await serve({
    '/': dirs.bundle, '/ort/': join(repoRoot, 'node_modules/onnxruntime-web/dist'),
    '/tfjs/': join(repoRoot, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'), '/ref/': dirs.ref, '/data/': dirs.data,
  }, isolate);
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    return { browser, served, version: `Chromium ${browser.version()}`, close: async () => { await browser.close(); await served.close(); } };
  } catch (e) {
    await served.close();
    throw e;
  }
}

const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const machineNow = (browser: string) => ({ cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg(), node: process.version, browser });

function checkLibs(libs: readonly string[], known: readonly string[], what: string): void {
  for (const id of libs)
    if (!known.includes(id)) throw new Error(`bench --browser${what}: --libs must name libraries from ${known.join(', ')}; got ${id}`);
}

/** The file name bench/child.ts (`refPath`) and bench/model-child.ts (`modelRefPath`) give a reference. */
const layerRefName = (wl: Workload): string => `${wl.id.replace(/[^A-Za-z0-9_-]/g, '_')}.f64`;
const modelRefName = (id: string): string => `${id}.f32`;

function tempDirs(tmp: string): Record<'bundle' | 'ref' | 'data', string> {
  const dirs = { bundle: join(tmp, 'page'), ref: join(tmp, 'ref'), data: join(tmp, 'data') };
  for (const d of Object.values(dirs)) mkdirSync(d);
  return dirs;
}

function referenceUrls(dir: string, names: Record<string, string>): Record<string, string> {
  for (const [id, name] of Object.entries(names))
    if (!existsSync(join(dir, name))) throw new Error(`bench --browser: the reference child wrote no ${name} for ${id}`);
  return Object.fromEntries(Object.entries(names).map(([id, name]) => [id, `/ref/${name}`]));
}

/** The layer workloads in Chromium. */
export async function runBrowserBench(o: BrowserBenchOptions & { models?: false } = {}): Promise<BrowserBenchReport> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  const wls = o.workloads ? [...o.workloads] : selectWorkloads(o.only);
  const libs = o.libs ? [...o.libs] : [...BROWSER_LIBS];
  checkLibs(libs, BROWSER_LIBS, '');
  const mode = o.verifyOnly ? 'verify' : o.quick ? 'quick' : 'full';
  const timeoutS = o.pageTimeoutS ?? 300;
  const tmp = mkdtempSync(join(tmpdir(), 'convkit-browser-bench-'));
  const dirs = tempDirs(tmp);
  const raw: Result[] = [];
  const libraries: BenchLibrary[] = [];
  const threads = new Map<string, number>();
  const total = wls.length * libs.length;
  let n = 0;
  let session: Session | undefined;
  let browserVersion = '';
  let reference: BenchLibrary;
  const loadStart = loadavg();
  try {
    const [ref] = await Promise.all([
      referenceChild('child.ts', { lib: 'reference', workloads: wls, refDir: dirs.ref, mode }, timeoutS, (id) => { if (o.progress ?? true) log(`reference ${id}`); }),
      bundle(dirs.bundle),
    ]);
    reference = { id: 'reference', ...ref };
    const refs = referenceUrls(dirs.ref, Object.fromEntries(wls.map((w) => [w.id, layerRefName(w)])));
    session = await openSession(dirs, o.isolate ?? true);
    browserVersion = session.version;
    for (const lib of libs) {
      const task: PageTask = { lib, mode, workloads: wls, refs, ortWasm: '/ort/', tfjsWasm: '/tfjs/' };
      const out = await runPage(session.browser, session.served, task, timeoutS, (m) => {
        raw.push(m);
        n++;
        if (o.progress ?? true) log(`[${n}/${total}] ${lib} ${m.id}${m.ms === null ? '' : ` ${fmtMs(m.ms)} ms`} ${m.status}${m.status !== 'ok' && m.note ? ` (${m.note})` : ''}`);
      });
      threads.set(lib, out.threads);
      libraries.push({ id: lib, note: out.note, maxRssMB: null, ...(out.error ? { error: out.error } : {}) });
    }
  } finally {
    await session?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const report: BrowserBenchReport = {
    date: new Date().toISOString(), mode, machine: { ...machineNow(browserVersion), loadavg: loadStart },
    workloads: wls.map((w) => ({ ...w, macs: macs(w), label: label(w) })),
    libraries, reference: reference!, cells: benchCells(libs, wls, raw, (lib) => threads.get(lib) ?? 1),
    wallS: (performance.now() - t0) / 1000,
  };
  for (const line of formatReport(report)) log(line);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The whole models in Chromium (convkit modules; ORT on the graph traced from them). */
export async function runBrowserModelBench(o: BrowserBenchOptions = {}): Promise<BrowserModelReport> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { MODELS, modelCase, formatModelReport } = await import('./models.js');
  for (const id of o.only ?? [])
    if (!MODELS.some((m) => m.id === id)) throw new Error(`bench --browser --models: --only must name models from ${MODELS.map((m) => m.id).join(', ')}; got ${id}`);
  const models = o.only ? MODELS.filter((m) => o.only!.includes(m.id)) : MODELS;
  const libs = o.libs ? [...o.libs] : [...BROWSER_MODEL_LIBS];
  checkLibs(libs, BROWSER_MODEL_LIBS, ' --models');
  const mode = o.verifyOnly ? 'verify' : o.quick ? 'quick' : 'full';
  const timeoutS = o.pageTimeoutS ?? 900;
  const tmp = mkdtempSync(join(tmpdir(), 'convkit-browser-bench-'));
  const dirs = tempDirs(tmp);
  const ids = models.map((m) => m.id);
  const results: Result[] = [];
  const profiles: { lib: string; id: string; text: string }[] = [];
  const libraries: BrowserModelReport['libraries'][number][] = [];
  const total = ids.length * libs.length;
  let n = 0;
  let session: Session | undefined;
  let browserVersion = '';
  const loadStart = loadavg();
  try {
    await bundle(dirs.bundle);
    await referenceChild('model-child.ts', { lib: 'reference', models: ids, refDir: dirs.ref, mode }, timeoutS, (id) => { if (o.progress ?? true) log(`reference ${id}`); });
    const refs = referenceUrls(dirs.ref, Object.fromEntries(ids.map((id) => [id, modelRefName(id)])));
    // The ORT pages run the graph traced from the convkit module, as bench/model-child.ts builds it.
    const modelData: Record<string, { onnx: string; input: string; shape: number[] }> = {};
    if (libs.some((l) => l.startsWith('ort-'))) {
      const ck = await import('../src/index.js');
      const { traceOps } = await import('../src/profile/trace.js');
      const { onnxFromTrace } = await import('./onnx-model.js');
      ck.setNumThreads(1);
      for (const id of ids) {
        const c = await modelCase(id);
        const { result, ops } = traceOps(() => ck.noGrad(() => c.module.forward(c.input)));
        writeFileSync(join(dirs.data, `${id}.onnx`), onnxFromTrace(ops, c.input, result, id));
        const x = Float32Array.from(c.input.data);
        writeFileSync(join(dirs.data, `${id}.input.f32`), new Uint8Array(x.buffer));
        modelData[id] = { onnx: `/data/${id}.onnx`, input: `/data/${id}.input.f32`, shape: [...c.input.shape] };
        if (o.progress ?? true) log(`traced ${id}: ${ops.length} ops`);
      }
      ck.setNumThreads(0);
    }
    session = await openSession(dirs, o.isolate ?? true);
    browserVersion = session.version;
    for (const lib of libs) {
      const task: PageTask = { lib, mode, models: ids, refs, modelData, ortWasm: '/ort/', tfjsWasm: '/tfjs/', profile: o.profile };
      const out = await runPage(session.browser, session.served, task, timeoutS, (m) => {
        results.push(m);
        n++;
        if (o.progress ?? true) log(`[${n}/${total}] ${lib} ${m.id}${m.ms === null ? '' : ` ${fmtMs(m.ms)} ms`} ${m.status}${m.status !== 'ok' && m.note ? ` (${m.note})` : ''}`);
      }, (p) => profiles.push(p));
      libraries.push({ id: lib, note: out.note, maxRssMB: null, ...(out.error ? { error: out.error } : {}) });
    }
  } finally {
    await session?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const msOf = (lib: string, id: string) => results.find((m) => m.lib === lib && m.id === id)?.ms ?? null;
  const cells = results.map((m) => {
    const threads = /-(\d+)t$/.exec(m.lib)?.[1] ?? '1';
    const base = msOf(`convkit-${threads}t`, m.id) ?? msOf('convkit-1t', m.id);
    const audio = models.find((s) => s.id === m.id)?.audioSeconds;
    return { ...m, status: m.status as 'ok' | 'mismatch' | 'error', ratio: m.ms === null || base === null ? null : m.ms / base,
      realTime: m.ms === null || audio === undefined ? null : audio / (m.ms / 1000) };
  });
  const report: BrowserModelReport = {
    date: new Date().toISOString(), mode, machine: { ...machineNow(browserVersion), loadavg: loadStart },
    models: models.map(({ id, label: l, audioSeconds }) => ({ id, label: l, audioSeconds })), libraries, cells,
    wallS: (performance.now() - t0) / 1000,
  };
  for (const line of formatModelReport(report)) log(line);
  log(`in ${report.machine.browser} (headless; each library in a dedicated Web Worker of its own crossOriginIsolated page), ${report.wallS.toFixed(0)} s`);
  for (const p of profiles) log(`\n${p.lib} ${p.id}, one profiled call in ${report.machine.browser}\n${p.text}`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/**
 * `npm run bench`: convkit against TensorFlow.js (cpu, wasm) and ONNX Runtime (web/wasm, node/native)
 * on the workloads of workloads.ts. Each library runs in its own child process (own heap, own
 * threads), one after the other; every output is checked against convkit's float64 reference.
 *
 *   npm run bench -- [--quick] [--only T1,C4] [--libs convkit-1t,ort-node-1t] [--json out.json]
 *   npm run bench -- --models [--quick] [--only hifigan-1s] [--libs convkit-2t,ort-web-2t]   (whole models: bench/models.ts)
 *   npm run bench -- --profile hifigan-1s                                                   (convkit's profile of one model call)
 *   npm run bench -- --browser --profile hifigan-1s                                         (the same in headless Chromium, 1 and 2 threads)
 *   npm run bench -- --browser [--models] [--quick] [--only …] [--libs …] [--json out.json]  (in headless Chromium: bench/browser.ts)
 *
 * Also callable as `runBench(options)` (the CLI's `convkit bench`).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isTransposed, macs, selectWorkloads, type Workload } from './workloads.js';
import { gflops } from './measure.js';
import { libraryIds } from './peers.js';
import type { ChildMessage, ChildTask } from './child.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

export interface BenchOptions {
  /** Workload ids to run (default: all). */
  readonly only?: readonly string[];
  /** Explicit workloads instead of the standard set (used by the harness test). */
  readonly workloads?: readonly Workload[];
  /** Library ids (default: every library; convkit-2t only where convkit exports setNumThreads). */
  readonly libs?: readonly string[];
  /** Few repeats instead of ~1 s per measurement. */
  readonly quick?: boolean;
  /** Run and verify each output once, timing nothing. */
  readonly verifyOnly?: boolean;
  /** Write the results as JSON to this file. */
  readonly json?: string;
  /** 'auto': a progress bar on a TTY, plain lines otherwise. */
  readonly progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Where the table and progress lines go (default: stdout). */
  readonly log?: (line: string) => void;
  /** Per-child time limit in seconds (default 300). */
  readonly childTimeoutS?: number;
}

export interface BenchCell {
  readonly lib: string;
  readonly id: string;
  readonly status: 'ok' | 'mismatch' | 'n/a' | 'error';
  /** Median milliseconds per call (null when not timed). */
  readonly ms: number | null;
  readonly runs: number;
  readonly gflops: number | null;
  /** This library's ms over convkit's ms with the same thread count (convkit-1t where there is no such row). */
  readonly ratio: number | null;
  /** max |y − ref| / max |ref|. */
  readonly relErr: number | null;
  readonly note?: string;
}

export interface BenchLibrary {
  readonly id: string;
  readonly note: string;
  readonly maxRssMB: number | null;
  readonly error?: string;
}

export interface BenchReport {
  readonly date: string;
  readonly mode: 'full' | 'quick' | 'verify';
  readonly machine: { readonly cpu: string; readonly cores: number; readonly loadavg: readonly number[]; readonly node: string;
    /** The browser of a `--browser` run (bench/browser.ts). */
    readonly browser?: string };
  readonly workloads: readonly (Workload & { readonly macs: number; readonly label: string })[];
  readonly libraries: readonly BenchLibrary[];
  readonly reference: BenchLibrary;
  readonly cells: readonly BenchCell[];
  readonly wallS: number;
}

/** "convT1d N1 512→256 L200 k16 s8 p4". */
export function label(w: Workload): string {
  const dims = w.inSize.length, short = `${isTransposed(w) ? 'convT' : 'conv'}${dims}d`;
  const per = (name: string, v: readonly number[], skip: number) =>
    v.every((x) => x === skip) ? '' : ` ${name}${v.every((x) => x === v[0]) ? v[0] : v.join('×')}`;
  return `${short} N${w.n} ${w.cIn}→${w.cOut}${w.groups > 1 ? ` g${w.groups}` : ''} ${dims === 1 ? 'L' : ''}${w.inSize.join('×')}`
    + ` k${w.kSize.join('×')}${per('s', w.stride, 1)}${per('p', w.padding, 0)}${per('d', w.dilation, 1)}${per('op', w.outputPadding, 0)}`;
}

async function defaultLibraries(): Promise<string[]> {
  const ck = (await import('../src/index.js')) as Record<string, unknown>;
  const threaded = typeof ck.setNumThreads === 'function';
  return libraryIds.filter((id) => id !== 'convkit-2t' || threaded);
}

interface ChildOutcome { note: string; maxRssMB: number | null; error?: string }

function runChild(task: ChildTask, timeoutS: number, onResult: (m: Extract<ChildMessage, { type: 'result' }>) => void): Promise<ChildOutcome> {
  return new Promise((done) => {
    const child = fork(join(here, 'child.ts'), [JSON.stringify(task)], {
      cwd: repoRoot,
      execArgv: [...process.execArgv.filter((a) => a.startsWith('--experimental-wasm')), '--import', 'tsx'], // relaxed SIMD reaches the children
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const outcome: ChildOutcome = { note: '', maxRssMB: null };
    let stderr = '';
    child.stdout?.resume();   // libraries' banners are not part of the report
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    const timer = setTimeout(() => {
      outcome.error = `timed out after ${timeoutS} s`;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') outcome.note = m.note;
      else if (m.type === 'result') onResult(m);
      else if (m.type === 'done') outcome.maxRssMB = m.maxRssMB;
      else if (m.type === 'fatal') outcome.error = m.message;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!outcome.error && outcome.maxRssMB === null)
        outcome.error = `exited (${signal ?? code}) before finishing: ${stderr.trim().split('\n').pop() ?? ''}`;
      done(outcome);
    });
  });
}

/** A minimal progress reporter: a cli-progress bar on a TTY, plain lines otherwise. */
async function progressReporter(mode: NonNullable<BenchOptions['progress']>, total: number, log: (s: string) => void) {
  const useBar = mode === 'bar' || (mode === 'auto' && Boolean(process.stderr.isTTY));
  if (useBar) {
    const { SingleBar, Presets } = await import('cli-progress');
    const bar = new SingleBar({ format: 'bench [{bar}] {value}/{total} {task}', stream: process.stderr, hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0, { task: '' });
    return { step: (task: string) => bar.increment(1, { task }), stop: () => bar.stop() };
  }
  let n = 0;
  return {
    step: (task: string) => { n++; if (mode !== 'none') log(`[${n}/${total}] ${task}`); },
    stop: () => undefined,
  };
}

const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));

const fmtMflop = (v: number): string => (v >= 10 ? v.toFixed(0) : v.toPrecision(2));

function cellText(c: BenchCell | undefined, what: 'ms' | 'gflops'): string {
  if (!c) return '-';
  if (c.status === 'n/a') return 'n/a';
  if (c.status === 'error') return 'error';
  const mark = c.status === 'mismatch' ? ' MISMATCH' : '';
  if (c.ms === null) return (c.status === 'ok' ? 'ok' : '') + mark;
  if (what === 'gflops') return `${c.gflops!.toFixed(2)}${mark}`;
  return `${fmtMs(c.ms)}${c.ratio !== null && !c.lib.startsWith('convkit') ? ` (${c.ratio.toFixed(2)}×)` : ''}${mark}`;
}

/** Text columns; those in `left` are left-aligned, the rest right-aligned. */
function table(rows: string[][], left: readonly number[] = [0, 1]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (left.includes(i) ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

/** The report as text: ms (with ratios), GFLOP/s, peak RSS, and the notes on n/a, mismatches and errors. */
export function formatReport(r: BenchReport): string[] {
  const libs = r.libraries.map((l) => l.id);
  const cell = (lib: string, id: string) => r.cells.find((c) => c.lib === lib && c.id === id);
  const head = ['id', 'workload', 'MFLOP', ...libs];
  const rows = (what: 'ms' | 'gflops') => table([head, ...r.workloads.map((w) =>
    [w.id, w.label, fmtMflop((2 * w.macs) / 1e6), ...libs.map((l) => cellText(cell(l, w.id), what))])]);
  const out: string[] = [];
  if (r.mode === 'verify') {
    out.push('verification (no timing): ok / MISMATCH / n/a', ...rows('ms'));
  } else {
    out.push(`median ms per call (ratio = library ms / convkit ms at the same thread count; > 1: convkit faster)`, ...rows('ms'));
    out.push('', 'GFLOP/s (2·MACs / median time)', ...rows('gflops'));
  }
  out.push('', r.machine.browser ? 'libraries (peak memory is not measured in the browser)' : 'peak RSS per child process (MB)', ...table([
    ['library', 'RSS', 'details'],
    ...[r.reference, ...r.libraries].map((l) => [l.id, l.maxRssMB === null ? '-' : l.maxRssMB.toFixed(0), l.error ? `error: ${l.error}` : l.note]),
  ], [0, 2]));
  const notes = new Map<string, string[]>();
  for (const c of r.cells)
    if (c.status !== 'ok') {
      const key = `${c.lib}: ${c.status}${c.note ? ` (${c.note})` : ''}${c.status === 'mismatch' && c.relErr !== null ? ` rel. error ${c.relErr.toExponential(2)}` : ''}`;
      notes.set(key, [...(notes.get(key) ?? []), c.id]);
    }
  if (notes.size > 0) out.push('', 'notes', ...[...notes].map(([k, ids]) => `  ${k}: ${ids.join(', ')}`));
  if (r.machine.browser) out.push('', `in ${r.machine.browser} (headless; each library in a dedicated Web Worker of its own crossOriginIsolated page)`);
  out.push('', `${r.mode} run, ${r.machine.cores} × ${r.machine.cpu}, load ${r.machine.loadavg.map((v) => v.toFixed(2)).join(' ')} at start, ${r.wallS.toFixed(0)} s`);
  return out;
}

/**
 * The table's cells from the children's results: GFLOP/s, and the ratio to the convkit row with the
 * same thread count (`threadsOf`: from the library id's `-Nt`, else 1; convkit-1t where there is no such row).
 */
export function benchCells(libs: readonly string[], wls: readonly Workload[],
  raw: readonly Pick<BenchCell, 'lib' | 'id' | 'status' | 'ms' | 'runs' | 'relErr' | 'note'>[],
  threadsOf: (lib: string) => number = (lib) => Number(/-(\d+)t$/.exec(lib)?.[1] ?? 1)): BenchCell[] {
  const byKey = new Map(raw.map((m) => [`${m.lib}/${m.id}`, m]));
  const convkitMs = (lib: string, id: string): number | null => {
    const same = byKey.get(`convkit-${threadsOf(lib)}t/${id}`) ?? byKey.get(`convkit-1t/${id}`);
    return same?.ms ?? null;
  };
  const cells: BenchCell[] = [];
  for (const lib of libs)
    for (const w of wls) {
      const m = byKey.get(`${lib}/${w.id}`);
      if (!m) { cells.push({ lib, id: w.id, status: 'error', ms: null, runs: 0, gflops: null, ratio: null, relErr: null, note: 'no result' }); continue; }
      const base = convkitMs(lib, w.id);
      cells.push({
        lib, id: w.id, status: m.status, ms: m.ms, runs: m.runs, relErr: m.relErr, note: m.note,
        gflops: m.ms === null ? null : gflops(macs(w), m.ms),
        ratio: m.ms === null || base === null ? null : m.ms / base,
      });
    }
  return cells;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const t0 = performance.now();
  const log = options.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  const wls = options.workloads ? [...options.workloads] : selectWorkloads(options.only);
  const libs = options.libs ? [...options.libs] : await defaultLibraries();
  for (const id of libs)
    if (!(libraryIds as readonly string[]).includes(id))
      throw new Error(`bench: --libs must name libraries from ${libraryIds.join(', ')}; got ${id}`);
  const mode = options.verifyOnly ? 'verify' : options.quick ? 'quick' : 'full';
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg(), node: process.version };
  const refDir = mkdtempSync(join(tmpdir(), 'convkit-bench-'));
  const progress = await progressReporter(options.progress ?? 'auto', (libs.length + 1) * wls.length, log);
  const timeoutS = options.childTimeoutS ?? 300;
  const raw: Extract<ChildMessage, { type: 'result' }>[] = [];
  const libraries: BenchLibrary[] = [];
  let reference: BenchLibrary;
  try {
    const ref = await runChild({ lib: 'reference', workloads: wls, refDir, mode }, timeoutS,
      (m) => progress.step(`reference ${m.id}`));
    reference = { id: 'reference', ...ref };
    if (ref.error) throw new Error(`bench: reference failed: ${ref.error}`);
    for (const lib of libs) {
      const o = await runChild({ lib, workloads: wls, refDir, mode }, timeoutS, (m) => {
        raw.push(m);
        const ms = m.ms === null ? '' : ` ${fmtMs(m.ms)} ms`;
        progress.step(`${lib} ${m.id}${ms} ${m.status}`);
      });
      libraries.push({ id: lib, ...o });
    }
  } finally {
    progress.stop();
    rmSync(refDir, { recursive: true, force: true });
  }
  const cells = benchCells(libs, wls, raw);
  const report: BenchReport = {
    date: new Date().toISOString(), mode, machine,
    workloads: wls.map((w) => ({ ...w, macs: macs(w), label: label(w) })),
    libraries, reference: reference!, cells, wallS: (performance.now() - t0) / 1000,
  };
  for (const line of formatReport(report)) log(line);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

async function cli(argv: string[]): Promise<void> {
  const { Command } = await import('commander');
  const program = new Command('bench')
    .description('Benchmark convkit against TensorFlow.js and ONNX Runtime (each library in its own child process)')
    .option('--only <ids>', 'comma-separated workload ids, e.g. T1,C4')
    .option('--libs <ids>', `comma-separated libraries from ${libraryIds.join(', ')}`)
    .option('--quick', 'few repeats per measurement')
    .option('--verify-only', 'run and verify every output once, timing nothing')
    .option('--json <file>', 'also write the results as JSON')
    .option('--no-progress', 'no progress bar or lines')
    .option('--webgpu', "convkit's WebGPU backend next to onnxruntime-web's WebGPU EP and tfjs-webgpu in headless Chromium (bench/webgpu.ts)")
    .option('--models', 'whole models (HiFi-GAN, DCGAN, U-Net) instead of the layer workloads; --only then names models')
    .option('--profile <ids>', "print convkit's profile of one call of each named model")
    .option('--browser', 'in headless Chromium (crossOriginIsolated page, each library in its own page; bench/browser.ts), layers or --models')
    .parse(argv);
  const o = program.opts<{ only?: string; libs?: string; quick?: boolean; verifyOnly?: boolean; json?: string; progress: boolean; webgpu?: boolean; models?: boolean; profile?: string; browser?: boolean }>();
  const list = (s?: string) => (s === undefined ? undefined : s.split(',').map((v) => v.trim()).filter(Boolean));
  if (o.browser) {
    const { runBrowserBench, runBrowserModelBench } = await import('./browser.js');
    const opts = { only: list(o.only), libs: list(o.libs), quick: o.quick, verifyOnly: o.verifyOnly, json: o.json, progress: o.progress };
    // --browser --profile <ids>: the named models on convkit (quick timing, then one profiled call per page).
    const r = o.profile !== undefined
      ? await runBrowserModelBench({ ...opts, only: list(o.profile), libs: opts.libs ?? ['convkit-1t', 'convkit-2t'], quick: true, profile: true })
      : o.models ? await runBrowserModelBench(opts) : await runBrowserBench(opts);
    const cells: readonly { status: string }[] = r.cells;
    if (cells.some((c) => c.status === 'mismatch' || c.status === 'error') || r.libraries.some((l) => l.error)) process.exitCode = 1;
    return;
  }
  if (o.webgpu) {
    const { runWebgpuBench } = await import('./webgpu.js');
    await runWebgpuBench({ only: list(o.only), quick: o.quick });
    process.exit(0); // a peer's pending GPU work must not keep the process alive
  }
  if (o.profile !== undefined) {
    const { runModelProfile } = await import('./models.js');
    await runModelProfile(list(o.profile)!);
    return;
  }
  if (o.models) {
    const { runModelBench } = await import('./models.js');
    const r = await runModelBench({ only: list(o.only), libs: list(o.libs), quick: o.quick, verifyOnly: o.verifyOnly, json: o.json });
    if (r.cells.some((c) => c.status !== 'ok') || r.libraries.some((l) => l.error)) process.exitCode = 1;
    return;
  }
  const report = await runBench({
    only: list(o.only), libs: list(o.libs), quick: o.quick, verifyOnly: o.verifyOnly, json: o.json,
    progress: o.progress ? 'auto' : 'none',
  });
  if (report.cells.some((c) => c.status === 'mismatch' || c.status === 'error') || report.libraries.some((l) => l.error))
    process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
}

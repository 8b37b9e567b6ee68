/**
 * `npm run bench -- --models`: whole models (examples/models/) in convkit against ONNX Runtime
 * (web wasm and node native) on the ONNX graph traced from the same convkit module, seeded random
 * weights and inputs, each library in its own child process (bench/model-child.ts), every output
 * checked against the reference before timing; real-time factor for the audio model.
 * `--profile <model>` prints convkit's profile of one call of one model (2 threads).
 *
 *   npm run bench -- --models [--quick] [--only hifigan-1s,unet-16384] [--libs convkit-1t,ort-web-2t] [--json out.json]
 *   npm run bench -- --profile hifigan-1s
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Module, Tensor } from '../src/index.js';
import type { ModelMessage, ModelTask } from './model-child.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

/** One benchmarked model: a module with seeded weights and its input. */
export interface ModelCase {
  readonly module: Module;
  readonly input: Tensor;
  /** The backend of the reference output: the literal 'ref' kernels where they finish in seconds, else convkit's default (1 thread). */
  readonly referenceBackend: string;
}

interface ModelSpec {
  readonly id: string;
  readonly label: string;
  /** Seconds of audio one call produces (the real-time factor is this over the call's time). */
  readonly audioSeconds?: number;
  build(): Promise<ModelCase>;
}

const SEED = 20261201;
const SAMPLE_RATE = 22050, HOP = 256;

async function hifigan(frames: number): Promise<ModelCase> {
  const ck = await import('../src/index.js');
  const { HifiganGenerator, HIFIGAN_V1 } = await import('../examples/models/hifigan.js');
  ck.manualSeed(SEED);
  // The fused forward of docs/porting.md (the leaky ReLU after each resblock's first conv and the
  // residual add written by the convolutions); the ONNX graph traced from it has the same nodes.
  return { module: new HifiganGenerator(HIFIGAN_V1, { fused: true }), input: ck.randn([1, HIFIGAN_V1.numMels, frames], { seed: SEED + frames }), referenceBackend: 'auto' };
}

async function dcgan(batch: number): Promise<ModelCase> {
  const ck = await import('../src/index.js');
  const { DcganGenerator, DCGAN, foldDcgan } = await import('../examples/models/dcgan.js');
  ck.manualSeed(SEED);
  const g = new DcganGenerator(DCGAN);
  g.eval();
  return { module: foldDcgan(g), input: ck.randn([batch, DCGAN.nz, 1, 1], { seed: SEED + batch }), referenceBackend: batch === 1 ? 'ref' : 'auto' };
}

async function unet(samples: number): Promise<ModelCase> {
  const ck = await import('../src/index.js');
  const { Unet1d, UNET1D } = await import('../examples/models/unet1d.js');
  ck.manualSeed(SEED);
  return { module: new Unet1d(UNET1D), input: ck.randn([1, UNET1D.inChannels, samples], { seed: SEED + samples }), referenceBackend: 'auto' };
}

/** The four rows of the whole-model table (HiFi-GAN V1 at two lengths, DCGAN at two batches, the 1-D U-Net). */
export const MODELS: readonly ModelSpec[] = [
  { id: 'hifigan-1s', label: 'HiFi-GAN V1, 86 mel frames (1 s of 22.05 kHz audio)', audioSeconds: (86 * HOP) / SAMPLE_RATE, build: () => hifigan(86) },
  { id: 'hifigan-5s', label: 'HiFi-GAN V1, 430 mel frames (5 s)', audioSeconds: (430 * HOP) / SAMPLE_RATE, build: () => hifigan(430) },
  { id: 'dcgan-1', label: 'DCGAN generator (nz 100, ngf 64, BatchNorm folded), batch 1', build: () => dcgan(1) },
  { id: 'dcgan-64', label: 'DCGAN generator, batch 64', build: () => dcgan(64) },
  { id: 'unet-16384', label: '1-D U-Net with concatenated skips, 16384 samples', build: () => unet(16384) },
];

/** The model case of `id`, built (seeded: every child builds the same weights). */
export async function modelCase(id: string): Promise<ModelCase> {
  const spec = MODELS.find((m) => m.id === id);
  if (!spec) throw new Error(`bench: --only must name models from ${MODELS.map((m) => m.id).join(', ')}; got ${id}`);
  return spec.build();
}

export const MODEL_LIBS = ['convkit-1t', 'convkit-2t', 'ort-web-1t', 'ort-web-2t', 'ort-node-1t', 'ort-node-2t'] as const;
const DEFAULT_LIBS = ['convkit-1t', 'convkit-2t', 'ort-web-2t', 'ort-node-2t'];

export interface ModelBenchOptions {
  readonly only?: readonly string[];
  readonly libs?: readonly string[];
  readonly quick?: boolean;
  readonly verifyOnly?: boolean;
  readonly json?: string;
  readonly log?: (line: string) => void;
  /** Per-child time limit in seconds (default 900). */
  readonly childTimeoutS?: number;
}

type Result = Extract<ModelMessage, { type: 'result' }>;
interface Outcome { note: string; maxRssMB: number | null; error?: string; profiles: string[] }

function runChild(task: ModelTask, timeoutS: number, onResult: (m: Result) => void): Promise<Outcome> {
  return new Promise((done) => {
    const child = fork(join(here, 'model-child.ts'), [JSON.stringify(task)], {
      cwd: repoRoot, execArgv: [...process.execArgv.filter((a) => a.startsWith('--experimental-wasm')), '--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const o: Outcome = { note: '', maxRssMB: null, profiles: [] };
    let stderr = '';
    child.stdout?.resume();
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    const timer = setTimeout(() => { o.error = `timed out after ${timeoutS} s`; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('message', (m: ModelMessage) => {
      if (m.type === 'ready') o.note = m.note;
      else if (m.type === 'result') onResult(m);
      else if (m.type === 'profile') o.profiles.push(`${m.id}\n${m.text}`);
      else if (m.type === 'done') o.maxRssMB = m.maxRssMB;
      else o.error = m.message;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!o.error && o.maxRssMB === null) o.error = `exited (${signal ?? code}) before finishing: ${stderr.trim().split('\n').pop() ?? ''}`;
      done(o);
    });
  });
}

const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export interface ModelReport {
  readonly date: string;
  readonly mode: 'full' | 'quick' | 'verify';
  readonly machine: { readonly cpu: string; readonly cores: number; readonly loadavg: readonly number[]; readonly node: string };
  readonly models: readonly { readonly id: string; readonly label: string; readonly audioSeconds?: number }[];
  readonly libraries: readonly { readonly id: string; readonly note: string; readonly maxRssMB: number | null; readonly error?: string }[];
  readonly cells: readonly (Result & { readonly ratio: number | null; readonly realTime: number | null })[];
}

/** The table: median ms per call, (ratio = peer ms / convkit ms at the same thread count), real-time factor, notes. */
export function formatModelReport(r: ModelReport): string[] {
  const libs = r.libraries.map((l) => l.id);
  const cell = (lib: string, id: string) => r.cells.find((c) => c.lib === lib && c.id === id);
  const text = (c: ModelReport['cells'][number] | undefined) => {
    if (!c) return '-';
    if (c.status === 'error') return 'error';
    const mark = c.status === 'mismatch' ? ' MISMATCH' : '';
    if (c.ms === null) return `ok${mark}`;
    const ratio = c.ratio !== null && !c.lib.startsWith('convkit') ? ` (${c.ratio.toFixed(2)}×)` : '';
    const rt = c.realTime !== null ? ` RT ${c.realTime.toFixed(2)}×` : '';
    return `${fmtMs(c.ms)}${ratio}${rt}${mark}`;
  };
  const rows = [['model', ...libs], ...r.models.map((m) => [m.id, ...libs.map((l) => text(cell(l, m.id)))])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const out = ['median ms per call (ratio = library ms / convkit ms at the same thread count; > 1: convkit faster; RT = seconds of audio per second)',
    line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line), ''];
  for (const m of r.models) out.push(`  ${m.id}: ${m.label}`);
  out.push('', 'libraries (peak RSS of the child)');
  for (const l of r.libraries) out.push(`  ${l.id}: ${l.maxRssMB === null ? '-' : `${l.maxRssMB.toFixed(0)} MB`}, ${l.error ? `error: ${l.error}` : l.note}`);
  const notes = r.cells.filter((c) => c.status !== 'ok').map((c) => `  ${c.lib} ${c.id}: ${c.status}${c.note ? ` (${c.note})` : ''}${c.relErr !== null ? ` rel. error ${c.relErr.toExponential(2)}` : ''}`);
  if (notes.length) out.push('', 'notes', ...notes);
  out.push('', `${r.mode} run, ${r.machine.cores} × ${r.machine.cpu}, Node ${r.machine.node}, load ${r.machine.loadavg.map((v) => v.toFixed(2)).join(' ')} at start`);
  return out;
}

export async function runModelBench(o: ModelBenchOptions = {}): Promise<ModelReport> {
  const log = o.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  const models = o.only ? MODELS.filter((m) => o.only!.includes(m.id)) : MODELS;
  for (const id of o.only ?? []) if (!MODELS.some((m) => m.id === id)) throw new Error(`bench: --only must name models from ${MODELS.map((m) => m.id).join(', ')}; got ${id}`);
  const libs = o.libs ? [...o.libs] : DEFAULT_LIBS;
  for (const id of libs) if (!(MODEL_LIBS as readonly string[]).includes(id)) throw new Error(`bench: --libs must name libraries from ${MODEL_LIBS.join(', ')}; got ${id}`);
  const mode = o.verifyOnly ? 'verify' : o.quick ? 'quick' : 'full';
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg(), node: process.version };
  const refDir = mkdtempSync(join(tmpdir(), 'convkit-models-'));
  const timeoutS = o.childTimeoutS ?? 900;
  const results: Result[] = [];
  const libraries: ModelReport['libraries'][number][] = [];
  const ids = models.map((m) => m.id);
  try {
    const ref = await runChild({ lib: 'reference', models: ids, refDir, mode }, timeoutS, (m) => log(`reference ${m.id} (${m.note})`));
    if (ref.error) throw new Error(`bench: reference failed: ${ref.error}`);
    for (const lib of libs) {
      const out = await runChild({ lib, models: ids, refDir, mode }, timeoutS, (m) => {
        results.push(m);
        log(`${lib} ${m.id}${m.ms === null ? '' : ` ${fmtMs(m.ms)} ms`} ${m.status}`);
      });
      libraries.push({ id: lib, note: out.note, maxRssMB: out.maxRssMB, error: out.error });
    }
  } finally {
    rmSync(refDir, { recursive: true, force: true });
  }
  const msOf = (lib: string, id: string) => results.find((m) => m.lib === lib && m.id === id)?.ms ?? null;
  const cells = results.map((m) => {
    const threads = /-(\d+)t$/.exec(m.lib)?.[1] ?? '1';
    const base = msOf(`convkit-${threads}t`, m.id) ?? msOf('convkit-1t', m.id);
    const audio = models.find((s) => s.id === m.id)?.audioSeconds;
    return { ...m, ratio: m.ms === null || base === null ? null : m.ms / base, realTime: m.ms === null || audio === undefined ? null : audio / (m.ms / 1000) };
  });
  const report: ModelReport = { date: new Date().toISOString(), mode, machine, models: models.map(({ id, label, audioSeconds }) => ({ id, label, audioSeconds })), libraries, cells };
  for (const l of formatModelReport(report)) log(l);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** Prints convkit's profile of one call of each model in `ids` (2 threads, after a warm-up call). */
export async function runModelProfile(ids: readonly string[], log: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<void> {
  const refDir = mkdtempSync(join(tmpdir(), 'convkit-models-'));
  try {
    const o = await runChild({ lib: 'profile', models: ids, refDir, mode: 'quick' }, 900, () => undefined);
    if (o.error) throw new Error(`bench: profile failed: ${o.error}`);
    for (const p of o.profiles) log(p);
  } finally {
    rmSync(refDir, { recursive: true, force: true });
  }
}

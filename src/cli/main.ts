#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `convkit` command line: `shape`, `run`, `explain` and `bench`. Node-only front-end that calls
 * the library's public functions. Errors print one line on stderr and exit with code 1.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConvError, fmt } from '../spec/errors.js';
import { parseDType } from '../spec/normalize.js';
import { weightShapeFor } from '../spec/shape.js';
import { checkGroupsDivide } from '../spec/validate.js';
import { Tensor, tensor } from '../autograd/tensor.js';
import type { DType, Layout } from '../spec/types.js';
import { readNpyBytes, readNpzBytes, readSafetensorsBytes, writeFileAtomic } from '../io/node.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { readNpz, readNpzMembers, writeNpzMembers } from '../io/npz.js';
import { encodeSafetensors, readSafetensors, readSafetensorsRaw, safetensorsEntry, type SafetensorsRawEntry } from '../io/safetensors.js';
import { convOptions, intList, numberList, parseOp, planFor, runOp, specFor, type OpInfo, type RawConvArgs } from './conv-args.js';
import { shapeLines, shapeReport } from './shape.js';
import { explain, explainLines } from './explain.js';
import { stages } from './progress.js';
import { prod } from '../util/shape.js';

const print = (lines: string[] | string) => process.stdout.write((Array.isArray(lines) ? lines.join('\n') : lines) + '\n');

/** Largest integer a flag accepts: what a double holds exactly. */
const MAX_FLAG_INT = Number.MAX_SAFE_INTEGER;
const decimal = (p: string) => /^\d+$/.test(p) && Number(p) <= MAX_FLAG_INT;

/**
 * Checks an integer flag's spelling before anything else reads it: decimal digits only, comma
 * separated, each at most 2^53 − 1 (so '1e300', '0x10', '2.5', '1_000' and '' are refused).
 */
function integers(flag: string): (v: string) => string {
  return (v) => {
    if (!String(v).split(',').every((p) => decimal(p.trim())))
      throw new ConvError('convkit', flag, `must be decimal integers from 0 to 2^53 − 1 separated by commas (no exponents, hex or fractions); got ${fmt(v)}`);
    return v;
  };
}

/** Value flags (explain's --x, --w, --b): finite decimal numbers, comma separated ('0x10', 'Infinity', '1_0' refused). */
function numbers(flag: string): (v: string) => string {
  return (v) => {
    if (!String(v).split(',').every((p) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(p.trim()) && Number.isFinite(Number(p))))
      throw new ConvError('convkit', flag, `must be finite decimal numbers separated by commas (no hex, Infinity or NaN); got ${fmt(v)}`);
    return v;
  };
}

/** --padding: a name ('same', 'VALID'), or integers in a list or JSON pairs, each spelled in decimal. */
function paddingFlag(v: string): string {
  const t = String(v).trim();
  if (/^[a-z]+$/i.test(t)) return v;
  const tokens = t.match(/[^[\],\s]+/g) ?? [];
  if (!tokens.length || !tokens.every(decimal))
    throw new ConvError('convkit', '--padding', `must be a name ('same', 'valid') or decimal integers from 0 to 2^53 − 1, as a comma list or JSON pairs; got ${fmt(v)}`);
  return v;
}

function addConvOptions(cmd: Command, layout = true): Command {
  cmd
    .option('--stride <s>', 'stride: an int or one per spatial dim, e.g. 2 or 2,1', integers('--stride'))
    .option('--padding <p>', "padding: int, per-dim list, JSON [before, after] pairs ('[[1,0]]'), 'same'/'valid' (Paddle: 'SAME'/'VALID')", paddingFlag)
    .option('--dilation <d>', 'dilation: an int or one per spatial dim', integers('--dilation'))
    .option('--groups <g>', 'channel groups', integers('--groups'))
    .option('--output-padding <op>', 'transposed ops: extra trailing elements per dim', integers('--output-padding'))
    .option('--output-size <size>', 'transposed ops: requested spatial output size (or the full shape)', integers('--output-size'))
    .option('--padding-mode <mode>', "convolution: 'zeros', 'reflect', 'replicate' or 'circular'")
    .option('--paddle', "Paddle's spellings and rules (paddle.nn.functional; 'SAME' works with any stride)");
  if (layout) cmd.option('--data-format <f>', "layout of input and output: NCL/NLC, NCHW/NHWC, NCDHW/NDHWC");
  return cmd;
}

/** The package's version, from the package.json beside src/ or dist/. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The weight shape from --weight, or from --in-channels/--out-channels/--kernel-size and the input. */
function weightShape(info: OpInfo, layout: Layout, xShape: number[], o: { weight?: string; inChannels?: string; outChannels?: string; kernelSize?: string; groups?: string },
  defaults: { kernelSize?: number } = {}): number[] {
  if (o.weight !== undefined) return intList('--weight', o.weight, 1);
  const d = info.rank;
  const cx = layout === 'channelsLast' ? xShape[xShape.length - 1] : xShape[xShape.length - d - 1];
  const cIn = o.inChannels !== undefined ? intList('--in-channels', o.inChannels, 1)[0] : cx;
  if (cIn === undefined) throw new ConvError('convkit', '--input', `must be ${d + 1}-D or ${d + 2}-D for a ${d}-D op; got ${fmt(xShape)}`);
  if (o.outChannels === undefined && defaults.kernelSize === undefined)
    throw new ConvError('convkit', '--weight', `or --out-channels with --kernel-size must be given; got neither`);
  const cOut = o.outChannels !== undefined ? intList('--out-channels', o.outChannels, 1)[0] : cIn;
  let k: number[];
  if (o.kernelSize !== undefined) k = intList('--kernel-size', o.kernelSize, 1);
  else if (defaults.kernelSize !== undefined) k = [defaults.kernelSize];
  else throw new ConvError('convkit', '--kernel-size', `must be given with --out-channels (or give --weight); got none`);
  if (k.length === 1) k = new Array<number>(d).fill(k[0]);
  if (k.length !== d) throw new ConvError('convkit', '--kernel-size', `must be one int or ${d} ints; got ${fmt(k)}`);
  const g = o.groups !== undefined ? intList('--groups', o.groups, 1)[0] : 1;
  checkGroupsDivide(info.name, 'inChannels', cIn, g);
  checkGroupsDivide(info.name, 'outChannels', cOut, g);
  return weightShapeFor(info.transposed, cIn, cOut, g, k);
}

// ---------------------------------------------------------------------------------------------
// Tensors from files: x.npy, w.npz:key, model.safetensors:key

const fileSpec = (spec: string) => {
  const m = /^(.*\.(npz|safetensors)):([^:]+)$/i.exec(spec);
  const path = m ? m[1] : spec;
  const ext = (m ? m[2] : /\.([a-z]+)$/i.exec(spec)?.[1] ?? '').toLowerCase();
  return { path, ext, key: m ? m[3] : undefined };
};

function loadTensor(flag: string, spec: string, dtype: DType | undefined): Tensor {
  const { path, ext, key: named } = fileSpec(spec);
  if (ext === 'npy') return readNpy(readNpyBytes(path, { dtype }), { dtype });
  if (ext !== 'npz' && ext !== 'safetensors')
    throw new ConvError('convkit', flag, `must name a .npy file, or a key of an .npz or .safetensors file as FILE:KEY; got ${fmt(spec)}`);
  const all = ext === 'npz' ? readNpz(readNpzBytes(path), { dtype }) : readSafetensors(readSafetensorsBytes(path), { dtype }).tensors;
  const keys = Object.keys(all);
  const key = named ?? (keys.length === 1 ? keys[0] : undefined);
  if (key === undefined || !Object.hasOwn(all, key))
    throw new ConvError('convkit', flag, `must name one of the arrays in ${path} as ${path}:KEY (${keys.join(', ')}); got ${fmt(spec)}`);
  return all[key];
}

/**
 * Writes the output atomically. FILE.npz:KEY and FILE.safetensors:KEY into an existing file
 * replace (or add) that member and keep every other member as it was, byte for byte.
 */
function saveTensor(spec: string, t: Tensor): void {
  const { path, ext, key: named } = fileSpec(spec);
  const key = named ?? 'output';
  if (ext !== 'npy' && ext !== 'npz' && ext !== 'safetensors')
    throw new ConvError('convkit', '--out', `must end in .npy, .npz or .safetensors; got ${fmt(spec)}`);
  const existing = <T>(read: () => T, empty: T): T => {
    if (ext === 'npy' || !existsSync(path)) return empty;
    try {
      return read();
    } catch (e) {
      throw new ConvError('convkit', '--out', `names an existing file that cannot be updated (${(e as Error).message}); got ${fmt(path)}`);
    }
  };
  let bytes: Uint8Array;
  if (ext === 'npy') bytes = writeNpy(t);
  else if (ext === 'npz') {
    const members = existing(() => readNpzMembers(readNpzBytes(path)), new Map<string, Uint8Array>());
    members.delete(key);
    members.set(`${key}.npy`, writeNpy(t));
    bytes = writeNpzMembers(members);
  } else {
    const file = existing<{ entries: SafetensorsRawEntry[]; metadata?: Record<string, string> }>(() => readSafetensorsRaw(readSafetensorsBytes(path)), { entries: [] });
    const entries = file.entries.filter((e) => e.name !== key);
    entries.push(safetensorsEntry(key, t));
    entries.sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
    const meta = file.metadata && Object.keys(file.metadata).length ? file.metadata : undefined;
    bytes = encodeSafetensors(entries, meta);
  }
  writeFileAtomic('convkit', path, bytes, '--out');
}

// ---------------------------------------------------------------------------------------------

type ShapeOpts = RawConvArgs & { input: string; weight?: string; inChannels?: string; outChannels?: string; kernelSize?: string; json?: boolean };
type RunOpts = RawConvArgs & { input: string; weight: string; bias?: string; out?: string; dtype?: string; print?: boolean; json?: boolean };
type ExplainOpts = RawConvArgs & { input?: string; weight?: string; inChannels?: string; outChannels?: string; kernelSize?: string; x?: string; w?: string; b?: string; json?: boolean };

function shapeCommand(opName: string, o: ShapeOpts): void {
  const info = parseOp(opName);
  const xShape = intList('--input', o.input);
  const opts = convOptions(info, o);
  const wShape = weightShape(info, specFor(info, opts, Boolean(o.paddle)).layout, xShape, o);
  const plan = planFor(info, opts, Boolean(o.paddle), xShape, wShape);
  const report = shapeReport(info, plan, xShape, wShape);
  print(o.json ? JSON.stringify(report, null, 2) : shapeLines(report));
}

function runCommand(opName: string, o: RunOpts): void {
  const info = parseOp(opName);
  const opts = convOptions(info, o);
  const progress = stages(4);
  try {
    progress.stage('reading');
    const x = loadTensor('--input', o.input, parseDType('convkit', o.dtype, '--dtype'));
    const w = loadTensor('--weight', o.weight, x.dtype);
    const b = o.bias !== undefined ? loadTensor('--bias', o.bias, x.dtype) : null;
    progress.stage(`${info.name} ${fmt(x.shape)}`);
    const y = runOp(info, opts, Boolean(o.paddle), x, w, b);
    progress.stage('writing');
    if (o.out !== undefined) saveTensor(o.out, y);
    progress.stop();
    const summary = { op: info.name, paddle: Boolean(o.paddle), input: x.shape, weight: w.shape, bias: b ? b.shape : null, output: y.shape, dtype: y.dtype, out: o.out ?? null };
    if (o.json) print(JSON.stringify(o.print ? { ...summary, values: Array.from(y.data) } : summary));
    else {
      print(`${info.name}${o.paddle ? ' (paddle)' : ''}: input ${fmt(x.shape)}, weight ${fmt(w.shape)}${b ? `, bias ${fmt(b.shape)}` : ''} → output ${fmt(y.shape)} ${y.dtype}${o.out ? `, wrote ${o.out}` : ''}`);
      if (o.print) print(JSON.stringify(y.toArray()));
    }
  } finally {
    progress.stop();
  }
}

function explainCommand(opName: string, o: ExplainOpts): void {
  const info = parseOp(opName);
  if ((o as { dataFormat?: string }).dataFormat !== undefined)
    throw new ConvError('explain', '--data-format', `is not supported: the account is channels-first`);
  const d = info.rank;
  const defaultSpatial = info.transposed ? [3, 2, 2][d - 1] : [5, 4, 3][d - 1];
  const xShape = o.input !== undefined ? intList('--input', o.input, 1) : [1, 1, ...new Array<number>(d).fill(defaultSpatial)];
  const opts = convOptions(info, o);
  const wShape = weightShape(info, 'channelsFirst', xShape, o, { kernelSize: d === 1 ? 3 : 2 });
  const plan = planFor(info, opts, Boolean(o.paddle), xShape, wShape);
  if (!plan.batched) throw new ConvError('explain', '--input', `must be batched (N, C, *spatial); got ${fmt(xShape)}`);
  const values = (flag: string, s: string | undefined, n: number) => {
    const v = s === undefined ? Array.from({ length: n }, (_, i) => i + 1) : numberList(flag, s);
    if (v.length !== n) throw new ConvError('explain', flag, `must have ${n} values for shape; got ${v.length}`);
    return v;
  };
  const x = values('--x', o.x, prod(xShape));
  const w = values('--w', o.w, prod(wShape));
  const cOut = plan.outShape[1];
  const b = o.b !== undefined ? values('--b', o.b, cOut) : null;
  const e = explain(plan, xShape, x, wShape, w, b);
  // The account must agree with the op itself.
  const y = runOp(info, opts, Boolean(o.paddle), tensor(new Float64Array(x), xShape), tensor(new Float64Array(w), wShape), b && tensor(new Float64Array(b), [cOut]));
  const bad = e.output.values.findIndex((v, i) => Math.abs(v - y.data[i]) > 1e-9 * Math.max(1, Math.abs(v)));
  if (bad >= 0 || y.size !== e.output.values.length)
    throw new Error(`explain: the step-by-step result differs from ${info.name} at element ${bad}`);
  if (o.json) print(JSON.stringify({ ...e, checked: true }, null, 2));
  else print([...explainLines(e), `  (equal to ${info.name} computed by convkit)`]);
}

/** Finds bench/run.ts (or a built run.js) beside the package and imports it, with tsx for TypeScript. */
async function loadBench(): Promise<{ runBench: (o: Record<string, unknown>) => Promise<{ cells: { status: string }[]; libraries: { error?: string }[] }> }> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidates = ['bench/run.js', 'dist/bench/run.js', 'bench/run.ts'].map((p) => resolve(root, p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new ConvError('bench', 'benchmark', `is not available: bench/run.ts is not in this installation; looked in ${fmt(candidates)}`);
  if (found.endsWith('.ts')) {
    try {
      const api = (await import('tsx/esm/api')) as { register: () => unknown };
      api.register();
    } catch {
      throw new ConvError('bench', 'benchmark', `needs tsx to load ${found}; install the dev dependencies`);
    }
  }
  const mod = (await import(pathToFileURL(found).href)) as { runBench?: unknown };
  if (typeof mod.runBench !== 'function') throw new ConvError('bench', 'benchmark', `module ${found} does not export runBench`);
  return mod as never;
}

type BenchOpts = { only?: string; libs?: string; quick?: boolean; verifyOnly?: boolean; json?: string; progress: boolean; childTimeout?: string };

async function benchCommand(o: BenchOpts): Promise<void> {
  const list = (s?: string) => (s === undefined ? undefined : s.split(',').map((v) => v.trim()).filter(Boolean));
  const { runBench } = await loadBench();
  const report = await runBench({
    only: list(o.only), libs: list(o.libs), quick: o.quick, verifyOnly: o.verifyOnly, json: o.json,
    progress: o.progress ? 'auto' : 'none',
    ...(o.childTimeout !== undefined ? { childTimeoutS: intList('--child-timeout', o.childTimeout, 1)[0] } : {}),
  });
  if (report.cells.some((c) => c.status === 'mismatch' || c.status === 'error') || report.libraries.some((l) => l.error)) process.exitCode = 1;
}

export function buildProgram(): Command {
  const program = new Command('convkit')
    .description('Convolution and transposed convolution exactly as PyTorch and Paddle compute them: shapes, runs on .npy files, step-by-step explanations, benchmarks.')
    .version(version(), '-V, --version', 'print the version')
    .showHelpAfterError(false)
    .exitOverride();

  addConvOptions(program.command('shape <op>')
    .description('Output shape of conv1d … convTranspose3d, each dim\'s formula with numbers, and the valid outputSize range for transposed ops')
    .requiredOption('--input <shape>', 'input shape, e.g. 1,16,10', integers('--input'))
    .option('--weight <shape>', 'weight shape, e.g. 16,8,3', integers('--weight'))
    .option('--in-channels <c>', 'instead of --weight: input channels (default: from --input)', integers('--in-channels'))
    .option('--out-channels <c>', 'instead of --weight: output channels', integers('--out-channels'))
    .option('--kernel-size <k>', 'instead of --weight: kernel size, one int or one per dim', integers('--kernel-size'))
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  convkit shape convTranspose1d --input 1,16,10 --weight 16,8,3 --stride 2 --padding 1 --output-padding 1'))
    .action((op: string, o: ShapeOpts) => shapeCommand(op, o));

  addConvOptions(program.command('run <op>')
    .description('Runs an op on arrays from .npy files (or FILE.npz:KEY, FILE.safetensors:KEY) and writes the result')
    .requiredOption('--input <file>', 'input array')
    .requiredOption('--weight <file>', 'weight array')
    .option('--bias <file>', 'bias array')
    .option('--out <file>', 'output file: .npy, .npz or .safetensors (FILE:KEY picks the key)')
    .option('--dtype <dtype>', "compute in 'float32' or 'float64' (default: the input's)")
    .option('--print', 'print the output values')
    .option('--json', 'print a JSON summary')
    .addHelpText('after', '\nExample:\n  convkit run convTranspose1d --input x.npy --weight w.npy --stride 2 --out y.npy\n  convkit run conv1d --paddle --padding SAME --stride 2 --data-format NLC --input x.npy --weight w.npy --out y.npy'))
    .action((op: string, o: RunOpts) => runCommand(op, o));

  addConvOptions(program.command('explain <op>')
    .description('Step by step: for a transposed op, which input element scatters which kernel tap where, the full output, the crop and the output padding; for a conv, which window each output reads')
    .option('--input <shape>', 'input shape (N, C, *spatial); default a small one', integers('--input'))
    .option('--weight <shape>', 'weight shape; default from --kernel-size and the channels', integers('--weight'))
    .option('--in-channels <c>', 'input channels (default: from --input)', integers('--in-channels'))
    .option('--out-channels <c>', 'output channels (default: the input channels)', integers('--out-channels'))
    .option('--kernel-size <k>', 'kernel size (default 3 in 1-D, 2 otherwise)', integers('--kernel-size'))
    .option('--x <values>', 'input values, comma-separated (default 1, 2, 3, …)', numbers('--x'))
    .option('--w <values>', 'weight values, comma-separated (default 1, 2, 3, …)', numbers('--w'))
    .option('--b <values>', 'bias values, one per output channel (default: no bias)', numbers('--b'))
    .option('--json', 'print the account as JSON'), false)
    .option('--data-format <f>', 'not supported (the account is channels-first)')
    .addHelpText('after', '\nExample:\n  convkit explain convTranspose1d --stride 2 --padding 1 --output-padding 1')
    .action((op: string, o: ExplainOpts) => explainCommand(op, o));

  program.command('bench')
    .description('Runs the benchmark (bench/run.ts): convkit against TensorFlow.js and ONNX Runtime')
    .option('--only <ids>', 'comma-separated workload ids, e.g. T1,C4')
    .option('--libs <ids>', 'comma-separated library ids')
    .option('--quick', 'few repeats per measurement')
    .option('--verify-only', 'run and verify every output once, timing nothing')
    .option('--json <file>', 'also write the results as JSON')
    .option('--child-timeout <s>', 'per-library time limit in seconds', integers('--child-timeout'))
    .option('--no-progress', 'no progress bar or lines')
    .action((o: BenchOpts) => benchCommand(o));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander has printed its one line
    const msg = e instanceof Error ? e.message : String(e);
    const line = msg.replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`${line.startsWith('convkit: ') ? line : `convkit: ${line}`}\n`);
    return 1;
  }
}

/** True when this file is the program (also through npm's bin symlink), false when imported. */
function isEntry(): boolean {
  try {
    return Boolean(process.argv[1]) && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  // A closed pipe (`convkit explain … | head`) ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv).then((code) => { process.exitCode = code; });
}

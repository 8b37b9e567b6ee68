/**
 * The benchmark workloads (float32, bias on) and their operation counts.
 * Shapes follow PyTorch: conv weight (cOut, cIn/g, …k), transposed weight (cIn, cOut/g, …k).
 */
import { macCount, weightShapeFor } from '../src/spec/shape.js';

export type OpName = 'conv1d' | 'conv2d' | 'convTranspose1d' | 'convTranspose2d';

export interface Workload {
  readonly id: string;
  readonly op: OpName;
  readonly n: number;
  readonly cIn: number;
  readonly cOut: number;
  readonly inSize: readonly number[];
  readonly kSize: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation: readonly number[];
  readonly outputPadding: readonly number[];
  readonly groups: number;
}

interface Short {
  id: string; op: OpName; n: number; cIn: number; cOut: number; L: number | [number, number]; k: number;
  s?: number; p?: number; d?: number; op1?: number; g?: number;
}

function make(o: Short): Workload {
  const inSize = typeof o.L === 'number' ? [o.L] : o.L;
  const r = inSize.length;
  const per = (v: number) => new Array<number>(r).fill(v);
  return {
    id: o.id, op: o.op, n: o.n, cIn: o.cIn, cOut: o.cOut, inSize, kSize: per(o.k),
    stride: per(o.s ?? 1), padding: per(o.p ?? 0), dilation: per(o.d ?? 1),
    outputPadding: per(o.op1 ?? 0), groups: o.g ?? 1,
  };
}

export const workloads: readonly Workload[] = [
  make({ id: 'T1', op: 'convTranspose1d', n: 1, cIn: 512, cOut: 256, L: 200, k: 16, s: 8, p: 4 }),
  make({ id: 'T2', op: 'convTranspose1d', n: 1, cIn: 64, cOut: 32, L: 6400, k: 4, s: 2, p: 1 }),
  make({ id: 'T3', op: 'convTranspose1d', n: 1, cIn: 16, cOut: 8, L: 10, k: 3, s: 2, p: 1, op1: 1 }),
  make({ id: 'T4', op: 'convTranspose2d', n: 8, cIn: 256, cOut: 128, L: [16, 16], k: 4, s: 2, p: 1 }),
  make({ id: 'T5', op: 'convTranspose1d', n: 4, cIn: 256, cOut: 256, L: 1000, k: 8, s: 4, p: 2, g: 8 }),
  make({ id: 'T6', op: 'convTranspose1d', n: 4, cIn: 64, cOut: 64, L: 1000, k: 3, s: 1, d: 3, p: 3 }),
  make({ id: 'C1', op: 'conv1d', n: 1, cIn: 256, cOut: 256, L: 1600, k: 3, d: 3, p: 3 }),
  make({ id: 'C2', op: 'conv1d', n: 20, cIn: 16, cOut: 33, L: 50, k: 3, s: 2 }),
  make({ id: 'C3', op: 'conv1d', n: 4, cIn: 512, cOut: 512, L: 1000, k: 31, p: 15, g: 512 }),
  make({ id: 'C4', op: 'conv2d', n: 8, cIn: 64, cOut: 64, L: [56, 56], k: 3, p: 1 }),
  make({ id: 'C5', op: 'conv1d', n: 8, cIn: 128, cOut: 256, L: 4096, k: 8, s: 4, p: 2 }),
];

export const isTransposed = (w: Workload): boolean => w.op.startsWith('convTranspose');
const prod = (a: readonly number[]): number => a.reduce((p, v) => p * v, 1);

/** Output spatial size: conv `floor((L + 2p − δ(k−1) − 1)/s) + 1`; transposed `(L−1)s − 2p + δ(k−1) + op + 1`. */
export function outSize(w: Workload): number[] {
  return w.inSize.map((L, a) => {
    const span = w.dilation[a] * (w.kSize[a] - 1) + 1;
    return isTransposed(w)
      ? (L - 1) * w.stride[a] - 2 * w.padding[a] + span + w.outputPadding[a]
      : Math.floor((L + 2 * w.padding[a] - span) / w.stride[a]) + 1;
  });
}

export const xShape = (w: Workload): number[] => [w.n, w.cIn, ...w.inSize];
export const wShape = (w: Workload): number[] => weightShapeFor(isTransposed(w), w.cIn, w.cOut, w.groups, w.kSize);
export const yShape = (w: Workload): number[] => [w.n, w.cOut, ...outSize(w)];

/**
 * Multiply-accumulates of the op (src/spec/shape.ts `macCount`, in the convolution direction: a
 * transposed op's input is its convolution's output), without the products with inserted zeros or padding.
 */
export function macs(w: Workload): number {
  return isTransposed(w)
    ? macCount({ n: w.n, cIn: w.cOut, cOut: w.cIn, groups: w.groups, outSize: w.inSize, kSize: w.kSize })
    : macCount({ n: w.n, cIn: w.cIn, cOut: w.cOut, groups: w.groups, outSize: outSize(w), kSize: w.kSize });
}

/** Workload operands: deterministic uniform values in [−1, 1) rounded to float32, the same in every process. */
export interface Operands { readonly x: Float32Array; readonly w: Float32Array; readonly b: Float32Array }

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fill(n: number, next: () => number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * next() - 1) * scale;
  return a;
}

export function operands(w: Workload): Operands {
  let seed = 0;
  for (const ch of w.id) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  const next = mulberry32(seed);
  const ws = wShape(w);
  // Weights scaled like PyTorch's default init (1/√fan_in) so outputs stay O(1).
  const scale = 1 / Math.sqrt(prod(ws.slice(1)));
  return { x: fill(prod(xShape(w)), next, 1), w: fill(prod(ws), next, scale), b: fill(w.cOut, next, scale) };
}

export function selectWorkloads(only?: readonly string[]): Workload[] {
  if (!only || only.length === 0) return [...workloads];
  const want = only.map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0);
  const unknown = want.filter((id) => !workloads.some((w) => w.id === id));
  if (unknown.length > 0)
    throw new Error(`bench: --only must list workload ids from ${workloads.map((w) => w.id).join(', ')}; got ${unknown.join(', ')}`);
  return workloads.filter((w) => want.includes(w.id));
}

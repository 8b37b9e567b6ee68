/**
 * WebGPU elementwise, data-movement and reduction kernels: unary and broadcasting binary maps,
 * strided gathers (permute, expand), reductions (one workgroup per output, a fixed tree: no
 * atomics, reruns bitwise identical), the padding modes along one axis with their adjoints, and
 * the SGD / Adam updates. Shapes of up to 8 dims travel in uniform buffers.
 */
import { ConvError, fmt } from '../../spec/errors.js';
import type { PaddingMode } from '../../spec/types.js';
import { dispatch, maxGroups, type GpuStorage } from './device.js';

const WG = 64;
export const MAX_RANK = 8;

function grid1(op: string, n: number, wg = WG): [number, number, number] {
  const max = maxGroups(op), groups = Math.ceil(n / wg);
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new ConvError(op, 'size', `${n} elements need more workgroups than this device allows (${max}²)`);
  return [max, y, 1];
}

const INDEX = `let i = gid.x + gid.y * nw.x * ${WG}u;`;
const ENTRY = `@compute @workgroup_size(${WG}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>)`;

/** Unary maps y = f(x, α). */
export type UnaryKind = 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid' | 'abs' | 'scale' | 'square' | 'rsqrtPlus';
const UNARY: Record<UnaryKind, string> = {
  relu: 'select(v, 0.0, v <= 0.0)',
  leakyRelu: 'select(v * p.alpha, v, v > 0.0)',
  // exp of −2|x| never overflows; tanh(±large) is ±1 exactly as in PyTorch.
  tanh: 'sign(v) * (1.0 - exp(-2.0 * abs(v))) / (1.0 + exp(-2.0 * abs(v)))',
  sigmoid: 'select(exp(v) / (1.0 + exp(v)), 1.0 / (1.0 + exp(-v)), v >= 0.0)',
  abs: 'abs(v)',
  scale: 'v * p.alpha',
  square: 'v * v',
  // 1 / √(v + α): batch norm's inverse standard deviation (α = eps); a true division, not inverseSqrt's approximation.
  rsqrtPlus: '1.0 / sqrt(v + p.alpha)',
};

export function unaryKernel(op: string, kind: UnaryKind, x: GpuStorage, y: GpuStorage, alpha = 0): void {
  const n = x.length;
  if (n === 0) return;
  const u = new ArrayBuffer(16);
  new Uint32Array(u, 0, 1)[0] = n;
  new Float32Array(u, 4, 1)[0] = alpha;
  dispatch(op, `unary-${kind}`, () => `
struct P { n: u32, alpha: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let v = X[i];
  Y[i] = ${UNARY[kind]};
}`, u, [x.buffer, y.buffer], grid1(op, n));
}

/**
 * x ← f(x, α) in place (the `inplace` forms of the activations): one read_write binding, each
 * invocation reading and writing only its own element, so the values equal `unaryKernel`'s.
 */
export function unaryInPlaceKernel(op: string, kind: UnaryKind, x: GpuStorage, alpha = 0): void {
  const n = x.length;
  if (n === 0) return;
  const u = new ArrayBuffer(16);
  new Uint32Array(u, 0, 1)[0] = n;
  new Float32Array(u, 4, 1)[0] = alpha;
  dispatch(op, `unary-inplace-${kind}`, () => `
struct P { n: u32, alpha: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let v = X[i];
  X[i] = ${UNARY[kind]};
}`, u, [x.buffer], grid1(op, n));
}

/** Binary maps y = f(a, b, α): arithmetic and the activations' backward (a = gy, b = x or y). */
export type BinaryKind = 'add' | 'sub' | 'mul' | 'div' | 'reluBack' | 'leakyReluBack' | 'tanhBack' | 'sigmoidBack' | 'absBack';
const BINARY: Record<BinaryKind, string> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', div: 'a / b',
  reluBack: 'select(0.0, a, b > 0.0)',
  leakyReluBack: 'select(a * p.alpha, a, b > 0.0)',
  tanhBack: 'a * (1.0 - b * b)',
  sigmoidBack: 'a * b * (1.0 - b)',
  absBack: 'a * sign(b)',
};

/** Row-major strides of `shape` (stride 0 where `from` broadcasts a size-1 or missing dim). */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const r = to.length, lead = r - from.length;
  const strides = new Array<number>(r).fill(0);
  for (let a = from.length - 1, s = 1; a >= 0; a--) {
    strides[lead + a] = from[a] === 1 ? 0 : s;
    s *= from[a];
  }
  return strides;
}

const pad8 = (v: readonly number[]): number[] => [...new Array<number>(MAX_RANK - v.length).fill(0), ...v];
/** Padded at the front with size 1 (stride 0) so that every shape has 8 dims. */
const shape8 = (v: readonly number[]): number[] => [...new Array<number>(MAX_RANK - v.length).fill(1), ...v];

function checkRank(op: string, shape: readonly number[]): void {
  if (shape.length > MAX_RANK) throw new ConvError(op, 'input', `must have at most ${MAX_RANK} dims on WebGPU; got shape ${fmt(shape)}`);
}

/** `fn <name>(i)`: the flat source index of output element i through the uniform strides `p.<field>` over `p.<shape>`. */
const strided = (name: string, field: string, shape = 'shape') => `
fn ${name}(i: u32) -> u32 {
  var r = i;
  var off = 0u;
  for (var a = 7; a >= 0; a = a - 1) {
    let len = p.${shape}[a / 4][a % 4];
    off = off + (r % len) * p.${field}[a / 4][a % 4];
    r = r / len;
  }
  return off;
}`;

function pack(n: number, alpha: number, shape: readonly number[], ...strides: number[][]): ArrayBuffer {
  const u = new ArrayBuffer(16 + 32 * (1 + strides.length));
  const w = new Uint32Array(u);
  w[0] = n;
  new Float32Array(u, 4, 1)[0] = alpha;
  w.set(shape8(shape), 4);
  strides.forEach((s, k) => w.set(pad8(s), 4 + 8 * (k + 1)));
  return u;
}

/** y = f(a, b) with NumPy broadcasting: a of shape `sa`, b of `sb`, y of `shape`. */
export function binaryKernel(op: string, kind: BinaryKind, a: GpuStorage, sa: readonly number[], b: GpuStorage, sb: readonly number[],
  y: GpuStorage, shape: readonly number[], alpha = 0): void {
  const n = y.length;
  if (n === 0) return;
  checkRank(op, shape);
  const flat = sa.length === shape.length && sb.length === shape.length && sa.every((s, i) => s === shape[i]) && sb.every((s, i) => s === shape[i]);
  const key = `binary-${kind}-${flat ? 'flat' : 'bc'}`;
  const u = pack(n, alpha, shape, broadcastStrides(sa, shape), broadcastStrides(sb, shape));
  dispatch(op, key, () => `
struct P { n: u32, alpha: f32, pad0: u32, pad1: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${flat ? '' : strided('srcA', 'sa') + strided('srcB', 'sb')}
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let a = A[${flat ? 'i' : 'srcA(i)'}];
  let b = B[${flat ? 'i' : 'srcB(i)'}];
  Y[i] = ${BINARY[kind]};
}`, u, [a.buffer, b.buffer, y.buffer], grid1(op, n));
}

/** y[i] = x[Σ idx_k · strides_k] over y's `shape` (permute: strides of the permuted axes; expand: 0 on broadcast dims). */
export function gatherKernel(op: string, x: GpuStorage, y: GpuStorage, shape: readonly number[], strides: readonly number[]): void {
  const n = y.length;
  if (n === 0) return;
  checkRank(op, shape);
  dispatch(op, 'gather', () => `
struct P { n: u32, alpha: f32, pad0: u32, pad1: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${strided('src', 'sa')}
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  Y[i] = X[src(i)];
}`, pack(n, 0, shape, [...strides]), [x.buffer, y.buffer], grid1(op, n));
}

const RWG = 64;

/**
 * y[j] = α · Σ x over the dims of `shape` that `kept` holds as 1 (same rank; y has prod(kept)
 * elements). One workgroup per output: each invocation sums a strided share, then a fixed tree.
 */
export function reduceKernel(op: string, x: GpuStorage, shape: readonly number[], kept: readonly number[], y: GpuStorage, alpha = 1): void {
  checkRank(op, shape);
  const nOut = y.length;
  if (nOut === 0) return;
  const rowStrides = new Array<number>(shape.length);
  for (let a = shape.length - 1, s = 1; a >= 0; a--) { rowStrides[a] = s; s *= shape[a]; }
  const keptShape = kept, keptStrides = kept.map((k, a) => (k === 1 ? 0 : rowStrides[a]));
  const redShape = shape.map((s, a) => (kept[a] === 1 ? s : 1)), redStrides = shape.map((s, a) => (kept[a] === 1 ? rowStrides[a] : 0));
  const count = redShape.reduce((p, q) => p * q, 1);
  const u = new ArrayBuffer(16 + 32 * 4);
  const w = new Uint32Array(u);
  w[0] = nOut; new Float32Array(u, 4, 1)[0] = alpha; w[2] = count;
  w.set(shape8(keptShape), 4); w.set(pad8(keptStrides), 12); w.set(shape8(redShape), 20); w.set(pad8(redStrides), 28);
  const max = maxGroups(op);
  const gx = Math.min(nOut, max), gy = Math.ceil(nOut / max);
  if (gy > max) throw new ConvError(op, 'size', `${nOut} outputs need more workgroups than this device allows (${max}²)`);
  dispatch(op, 'reduce', () => `
struct P { n: u32, alpha: f32, count: u32, pad1: u32, kshape: array<vec4<u32>, 2>, kst: array<vec4<u32>, 2>, rshape: array<vec4<u32>, 2>, rst: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
var<workgroup> part: array<f32, ${RWG}>;
${strided('keptOffset', 'kst', 'kshape')}
${strided('reducedOffset', 'rst', 'rshape')}
@compute @workgroup_size(${RWG}, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let j = wid.x + wid.y * nw.x;
  let live = j < p.n;
  var s = 0.0;
  if (live) {
    let base = keptOffset(j);
    for (var r = lid.x; r < p.count; r = r + ${RWG}u) { s = s + X[base + reducedOffset(r)]; }
  }
  part[lid.x] = s;
  workgroupBarrier();
  for (var h = ${RWG / 2}u; h > 0u; h = h / 2u) {
    if (lid.x < h) { part[lid.x] = part[lid.x] + part[lid.x + h]; }
    workgroupBarrier();
  }
  if (live && lid.x == 0u) { Y[j] = part[0] * p.alpha; }
}`, u, [x.buffer, y.buffer], [gx, gy, 1]);
}

const PAD_SOURCE: Record<PaddingMode, string> = {
  zeros: 'select(-1, j, j >= 0 && j < L)',
  reflect: 'select(select(j, -j, j < 0), 2 * (L - 1) - j, j >= L)',
  replicate: 'clamp(j, 0, L - 1)',
  circular: '((j % L) + L) % L',
};

const PAD_HEADER = (mode: PaddingMode) => `
struct P { n: u32, L: i32, Lp: i32, inner: i32, p0: i32, value: f32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
fn source(q: i32) -> i32 {
  let L = p.L;
  let j = q - p.p0;
  return ${PAD_SOURCE[mode]};
}`;

function padUniforms(n: number, L: number, Lp: number, inner: number, p0: number, value = 0): ArrayBuffer {
  const u = new ArrayBuffer(32);
  new Int32Array(u).set([n, L, Lp, inner, p0]);
  new Float32Array(u, 20, 1)[0] = value;
  return u;
}

/**
 * Pads one axis: x (outer, L, inner) → y (outer, L + p0 + p1, inner) with a padding mode ('zeros'
 * writes `value` outside x: PyTorch's constant padding). Negative p0/p1 crop.
 */
export function padAxisKernel(op: string, mode: PaddingMode, x: GpuStorage, y: GpuStorage, L: number, Lp: number, inner: number, p0: number, value = 0): void {
  const n = y.length;
  if (n === 0) return;
  dispatch(op, `pad-${mode}`, () => `${PAD_HEADER(mode)}
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let r = i32(i) % p.inner;
  let q = (i32(i) / p.inner) % p.Lp;
  let o = i32(i) / (p.inner * p.Lp);
  let s = source(q);
  Y[i] = select(p.value, X[max((o * p.L + s) * p.inner + r, 0)], s >= 0);
}`, padUniforms(n, L, Lp, inner, p0, value), [x.buffer, y.buffer], grid1(op, n));
}

/** The adjoint of `padAxisKernel`: gx[o, i, r] = Σ over padded P with source(P) = i of gy[o, P, r] (a gather: no atomics). */
export function padAxisAdjointKernel(op: string, mode: PaddingMode, gy: GpuStorage, gx: GpuStorage, L: number, Lp: number, inner: number, p0: number): void {
  const n = gx.length;
  if (n === 0) return;
  dispatch(op, `padT-${mode}`, () => `${PAD_HEADER(mode)}
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let r = i32(i) % p.inner;
  let c = (i32(i) / p.inner) % p.L;
  let o = i32(i) / (p.inner * p.L);
  var s = 0.0;
  for (var q = 0; q < p.Lp; q = q + 1) {
    if (source(q) == c) { s = s + X[(o * p.Lp + q) * p.inner + r]; }
  }
  Y[i] = s;
}`, padUniforms(n, L, Lp, inner, p0), [gy.buffer, gx.buffer], grid1(op, n));
}

/** y[n, c, q] = b[c] (or 0 without a bias) for a channels-first (n, c, vol) buffer. */
export function fillBias(op: string, y: GpuStorage, b: GpuStorage | null, n: number, c: number, vol: number): void {
  const total = n * c * vol;
  if (total === 0) return;
  const u = new Uint32Array([total, c, vol, 0]);
  if (!b) {
    dispatch(op, 'fill0', () => `
struct P { n: u32, c: u32, vol: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  Y[i] = 0.0;
}`, u, [y.buffer], grid1(op, total));
    return;
  }
  dispatch(op, 'fillBias', () => `
struct P { n: u32, c: u32, vol: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  Y[i] = B[(i / p.vol) % p.c];
}`, u, [b.buffer, y.buffer], grid1(op, total));
}

/** One SGD step in place (PyTorch's rule), momentum buffer `buf` (f32) when momentum ≠ 0. */
export function sgdKernel(op: string, x: GpuStorage, g: GpuStorage, buf: GpuStorage | null, h: {
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; sign: number; first: boolean;
}): void {
  const n = x.length;
  if (n === 0) return;
  const u = new ArrayBuffer(32);
  new Uint32Array(u, 0, 1)[0] = n;
  new Float32Array(u, 4, 5).set([h.lr, h.momentum, h.dampening, h.weightDecay, h.sign]);
  new Uint32Array(u, 24, 2).set([h.nesterov ? 1 : 0, h.first ? 1 : 0]);
  const withBuf = buf !== null;
  dispatch(op, `sgd-${withBuf ? 'm' : ''}`, () => `
struct P { n: u32, lr: f32, mu: f32, damp: f32, wd: f32, sign: f32, nesterov: u32, first: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
${withBuf ? '@group(0) @binding(3) var<storage, read_write> M: array<f32>;' : ''}
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  var d = p.sign * G[i] + p.wd * X[i];
  ${withBuf ? `let b = select(p.mu * M[i] + (1.0 - p.damp) * d, d, p.first == 1u);
  M[i] = b;
  d = select(b, d + p.mu * b, p.nesterov == 1u);` : ''}
  X[i] = X[i] - p.lr * d;
}`, u, withBuf ? [x.buffer, g.buffer, buf.buffer] : [x.buffer, g.buffer], grid1(op, n));
}

/** One Adam step in place: moments m, v (and the running max of v with amsgrad). */
export function adamKernel(op: string, x: GpuStorage, g: GpuStorage, m: GpuStorage, v: GpuStorage, vMax: GpuStorage | null, h: {
  b1: number; b2: number; eps: number; weightDecay: number; stepSize: number; bc2Sqrt: number; sign: number;
}): void {
  const n = x.length;
  if (n === 0) return;
  const u = new ArrayBuffer(32);
  new Uint32Array(u, 0, 1)[0] = n;
  new Float32Array(u, 4, 7).set([h.b1, h.b2, h.eps, h.weightDecay, h.stepSize, h.bc2Sqrt, h.sign]);
  const ams = vMax !== null;
  dispatch(op, `adam-${ams ? 'ams' : ''}`, () => `
struct P { n: u32, b1: f32, b2: f32, eps: f32, wd: f32, stepSize: f32, bc2: f32, sign: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;
${ams ? '@group(0) @binding(5) var<storage, read_write> VM: array<f32>;' : ''}
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let g = p.sign * G[i] + p.wd * X[i];
  let m = M[i] * p.b1 + (1.0 - p.b1) * g;
  let v = V[i] * p.b2 + (1.0 - p.b2) * g * g;
  M[i] = m;
  V[i] = v;
  ${ams ? 'let second = max(VM[i], v);\n  VM[i] = second;' : 'let second = v;'}
  X[i] = X[i] - p.stepSize * (m / (sqrt(second) / p.bc2 + p.eps));
}`, u, ams ? [x.buffer, g.buffer, m.buffer, v.buffer, vMax.buffer] : [x.buffer, g.buffer, m.buffer, v.buffer], grid1(op, n));
}

/**
 * Between a tensor of extent `bigLen` in one dim and one of extent `count` (outer × dim × inner):
 * `toSmall` reads small[o, j, r] = big[o, start + j·step, r]; otherwise writes big[o, start + j·step, r] = small[o, j, r]
 * (each big element is written by at most one invocation: no accumulation needed).
 */
export function stridedCopyKernel(op: string, big: GpuStorage, small: GpuStorage, outer: number, bigLen: number, inner: number,
  start: number, step: number, count: number, toSmall: boolean): void {
  const n = outer * count * inner;
  if (n === 0) return;
  const u = new Uint32Array([n, bigLen, inner, start, step, count, 0, 0]);
  dispatch(op, `strided-${toSmall ? 'take' : 'put'}`, () => `
struct P { n: u32, bigLen: u32, inner: u32, start: u32, step: u32, count: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, ${toSmall ? 'read' : 'read_write'}> Big: array<f32>;
@group(0) @binding(2) var<storage, ${toSmall ? 'read_write' : 'read'}> Small: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let j = (i / p.inner) % p.count;
  let o = i / (p.inner * p.count);
  let b = (o * p.bigLen + p.start + j * p.step) * p.inner + r;
  ${toSmall ? 'Small[i] = Big[b];' : 'Big[b] = Small[i];'}
}`, u, [big.buffer, small.buffer], grid1(op, n));
}

/** Uniforms of the per-channel kernels over a channels-first (n, c, inner) buffer. */
const channelUniforms = (n: number, c: number, inner: number): Uint32Array => new Uint32Array([n, c, inner, 0]);
const CHANNEL_HEADER = `
struct P { n: u32, c: u32, inner: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;`;

/**
 * y[i] = (x[i] − mean[ch]) · scale[ch] + shift[ch], ch = ⌊i / inner⌋ mod c, over a channels-first
 * (n, c, inner) buffer: batch norm's forward (scale = γ/σ, shift = β), x̂ (scale = 1/σ, shift = 0)
 * and its eval-mode adjoint (x = gy, mean = shift = 0, scale = γ/σ).
 */
export function channelAffineKernel(op: string, x: GpuStorage, mean: GpuStorage, scale: GpuStorage, shift: GpuStorage, y: GpuStorage,
  c: number, inner: number): void {
  const n = y.length;
  if (n === 0) return;
  dispatch(op, 'channel-affine', () => `${CHANNEL_HEADER}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> M: array<f32>;
@group(0) @binding(3) var<storage, read> S: array<f32>;
@group(0) @binding(4) var<storage, read> B: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let ch = (i / p.inner) % p.c;
  Y[i] = (X[i] - M[ch]) * S[ch] + B[ch];
}`, channelUniforms(n, c, inner), [x.buffer, mean.buffer, scale.buffer, shift.buffer, y.buffer], grid1(op, n));
}

/**
 * Training-mode batch-norm adjoint: gx[i] = k[ch] · (gy[i] − mg[ch] − x̂[i] · mgx[ch]) with k = γ/σ,
 * mg = mean(gy), mgx = mean(gy · x̂) per channel (the batch statistics depend on x).
 */
export function batchNormBackwardKernel(op: string, gy: GpuStorage, xhat: GpuStorage, k: GpuStorage, mg: GpuStorage, mgx: GpuStorage,
  gx: GpuStorage, c: number, inner: number): void {
  const n = gx.length;
  if (n === 0) return;
  dispatch(op, 'batch-norm-back', () => `${CHANNEL_HEADER}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> XH: array<f32>;
@group(0) @binding(3) var<storage, read> K: array<f32>;
@group(0) @binding(4) var<storage, read> MG: array<f32>;
@group(0) @binding(5) var<storage, read> MGX: array<f32>;
@group(0) @binding(6) var<storage, read_write> GX: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  let ch = (i / p.inner) % p.c;
  GX[i] = K[ch] * (G[i] - MG[ch] - XH[i] * MGX[ch]);
}`, channelUniforms(n, c, inner), [gy.buffer, xhat.buffer, k.buffer, mg.buffer, mgx.buffer, gx.buffer], grid1(op, n));
}

/** y ← a · y + b · x in place (the running-statistics update r ← (1 − m)·r + m·batch). */
export function blendKernel(op: string, y: GpuStorage, x: GpuStorage, a: number, b: number): void {
  const n = y.length;
  if (n === 0) return;
  const u = new ArrayBuffer(16);
  new Uint32Array(u, 0, 1)[0] = n;
  new Float32Array(u, 4, 2).set([a, b]);
  dispatch(op, 'blend', () => `
struct P { n: u32, a: f32, b: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
${ENTRY} {
  ${INDEX}
  if (i >= p.n) { return; }
  Y[i] = p.a * Y[i] + p.b * X[i];
}`, u, [y.buffer, x.buffer], grid1(op, n));
}

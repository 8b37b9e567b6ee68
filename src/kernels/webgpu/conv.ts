/**
 * WebGPU convolution kernels generated from the Geometry (every rank runs as 3-D with leading
 * size-1 dims):
 * - `gatherGemm`: implicit GEMM y[m, q] = Σ_k A[m, k]·B[k, q] tiled through workgroup memory, each
 *   invocation computing a RM × RN block. The forward convolution is one such GEMM per
 *   (sample, group); the transposed convolution is one per polyphase phase (taps j = j_r + t·step,
 *   a stride-1 convolution writing every s-th output: no multiplication by inserted zeros).
 * - `depthwise`: one input channel per group, a direct kernel.
 * - `weightGrad`: gw = Σ over (sample, output position) of gy ⊗ x, a GEMM over output positions.
 * Sums run in a fixed order (no atomics): reruns are bitwise identical.
 * Index arithmetic is i32; `checkIndexRange` refuses geometries whose indices would not fit
 * before anything is dispatched.
 */
import { ConvError, fmt } from '../../spec/errors.js';
import type { Geometry } from '../../spec/types.js';
import { prod } from '../../util/shape.js';
import { allocStorage, dispatch, maxGroups, type GpuStorage } from './device.js';
import { fillBias, reduceKernel } from './elementwise.js';

const I32_MAX = 0x7fffffff;

/** A geometry's per-dim lists padded at the front to 3 dims. */
function to3(v: readonly number[], fill: number): number[] {
  return [...new Array<number>(3 - v.length).fill(fill), ...v];
}

/** Refuses a geometry whose i32 index arithmetic could overflow (before any dispatch). */
export function checkIndexRange(op: string, g: Geometry): void {
  const d = g.inSize.length;
  for (let a = 0; a < d; a++) {
    const reach = (g.outSize[a] - 1) * g.stride[a] + (g.kSize[a] - 1) * g.dilation[a];
    const vals = [reach, g.padBefore[a], g.inSize[a], g.stride[a], g.dilation[a], g.inSize[a] + g.padBefore[a] + (g.kSize[a] - 1) * g.dilation[a]];
    if (vals.some((v) => !(v <= I32_MAX)))
      throw new ConvError(op, 'geometry', `needs index arithmetic beyond i32 (2^31 − 1) on WebGPU in dim ${a}: input ${fmt(g.inSize)}, kernel ${fmt(g.kSize)}, stride ${fmt(g.stride)}, dilation ${fmt(g.dilation)}, padding ${fmt(g.padBefore)}`);
  }
}

const v4 = (a: readonly number[], w = 0): number[] => [a[0], a[1], a[2], w];

interface Tile { readonly wx: number; readonly wy: number; readonly rm: number; readonly rn: number; readonly tk: number }
/** 32 × 32 outputs per workgroup (4 × 4 per invocation); thin: 4 rows × 128 columns for M ≤ 4. */
const BIG: Tile = { wx: 8, wy: 8, rm: 4, rn: 4, tk: 16 };
const THIN: Tile = { wx: 64, wy: 1, rm: 4, rn: 2, tk: 8 };
const tileFor = (m: number): Tile => (m <= 4 ? THIN : BIG);
const tileKey = (t: Tile) => `${t.wx}x${t.wy}x${t.rm}x${t.rn}x${t.tk}`;

/** The shared GEMM skeleton: `loadA(m, k)`, `loadB(k, col)` and `store(m, col, v)` are injected. */
function gemmShader(t: Tile, uniforms: string, bindings: string, body: string, jobSetup: string): string {
  const TM = t.wy * t.rm, TN = t.wx * t.rn, TK = t.tk, WG = t.wx * t.wy;
  // The RM × RN accumulators and operands are unrolled into scalars (registers, not a spilled array).
  const rows = (f: (i: number) => string) => Array.from({ length: t.rm }, (_, i) => f(i)).join('\n      ');
  const cols = (f: (j: number) => string) => Array.from({ length: t.rn }, (_, j) => f(j)).join('\n      ');
  const each = (f: (i: number, j: number) => string) =>
    Array.from({ length: t.rm * t.rn }, (_, q) => f(Math.floor(q / t.rn), q % t.rn)).join('\n      ');
  return `
struct P { ${uniforms} }
@group(0) @binding(0) var<uniform> p: P;
${bindings}
var<workgroup> As: array<f32, ${TM * TK}>;
var<workgroup> Bs: array<f32, ${TK * TN}>;
${body}
@compute @workgroup_size(${t.wx}, ${t.wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  let li = ty * ${t.wx} + tx;
  let m0 = i32(wid.y) * ${TM};
  let n0 = (i32(wid.x) + p.job.y) * ${TN};
  let job = i32(wid.z) + p.job.x;
  ${jobSetup}
  ${each((i, j) => `var c${i}_${j} = 0.0;`)}
  for (var k0 = kStart; k0 < kEnd; k0 = k0 + ${TK}) {
    for (var e = li; e < ${TM * TK}; e = e + ${WG}) {
      let k = k0 + e % ${TK};
      As[e] = select(0.0, loadA(jb, m0 + e / ${TK}, k), k < kEnd);
    }
    for (var e = li; e < ${TK * TN}; e = e + ${WG}) {
      let k = k0 + e / ${TN};
      Bs[e] = select(0.0, loadB(jb, k, n0 + e % ${TN}), k < kEnd);
    }
    workgroupBarrier();
    for (var kk = 0; kk < ${TK}; kk = kk + 1) {
      ${rows((i) => `let a${i} = As[(ty + ${i * t.wy}) * ${TK} + kk];`)}
      ${cols((j) => `let b${j} = Bs[kk * ${TN} + tx + ${j * t.wx}];`)}
      ${each((i, j) => `c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`)}
    }
    workgroupBarrier();
  }
  ${each((i, j) => `store(jb, m0 + ty + ${i * t.wy}, n0 + tx + ${j * t.wx}, c${i}_${j});`)}
}`;
}

/**
 * Gather GEMM uniforms. Per dim a: input index in = q·iS + t·iD + iB (valid in [0, iL)), output
 * index q·oS + oB, kernel tap t·wS + wB.
 */
const GATHER_UNIFORMS = `mnkt: vec4<i32>, ch: vec4<i32>, wst: vec4<i32>, job: vec4<i32>, q: vec4<i32>, t: vec4<i32>,
  iS: vec4<i32>, iD: vec4<i32>, iB: vec4<i32>, iL: vec4<i32>, oS: vec4<i32>, oB: vec4<i32>, oL: vec4<i32>,
  wS: vec4<i32>, wB: vec4<i32>, kL: vec4<i32>`;

function gatherShader(t: Tile, bias: boolean): string {
  const bindings = `@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${bias ? '@group(0) @binding(4) var<storage, read> Bias: array<f32>;' : ''}`;
  const body = `
struct Job { n: i32, g: i32 }
fn loadA(jb: Job, m: i32, k: i32) -> f32 {
  if (m >= p.mnkt.x || k >= p.mnkt.z) { return 0.0; }
  let T = p.mnkt.w;
  let kc = k / T;
  let t = k % T;
  let t0 = t / (p.t.y * p.t.z);
  let t1 = (t / p.t.z) % p.t.y;
  let t2 = t % p.t.z;
  let j = ((t0 * p.wS.x + p.wB.x) * p.kL.y + (t1 * p.wS.y + p.wB.y)) * p.kL.z + (t2 * p.wS.z + p.wB.z);
  return W[jb.g * p.wst.x + m * p.wst.y + kc * p.wst.z + j];
}
fn loadB(jb: Job, k: i32, col: i32) -> f32 {
  if (k >= p.mnkt.z || col >= p.mnkt.y) { return 0.0; }
  let T = p.mnkt.w;
  let kc = k / T;
  let t = k % T;
  let t0 = t / (p.t.y * p.t.z);
  let t1 = (t / p.t.z) % p.t.y;
  let t2 = t % p.t.z;
  let q0 = col / (p.q.y * p.q.z);
  let q1 = (col / p.q.z) % p.q.y;
  let q2 = col % p.q.z;
  let i0 = q0 * p.iS.x + t0 * p.iD.x + p.iB.x;
  let i1 = q1 * p.iS.y + t1 * p.iD.y + p.iB.y;
  let i2 = q2 * p.iS.z + t2 * p.iD.z + p.iB.z;
  if (i0 < 0 || i0 >= p.iL.x || i1 < 0 || i1 >= p.iL.y || i2 < 0 || i2 >= p.iL.z) { return 0.0; }
  return X[(jb.n * p.ch.y + jb.g * p.ch.x + kc) * p.iL.w + (i0 * p.iL.y + i1) * p.iL.z + i2];
}
fn store(jb: Job, m: i32, col: i32, v: f32) {
  if (m >= p.mnkt.x || col >= p.mnkt.y) { return; }
  let q0 = col / (p.q.y * p.q.z);
  let q1 = (col / p.q.z) % p.q.y;
  let q2 = col % p.q.z;
  let o = ((q0 * p.oS.x + p.oB.x) * p.oL.y + (q1 * p.oS.y + p.oB.y)) * p.oL.z + (q2 * p.oS.z + p.oB.z);
  let c = jb.g * p.mnkt.x + m;
  ${bias ? 'Y[(jb.n * p.ch.z + c) * p.oL.w + o] = v + Bias[c];' : 'Y[(jb.n * p.ch.z + c) * p.oL.w + o] = v;'}
}`;
  const setup = `let jb = Job(job / p.wst.w, job % p.wst.w);
  let kStart = 0;
  let kEnd = p.mnkt.z;`;
  return gemmShader(t, GATHER_UNIFORMS, bindings, body, setup);
}

/** One gather-GEMM problem: sizes per dim (3-D) and the weight/channel layout. */
interface Gather {
  m: number; kc: number; xCh: number; yCh: number; groups: number; n: number;
  wG: number; wM: number; wC: number;
  q: number[]; t: number[]; iS: number[]; iD: number[]; iB: number[]; iL: number[];
  oS: number[]; oB: number[]; oL: number[]; wS: number[]; wB: number[]; kL: number[];
}

function runGather(op: string, G: Gather, x: GpuStorage, w: GpuStorage, y: GpuStorage, b: GpuStorage | null): void {
  const tile = tileFor(G.m);
  const TM = tile.wy * tile.rm, TN = tile.wx * tile.rn;
  const N = prod(G.q), T = prod(G.t), K = G.kc * T;
  const max = maxGroups(op);
  const mTiles = Math.ceil(G.m / TM), nTiles = Math.ceil(N / TN), jobs = G.n * G.groups;
  if (mTiles > max) throw new ConvError(op, 'channels', `${G.m} per group need ${mTiles} workgroup rows, more than this device's maxComputeWorkgroupsPerDimension ${max}`);
  if (N === 0 || jobs === 0 || G.m === 0) return;
  const key = `gather-${tileKey(tile)}-${b ? 'b' : ''}`;
  const bufs = b ? [x.buffer, w.buffer, y.buffer, b.buffer] : [x.buffer, w.buffer, y.buffer];
  // Split over samples·groups (z) and output tiles (x) where the grid exceeds the device's limit.
  for (let j0 = 0; j0 < jobs; j0 += max)
    for (let c0 = 0; c0 < nTiles; c0 += max) {
      const u = new Int32Array([
        G.m, N, K, T, G.kc, G.xCh, G.yCh, G.groups, G.wG, G.wM, G.wC, G.groups, j0, c0, 0, 0,
        ...v4(G.q), ...v4(G.t), ...v4(G.iS), ...v4(G.iD), ...v4(G.iB), ...v4(G.iL, prod(G.iL)),
        ...v4(G.oS), ...v4(G.oB), ...v4(G.oL, prod(G.oL)), ...v4(G.wS), ...v4(G.wB), ...v4(G.kL, prod(G.kL)),
      ]);
      dispatch(op, key, () => gatherShader(tile, b !== null), u, bufs, [Math.min(max, nTiles - c0), mTiles, Math.min(max, jobs - j0)]);
    }
}

/** y = conv(x, w) (+ b): x (n, cIn, *inSize), w (cOut, cIn/g, *k), y (n, cOut, *outSize), all written. */
export function gpuConv(op: string, x: GpuStorage, w: GpuStorage, b: GpuStorage | null, y: GpuStorage, g: Geometry): void {
  checkIndexRange(op, g);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize);
  runGather(op, {
    m: cog, kc: cig, xCh: g.cIn, yCh: g.cOut, groups: g.groups, n: g.n,
    wG: cog * cig * kVol, wM: cig * kVol, wC: kVol,
    q: to3(g.outSize, 1), t: to3(g.kSize, 1), iS: to3(g.stride, 1), iD: to3(g.dilation, 1), iB: to3(g.padBefore, 0).map((v) => -v),
    iL: to3(g.inSize, 1), oS: [1, 1, 1], oB: [0, 0, 0], oL: to3(g.outSize, 1), wS: [1, 1, 1], wB: [0, 0, 0], kL: to3(g.kSize, 1),
  }, x, w, y, b);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

interface Phase1 { jr: number; step: number; T: number; i0: number; Q: number; iB: number; dd: number }

/** Per dim: the phases j = j_r + t·step (taps sharing one residue of j·δ mod s) that reach outputs. */
function phasesOf(g: Geometry, a: number): { phases: Phase1[]; covered: boolean } {
  const s = g.stride[a], d = g.dilation[a], k = g.kSize[a], p = g.padBefore[a], L = g.inSize[a];
  const c = gcd(s, d), step = s / c, dd = d / c;
  const phases: Phase1[] = [];
  for (let jr = 0; jr < Math.min(k, step); jr++) {
    const r = (jr * d) % s;
    const i0 = (((r - p) % s) + s) % s;
    if (i0 >= L) continue;
    const Q = Math.ceil((L - i0) / s), T = Math.ceil((k - jr) / step);
    phases.push({ jr, step, T, i0, Q, iB: (i0 + p - jr * d) / s, dd });
  }
  // Every output position is reached when each residue mod s has taps.
  return { phases, covered: c === 1 && k >= s };
}

/**
 * y = convT(x, w) (+ b) for the conv geometry g: x (n, cOut, *outSize), w (cOut, cIn/g, *k),
 * y (n, cIn, *inSize), all written. One GEMM per phase; positions no tap reaches get the bias (or 0).
 */
export function gpuConvT(op: string, x: GpuStorage, w: GpuStorage, b: GpuStorage | null, y: GpuStorage, g: Geometry): void {
  checkIndexRange(op, g);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize);
  const d = g.inSize.length;
  const per = g.inSize.map((_, a) => phasesOf(g, a));
  if (!per.every((p) => p.covered)) fillBias(op, y, b, g.n, g.cIn, prod(g.inSize));
  const combos = per.map((p) => p.phases).reduce<Phase1[][]>((acc, ph) => acc.flatMap((c) => ph.map((q) => [...c, q])), [[]]);
  const lead = 3 - d;
  const pad = (f: (ph: Phase1) => number, fill: number) => (c: Phase1[]) => [...new Array<number>(lead).fill(fill), ...c.map(f)];
  for (const c of combos) {
    runGather(op, {
      m: cig, kc: cog, xCh: g.cOut, yCh: g.cIn, groups: g.groups, n: g.n,
      wG: cog * cig * kVol, wM: kVol, wC: cig * kVol,
      q: pad((ph) => ph.Q, 1)(c), t: pad((ph) => ph.T, 1)(c), iS: [1, 1, 1], iD: pad((ph) => -ph.dd, 0)(c), iB: pad((ph) => ph.iB, 0)(c),
      iL: to3(g.outSize, 1), oS: to3(g.stride, 1), oB: pad((ph) => ph.i0, 0)(c), oL: to3(g.inSize, 1),
      wS: pad((ph) => ph.step, 1)(c), wB: pad((ph) => ph.jr, 0)(c), kL: to3(g.kSize, 1),
    }, x, w, y, b);
  }
}

const DIRECT_UNIFORMS = `sz: vec4<i32>, ch: vec4<i32>, iL: vec4<i32>, oL: vec4<i32>, kL: vec4<i32>, s: vec4<i32>, d: vec4<i32>, pb: vec4<i32>`;

function depthwiseShader(bias: boolean): string {
  return `
struct P { ${DIRECT_UNIFORMS} }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${bias ? '@group(0) @binding(4) var<storage, read> Bias: array<f32>;' : ''}
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let idx = i32(gid.x + gid.y * nw.x * 64u);
  if (idx >= p.sz.x) { return; }
  let outVol = p.oL.w;
  let o = idx % outVol;
  let nc = idx / outVol;
  let co = nc % p.ch.y;
  let n = nc / p.ch.y;
  let ci = co / p.ch.z;
  let o0 = o / (p.oL.y * p.oL.z);
  let o1 = (o / p.oL.z) % p.oL.y;
  let o2 = o % p.oL.z;
  let xb = (n * p.ch.x + ci) * p.iL.w;
  let wb = co * p.kL.w;
  var acc = 0.0;
  for (var j0 = 0; j0 < p.kL.x; j0 = j0 + 1) {
    let i0 = o0 * p.s.x + j0 * p.d.x - p.pb.x;
    if (i0 < 0 || i0 >= p.iL.x) { continue; }
    for (var j1 = 0; j1 < p.kL.y; j1 = j1 + 1) {
      let i1 = o1 * p.s.y + j1 * p.d.y - p.pb.y;
      if (i1 < 0 || i1 >= p.iL.y) { continue; }
      for (var j2 = 0; j2 < p.kL.z; j2 = j2 + 1) {
        let i2 = o2 * p.s.z + j2 * p.d.z - p.pb.z;
        if (i2 < 0 || i2 >= p.iL.z) { continue; }
        acc = fma(W[wb + (j0 * p.kL.y + j1) * p.kL.z + j2], X[xb + (i0 * p.iL.y + i1) * p.iL.z + i2], acc);
      }
    }
  }
  ${bias ? 'Y[idx] = acc + Bias[co];' : 'Y[idx] = acc;'}
}`;
}

function directUniforms(g: Geometry, total: number): Int32Array {
  return new Int32Array([
    total, 0, 0, 0, g.cIn, g.cOut, g.cOut / g.groups, g.groups,
    ...v4(to3(g.inSize, 1), prod(g.inSize)), ...v4(to3(g.outSize, 1), prod(g.outSize)), ...v4(to3(g.kSize, 1), prod(g.kSize)),
    ...v4(to3(g.stride, 1)), ...v4(to3(g.dilation, 1)), ...v4(to3(g.padBefore, 0)),
  ]);
}

/** A 1-D grid of `n` invocations in workgroups of `wg`, folded into two dims past the device's limit. */
export function grid(op: string, n: number, wg: number): [number, number, number] {
  const max = maxGroups(op), groups = Math.ceil(n / wg);
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new ConvError(op, 'size', `${n} elements need more workgroups than this device allows (${max}²)`);
  return [max, y, 1];
}

/** Direct depthwise conv (one input channel per group, any multiplier), each invocation one output. */
export function gpuDepthwise(op: string, x: GpuStorage, w: GpuStorage, b: GpuStorage | null, y: GpuStorage, g: Geometry): void {
  checkIndexRange(op, g);
  const total = g.n * g.cOut * prod(g.outSize);
  if (total === 0) return;
  const bufs = b ? [x.buffer, w.buffer, y.buffer, b.buffer] : [x.buffer, w.buffer, y.buffer];
  dispatch(op, `depthwise-${b ? 'b' : ''}`, () => depthwiseShader(b !== null), directUniforms(g, total), bufs, grid(op, total, 64));
}

const WGRAD_UNIFORMS = `mnkt: vec4<i32>, ch: vec4<i32>, wst: vec4<i32>, job: vec4<i32>, iL: vec4<i32>, oL: vec4<i32>, kL: vec4<i32>,
  s: vec4<i32>, d: vec4<i32>, pb: vec4<i32>`;

function weightGradShader(t: Tile): string {
  const bindings = `@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read_write> GW: array<f32>;`;
  // ch: cIn, cOut, cig, cog. A[m, k] = gy[n, g·cog + m, o]; B[k, col] = x[n, g·cig + c, o·s + j·δ − p].
  const body = `
struct Job { g: i32, split: i32 }
fn loadA(jb: Job, m: i32, k: i32) -> f32 {
  if (m >= p.mnkt.x || k >= p.mnkt.z) { return 0.0; }
  let outVol = p.oL.w;
  let n = k / outVol;
  let o = k % outVol;
  return GY[(n * p.ch.y + jb.g * p.ch.w + m) * outVol + o];
}
fn loadB(jb: Job, k: i32, col: i32) -> f32 {
  if (k >= p.mnkt.z || col >= p.mnkt.y) { return 0.0; }
  let outVol = p.oL.w;
  let n = k / outVol;
  let o = k % outVol;
  let c = col / p.kL.w;
  let j = col % p.kL.w;
  let j0 = j / (p.kL.y * p.kL.z);
  let j1 = (j / p.kL.z) % p.kL.y;
  let j2 = j % p.kL.z;
  let o0 = o / (p.oL.y * p.oL.z);
  let o1 = (o / p.oL.z) % p.oL.y;
  let o2 = o % p.oL.z;
  let i0 = o0 * p.s.x + j0 * p.d.x - p.pb.x;
  let i1 = o1 * p.s.y + j1 * p.d.y - p.pb.y;
  let i2 = o2 * p.s.z + j2 * p.d.z - p.pb.z;
  if (i0 < 0 || i0 >= p.iL.x || i1 < 0 || i1 >= p.iL.y || i2 < 0 || i2 >= p.iL.z) { return 0.0; }
  return X[(n * p.ch.x + jb.g * p.ch.z + c) * p.iL.w + (i0 * p.iL.y + i1) * p.iL.z + i2];
}
fn store(jb: Job, m: i32, col: i32, v: f32) {
  if (m >= p.mnkt.x || col >= p.mnkt.y) { return; }
  GW[(jb.split * p.ch.w * p.wst.x + jb.g * p.mnkt.x + m) * p.mnkt.y + col] = v;
}`;
  // Split-K: z runs over (split, group); split s sums k in [s·chunk, min(K, (s+1)·chunk)) into its own slice.
  return gemmShader(t, WGRAD_UNIFORMS, bindings, body, `let jb = Job(job % p.wst.x, job / p.wst.x);
  let kStart = jb.split * p.mnkt.w;
  let kEnd = min(p.mnkt.z, kStart + p.mnkt.w);`);
}

/** K per split of the weight gradient when its few output tiles would each sum a long K alone. */
const WGRAD_CHUNK = 4096;
const MAX_SPLITS = 256;

/**
 * gw = Σ x ⊗ gy over the taps of conv g: x (n, cIn, *inSize), gy (n, cOut, *outSize), gw (cOut, cIn/g, *k), all written.
 * A long sum over few output tiles is split: each split writes its partial gw, and one fixed-order
 * reduction adds the splits (deterministic, no atomics).
 */
export function gpuWeightGrad(op: string, x: GpuStorage, gy: GpuStorage, gw: GpuStorage, g: Geometry): void {
  checkIndexRange(op, g);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups, kVol = prod(g.kSize), outVol = prod(g.outSize);
  const M = cog, N = cig * kVol, K = g.n * outVol;
  if (!(K <= I32_MAX)) throw new ConvError(op, 'geometry', `sums over ${K} (sample, position) pairs, beyond i32 on WebGPU`);
  const tile = tileFor(M);
  const TM = tile.wy * tile.rm, TN = tile.wx * tile.rn;
  const max = maxGroups(op);
  const mTiles = Math.ceil(M / TM), nTiles = Math.ceil(N / TN);
  if (mTiles > max || g.groups > max) throw new ConvError(op, 'channels', `need ${mTiles} × ${g.groups} workgroups, more than this device's maxComputeWorkgroupsPerDimension ${max}`);
  if (M === 0 || N === 0) return;
  const tiles = mTiles * nTiles * g.groups;
  const splits = tiles >= 64 || K <= 2 * WGRAD_CHUNK ? 1 : Math.min(MAX_SPLITS, Math.ceil(K / WGRAD_CHUNK), Math.floor(max / g.groups));
  const chunk = splits === 1 ? Math.max(K, 1) : Math.ceil(Math.ceil(K / splits) / tile.tk) * tile.tk;
  const used = Math.ceil(K / chunk);
  const out = used > 1 ? allocStorage(op, used * gw.length) : gw;
  if (used === 0) return fillBias(op, gw, null, 1, 1, gw.length);
  for (let c0 = 0; c0 < nTiles; c0 += max) {
    const u = new Int32Array([
      M, N, K, chunk, g.cIn, g.cOut, cig, cog, g.groups, 0, 0, 0, 0, c0, 0, 0,
      ...v4(to3(g.inSize, 1), prod(g.inSize)), ...v4(to3(g.outSize, 1), outVol), ...v4(to3(g.kSize, 1), kVol),
      ...v4(to3(g.stride, 1)), ...v4(to3(g.dilation, 1)), ...v4(to3(g.padBefore, 0)),
    ]);
    dispatch(op, `wgrad-${tileKey(tile)}`, () => weightGradShader(tile), u, [x.buffer, gy.buffer, out.buffer], [Math.min(max, nTiles - c0), mTiles, g.groups * used]);
  }
  if (out !== gw) reduceKernel(op, out, [used, gw.length], [1, gw.length], gw);
}

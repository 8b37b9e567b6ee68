/**
 * The functional API: validate → plan → run → wrap in an autograd node.
 * conv1d … convTranspose3d follow PyTorch's `torch.nn.functional` names in camelCase.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { convSpec, convTransposeSpec, type ConvOptions, type ConvTransposeOptions } from '../spec/normalize.js';
import type { ConvSpec, Rank } from '../spec/types.js';
import type { ConvPlan } from '../plan/plan.js';
import { planConvCached } from '../plan/cache.js';
import { selectKernels } from '../plan/select.js';
import { addBias, biasGrad, pad, padAdjoint, permute as permuteKernel, transposePlanes } from '../kernels/ref/layout.js';
import { allocate, Tensor, type TypedArray } from '../autograd/tensor.js';
import { isGradEnabled, record } from '../autograd/graph.js';
import type { Geometry } from '../spec/types.js';
import type { F } from '../kernels/types.js';
import { prod } from '../util/shape.js';
import { timed } from '../profile/profile.js';
import { traceOp, tracing } from '../profile/trace.js';

export function checkTensors(op: string, x: unknown, w: unknown, b: unknown): void {
  if (!(x instanceof Tensor)) throw new ConvError(op, 'input', `must be a Tensor; got ${fmt(typeof x)}`);
  if (!(w instanceof Tensor)) throw new ConvError(op, 'weight', `must be a Tensor; got ${fmt(typeof w)}`);
  if (b !== null && b !== undefined && !(b instanceof Tensor)) throw new ConvError(op, 'bias', `must be a Tensor or null; got ${fmt(typeof b)}`);
  const xt = x as Tensor, wt = w as Tensor, bt = b as Tensor | null | undefined;
  if (wt.dtype !== xt.dtype) throw new ConvError(op, 'weight', `must have the input's dtype ${xt.dtype}; got ${wt.dtype}`);
  if (bt && bt.dtype !== xt.dtype) throw new ConvError(op, 'bias', `must have the input's dtype ${xt.dtype}; got ${bt.dtype}`);
}

/** Differentiable axis permutation: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const d = x.shape.length;
  if (perm.length !== d || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    throw new ConvError('permute', 'dims', `must be a permutation of 0..${d - 1}; got ${fmt(perm)}`);
  const out = allocate(x.dtype, x.size);
  permuteKernel(x.data, x.shape, perm, out);
  const y = new Tensor(out, perm.map((p) => x.shape[p]));
  const inverse = new Array<number>(d);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(y, 'permute', [x], (gy) => [permute(gy, inverse)]);
}

/** Differentiable padding of the trailing `inSize.length` dims with a padding mode. */
export function padInput(x: Tensor, p: NonNullable<ConvPlan['inputPad']>): Tensor {
  const d = p.inSize.length;
  const lead = x.shape.slice(0, x.shape.length - d);
  const outSize = p.inSize.map((L, a) => L + p.pads[a][0] + p.pads[a][1]);
  const planes = prod(lead);
  const out = allocate(x.dtype, planes * prod(outSize));
  pad(x.data, planes, p.inSize, p.pads, p.mode, out);
  const y = new Tensor(out, [...lead, ...outSize]);
  return record(y, `pad(${p.mode})`, [x], (gy) => {
    const gx = allocate(x.dtype, x.size);
    padAdjoint(gy.data, planes, p.inSize, p.pads, p.mode, gx);
    return [new Tensor(gx, x.shape)];
  });
}

/** y (zero-filled) = conv or convT of x with w, plus the bias: the forward kernels of convPrimitive. */
export function convForward(x: F, w: F, b: F | null, y: F, g: Geometry, transposed: boolean): void {
  const run = transposed ? 'convT' : 'conv';
  const kernels = selectKernels(g, x instanceof Float64Array ? 'float64' : 'float32', run);
  const fused = b ? (transposed ? kernels.convTBias : kernels.convBias) : undefined;
  if (b && fused) fused.call(kernels, x, w, b, y, g); // bias written with the output, one pass fewer
  else {
    kernels[run](x, w, y, g);
    if (b) addBias(y, b, g.n, transposed ? g.cIn : g.cOut, prod(transposed ? g.inSize : g.outSize));
  }
}

/**
 * The convolution primitive on channels-first batched tensors. `transposed` picks the direction:
 * conv maps (n, cIn, *inSize) → (n, cOut, *outSize); convT maps back. Gradients are the other
 * direction and the one weight-gradient kernel (SPEC, Gradients). `computed`: the output (bias
 * included) already computed elsewhere (the async API), so only the autograd node is recorded.
 */
export function convPrimitive(x: Tensor, w: Tensor, b: Tensor | null, g: Geometry, transposed: boolean, op: string, computed?: F): Tensor {
  const yChannels = transposed ? g.cIn : g.cOut;
  const ySize = transposed ? g.inSize : g.outSize;
  const yVol = prod(ySize);
  const y = computed ?? allocate(x.dtype, g.n * yChannels * yVol);
  if (!computed) convForward(x.data, w.data, b?.data ?? null, y, g, transposed);
  const out = new Tensor(y, [g.n, yChannels, ...ySize]);
  // Nothing to record (inference, noGrad): no parents list, no closure.
  if (!isGradEnabled() || !(x.requiresGrad || w.requiresGrad || (b !== null && b.requiresGrad))) return out;
  const parents = b ? [x, w, b] : [x, w];
  return record(out, op, parents, (gy) => {
    const gx = x.requiresGrad ? allocate(x.dtype, x.size) : null;
    const gw = w.requiresGrad ? allocate(w.dtype, w.size) : null;
    if (gx) {
      const back = transposed ? 'conv' : 'convT';
      selectKernels(g, x.dtype, back)[back](gy.data, w.data, gx, g);
    }
    if (gw) {
      const [src, dst] = transposed ? [gy.data, x.data] : [x.data, gy.data];
      selectKernels(g, x.dtype, 'weightGrad').weightGrad(src, dst, gw, g);
    }
    const grads: (Tensor | null)[] = [gx && new Tensor(gx, x.shape), gw && new Tensor(gw, w.shape)];
    if (b) {
      const gb = allocate(b.dtype, b.size);
      if (b.requiresGrad) biasGrad(gy.data, gb, g.n, yChannels, yVol);
      grads.push(b.requiresGrad ? new Tensor(gb, b.shape) : null);
    }
    return grads;
  });
}

/** Layout permutations between the user's layout and channels-first. */
export function toChannelsFirst(x: Tensor, rank: number): Tensor {
  const lead = x.shape.length - rank - 1; // 1 when batched
  const perm = [...Array(lead).keys(), x.shape.length - 1, ...Array.from({ length: rank }, (_, a) => lead + a)];
  return permute(x, perm);
}
export function fromChannelsFirst(y: Tensor, rank: number): Tensor {
  const lead = y.shape.length - rank - 1;
  const perm = [...Array(lead).keys(), ...Array.from({ length: rank }, (_, a) => lead + 1 + a), lead];
  return permute(y, perm);
}

/** Largest scratch buffer kept between calls (elements): 2^24, 64 MiB as float32. */
const MAX_SCRATCH = 2 ** 24;
const scratchBuffers: Record<string, (TypedArray | null)[]> = { float32: [null, null], float64: [null, null] };

/**
 * A buffer of n elements (zero-filled where `zero`) that lives only during one call (slot 0: the channels-first
 * input, slot 1: the channels-first output). Reusing it spares a channels-last call two fresh
 * allocations, whose page faults cost more than the transposes themselves.
 */
function scratch(dtype: Tensor['dtype'], slot: number, n: number, zero: boolean): TypedArray {
  if (n > MAX_SCRATCH) return allocate(dtype, n);
  let buf = scratchBuffers[dtype][slot];
  if (!buf || buf.length < n) scratchBuffers[dtype][slot] = buf = allocate(dtype, n);
  else if (zero) buf.fill(0, 0, n);
  return buf.length === n ? buf : buf.subarray(0, n);
}

/**
 * A channels-last call that records no autograd node: x is transposed (N, S, C) → (N, C, S) into
 * scratch, convolved into scratch, and only the result, transposed back, is a fresh array.
 */
function runChannelsLast(plan: ConvPlan, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const { spec, geometry: g } = plan;
  const xs = x.shape, c = xs[xs.length - 1], n = plan.batched ? xs[0] : 1;
  const inSize = xs.slice(xs.length - 1 - spec.rank, xs.length - 1);
  let h = new Tensor(scratch(x.dtype, 0, x.size, false), [n, c, ...inSize]); // every element is written
  transposePlanes(x.data, n, prod(inSize), c, h.data);
  if (plan.inputPad) h = padInput(h, plan.inputPad);
  const yChannels = spec.transposed ? g.cIn : g.cOut, ySize = spec.transposed ? g.inSize : g.outSize;
  const y = scratch(x.dtype, 1, n * yChannels * prod(ySize), true); // kernels accumulate into y
  convForward(h.data, w.data, b ? b.data : null, y, g, spec.transposed);
  const out = allocate(x.dtype, y.length);
  transposePlanes(y, n, yChannels, prod(ySize), out);
  return new Tensor(out, plan.outShape);
}

/** Runs a planned convolution on tensors (shared by the functional API, modules and Paddle's API). */
export function runPlanned(plan: ConvPlan, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const { spec, geometry: g } = plan;
  if (spec.layout === 'channelsLast' && !(isGradEnabled() && (x.requiresGrad || w.requiresGrad || (b !== null && b.requiresGrad))))
    return runChannelsLast(plan, x, w, b);
  let h = spec.layout === 'channelsLast' ? toChannelsFirst(x, spec.rank) : x;
  if (!plan.batched) h = h.reshape([1, ...h.shape]);
  if (plan.inputPad) h = padInput(h, plan.inputPad);
  let y = convPrimitive(h, w, b, g, spec.transposed, spec.op);
  if (!plan.batched) y = y.reshape(y.shape.slice(1));
  if (spec.layout === 'channelsLast') y = fromChannelsFirst(y, spec.rank);
  return y;
}

/** Validates, plans and runs one call. */
export function applyConv(spec: ConvSpec, x: Tensor, w: Tensor, b: Tensor | null | undefined, outputSize?: readonly number[]): Tensor {
  checkTensors(spec.op, x, w, b);
  const plan = planConvCached(spec, x.shape, w.shape, b ? b.shape : null, outputSize);
  const y = timed('convolution', () => runPlanned(plan, x, w, b ?? null));
  if (tracing()) traceOp('conv', b ? [x, w, b] : [x, w], y, { transposed: spec.transposed, stride: spec.stride, dilation: spec.dilation,
    pads: plan.pads, outputPadding: plan.outputPadding, groups: spec.groups, paddingMode: spec.paddingMode, layout: spec.layout });
  return y;
}

/**
 * The options of the last call of one functional op and the spec they gave. A call whose options
 * hold the same values (compared in full, nested arrays included) reuses that spec: parsing is a
 * pure function of those values, and the same spec object lets the plan cache answer.
 */
interface LastSpec { readonly keys: readonly string[]; readonly values: readonly unknown[]; readonly spec: ConvSpec }

/** A copy of plain option values (numbers, strings, nested arrays of them); null for anything else. */
function snapshot(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? null : v;
  if (!Array.isArray(v)) return null;
  const out = new Array<unknown>(v.length);
  for (let i = 0; i < v.length; i++) {
    const e = snapshot(v[i]);
    if (e === null && v[i] !== null) return null;
    out[i] = e;
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  return Object.is(a, b);
}

/** Parses options into a spec, reusing the previous call's spec when every option value is the same. */
export function specCache<O extends object>(fields: readonly string[], parse: (o: O) => ConvSpec): (o: O) => ConvSpec {
  let last: LastSpec | null = null;
  return (o) => {
    if (o === null || typeof o !== 'object') return parse(o);
    const keys = Object.keys(o); // unknown keys make parse throw, so they must match too
    const rec = o as Record<string, unknown>;
    if (last && sameValue(keys, last.keys)) {
      let same = true;
      for (let i = 0; i < fields.length && same; i++) same = sameValue(rec[fields[i]], last.values[i]);
      if (same) return last.spec;
    }
    const spec = parse(o);
    const values = fields.map((f) => snapshot(rec[f]));
    last = values.every((v, i) => v !== null || rec[fields[i]] === null) ? { keys, values, spec } : null;
    return spec;
  };
}

const CONV_FIELDS = ['stride', 'padding', 'dilation', 'groups', 'paddingMode', 'dataFormat'];
const CONVT_FIELDS = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'paddingMode', 'dataFormat'];

function makeConv(rank: Rank) {
  const op = `conv${rank}d`;
  const specOf = specCache<ConvOptions>(CONV_FIELDS, (o) => convSpec(op, rank, o));
  return (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor =>
    applyConv(specOf(options), input, weight, bias);
}

function makeConvTranspose(rank: Rank) {
  const op = `convTranspose${rank}d`;
  // outputSize is not part of the spec: plan/ checks it on every call (its cache compares it too).
  const specOf = specCache<ConvTransposeOptions>(CONVT_FIELDS, (o) => convTransposeSpec(op, rank, o));
  return (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): Tensor =>
    applyConv(specOf(options), input, weight, bias, options.outputSize);
}

/**
 * 1-D convolution (cross-correlation). input (N, C_in, L) or (C_in, L); weight (C_out, C_in/groups, k).
 * `L_out = floor((L + 2p − δ(k−1) − 1)/s) + 1`.
 * @example conv1d(randn([20, 16, 50]), randn([33, 16, 3]), null, { stride: 2 }).shape // [20, 33, 24]
 */
export const conv1d = makeConv(1);
/** 2-D convolution; input (N, C_in, H, W); weight (C_out, C_in/groups, kH, kW). */
export const conv2d = makeConv(2);
/** 3-D convolution; input (N, C_in, D, H, W); weight (C_out, C_in/groups, kD, kH, kW). */
export const conv3d = makeConv(3);
/**
 * 1-D transposed convolution. input (N, C_in, L); weight (C_in, C_out/groups, k).
 * `L_out = (L − 1)·s − 2p + δ(k−1) + outputPadding + 1`.
 * @example convTranspose1d(randn([1, 16, 10]), randn([16, 8, 3]), null, { stride: 2, padding: 1, outputPadding: 1 }).shape // [1, 8, 20]
 */
export const convTranspose1d = makeConvTranspose(1);
/** 2-D transposed convolution; weight (C_in, C_out/groups, kH, kW). */
export const convTranspose2d = makeConvTranspose(2);
/** 3-D transposed convolution; weight (C_in, C_out/groups, kD, kH, kW). */
export const convTranspose3d = makeConvTranspose(3);

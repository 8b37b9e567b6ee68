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
import { biasGrad, pad, padAdjoint, permute as permuteKernel, transposePlanes } from '../kernels/ref/layout.js';
import { activate, activationGrad, applyEpilogue, DEFAULT_NEGATIVE_SLOPE, splitEpilogue } from '../kernels/ref/epilogue.js';
import { allocate, Tensor, type TypedArray } from '../autograd/tensor.js';
import { isGradEnabled, record } from '../autograd/graph.js';
import type { Geometry } from '../spec/types.js';
import type { Activation, Epilogue, F } from '../kernels/types.js';
import { prod } from '../util/shape.js';
import { timed } from '../profile/profile.js';
import { traceOp, tracing } from '../profile/trace.js';
import '../backends.js';

/**
 * What a convolution call can apply as its output is written:
 * `y = activation(conv(x, w) + bias + residual)`. Fused into the kernel where the backend can,
 * applied right after it otherwise; forward and gradients equal the unfused composition
 * (`relu(add(conv2d(x, w, b), r))`, …).
 */
export interface EpilogueOptions {
  /**
   * Applied to every output element last: 'relu', 'leakyRelu', 'tanh' or 'sigmoid' (as
   * torch.nn.ReLU, LeakyReLU, Tanh, Sigmoid); none (the default) when undefined or null.
   * @example conv2d(x, w, b, { padding: 1, activation: 'relu' }) // relu(conv2d(x, w, b, { padding: 1 }))
   */
  activation?: Activation | null;
  /** LeakyReLU's slope for negative inputs, only with activation 'leakyRelu'; default 0.01, as torch.nn.LeakyReLU. */
  negativeSlope?: number;
  /**
   * A tensor of exactly the output's shape and dtype (in the call's layout), added after the bias
   * and before the activation: a skip connection. Its gradient is gy · activation'.
   * @example conv1d(h, w, b, { padding: 1, residual: h, activation: 'relu' }) // relu(conv1d(h, w, b) + h)
   */
  residual?: Tensor | null;
}

/** The epilogue of one call on tensors (the residual in the output's user layout). */
export interface TensorEpilogue {
  readonly activation?: Activation;
  readonly negativeSlope?: number;
  readonly residual?: Tensor;
}

const ACTIVATIONS: readonly Activation[] = ['relu', 'leakyRelu', 'tanh', 'sigmoid'];
const EPILOGUE_KEYS = ['activation', 'negativeSlope', 'residual'] as const;

/**
 * Splits a call's options into the convolution's own (parsed into the spec) and its checked
 * epilogue. Options without epilogue keys are returned as they are.
 */
export function epilogueOf<O extends object>(op: string, options: O & EpilogueOptions): { conv: O; epilogue: TensorEpilogue } {
  if (options === null || typeof options !== 'object' || !EPILOGUE_KEYS.some((k) => k in options)) return { conv: options, epilogue: {} };
  const { activation, negativeSlope, residual, ...conv } = options;
  if (activation !== undefined && activation !== null && !ACTIVATIONS.includes(activation))
    throw new ConvError(op, 'activation', `must be one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')} or null; got ${fmt(activation)}`);
  if (negativeSlope !== undefined) {
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope))
      throw new ConvError(op, 'negativeSlope', `must be a finite number; got ${fmt(negativeSlope)}`);
    if (activation !== 'leakyRelu')
      throw new ConvError(op, 'negativeSlope', `applies only with activation 'leakyRelu'; got activation ${fmt(activation ?? null)}`);
  }
  if (residual !== undefined && residual !== null && !(residual instanceof Tensor))
    throw new ConvError(op, 'residual', `must be a Tensor or null; got ${fmt(typeof residual)}`);
  const epilogue: TensorEpilogue = {
    ...(activation ? { activation } : {}),
    ...(activation === 'leakyRelu' ? { negativeSlope: negativeSlope ?? DEFAULT_NEGATIVE_SLOPE } : {}),
    ...(residual ? { residual } : {}),
  };
  return { conv: conv as O, epilogue };
}

/** The residual must match the output exactly (no broadcasting: it is added element by element). */
function checkResidual(op: string, plan: ConvPlan, x: Tensor, r: Tensor | undefined): void {
  if (!r) return;
  if (r.dtype !== x.dtype) throw new ConvError(op, 'residual', `must have the input's dtype ${x.dtype}; got ${r.dtype}`);
  if (r.shape.length !== plan.outShape.length || r.shape.some((v, i) => v !== plan.outShape[i]))
    throw new ConvError(op, 'residual', `must have the output's shape ${fmt(plan.outShape)}; got ${fmt(r.shape)}`);
}

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

/**
 * y = conv or convT of x with w, then the epilogue (bias b, then `post`'s residual and activation):
 * the forward of convPrimitive. The kernel fuses the prefix of the epilogue it can; the generic
 * fallback applies the rest to the written output. y need not be zeroed (kernels overwrite).
 */
export function convForward(x: F, w: F, b: F | null, y: F, g: Geometry, transposed: boolean, post?: Omit<Epilogue, 'bias'>): void {
  const dir = transposed ? 'convT' : 'conv';
  const kernels = selectKernels(g, x instanceof Float64Array ? 'float64' : 'float32', dir);
  const ep: Epilogue | undefined = b ? { ...post, bias: b } : post;
  const { fused, rest } = splitEpilogue(ep, kernels.fuses);
  kernels[dir](x, w, y, g, fused);
  if (rest) applyEpilogue(y, rest, g.n, transposed ? g.cIn : g.cOut, prod(transposed ? g.inSize : g.outSize));
}

/** The epilogue of convPrimitive: bias and residual as tensors, the residual channels-first and batched like the output. */
export interface PrimitiveEpilogue {
  readonly bias?: Tensor | null;
  readonly residual?: Tensor;
  readonly activation?: Activation;
  readonly negativeSlope?: number;
}

/**
 * The convolution primitive on channels-first batched tensors, with its epilogue:
 * `y = act(conv(x, w) + b + r)`. `transposed` picks the direction: conv maps (n, cIn, *inSize) →
 * (n, cOut, *outSize); convT maps back. With gz = gy · act'(y) (written with the output),
 * gx is the other direction applied to gz, gw the weight-gradient kernel on (x, gz), gb = Σ gz over
 * batch and space, gr = gz. `computed`: the output's conv and bias already computed elsewhere (the
 * async API), so only the rest of the epilogue is applied and the autograd node recorded.
 */
export function convPrimitive(x: Tensor, w: Tensor, g: Geometry, transposed: boolean, op: string, ep: PrimitiveEpilogue = {}, computed?: F): Tensor {
  const b = ep.bias ?? null, r = ep.residual ?? null, act = ep.activation;
  const slope = ep.negativeSlope ?? DEFAULT_NEGATIVE_SLOPE;
  const yChannels = transposed ? g.cIn : g.cOut;
  const ySize = transposed ? g.inSize : g.outSize;
  const yVol = prod(ySize);
  const recording = isGradEnabled() && (x.requiresGrad || w.requiresGrad || (b !== null && b.requiresGrad) || (r !== null && r.requiresGrad));
  // A negative slope's derivative needs the pre-activation z (y > 0 on both sides of 0).
  const keepZ = recording && act === 'leakyRelu' && slope < 0;
  const post: Omit<Epilogue, 'bias'> = { ...(r ? { residual: r.data } : {}), ...(act && !keepZ ? { activation: act, negativeSlope: slope } : {}) };
  const y = computed ?? allocate(x.dtype, g.n * yChannels * yVol);
  if (computed) applyEpilogue(y, post, g.n, yChannels, yVol);
  else convForward(x.data, w.data, b?.data ?? null, y, g, transposed, post);
  let z: F | undefined;
  if (keepZ) {
    z = y.slice();
    activate(y, act, slope);
  }
  const out = new Tensor(y, [g.n, yChannels, ...ySize]);
  // Nothing to record (inference, noGrad): no parents list, no closure.
  if (!recording) return out;
  const parents = [x, w, ...(b ? [b] : []), ...(r ? [r] : [])];
  return record(out, op, parents, (gy) => {
    let gz = gy.data;
    if (act) {
      gz = allocate(gy.dtype, gy.size);
      activationGrad(gy.data, y, act, slope, gz, z);
    }
    const gx = x.requiresGrad ? allocate(x.dtype, x.size) : null;
    const gw = w.requiresGrad ? allocate(w.dtype, w.size) : null;
    if (gx) {
      const back = transposed ? 'conv' : 'convT';
      selectKernels(g, x.dtype, back)[back](gz, w.data, gx, g);
    }
    if (gw) {
      const [src, dst] = transposed ? [gz, x.data] : [x.data, gz];
      selectKernels(g, x.dtype, 'weightGrad').weightGrad(src, dst, gw, g);
    }
    const grads: (Tensor | null)[] = [gx && new Tensor(gx, x.shape), gw && new Tensor(gw, w.shape)];
    if (b) {
      const gb = b.requiresGrad ? allocate(b.dtype, b.size) : null;
      if (gb) biasGrad(gz, gb, g.n, yChannels, yVol);
      grads.push(gb && new Tensor(gb, b.shape));
    }
    if (r) grads.push(r.requiresGrad ? new Tensor(act ? gz : gz.slice(), r.shape) : null);
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
const scratchBuffers: Record<string, (TypedArray | null)[]> = { float32: [null, null, null], float64: [null, null, null] };

/**
 * A buffer of n elements that lives only during one call (slot 0: the channels-first input, slot 1:
 * the channels-first output, slot 2: the channels-first residual); its contents are whatever the
 * last call left, every element is written before it is read. Reusing it spares a channels-last
 * call fresh allocations, whose page faults cost more than the transposes themselves.
 */
function scratch(dtype: Tensor['dtype'], slot: number, n: number): TypedArray {
  if (n > MAX_SCRATCH) return allocate(dtype, n);
  let buf = scratchBuffers[dtype][slot];
  if (!buf || buf.length < n) scratchBuffers[dtype][slot] = buf = allocate(dtype, n);
  return buf.length === n ? buf : buf.subarray(0, n);
}

/**
 * A channels-last call that records no autograd node: x is transposed (N, S, C) → (N, C, S) into
 * scratch, convolved into scratch, and only the result, transposed back, is a fresh array.
 */
function runChannelsLast(plan: ConvPlan, x: Tensor, w: Tensor, b: Tensor | null, ep: TensorEpilogue): Tensor {
  const { spec, geometry: g } = plan;
  const xs = x.shape, c = xs[xs.length - 1], n = plan.batched ? xs[0] : 1;
  const inSize = xs.slice(xs.length - 1 - spec.rank, xs.length - 1);
  let h = new Tensor(scratch(x.dtype, 0, x.size), [n, c, ...inSize]);
  transposePlanes(x.data, n, prod(inSize), c, h.data);
  if (plan.inputPad) h = padInput(h, plan.inputPad);
  const yChannels = spec.transposed ? g.cIn : g.cOut, ySize = spec.transposed ? g.inSize : g.outSize;
  const y = scratch(x.dtype, 1, n * yChannels * prod(ySize));
  let residual: F | undefined;
  if (ep.residual) transposePlanes(ep.residual.data, n, prod(ySize), yChannels, (residual = scratch(x.dtype, 2, y.length)));
  const post = { ...(residual ? { residual } : {}), ...(ep.activation ? { activation: ep.activation, negativeSlope: ep.negativeSlope } : {}) };
  convForward(h.data, w.data, b ? b.data : null, y, g, spec.transposed, post);
  const out = allocate(x.dtype, y.length);
  transposePlanes(y, n, yChannels, prod(ySize), out);
  return new Tensor(out, plan.outShape);
}

/** The residual as the primitive sees it: channels-first and batched, like its output. */
function primitiveResidual(plan: ConvPlan, r: Tensor | undefined): Tensor | undefined {
  if (!r) return undefined;
  let h = plan.spec.layout === 'channelsLast' ? toChannelsFirst(r, plan.spec.rank) : r;
  if (!plan.batched) h = h.reshape([1, ...h.shape]);
  return h;
}

/** Runs a planned convolution on tensors (shared by the functional API, modules and Paddle's API). */
export function runPlanned(plan: ConvPlan, x: Tensor, w: Tensor, b: Tensor | null, ep: TensorEpilogue = {}): Tensor {
  const { spec, geometry: g } = plan;
  const r = ep.residual;
  if (spec.layout === 'channelsLast' && !(isGradEnabled() && (x.requiresGrad || w.requiresGrad || (b !== null && b.requiresGrad) || (r !== undefined && r.requiresGrad))))
    return runChannelsLast(plan, x, w, b, ep);
  let h = spec.layout === 'channelsLast' ? toChannelsFirst(x, spec.rank) : x;
  if (!plan.batched) h = h.reshape([1, ...h.shape]);
  if (plan.inputPad) h = padInput(h, plan.inputPad);
  let y = convPrimitive(h, w, g, spec.transposed, spec.op, { bias: b, residual: primitiveResidual(plan, r), activation: ep.activation, negativeSlope: ep.negativeSlope });
  if (!plan.batched) y = y.reshape(y.shape.slice(1));
  if (spec.layout === 'channelsLast') y = fromChannelsFirst(y, spec.rank);
  return y;
}

/** Validates, plans and runs one call; `ep`: the call's checked epilogue (epilogueOf). */
export function applyConv(spec: ConvSpec, x: Tensor, w: Tensor, b: Tensor | null | undefined, outputSize?: readonly number[], ep: TensorEpilogue = {}): Tensor {
  checkTensors(spec.op, x, w, b);
  const plan = planConvCached(spec, x.shape, w.shape, b ? b.shape : null, outputSize);
  checkResidual(spec.op, plan, x, ep.residual);
  const y = timed('convolution', () => runPlanned(plan, x, w, b ?? null, ep));
  if (tracing()) traceOp('conv', b ? [x, w, b] : [x, w], y, { transposed: spec.transposed, stride: spec.stride, dilation: spec.dilation,
    pads: plan.pads, outputPadding: plan.outputPadding, groups: spec.groups, paddingMode: spec.paddingMode, layout: spec.layout, bias: Boolean(b), ...ep });
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
  return (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions & EpilogueOptions = {}): Tensor => {
    const { conv, epilogue } = epilogueOf<ConvOptions>(op, options);
    return applyConv(specOf(conv), input, weight, bias, undefined, epilogue);
  };
}

function makeConvTranspose(rank: Rank) {
  const op = `convTranspose${rank}d`;
  // outputSize is not part of the spec: plan/ checks it on every call (its cache compares it too).
  const specOf = specCache<ConvTransposeOptions>(CONVT_FIELDS, (o) => convTransposeSpec(op, rank, o));
  return (input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions & EpilogueOptions = {}): Tensor => {
    const { conv, epilogue } = epilogueOf<ConvTransposeOptions>(op, options);
    return applyConv(specOf(conv), input, weight, bias, conv.outputSize, epilogue);
  };
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

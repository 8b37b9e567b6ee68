/**
 * One path from a spec and tensors to a convolution's result, shared by the functional API, the
 * modules, Paddle's API and the async API: check the tensors → plan (cached) → the user's layout,
 * batch and padding mode as ordinary differentiable ops around the primitive (autograd/rules.ts).
 * Only where the forward runs differs: here (applyConv) or awaited elsewhere (async/conv.ts).
 */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import type { ConvSpec } from '../spec/types.js';
import type { ConvPlan } from '../plan/plan.js';
import { planConvCached } from '../plan/cache.js';
import type { Activation, F } from '../kernels/types.js';
import { transposePlanes } from '../kernels/ref/layout.js';
import { DEFAULT_NEGATIVE_SLOPE } from '../kernels/ref/epilogue.js';

/** LeakyReLU's default slope (torch.nn.LeakyReLU), and the activations an epilogue can apply, for the modules. */
export { DEFAULT_NEGATIVE_SLOPE };
export type { Activation };
import { isGradEnabled } from '../autograd/graph.js';
import { allocate, Tensor, type TypedArray } from '../autograd/tensor.js';
import { convForward, convPrimitive, weightKey } from '../autograd/rules.js';
import { prod } from '../util/shape.js';
import { fromChannelsFirst, toChannelsFirst } from './permute.js';
import { padTrailing } from './pad.js';
import '../backends.js';
import { section } from '../profile/profile.js';
import { traceOp, tracing } from '../profile/trace.js';
import { checkSameDevice, gpuConvPrimitive } from '../autograd/gpu-ops.js';

/**
 * What a convolution call can apply as its output is written:
 * `y = activation(conv(x, w) + bias + residual)`. Fused into the kernel where the backend can,
 * applied right after it otherwise; forward and gradients equal the unfused composition
 * (`relu(add(conv2d(x, w, b), r))`, …). See docs/epilogue.md.
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
   * @example conv1d(h, w, b, { padding: 1, residual: h, activation: 'relu' }) // relu(conv1d(h, w, b, { padding: 1 }) + h)
   */
  residual?: Tensor | null;
}

/** The checked epilogue of one call (the residual in the output's user layout). */
export interface TensorEpilogue {
  readonly activation?: Activation;
  readonly negativeSlope?: number;
  readonly residual?: Tensor;
}

const ACTIVATIONS: readonly Activation[] = ['relu', 'leakyRelu', 'tanh', 'sigmoid'];
const EPILOGUE_KEYS = ['activation', 'negativeSlope', 'residual'] as const;

/** The epilogue of a call that asks for none (shared: epilogues are never written). */
const NO_EPILOGUE: TensorEpilogue = Object.freeze({});

/** Whether `options` has (or inherits) an epilogue key; a throwing `has` trap is a ConvError naming the key. */
function hasEpilogueKey(op: string, options: object): boolean {
  for (const k of EPILOGUE_KEYS) {
    let has: boolean;
    try {
      has = k in options;
    } catch (e) {
      return guarded(op, k, () => { throw e; });
    }
    if (has) return true;
  }
  return false;
}

/**
 * Splits a call's options into the convolution's own (parsed into the spec) and its checked
 * epilogue; each epilogue option is read once. Options without epilogue keys come back as they are.
 */
export function epilogueOf<O extends object>(op: string, options: O & EpilogueOptions): { conv: O; epilogue: TensorEpilogue } {
  if (options === null || typeof options !== 'object' || !hasEpilogueKey(op, options)) return { conv: options, epilogue: NO_EPILOGUE };
  // A copy, each option read once (a throwing getter or Proxy trap is a ConvError naming it).
  const copy = Object.create(null) as Record<string, unknown>, src = options as Record<string, unknown>;
  for (const k of guarded(op, 'options', () => Object.keys(options))) copy[k] = guarded(op, k, () => src[k]);
  for (const k of EPILOGUE_KEYS) if (!(k in copy) && guarded(op, k, () => k in options)) copy[k] = guarded(op, k, () => src[k]);
  const { activation, negativeSlope, residual, ...conv } = copy as O & EpilogueOptions;
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

/** The operands must be tensors of one dtype. */
export function checkTensors(op: string, x: unknown, w: unknown, b: unknown): void {
  if (!(x instanceof Tensor)) throw new ConvError(op, 'input', `must be a Tensor; got ${fmt(typeof x)}`);
  if (!(w instanceof Tensor)) throw new ConvError(op, 'weight', `must be a Tensor; got ${fmt(typeof w)}`);
  if (b !== null && b !== undefined && !(b instanceof Tensor)) throw new ConvError(op, 'bias', `must be a Tensor or null; got ${fmt(typeof b)}`);
  const xt = x as Tensor, wt = w as Tensor, bt = b as Tensor | null | undefined;
  if (wt.dtype !== xt.dtype) throw new ConvError(op, 'weight', `must have the input's dtype ${xt.dtype}; got ${wt.dtype}`);
  if (bt && bt.dtype !== xt.dtype) throw new ConvError(op, 'bias', `must have the input's dtype ${xt.dtype}; got ${bt.dtype}`);
  checkSameDevice(op, 'weight', xt, wt);
  if (bt) checkSameDevice(op, 'bias', xt, bt);
}

/** The residual must match the output exactly (no broadcasting: it is added element by element). */
function checkResidual(op: string, plan: ConvPlan, x: Tensor, r: Tensor | undefined): void {
  if (!r) return;
  if (r.dtype !== x.dtype) throw new ConvError(op, 'residual', `must have the input's dtype ${x.dtype}; got ${r.dtype}`);
  checkSameDevice(op, 'residual', x, r);
  if (r.shape.length !== plan.outShape.length || r.shape.some((v, i) => v !== plan.outShape[i]))
    throw new ConvError(op, 'residual', `must have the output's shape ${fmt(plan.outShape)}; got ${fmt(r.shape)}`);
}

/**
 * A checked, planned call whose operands are in the primitive's form: `h` is the input
 * channels-first, batched and padded (paddingMode), `residual` channels-first and batched;
 * `finish` turns the primitive's output back into the user's layout and batch.
 */
export interface PreparedConv {
  readonly plan: ConvPlan;
  readonly h: Tensor;
  readonly w: Tensor;
  readonly b: Tensor | null;
  readonly residual: Tensor | undefined;
  readonly epilogue: TensorEpilogue;
  /** The primitive run on these operands (`computed`: its conv and bias computed elsewhere). */
  run(computed?: F): Tensor;
}

function toPrimitive(plan: ConvPlan, t: Tensor): Tensor {
  const h = plan.spec.layout === 'channelsLast' ? toChannelsFirst(t, plan.spec.rank) : t;
  return plan.batched ? h : h.reshape([1, ...h.shape]);
}

function fromPrimitive(plan: ConvPlan, y: Tensor): Tensor {
  const u = plan.batched ? y : y.reshape(y.shape.slice(1));
  return plan.spec.layout === 'channelsLast' ? fromChannelsFirst(u, plan.spec.rank) : u;
}

/** Checks and plans one call (nothing is computed before every check has passed). */
export function planCall(spec: ConvSpec, x: Tensor, w: Tensor, b: Tensor | null | undefined, outputSize: readonly number[] | undefined, ep: TensorEpilogue): ConvPlan {
  checkTensors(spec.op, x, w, b);
  if (outputSize !== undefined && !spec.transposed)
    throw new ConvError(spec.op, 'outputSize', `is accepted only by transposed convolutions; got ${fmt(outputSize)}`);
  const plan = planConvCached(spec, x.shape, w.shape, b ? b.shape : null, outputSize);
  checkResidual(spec.op, plan, x, ep.residual);
  return plan;
}

/** The primitive's input: x channels-first, batched and padded (paddingMode). */
function primitiveInput(plan: ConvPlan, x: Tensor): Tensor {
  const h = toPrimitive(plan, x);
  return plan.inputPad ? padTrailing(h, plan.inputPad.pads, plan.inputPad.mode) : h;
}

/** The primitive run on operands in its form (see PreparedConv), its output in the user's layout and batch. */
function runPrimitive(plan: ConvPlan, h: Tensor, w: Tensor, b: Tensor | null, residual: Tensor | undefined, ep: TensorEpilogue, computed?: F): Tensor {
  const { spec, geometry: g } = plan;
  const primitiveEp = { bias: b, residual, activation: ep.activation, negativeSlope: ep.negativeSlope };
  // GPU tensors run the same primitive on the device (src/autograd/gpu-ops.ts); the plan is shared.
  const y = h.device === 'webgpu' ? gpuConvPrimitive(h, w, g, spec.transposed, spec.op, primitiveEp)
    : convPrimitive(h, w, g, spec.transposed, spec.op, primitiveEp, computed);
  return fromPrimitive(plan, y);
}

/** The operands of a planned call in the primitive's form (see PreparedConv). */
export function prepare(plan: ConvPlan, x: Tensor, w: Tensor, b: Tensor | null, ep: TensorEpilogue): PreparedConv {
  const h = primitiveInput(plan, x), residual = ep.residual && toPrimitive(plan, ep.residual);
  return { plan, h, w, b, residual, epilogue: ep, run: (computed) => runPrimitive(plan, h, w, b, residual, ep, computed) };
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
 * A channels-last call that records no autograd node: x (and the residual) are transposed
 * (N, S, C) → (N, C, S) into scratch, convolved into scratch, and only the result, transposed back,
 * is a fresh array.
 */
function runChannelsLast(plan: ConvPlan, x: Tensor, w: Tensor, b: Tensor | null, ep: TensorEpilogue): Tensor {
  const { spec, geometry: g } = plan;
  const xs = x.shape, c = xs[xs.length - 1], n = plan.batched ? xs[0] : 1;
  const inSize = xs.slice(xs.length - 1 - spec.rank, xs.length - 1);
  let h = new Tensor(scratch(x.dtype, 0, x.size), [n, c, ...inSize]);
  transposePlanes(x.data, n, prod(inSize), c, h.data);
  if (plan.inputPad) h = padTrailing(h, plan.inputPad.pads, plan.inputPad.mode);
  const yChannels = spec.transposed ? g.cIn : g.cOut, ySize = spec.transposed ? g.inSize : g.outSize;
  const y = scratch(x.dtype, 1, n * yChannels * prod(ySize));
  let residual: F | undefined;
  if (ep.residual) transposePlanes(ep.residual.data, n, prod(ySize), yChannels, (residual = scratch(x.dtype, 2, y.length)));
  const post = { ...(residual ? { residual } : {}), ...(ep.activation ? { activation: ep.activation, negativeSlope: ep.negativeSlope } : {}) };
  convForward(h.data, w.data, b ? b.data : null, y, g, spec.transposed, post, weightKey(w));
  const out = allocate(x.dtype, y.length);
  transposePlanes(y, n, yChannels, prod(ySize), out);
  return new Tensor(out, plan.outShape);
}

const needsGrad = (t: Tensor | null | undefined): boolean => !!t && t.requiresGrad;

/**
 * Validates, plans and runs one call; `ep`: the call's checked epilogue (epilogueOf). Used by the
 * functional API, the modules and Paddle's API.
 */
export function applyConv(spec: ConvSpec, x: Tensor, w: Tensor, b: Tensor | null | undefined, outputSize?: readonly number[], ep: TensorEpilogue = NO_EPILOGUE): Tensor {
  const plan = planCall(spec, x, w, b, outputSize, ep);
  const end = section('convolution');
  let y: Tensor;
  try {
    if (spec.layout === 'channelsLast' && x.device === 'cpu' && !(isGradEnabled() && (needsGrad(x) || needsGrad(w) || needsGrad(b) || needsGrad(ep.residual))))
      y = runChannelsLast(plan, x, w, b ?? null, ep);
    else y = runPrimitive(plan, primitiveInput(plan, x), w, b ?? null, ep.residual && toPrimitive(plan, ep.residual), ep);
  } finally {
    end();
  }
  if (tracing()) traceOp('conv', b ? [x, w, b] : [x, w], y, { transposed: spec.transposed, stride: spec.stride, dilation: spec.dilation,
    pads: plan.pads, outputPadding: plan.outputPadding, groups: spec.groups, paddingMode: spec.paddingMode, layout: spec.layout, ...ep });
  return y;
}

/**
 * A planned CPU call with no layout change, no input padding pass and no epilogue (channels-first,
 * zeros padding), written into `y` (prod(plan.outShape) elements) with no autograd node: the same
 * kernels as applyConv, for a caller that reuses its output array from call to call (a stream).
 */
export function convInto(plan: ConvPlan, x: Tensor, w: Tensor, b: Tensor | null, y: TypedArray): void {
  const end = section('convolution');
  try {
    convForward(x.data, w.data, b ? b.data : null, y, plan.geometry, plan.spec.transposed, undefined, weightKey(w));
  } finally {
    end();
  }
}

/**
 * The convolution primitive and its adjoint table. A ConvTranspose weight (cIn, cOut/g, …k) is the
 * weight of the conv it transposes, so both ops share one Geometry (in the conv direction) and the
 * same three kernels close forward and backward:
 *
 *                        forward           gx                  gw                   gb
 *   conv(x, w)           conv(x → y)       convT(gz, w)        weightGrad(x, gz)    Σ gz
 *   convTranspose(x, w)  convT(x → y)      conv(gz, w)         weightGrad(gz, x)    Σ gz
 *
 * with the epilogue y = act(z), z = conv(x, w) + b + r: gz = gy · act'(y) (gy itself without an
 * activation) and gr = gz. gx has x's size by construction (g.inSize is x's size), so the output
 * padding that restores it is implicit; gb sums over batch and space.
 */
import type { Geometry } from '../spec/types.js';
import type { Activation, Direction, Epilogue, F, Fuses, WeightKey } from '../kernels/types.js';
import { selectKernels } from '../plan/select.js';
import { biasGrad } from '../kernels/ref/layout.js';
import { activate, activationGrad, applyEpilogue, DEFAULT_NEGATIVE_SLOPE, splitEpilogue } from '../kernels/ref/epilogue.js';
import { prod } from '../util/shape.js';
import { isGradEnabled, record } from './graph.js';
import { allocate, sharedShape, Tensor } from './tensor.js';

/** The kernel directions of one op: its forward, its input gradient, and the weight gradient's operands (src over the conv's input space). */
const adjoints = {
  conv: { forward: 'conv', gx: 'convT', gw: (x: F, gz: F) => [x, gz] as const },
  convT: { forward: 'convT', gx: 'conv', gw: (x: F, gz: F) => [gz, x] as const },
} as const satisfies Record<'conv' | 'convT', { forward: Direction; gx: Direction; gw: (x: F, gz: F) => readonly [F, F] }>;

/**
 * y = conv or convT of x with w, then the epilogue (bias b, then `post`'s residual and activation).
 * The kernel fuses the prefix of the epilogue it can; the generic fallback applies the rest to the
 * written output. y need not be zeroed (kernels overwrite). `wk`: w's storage and version
 * (weightKey), so that a backend may reuse what it derived from w on an earlier call.
 */
export function convForward(x: F, w: F, b: F | null, y: F, g: Geometry, transposed: boolean, post?: Omit<Epilogue, 'bias'>, wk?: WeightKey): void {
  const dir = transposed ? 'convT' : 'conv';
  const kernels = selectKernels(g, x instanceof Float64Array ? 'float64' : 'float32', dir);
  const ep: Epilogue | undefined = b ? (post ? { ...post, bias: b } : { bias: b }) : post;
  // The common calls (no epilogue, or one the family writes whole) need no split.
  if (!ep || fusesAll(ep, kernels.fuses)) {
    kernels[dir](x, w, y, g, ep && (ep.bias || ep.residual || ep.activation) ? ep : undefined, wk);
    return;
  }
  const { fused, rest } = splitEpilogue(ep, kernels.fuses);
  kernels[dir](x, w, y, g, fused, wk);
  if (rest) applyEpilogue(y, rest, g.n, transposed ? g.cIn : g.cOut, prod(transposed ? g.inSize : g.outSize));
}

/** Whether a family with `fuses` writes every part of `ep` itself (splitEpilogue would leave no rest). */
const fusesAll = (ep: Epilogue, fuses: Fuses | undefined): boolean =>
  (!ep.bias || fuses?.bias === true) && (!ep.residual || fuses?.residual === true) && (!ep.activation || fuses?.activation === true);

/** The output shapes of planned geometries (frozen, living with their plan), one per direction, shared by their outputs. */
const outShapes = new WeakMap<Geometry, { conv?: readonly number[]; convT?: readonly number[] }>();

/** The primitive's output shape, (n, cOut, *outSize) or for convT (n, cIn, *inSize). */
function outputShape(g: Geometry, transposed: boolean): readonly number[] {
  const dir = transposed ? 'convT' : 'conv', planned = Object.isFrozen(g);
  let shapes = planned ? outShapes.get(g) : undefined;
  const known = shapes?.[dir];
  if (known) return known;
  const shape = transposed ? [g.n, g.cIn, ...g.inSize] : [g.n, g.cOut, ...g.outSize];
  if (!planned) return shape;
  if (!shapes) outShapes.set(g, (shapes = {}));
  return (shapes[dir] = sharedShape(shape));
}

/** The key of a weight tensor's values now: its storage and write count (Tensor.version). */
export const weightKey = (w: Tensor): WeightKey => ({ storage: w.data, version: w.version });

/** The epilogue of convPrimitive: bias and residual as tensors, the residual channels-first and batched like the output. */
export interface PrimitiveEpilogue {
  readonly bias?: Tensor | null;
  readonly residual?: Tensor;
  readonly activation?: Activation;
  readonly negativeSlope?: number;
}

/**
 * The convolution primitive on channels-first batched tensors with its epilogue,
 * `y = act(conv(x, w) + b + r)`: conv maps (n, cIn, *inSize) → (n, cOut, *outSize), convT maps
 * back; gradients follow the table above. `computed`: the output's conv and bias already computed
 * elsewhere (the async API), so only the rest of the epilogue is applied and the node recorded.
 */
export function convPrimitive(x: Tensor, w: Tensor, g: Geometry, transposed: boolean, op: string, ep: PrimitiveEpilogue = {}, computed?: F): Tensor {
  const b = ep.bias ?? null, r = ep.residual ?? null, act = ep.activation;
  const slope = ep.negativeSlope ?? DEFAULT_NEGATIVE_SLOPE;
  const rule = adjoints[transposed ? 'convT' : 'conv'];
  const yChannels = transposed ? g.cIn : g.cOut;
  const ySize = transposed ? g.inSize : g.outSize;
  const yVol = prod(ySize);
  const recording = isGradEnabled() && (x.requiresGrad || w.requiresGrad || (b !== null && b.requiresGrad) || (r !== null && r.requiresGrad));
  // A negative slope's derivative needs the pre-activation z (y > 0 on both sides of 0).
  const keepZ = recording && act === 'leakyRelu' && slope < 0;
  const post: Omit<Epilogue, 'bias'> | undefined = !r && !(act && !keepZ) ? undefined
    : { ...(r ? { residual: r.data } : {}), ...(act && !keepZ ? { activation: act, negativeSlope: slope } : {}) };
  const y = computed ?? allocate(x.dtype, g.n * yChannels * yVol);
  if (!computed) convForward(x.data, w.data, b?.data ?? null, y, g, transposed, post, weightKey(w));
  else if (post) applyEpilogue(y, post, g.n, yChannels, yVol);
  let z: F | undefined;
  if (keepZ) {
    z = y.slice();
    activate(y, act, slope);
  }
  const out = new Tensor(y, outputShape(g, transposed));
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
    if (gx) selectKernels(g, x.dtype, rule.gx)[rule.gx](gz, w.data, gx, g, undefined, weightKey(w));
    if (gw) {
      const [src, dst] = rule.gw(x.data, gz);
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

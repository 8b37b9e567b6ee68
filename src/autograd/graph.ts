/**
 * Reverse-mode automatic differentiation: each op that produces a tensor from tensors needing
 * gradients records a node { parents, vjp }; `backward` sorts the graph and runs the VJPs in reverse,
 * accumulating into `.grad` as PyTorch does.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { setBackwardHook, setReshapeHook, Tensor, type BackwardOptions, type GradNode } from './tensor.js';
import { readOptions } from '../spec/normalize.js';
import { gpuAddGrads, gpuFull } from './gpu-ops.js';
import { traceOp, tracing } from '../profile/trace.js';

let gradEnabled = true;

/** Whether operations are being recorded for autograd right now. */
export const isGradEnabled = (): boolean => gradEnabled;

/** Runs `fn` without recording anything for autograd (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ConvError('noGrad', 'fn', `must be a function to run without recording; got ${fmt(fn)}`);
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Attaches a node to `out` when recording is on and some parent needs a gradient. */
export function record(out: Tensor, name: string, parents: readonly Tensor[], vjp: GradNode['vjp']): Tensor {
  if (gradEnabled && parents.some((p) => p.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { name, parents, vjp };
  }
  return out;
}

// Reshape shares storage; its gradient is the incoming gradient viewed in the original shape.
setReshapeHook((t, shape) => {
  const y = new Tensor(t.storage, shape);
  if (tracing()) traceOp('reshape', [t], y, { shape });
  return record(y, 'reshape', [t], (gy) => [new Tensor(gy.storage, t.shape)]);
});

/** Nodes whose backward has run without `retainGraph`: their saved tensors count as freed (PyTorch). */
const freed = new WeakSet<GradNode>();

/**
 * Back-propagates from `root`: `root.grad` is seeded with `gradOutput` (ones for a one-element
 * tensor when omitted) and every leaf that requires a gradient accumulates into `.grad`.
 * As in PyTorch the graph is freed afterwards: a second backward through any of its nodes throws,
 * unless every earlier backward through them was given `{ retainGraph: true }`. Everything is
 * checked before any gradient is accumulated.
 */
export function backward(root: Tensor, gradOutput?: Tensor | null, options: BackwardOptions = {}): void {
  if (!(root instanceof Tensor))
    throw new ConvError('backward', 'tensor', `must be a Tensor; got ${fmt(typeof root)}`);
  const { retainGraph } = readOptions('backward', options, ['retainGraph']);
  if (retainGraph !== undefined && typeof retainGraph !== 'boolean')
    throw new ConvError('backward', 'retainGraph', `must be true or false; got ${fmt(retainGraph)}`);
  if (!root.requiresGrad)
    throw new ConvError('backward', 'tensor', `does not require grad and has no grad_fn; got ${root.toString()}`);
  let seed: Tensor;
  if (gradOutput === undefined || gradOutput === null) {
    if (root.size !== 1)
      throw new ConvError('backward', 'gradOutput', `must be given for a non-scalar output; got output shape ${fmt(root.shape)}`);
    seed = root.device === 'webgpu' ? gpuFull(root.shape, 1)
      : new Tensor(root.dtype === 'float64' ? new Float64Array([1]) : new Float32Array([1]), root.shape);
  } else {
    if (!(gradOutput instanceof Tensor))
      throw new ConvError('backward', 'gradOutput', `must be a Tensor; got ${fmt(typeof gradOutput)}`);
    if (gradOutput.shape.length !== root.shape.length || gradOutput.shape.some((s, i) => s !== root.shape[i]) || gradOutput.size !== root.size)
      throw new ConvError('backward', 'gradOutput', `must have the output's shape ${fmt(root.shape)}; got ${fmt(gradOutput.shape)}`);
    if (gradOutput.dtype !== root.dtype)
      throw new ConvError('backward', 'gradOutput', `must have the output's dtype ${root.dtype}; got ${gradOutput.dtype}`);
    if (gradOutput.device !== root.device)
      throw new ConvError('backward', 'gradOutput', `must be on the output's device '${root.device}'; got device '${gradOutput.device}'`);
    seed = gradOutput;
  }
  // Topological order (iterative DFS so that deep graphs cannot overflow the stack).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) { order.push(t); continue; }
    if (seen.has(t)) continue;
    seen.add(t);
    if (t.gradFn && freed.has(t.gradFn))
      throw new ConvError('backward', 'graph', `was already back-propagated through and freed (node '${t.gradFn.name}'): trying to backward through the graph a second time; ` +
        'pass { retainGraph: true } to the earlier backward to keep it, or compute the output again');
    stack.push([t, true]);
    if (t.gradFn) for (const p of t.gradFn.parents) if (p.requiresGrad && !seen.has(p)) stack.push([p, false]);
  }
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      if (!t.gradFn) {
        accumulate(t, g);
        continue;
      }
      grads.delete(t);
      const parentGrads = t.gradFn.vjp(g);
      if (!retainGraph) freed.add(t.gradFn);
      t.gradFn.parents.forEach((p, k) => {
        const pg = parentGrads[k];
        if (!pg || !p.requiresGrad) return;
        const prev = grads.get(p);
        if (!prev) grads.set(p, pg);
        else if (prev.device === 'webgpu') grads.set(p, gpuAddGrads(prev, pg));
        else {
          const sum = prev.data.slice();
          for (let q = 0; q < sum.length; q++) sum[q] += pg.data[q];
          grads.set(p, new Tensor(sum, p.shape));
        }
      });
    }
  });
}

function accumulate(leaf: Tensor, g: Tensor): void {
  if (leaf.device === 'webgpu') {
    leaf.grad = leaf.grad === null ? new Tensor(g.clone().storage, leaf.shape) : gpuAddGrads(leaf.grad, new Tensor(g.storage, leaf.shape));
    return;
  }
  if (leaf.grad === null) leaf.grad = new Tensor(g.data.slice(), leaf.shape);
  else {
    const d = leaf.grad.data;
    for (let q = 0; q < d.length; q++) d[q] += g.data[q];
  }
}

setBackwardHook(backward);

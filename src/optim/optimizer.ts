/** Optimizer base: a fixed list of leaf parameters updated in place by `step()`, as in `torch.optim`. */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import { Tensor, type TypedArray } from '../autograd/tensor.js';

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  /** Per-parameter state (momentum buffers, moments), created on the first step that sees a gradient. */
  protected readonly state = new Map<Tensor, Record<string, TypedArray | number>>();

  constructor(protected readonly op: string, params: Iterable<Tensor>) {
    const list = guarded(op, 'params', () => (params !== null && typeof params === 'object' && Symbol.iterator in params ? [...params] : null));
    if (list === null) throw new ConvError(op, 'params', `must be an iterable of Tensors; got ${fmt(typeof params)}`);
    if (list.length === 0) throw new ConvError(op, 'params', 'must not be empty; got an empty parameter list');
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new ConvError(op, 'params', `must hold Tensors; got ${fmt(typeof p)} at index ${i}`);
      if (p.gradFn) throw new ConvError(op, 'params', `must be leaf tensors (can't optimize a computed tensor); got ${p.gradFn.name} output at index ${i}`);
    });
    if (new Set(list).size !== list.length) throw new ConvError(op, 'params', 'must not list a tensor twice; got a duplicate parameter');
    this.params = list;
  }

  /** Clears every parameter's gradient (PyTorch's `set_to_none=True`). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /**
   * Applies one update to every parameter that has a gradient. All gradients are checked before
   * any parameter changes, so a bad gradient leaves the parameters and state as they were.
   */
  step(): void {
    const live = this.params.filter((p) => p.grad !== null);
    for (const p of live) {
      const g = p.grad!;
      if (g.size !== p.size || g.shape.some((s, i) => s !== p.shape[i]))
        throw new ConvError(this.op, 'grad', `must have its parameter's shape ${fmt(p.shape)}; got ${fmt(g.shape)}`);
      if (g.device !== p.device)
        throw new ConvError(this.op, 'grad', `must be on its parameter's device '${p.device}'; got device '${g.device}'`);
    }
    for (const p of live) {
      if (p.device === 'webgpu') this.updateGpu(p, p.grad!);
      else this.update(p, p.grad!.data);
      p.markChanged();
    }
  }

  /** Updates a 'webgpu' parameter in place on the GPU. */
  protected abstract updateGpu(p: Tensor, g: Tensor): void;

  /** Per-parameter state, created by `init` on first use. */
  protected stateOf<S extends Record<string, TypedArray | number>>(p: Tensor, init: () => S): S {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = init()));
    return s as S;
  }

  /** Updates `p.data` in place from gradient `g`. */
  protected abstract update(p: Tensor, g: TypedArray): void;
}

/** A finite number ≥ min (or > min when `open`). */
export function checkHyper(op: string, name: string, v: unknown, min = 0, open = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (open ? v <= min : v < min))
    throw new ConvError(op, name, `must be a finite number ${open ? '>' : '≥'} ${min}; got ${fmt(v)}`);
  return v;
}

/** A boolean option (true or false, nothing truthy). */
export function checkFlag(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConvError(op, name, `must be true or false; got ${fmt(v)}`);
  return v;
}

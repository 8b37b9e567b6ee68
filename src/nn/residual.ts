/** Skip and branch connections: `Residual(inner)` = x + inner(x) (residual blocks) and `Parallel(branches)` = Σ branch(x) (HiFi-GAN's MRF). */
import { ConvError, fmt, guarded, readList } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { add } from '../autograd/ops.js';
import { div } from '../autograd/shape-ops.js';
import { Module } from './module.js';

/**
 * Adds a module's output to its input: `forward(x) = x + inner(x)`. `inner` must keep the shape
 * (no broadcasting). Its parameters are keyed `inner.<name>`. Its `stream()` delays the skip path by
 * the inner stream's look-ahead, so that the sum stays aligned (docs/streaming.md).
 * @example new Residual(new Sequential(new LeakyReLU(0.1), new Conv1d(4, 4, 3, { dilation: 3, padding: 3 })))
 */
export class Residual extends Module {
  constructor(readonly inner: Module) {
    super();
    if (!guarded('Residual', 'inner', () => inner instanceof Module)) throw new ConvError('Residual', 'inner', `must be a Module; got ${fmt(typeof inner)}`);
  }

  override namedChildren(): [string, Module][] {
    return [['inner', this.inner]];
  }

  override forward(x: Tensor): Tensor {
    const y = this.inner.forward(x);
    if (y.shape.length !== x.shape.length || y.shape.some((s, i) => s !== x.shape[i]))
      throw new ConvError('Residual', 'inner', `must keep the input's shape for x + inner(x); got input ${fmt(x.shape)} and inner output ${fmt(y.shape)}`);
    return add(x, y);
  }

  override toString(): string {
    return `Residual(\n  (inner): ${String(this.inner).replace(/\n/g, '\n  ')}\n)`;
  }
}

export interface ParallelOptions {
  /** 'sum' adds the branch outputs; 'mean' then divides by the number of branches (default 'sum'). */
  reduce?: 'sum' | 'mean';
}

/**
 * Runs every branch on the same input and adds their outputs in order,
 * `y = ((b0(x) + b1(x)) + …)`, divided by the branch count with `reduce: 'mean'` — HiFi-GAN's
 * multi-receptive-field fusion (`xs += resblock(x)`, then `xs / num_kernels`). Branches must give
 * the same shape. Parameters are keyed `<branch index>.<name>`. Its `stream()` waits for the
 * slowest branch (docs/streaming.md).
 * @example new Parallel([resBlock(3, [1, 3, 5]), resBlock(7, [1, 3, 5])], { reduce: 'mean' })
 */
export class Parallel extends Module {
  readonly branches: readonly Module[];
  readonly reduce: 'sum' | 'mean';

  constructor(branches: readonly Module[], options: ParallelOptions = {}) {
    super();
    const list = readList('Parallel', 'branches', branches);
    if (list === null || list.length === 0)
      throw new ConvError('Parallel', 'branches', `must be a non-empty array of Modules; got ${fmt(list ? list.length : typeof branches)}`);
    list.forEach((m, i) => {
      if (!guarded('Parallel', `branches[${i}]`, () => m instanceof Module)) throw new ConvError('Parallel', `branches[${i}]`, `must be a Module; got ${fmt(typeof m)}`);
    });
    if (options === null || typeof options !== 'object') throw new ConvError('Parallel', 'options', `must be an object; got ${fmt(options)}`);
    const given = guarded('Parallel', 'reduce', () => options.reduce), reduce = given === undefined ? 'sum' : given;
    if (reduce !== 'sum' && reduce !== 'mean') throw new ConvError('Parallel', 'reduce', `must be 'sum' or 'mean'; got ${fmt(reduce)}`);
    this.branches = list as Module[];
    this.reduce = reduce;
  }

  override namedChildren(): [string, Module][] {
    return this.branches.map((m, i) => [String(i), m]);
  }

  override forward(x: Tensor): Tensor {
    let y = this.branches[0].forward(x);
    for (let i = 1; i < this.branches.length; i++) {
      const b = this.branches[i].forward(x);
      if (b.shape.length !== y.shape.length || b.shape.some((s, a) => s !== y.shape[a]))
        throw new ConvError('Parallel', `branches[${i}]`, `must give the shape of branch 0 (${fmt(y.shape)}); got ${fmt(b.shape)}`);
      y = add(y, b);
    }
    return this.reduce === 'mean' ? div(y, this.branches.length) : y;
  }

  override toString(): string {
    const inner = this.branches.map((m, i) => `  (${i}): ${String(m).replace(/\n/g, '\n  ')}`).join('\n');
    return `Parallel(reduce='${this.reduce}',\n${inner}\n)`;
  }
}

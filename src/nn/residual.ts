/** `Residual(inner)`: x + inner(x), the skip connection of residual blocks (HiFi-GAN's ResBlock, …). */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { add } from '../autograd/ops.js';
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
    if (!(inner instanceof Module)) throw new ConvError('Residual', 'inner', `must be a Module; got ${fmt(typeof inner)}`);
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

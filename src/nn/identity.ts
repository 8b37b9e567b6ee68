/** `Identity` (PyTorch `torch.nn.Identity`): returns its input. */
import type { Tensor } from '../autograd/tensor.js';
import { Module } from './module.js';

/**
 * A placeholder that returns its input unchanged (the same tensor, so gradients pass straight
 * through). Use it where a ported model has an optional layer switched off, e.g. a BatchNorm
 * folded into its convolution by `foldBatchNorm`.
 * @example new Sequential(conv, new Identity(), new ReLU())
 */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }

  override toString(): string {
    return 'Identity()';
  }
}

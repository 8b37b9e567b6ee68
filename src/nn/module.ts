/** Module base: named parameters, as in `torch.nn.Module`. */
import type { Tensor } from '../autograd/tensor.js';

export abstract class Module {
  /** Own parameters by PyTorch key name (e.g. 'weight', 'bias'). Containers override `namedChildren`. */
  protected ownParameters(): [string, Tensor][] {
    return [];
  }

  /** Child modules by key ('0', '1', … in Sequential). */
  namedChildren(): [string, Module][] {
    return [];
  }

  /** All parameters with dotted PyTorch names ('weight', '0.bias', …). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.ownParameters().map(([k, t]) => [prefix + k, t]);
    for (const [name, child] of this.namedChildren()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  abstract forward(x: Tensor, ...rest: never[]): Tensor;
}

/** `Sequential` and the parameter-free activation modules that Sequential models need. */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { leakyRelu, relu, sigmoid, tanh } from '../autograd/ops.js';
import { Module } from './module.js';
import { asyncSteps } from './async.js';

/**
 * Runs its modules in order; their parameters are keyed '0.weight', '1.bias', … as in PyTorch.
 * @example new Sequential(new Conv1d(1, 4, 3), new ReLU(), new ConvTranspose1d(4, 1, 3))
 */
export class Sequential extends Module {
  private readonly modules: readonly Module[];

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new ConvError('Sequential', `modules[${i}]`, `must be a Module; got ${fmt(typeof m)}`);
    });
    this.modules = [...modules];
  }

  get length(): number {
    return this.modules.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const m = Number.isInteger(i) ? this.modules.at(i) : undefined;
    if (!m) throw new ConvError('Sequential', 'index', `must be an integer in [${-this.length}, ${this.length - 1}]; got ${fmt(i)}`);
    return m;
  }

  override namedChildren(): [string, Module][] {
    return this.modules.map((m, i) => [String(i), m]);
  }

  override forward(x: Tensor): Tensor {
    for (const m of this.modules) x = m.forward(x);
    return x;
  }

  /** Awaits each module's `forwardAsync` in turn (one step each, see `asyncSteps`), under the grad mode of the call. */
  override async forwardAsync(x: Tensor): Promise<Tensor> {
    const step = asyncSteps();
    for (const m of this.modules) x = await step(() => m.forwardAsync(x));
    return x;
  }

  override toString(): string {
    return `Sequential(\n${this.modules.map((m, i) => `  (${i}): ${String(m)}`).join('\n')}\n)`;
  }
}

/** `torch.nn.ReLU`: max(x, 0). */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor { return relu(x); }
  override toString(): string { return 'ReLU()'; }
}

/** `torch.nn.LeakyReLU(negativeSlope = 0.01)`. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope))
      throw new ConvError('LeakyReLU', 'negativeSlope', `must be a finite number; got ${fmt(negativeSlope)}`);
  }
  override forward(x: Tensor): Tensor { return leakyRelu(x, this.negativeSlope); }
  override toString(): string { return `LeakyReLU(negativeSlope=${this.negativeSlope})`; }
}

/** `torch.nn.Tanh`. */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor { return tanh(x); }
  override toString(): string { return 'Tanh()'; }
}

/** `torch.nn.Sigmoid`. */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor { return sigmoid(x); }
  override toString(): string { return 'Sigmoid()'; }
}

/** `Sequential` and the parameter-free activation modules that Sequential models need. */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { leakyRelu, relu, sigmoid, tanh } from '../autograd/ops.js';
import type { Activation as ActivationKind } from '../functional/apply.js';
import { Module } from './module.js';
import { ConvNdBase } from './conv.js';
import { Identity } from './identity.js';
import { asyncSteps } from './async.js';

/**
 * Runs its modules in order; their parameters are keyed '0.weight', '1.bias', … as in PyTorch.
 * A convolution module followed by ReLU or LeakyReLU (Identity modules between them are skipped, as
 * a folded BatchNorm leaves them) runs as one fused call (`forwardActivated`: the activation written
 * as the output is stored, see docs/epilogue.md), with exactly the values and gradients of the two
 * modules one after the other. Tanh and Sigmoid are not fused: the elementwise float32 forms are a
 * SIMD approximation (docs/performance.md) that the epilogue does not share, and a Sequential must
 * give the same values as its modules run one by one (a stream runs them so).
 * @example new Sequential(new Conv1d(1, 4, 3), new ReLU(), new ConvTranspose1d(4, 1, 3))
 */
export class Sequential extends Module {
  private readonly modules: readonly Module[];

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!guarded('Sequential', `modules[${i}]`, () => m instanceof Module)) throw new ConvError('Sequential', `modules[${i}]`, `must be a Module; got ${fmt(typeof m)}`);
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
    const ms = this.modules;
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      let j = i + 1; // the next module that is not an Identity (a folded BatchNorm leaves one)
      while (ms[j] instanceof Identity) j++;
      const next = ms[j];
      if (next instanceof Activation && (next.kind === 'relu' || next.kind === 'leakyRelu') && fusable(m)) {
        x = m.forwardActivated(x, next.kind, next instanceof LeakyReLU ? next.negativeSlope : undefined);
        i = j;
      } else x = m.forward(x);
    }
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

/** A convolution module whose forward is the base class's (a subclass that overrides it is run as written). */
const fusable = (m: Module): m is ConvNdBase =>
  m instanceof ConvNdBase && (Object.getPrototypeOf(m) as ConvNdBase).forward === ConvNdBase.prototype.forward;

/** A parameter-free elementwise module that a preceding convolution can fuse (`kind`). */
abstract class Activation extends Module {
  abstract readonly kind: ActivationKind;
}

const checkInplace = (op: string, v: unknown): boolean => {
  if (typeof v !== 'boolean') throw new ConvError(op, 'inplace', `must be a boolean; got ${fmt(v)}`);
  return v;
};

/** `torch.nn.ReLU(inplace = false)`: max(x, 0); `inplace` overwrites the input (only where no gradient is recorded). */
export class ReLU extends Activation {
  constructor(readonly inplace = false) {
    super();
    checkInplace('ReLU', inplace);
  }
  readonly kind = 'relu' as const;
  override forward(x: Tensor): Tensor { return relu(x, this.inplace); }
  override toString(): string { return this.inplace ? 'ReLU(inplace=true)' : 'ReLU()'; }
}

/** `torch.nn.LeakyReLU(negativeSlope = 0.01, inplace = false)`. */
export class LeakyReLU extends Activation {
  constructor(readonly negativeSlope = 0.01, readonly inplace = false) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope))
      throw new ConvError('LeakyReLU', 'negativeSlope', `must be a finite number; got ${fmt(negativeSlope)}`);
    checkInplace('LeakyReLU', inplace);
  }
  readonly kind = 'leakyRelu' as const;
  override forward(x: Tensor): Tensor { return leakyRelu(x, this.negativeSlope, this.inplace); }
  override toString(): string { return `LeakyReLU(negativeSlope=${this.negativeSlope}${this.inplace ? ', inplace=true' : ''})`; }
}

/** `torch.nn.Tanh`. */
export class Tanh extends Activation {
  readonly kind = 'tanh' as const;
  override forward(x: Tensor): Tensor { return tanh(x); }
  override toString(): string { return 'Tanh()'; }
}

/** `torch.nn.Sigmoid`. */
export class Sigmoid extends Activation {
  readonly kind = 'sigmoid' as const;
  override forward(x: Tensor): Tensor { return sigmoid(x); }
  override toString(): string { return 'Sigmoid()'; }
}

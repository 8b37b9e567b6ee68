/** Stochastic gradient descent with momentum, dampening, weight decay and Nesterov (PyTorch's rule). */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor, TypedArray } from '../autograd/tensor.js';
import { checkFlag, checkHyper, Optimizer } from './optimizer.js';
import { readOptions } from '../spec/normalize.js';
import { gpuSgdStep, gpuStateBuffer, type GpuBuffer } from '../autograd/gpu-ops.js';

export interface SGDOptions {
  /** Learning rate (required, ≥ 0). */
  lr: number;
  momentum?: number;
  dampening?: number;
  /** L2 penalty added to the gradient: g + weightDecay·p. */
  weightDecay?: number;
  nesterov?: boolean;
  /** Ascend instead of descend. */
  maximize?: boolean;
}

/**
 * `torch.optim.SGD`. Per step, with g the gradient:
 * g ← g + λp; b ← g on the first step, else μb + (1 − τ)g; g ← g + μb (Nesterov) or b; p ← p − lr·g.
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly maximize: boolean;

  constructor(params: Iterable<Tensor>, opts: SGDOptions) {
    const o = readOptions('SGD', opts, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize']);
    const lr = checkHyper('SGD', 'lr', o.lr);
    const momentum = checkHyper('SGD', 'momentum', o.momentum ?? 0);
    const dampening = checkHyper('SGD', 'dampening', o.dampening ?? 0, -Infinity);
    const weightDecay = checkHyper('SGD', 'weightDecay', o.weightDecay ?? 0);
    const nesterov = checkFlag('SGD', 'nesterov', o.nesterov ?? false);
    if (nesterov && (momentum <= 0 || dampening !== 0))
      throw new ConvError('SGD', 'nesterov', `requires momentum > 0 and dampening = 0; got momentum=${fmt(momentum)}, dampening=${fmt(dampening)}`);
    super('SGD', params);
    this.lr = lr; this.momentum = momentum; this.dampening = dampening; this.weightDecay = weightDecay;
    this.nesterov = nesterov; this.maximize = checkFlag('SGD', 'maximize', o.maximize ?? false);
  }

  protected override updateGpu(p: Tensor, grad: Tensor): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this;
    const st = momentum !== 0 ? this.gpuState.get(p) ?? null : null;
    const buf = momentum !== 0 ? st ?? gpuStateBuffer('SGD', p.size) : null;
    if (buf && !st) this.gpuState.set(p, buf);
    gpuSgdStep(p, grad, buf, buf !== null && !st, { lr, momentum, dampening, weightDecay, nesterov, sign: this.maximize ? -1 : 1 });
  }

  /** Momentum buffers of 'webgpu' parameters (float32, on the GPU). */
  private readonly gpuState = new Map<Tensor, GpuBuffer>();

  protected override update(p: Tensor, grad: TypedArray): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = this;
    const x = p.data, n = x.length, sign = this.maximize ? -1 : 1;
    const st = mu !== 0 ? this.stateOf(p, () => ({ momentumBuffer: null as unknown as TypedArray })) : null;
    const first = st !== null && !st.momentumBuffer;
    if (first) st!.momentumBuffer = new Float64Array(n);
    const buf = st?.momentumBuffer;
    for (let i = 0; i < n; i++) {
      let d = sign * grad[i];
      if (wd !== 0) d += wd * x[i];
      if (buf) {
        buf[i] = first ? d : mu * buf[i] + (1 - dampening) * d;
        d = nesterov ? d + mu * buf[i] : buf[i];
      }
      x[i] -= lr * d;
    }
  }
}

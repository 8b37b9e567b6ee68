/** Adam and its AMSGrad variant (PyTorch's rule, L2 weight decay added to the gradient). */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor, TypedArray } from '../autograd/tensor.js';
import { checkFlag, checkHyper, Optimizer } from './optimizer.js';
import { readOptions } from '../spec/normalize.js';
import { gpuAdamStep, gpuStateBuffer, type GpuBuffer } from '../autograd/gpu-ops.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]), each in [0, 1). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient: g + weightDecay·p (default 0). */
  weightDecay?: number;
  /** Use the running maximum of the second moment (default false). */
  amsgrad?: boolean;
  /** Ascend instead of descend. */
  maximize?: boolean;
}

interface AdamState extends Record<string, TypedArray | number> {
  step: number;
  expAvg: Float64Array;
  expAvgSq: Float64Array;
  maxExpAvgSq: Float64Array;
}

/**
 * `torch.optim.Adam`. Per step t, with g the gradient (plus λp):
 * m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; v̂ = max(v̂, v) with amsgrad;
 * p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
 * @example const opt = new Adam(model.parameters(), { lr: 1e-2 });
 */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly maximize: boolean;

  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    const o = readOptions('Adam', opts, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize']);
    const lr = checkHyper('Adam', 'lr', o.lr ?? 1e-3);
    const eps = checkHyper('Adam', 'eps', o.eps ?? 1e-8);
    const weightDecay = checkHyper('Adam', 'weightDecay', o.weightDecay ?? 0);
    const betas = o.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1))
      throw new ConvError('Adam', 'betas', `must be two numbers in [0, 1); got ${fmt(betas)}`);
    super('Adam', params);
    this.lr = lr; this.eps = eps; this.weightDecay = weightDecay;
    this.betas = [betas[0], betas[1]];
    this.amsgrad = checkFlag('Adam', 'amsgrad', o.amsgrad ?? false);
    this.maximize = checkFlag('Adam', 'maximize', o.maximize ?? false);
  }

  /** Moments of 'webgpu' parameters (float32, on the GPU). */
  private readonly gpuState = new Map<Tensor, { step: number; m: GpuBuffer; v: GpuBuffer; vMax: GpuBuffer | null }>();

  protected override updateGpu(p: Tensor, grad: Tensor): void {
    let st = this.gpuState.get(p);
    if (!st) {
      st = { step: 0, m: gpuStateBuffer('Adam', p.size), v: gpuStateBuffer('Adam', p.size), vMax: this.amsgrad ? gpuStateBuffer('Adam', p.size) : null };
      this.gpuState.set(p, st);
    }
    const t = ++st.step;
    const [b1, b2] = this.betas;
    gpuAdamStep(p, grad, st.m, st.v, st.vMax, {
      b1, b2, eps: this.eps, weightDecay: this.weightDecay, stepSize: this.lr / (1 - b1 ** t), bc2Sqrt: Math.sqrt(1 - b2 ** t), sign: this.maximize ? -1 : 1,
    });
  }

  protected override update(p: Tensor, grad: TypedArray): void {
    const { lr, eps, weightDecay: wd, amsgrad } = this;
    const [b1, b2] = this.betas;
    const x = p.data, n = x.length, sign = this.maximize ? -1 : 1;
    const st = this.stateOf<AdamState>(p, () => ({
      step: 0, expAvg: new Float64Array(n), expAvgSq: new Float64Array(n), maxExpAvgSq: new Float64Array(amsgrad ? n : 0),
    }));
    const t = ++st.step;
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const { expAvg: m, expAvgSq: v, maxExpAvgSq: vMax } = st;
    for (let i = 0; i < n; i++) {
      let g = sign * grad[i];
      if (wd !== 0) g += wd * x[i];
      m[i] = m[i] * b1 + (1 - b1) * g;
      v[i] = v[i] * b2 + (1 - b2) * g * g;
      let second = v[i];
      if (amsgrad) second = vMax[i] = Math.max(vMax[i], v[i]);
      x[i] -= stepSize * (m[i] / (Math.sqrt(second) / bc2Sqrt + eps));
    }
  }
}

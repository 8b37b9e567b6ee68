/**
 * `batchNorm`, PyTorch's `F.batch_norm`: per-channel normalisation of (N, C, *) with batch or running
 * statistics, an optional affine map, and the running-statistics update; with autograd.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { record } from './graph.js';
import { allocate, Tensor } from './tensor.js';
import { checkSameDevice, gpuBatchNorm } from './gpu-ops.js';

export interface BatchNormOptions {
  /** Normalise with this batch's statistics (and update the running ones, when given); default false. */
  training?: boolean;
  /** Weight of this batch in the running-statistics update, `r ← (1 − m)·r + m·batch` (default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * Checks an input for a batch norm over `numFeatures` channels (dim 1) before anything changes:
 * `ranks` lists the accepted ranks, and training needs more than one value per channel.
 */
export function checkBatchNormInput(op: string, x: unknown, numFeatures: number, ranks: readonly number[], training: boolean): Tensor {
  if (!(x instanceof Tensor)) throw new ConvError(op, 'input', `must be a Tensor; got ${fmt(typeof x)}`);
  if (!ranks.includes(x.ndim))
    throw new ConvError(op, 'input', `must be ${ranks.map((r) => `${r}-D`).join(' or ')} (N, C${ranks.some((r) => r > 2) ? ', *' : ''}); got shape ${fmt(x.shape)}`);
  if (x.shape[1] !== numFeatures)
    throw new ConvError(op, 'input', `must have ${numFeatures} channels in dim 1; got shape ${fmt(x.shape)}`);
  if (training && x.size / Math.max(numFeatures, 1) <= 1)
    throw new ConvError(op, 'input', `must hold more than 1 value per channel when training; got shape ${fmt(x.shape)}`);
  return x;
}

const checkVector = (op: string, param: string, t: Tensor | null, c: number, dtype: string) => {
  if (t === null) return;
  if (!(t instanceof Tensor) || t.ndim !== 1 || t.shape[0] !== c)
    throw new ConvError(op, param, `must be a Tensor of shape [${c}] or null; got ${t instanceof Tensor ? fmt(t.shape) : fmt(typeof t)}`);
  if (t.dtype !== dtype) throw new ConvError(op, param, `must have the input's dtype ${dtype}; got ${t.dtype}`);
};

/**
 * y = (x − mean) / √(var + eps) · weight + bias per channel of x (N, C, *). With `training`, mean and
 * the biased variance come from the batch (over N and every spatial position) and, when running
 * statistics are given, they are updated in place: running_mean ← (1 − m)·running_mean + m·mean,
 * running_var ← (1 − m)·running_var + m·var·n/(n − 1) (unbiased, as PyTorch). Otherwise the running
 * statistics are used. Gradients flow to x, weight and bias (not to the running statistics).
 * GPU tensors (every tensor argument on 'webgpu') run on the GPU, the running statistics updated there.
 * @example batchNorm(x, rm, rv, gamma, beta, { training: true, momentum: 0.1 })
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null = null,
  bias: Tensor | null = null, { training = false, momentum = 0.1, eps = 1e-5 }: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  checkBatchNormInput(op, x, x instanceof Tensor && x.ndim >= 2 ? x.shape[1] : -1, [2, 3, 4, 5], training);
  const c = x.shape[1];
  for (const [p, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const)
    checkVector(op, p, t, c, x.dtype);
  if (!training && (runningMean === null || runningVar === null))
    throw new ConvError(op, 'runningMean', `and runningVar must be given when not training; got ${runningMean === null ? 'null' : 'a tensor'} and ${runningVar === null ? 'null' : 'a tensor'}`);
  if (!Number.isFinite(momentum)) throw new ConvError(op, 'momentum', `must be a finite number; got ${fmt(momentum)}`);
  if (!Number.isFinite(eps) || eps < 0) throw new ConvError(op, 'eps', `must be a non-negative finite number; got ${fmt(eps)}`);
  for (const [p, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const)
    if (t) checkSameDevice(op, p, x, t);
  if (x.device === 'webgpu') return gpuBatchNorm(x, runningMean, runningVar, weight, bias, { training, momentum, eps });

  const n = x.shape[0], inner = x.size / Math.max(n * c, 1), count = n * inner;
  const xd = x.data;
  // Per-channel statistics in float64.
  const mean = new Float64Array(c), invstd = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let m: number, v: number;
    if (training) {
      let s = 0;
      for (let b = 0; b < n; b++) for (let i = (b * c + ch) * inner, e = i + inner; i < e; i++) s += xd[i];
      m = s / count;
      let ss = 0;
      for (let b = 0; b < n; b++) for (let i = (b * c + ch) * inner, e = i + inner; i < e; i++) ss += (xd[i] - m) ** 2;
      v = ss / count;
      if (runningMean) runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * m;
      if (runningVar) runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * (v * count) / (count - 1);
    } else {
      m = runningMean!.data[ch];
      v = runningVar!.data[ch];
    }
    mean[ch] = m;
    invstd[ch] = 1 / Math.sqrt(v + eps);
  }
  const out = allocate(x.dtype, x.size);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const scale = invstd[ch] * (weight ? weight.data[ch] : 1), shift = bias ? bias.data[ch] : 0, m = mean[ch];
      for (let i = (b * c + ch) * inner, e = i + inner; i < e; i++) out[i] = (xd[i] - m) * scale + shift;
    }
  const parents = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return record(new Tensor(out, x.shape), op, parents, (gy) => {
    const g = gy.data;
    // Σ gy and Σ gy·x̂ per channel, x̂ = (x − mean)·invstd.
    const sumG = new Float64Array(c), sumGX = new Float64Array(c);
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < c; ch++) {
        const m = mean[ch], is = invstd[ch];
        let s = 0, sx = 0;
        for (let i = (b * c + ch) * inner, e = i + inner; i < e; i++) { s += g[i]; sx += g[i] * (xd[i] - m) * is; }
        sumG[ch] += s;
        sumGX[ch] += sx;
      }
    let gx: Tensor | null = null;
    if (x.requiresGrad) {
      const d = allocate(x.dtype, x.size);
      for (let b = 0; b < n; b++)
        for (let ch = 0; ch < c; ch++) {
          const w = weight ? weight.data[ch] : 1, m = mean[ch], is = invstd[ch];
          const i0 = (b * c + ch) * inner, e = i0 + inner;
          if (training) {
            // gx = w·invstd·(gy − mean(gy) − x̂·mean(gy·x̂)): the batch statistics depend on x.
            const mg = sumG[ch] / count, mgx = sumGX[ch] / count;
            for (let i = i0; i < e; i++) d[i] = w * is * (g[i] - mg - (xd[i] - m) * is * mgx);
          } else for (let i = i0; i < e; i++) d[i] = g[i] * w * is;
        }
      gx = new Tensor(d, x.shape);
    }
    const vec = (src: Float64Array) => {
      const t = allocate(x.dtype, c);
      t.set(src);
      return new Tensor(t, [c]);
    };
    return [gx, ...(weight ? [weight.requiresGrad ? vec(sumGX) : null] : []), ...(bias ? [bias.requiresGrad ? vec(sumG) : null] : [])];
  });
}

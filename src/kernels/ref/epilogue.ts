/**
 * The generic epilogue: what a kernel family does not fuse is applied here to the written output,
 * in the order of `y = act(conv(x, w) + bias + residual)`, with the activations' formulas of
 * autograd/ops.ts (so a fused call equals the unfused composition). Also the activations'
 * derivatives written with the output, which the convolution's backward uses.
 */
import type { Activation, Epilogue, F, Fuses } from '../types.js';

/** LeakyReLU's slope for x < 0 when none is given (PyTorch's default). */
export const DEFAULT_NEGATIVE_SLOPE = 0.01;

const isEmpty = (ep: Epilogue): boolean => !ep.bias && !ep.residual && !ep.activation;

/**
 * Splits `ep` into the prefix (bias → residual → activation) a family with `fuses` writes with its
 * output and the rest the fallback applies afterwards; each part is undefined when it is empty.
 */
export function splitEpilogue(ep: Epilogue | undefined, fuses: Fuses | undefined): { fused?: Epilogue; rest?: Epilogue } {
  if (!ep || isEmpty(ep)) return {};
  const f = fuses ?? {};
  const bias = !ep.bias || f.bias === true;
  const residual = bias && (!ep.residual || f.residual === true);
  const activation = residual && (!ep.activation || f.activation === true || (Array.isArray(f.activation) && f.activation.includes(ep.activation)));
  const act = { activation: ep.activation, negativeSlope: ep.negativeSlope };
  const fused: Epilogue = { ...(bias && ep.bias ? { bias: ep.bias } : {}), ...(residual && ep.residual ? { residual: ep.residual } : {}), ...(activation && ep.activation ? act : {}) };
  const rest: Epilogue = { ...(!bias && ep.bias ? { bias: ep.bias } : {}), ...(!residual && ep.residual ? { residual: ep.residual } : {}), ...(!activation && ep.activation ? act : {}) };
  return { fused: isEmpty(fused) ? undefined : fused, rest: isEmpty(rest) ? undefined : rest };
}

/** y (n, c, vol) = act(y + bias + residual), each part where `ep` has it. */
export function applyEpilogue(y: F, ep: Epilogue, n: number, c: number, vol: number): void {
  const { bias: b, residual: r } = ep;
  if (b)
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++) {
        const v = b[ch], base = (i * c + ch) * vol;
        for (let q = 0; q < vol; q++) y[base + q] += v;
      }
  if (r) for (let i = 0; i < y.length; i++) y[i] += r[i];
  if (ep.activation) activate(y, ep.activation, ep.negativeSlope ?? DEFAULT_NEGATIVE_SLOPE);
}

/** y = act(y) in place (NaN stays NaN, as in PyTorch). */
export function activate(y: F, act: Activation, negativeSlope: number): void {
  const n = y.length;
  if (act === 'relu') for (let i = 0; i < n; i++) { const v = y[i]; y[i] = v <= 0 ? 0 : v; }
  else if (act === 'leakyRelu') for (let i = 0; i < n; i++) { const v = y[i]; y[i] = v > 0 ? v : v * negativeSlope; }
  else if (act === 'tanh') for (let i = 0; i < n; i++) y[i] = Math.tanh(y[i]);
  else for (let i = 0; i < n; i++) { const v = y[i]; y[i] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)); }
}

/**
 * gz = gy · act'(z) written with the output y = act(z): relu' = [y > 0], leakyRelu' = 1 or the
 * slope (for a slope ≥ 0, y > 0 exactly where z > 0), tanh' = 1 − y², sigmoid' = y(1 − y).
 * A negative slope makes y > 0 on both sides, so those calls pass the pre-activation `z` instead.
 */
export function activationGrad(gy: F, y: F, act: Activation, negativeSlope: number, gz: F, z?: F): void {
  const n = gy.length;
  if (act === 'relu') for (let i = 0; i < n; i++) gz[i] = gy[i] * (y[i] > 0 ? 1 : 0);
  else if (act === 'leakyRelu') {
    const s = z ?? y;
    for (let i = 0; i < n; i++) gz[i] = gy[i] * (s[i] > 0 ? 1 : negativeSlope);
  } else if (act === 'tanh') for (let i = 0; i < n; i++) gz[i] = gy[i] * (1 - y[i] * y[i]);
  else for (let i = 0; i < n; i++) gz[i] = gy[i] * (y[i] * (1 - y[i]));
}

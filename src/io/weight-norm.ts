/**
 * Weight normalisation folded into plain weights, so that a checkpoint trained with
 * `torch.nn.utils.weight_norm` (keys `…weight_g`, `…weight_v`) or
 * `torch.nn.utils.parametrizations.weight_norm` (keys `…parametrizations.weight.original0/1`)
 * loads into ordinary convkit modules. Browser safe.
 */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import { allocate, Tensor } from '../autograd/tensor.js';

const OLD = /^(.*?)weight_([gv])$/;
const NEW = /^(.*?)parametrizations\.weight\.original([01])$/;

/**
 * `weight = g · v / ‖v‖`, the norm over every dim but 0 (PyTorch's `weight_norm(dim=0)`, the default
 * for Conv and ConvTranspose alike): `g` has shape `(v.shape[0], 1, …)` or `(v.shape[0])`.
 * Sums run in float64; the result has `v`'s dtype.
 */
export function weightNormWeight(g: Tensor, v: Tensor, key = 'weight'): Tensor {
  const op = 'foldWeightNorm';
  if (typeof key !== 'string') throw new ConvError(op, 'key', `must be a string; got ${fmt(typeof key)}`);
  if (!guarded(op, key, () => g instanceof Tensor && v instanceof Tensor))
    throw new ConvError(op, key, `weight_g and weight_v must be Tensors; got ${fmt(typeof g)} and ${fmt(typeof v)}`);
  const rows = v.shape[0] ?? 1;
  if (v.shape.length === 0 || g.size !== rows || g.shape.some((s, i) => i > 0 && s !== 1))
    throw new ConvError(op, key, `weight_g must have shape [${rows}, 1, …] to match weight_v ${fmt(v.shape)} (dim=0); got ${fmt(g.shape)}`);
  const out = allocate(v.dtype, v.size);
  const per = rows === 0 ? 0 : v.size / rows;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let i = r * per; i < (r + 1) * per; i++) sum += v.data[i] * v.data[i];
    const scale = g.data[r] / Math.sqrt(sum);
    for (let i = r * per; i < (r + 1) * per; i++) out[i] = v.data[i] * scale;
  }
  return new Tensor(out, v.shape);
}

/**
 * Replaces every weight-norm pair of a state dict by the folded `weight`; other entries pass through.
 * A `g` without its `v` (or the reverse) is an error.
 * @example foldWeightNorm({ 'conv.weight_g': g, 'conv.weight_v': v, 'conv.bias': b }) // { 'conv.weight', 'conv.bias' }
 */
export function foldWeightNorm(stateDict: Record<string, Tensor>): Record<string, Tensor> {
  const op = 'foldWeightNorm';
  if (stateDict === null || typeof stateDict !== 'object') throw new ConvError(op, 'stateDict', `must be an object of Tensors; got ${fmt(stateDict)}`);
  const out = Object.create(null) as Record<string, Tensor>; // any key, '__proto__' included
  const pairs = new Map<string, { g?: Tensor; v?: Tensor; keys: string[] }>();
  for (const [k, t] of guarded(op, 'stateDict', () => Object.entries(stateDict))) {
    if (!(t instanceof Tensor)) throw new ConvError(op, k, `must be a Tensor; got ${fmt(typeof t)}`);
    const m = OLD.exec(k) ?? NEW.exec(k);
    if (!m) {
      out[k] = t;
      continue;
    }
    const target = `${m[1]}weight`;
    const p = pairs.get(target) ?? { keys: [] };
    if (m[2] === 'g' || m[2] === '0') p.g = t;
    else p.v = t;
    p.keys.push(k);
    pairs.set(target, p);
  }
  for (const [target, p] of pairs) {
    if (!p.g || !p.v || p.keys.length !== 2)
      throw new ConvError(op, target, `needs both the magnitude (weight_g / original0) and the direction (weight_v / original1); got ${fmt(p.keys)}`);
    if (Object.hasOwn(out, target)) throw new ConvError(op, target, `is given both directly and as a weight-norm pair; got ${fmt(p.keys)}`);
    out[target] = weightNormWeight(p.g, p.v, target);
  }
  return out;
}

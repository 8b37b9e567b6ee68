/**
 * Padding as an ordinary differentiable op: `pad`, PyTorch's `torch.nn.functional.pad`, and the
 * input padding of a convolution with a paddingMode other than zeros (padTrailing). The index
 * relation of each mode is written once, in kernels/ref/layout.ts.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { Pair, PaddingMode } from '../spec/types.js';
import { pad as padKernel, padAdjoint } from '../kernels/ref/layout.js';
import { record } from '../autograd/graph.js';
import { allocate, numel, Tensor } from '../autograd/tensor.js';
import { prod } from '../util/shape.js';
import { gpuPad } from '../autograd/gpu-ops.js';

/** PyTorch's padding modes ('constant' fills with `value`; the others read the input). */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * Pads (or, with negative amounts, crops) the trailing `pads.length` dims of x. No checks: the
 * callers have made sure every pad fits its mode (pad() below, or plan/ for a convolution).
 */
export function padTrailing(x: Tensor, pads: readonly Pair[], mode: PaddingMode, value = 0): Tensor {
  const d = pads.length;
  const lead = x.shape.slice(0, x.shape.length - d), inSize = x.shape.slice(x.shape.length - d);
  if (x.device === 'webgpu') return gpuPad(x, { pads, mode, inSize, value });
  const outSize = inSize.map((L, a) => L + pads[a][0] + pads[a][1]);
  const planes = prod(lead);
  const out = allocate(x.dtype, numel('pad', [...lead, ...outSize]));
  padKernel(x.data, planes, inSize, pads, mode, out, value);
  return record(new Tensor(out, [...lead, ...outSize]), `pad(${mode})`, [x], (gy) => {
    const gx = allocate(x.dtype, x.size);
    padAdjoint(gy.data, planes, inSize, pads, mode, gx);
    return [new Tensor(gx, x.shape)];
  });
}

const MODES: readonly PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

/**
 * `torch.nn.functional.pad(input, pad, mode, value)`: `pad` lists (before, after) pairs starting
 * from the LAST dim — `[left, right]` pads the last dim, `[left, right, top, bottom]` the last two.
 * Negative amounts crop. Modes: 'constant' (fills with `value`, default 0; any number of dims),
 * 'reflect' (mirrors without repeating the edge; each pad smaller than its dim), 'replicate'
 * (repeats the edge), 'circular' (wraps; each pad at most the size its dim keeps after cropping).
 * As in PyTorch, 'reflect' and 'replicate' pad 1–3 dims of an input with one or two leading dims,
 * 'circular' 1–3 dims of an input with exactly two (N, C). Differentiable.
 * @example pad(tensor([[1, 2, 3]]), [2, 1], 'reflect').toArray() // [[3, 2, 1, 2, 3, 2]]
 * @example pad(x, [1, 1, 0, 0]) // zero column left and right of every (…, H, W) plane
 */
export function pad(input: Tensor, pad: readonly number[], mode: PadMode = 'constant', value?: number): Tensor {
  const op = 'pad';
  if (!(input instanceof Tensor)) throw new ConvError(op, 'input', `must be a Tensor; got ${fmt(typeof input)}`);
  if (!Array.isArray(pad) || !pad.every((p) => Number.isInteger(p)))
    throw new ConvError(op, 'pad', `must be a list of integers; got ${fmt(pad)}`);
  if (pad.length % 2 !== 0) throw new ConvError(op, 'pad', `must have an even number of elements (before, after per dim); got ${fmt(pad)}`);
  const r = input.shape.length, k = pad.length / 2;
  if (k > r) throw new ConvError(op, 'pad', `pads ${k} dims but the input has ${r}; got pad ${fmt(pad)} for shape ${fmt(input.shape)}`);
  if (!MODES.includes(mode)) throw new ConvError(op, 'mode', `must be one of ${MODES.map((m) => `'${m}'`).join(', ')}; got ${fmt(mode)}`);
  if (value !== undefined && mode !== 'constant')
    throw new ConvError(op, 'value', `is only taken by mode 'constant'; got value ${fmt(value)} with mode '${mode}'`);
  if (value !== undefined && typeof value !== 'number') throw new ConvError(op, 'value', `must be a number; got ${fmt(value)}`);
  // Trailing dims in order (first of them first): the pair for dim r − k + j is pad[2(k − 1 − j)], pad[2(k − 1 − j) + 1].
  const pads: Pair[] = Array.from({ length: k }, (_, j) => [pad[2 * (k - 1 - j)], pad[2 * (k - 1 - j) + 1]] as Pair);
  const inSize = input.shape.slice(r - k);
  if (mode !== 'constant') {
    const leads = mode === 'circular' ? [2] : [1, 2];
    if (k > 3 || !leads.includes(r - k))
      throw new ConvError(op, 'input', `must be ${leads.map((l) => `${k + l}-D`).join(' or ')} for mode '${mode}' padding ${k} dim${k > 1 ? 's' : ''} (1 to 3 dims); got shape ${fmt(input.shape)}`);
  }
  pads.forEach(([p0, p1], a) => {
    const L = inSize[a], dim = r - k + a, out = L + p0 + p1;
    if (out < 0)
      throw new ConvError(op, 'pad', `crops dim ${dim} of size ${L} to ${out} elements; got pad ${fmt(pad)} for shape ${fmt(input.shape)}`);
    if (mode === 'reflect' && (p0 >= L || p1 >= L))
      throw new ConvError(op, 'pad', `must be smaller than the dim it pads for mode 'reflect'; got (${p0}, ${p1}) for dim ${dim} of size ${L}`);
    if (mode === 'replicate' && L === 0 && out > 0)
      throw new ConvError(op, 'input', `must not be empty in dim ${dim} for mode 'replicate'; got shape ${fmt(input.shape)}`);
    const core = L + Math.min(p0, 0) + Math.min(p1, 0);
    if (mode === 'circular' && (p0 > core || p1 > core))
      throw new ConvError(op, 'pad', `must be at most the size dim ${dim} keeps after cropping (${core}) for mode 'circular' (it wraps once); got (${p0}, ${p1}) for size ${L}`);
  });
  return padTrailing(input, pads, mode === 'constant' ? 'zeros' : mode, value ?? 0);
}

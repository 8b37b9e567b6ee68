/** Axis permutation as an ordinary differentiable op, and the layout changes built on it. */
import { ConvError, fmt, guarded, readList } from '../spec/errors.js';
import { permute as permuteKernel } from '../kernels/ref/layout.js';
import { record } from '../autograd/graph.js';
import { allocate, Tensor } from '../autograd/tensor.js';
import { gpuPermute } from '../autograd/gpu-ops.js';

/** Differentiable axis permutation: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (!guarded('permute', 'input', () => x instanceof Tensor)) throw new ConvError('permute', 'input', `must be a Tensor; got ${fmt(typeof x)}`);
  const d = x.shape.length, list = readList('permute', 'dims', dims, 64);
  if (list === null || list.length !== d || [...list].sort((a, b) => (a as number) - (b as number)).some((p, i) => p !== i))
    throw new ConvError('permute', 'dims', `must be a permutation of 0..${d - 1}; got ${fmt(dims)}`);
  const perm = list as number[];
  if (x.device === 'webgpu') return gpuPermute(x, perm);
  const out = allocate(x.dtype, x.size);
  permuteKernel(x.data, x.shape, perm, out);
  const y = new Tensor(out, perm.map((p) => x.shape[p]));
  const inverse = new Array<number>(d);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(y, 'permute', [x], (gy) => [permute(gy, inverse)]);
}

/** (N?, *spatial, C) → (N?, C, *spatial) for `rank` spatial dims. */
export function toChannelsFirst(x: Tensor, rank: number): Tensor {
  const lead = x.shape.length - rank - 1; // 1 when batched
  const perm = [...Array(lead).keys(), x.shape.length - 1, ...Array.from({ length: rank }, (_, a) => lead + a)];
  return permute(x, perm);
}

/** (N?, C, *spatial) → (N?, *spatial, C) for `rank` spatial dims. */
export function fromChannelsFirst(y: Tensor, rank: number): Tensor {
  const lead = y.shape.length - rank - 1;
  const perm = [...Array(lead).keys(), ...Array.from({ length: rank }, (_, a) => lead + 1 + a), lead];
  return permute(y, perm);
}

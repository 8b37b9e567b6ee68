/**
 * Streams composed by hand, for a model whose `forward` is code rather than a Sequential: the same
 * pieces `module.stream()` uses for Sequential, Residual and Parallel, over streams instead of
 * modules, and a pointwise step over any function that maps each time position on its own.
 *
 *   override stream(): Stream {           // in a custom Module: x → conv(leakyRelu(x)) + x, then tanh
 *     return sequentialStream([residualStream(sequentialStream([pointwiseStream((x) => leakyRelu(x, 0.1)), this.conv.stream()])),
 *                              pointwiseStream(tanh)]);
 *   }
 */
import { ConvError, fmt, guarded, readList } from '../spec/errors.js';
import { Tensor } from '../autograd/tensor.js';
import type { Stream } from './types.js';
import { StreamBase } from './base.js';
import { ParallelStream, PointwiseStream, ResidualStream, SequentialStream } from './compose.js';

/** Options of `parallelStream`. */
export interface ParallelStreamOptions {
  /** 'sum' adds the branch outputs in order; 'mean' then divides by the branch count (default 'sum'), as `Parallel`. */
  reduce?: 'sum' | 'mean';
}

/** Checks that every part is a fresh stream of convkit's, used once. */
function parts(op: string, param: string, list: unknown): StreamBase[] {
  const xs = readList(op, param, list);
  if (xs === null || xs.length === 0) throw new ConvError(op, param, `must be a non-empty array of streams; got ${fmt(xs ? xs.length : typeof list)}`);
  xs.forEach((s, i) => part(op, `${param}[${i}]`, s));
  const seen = new Set<unknown>();
  xs.forEach((s, i) => {
    if (seen.has(s)) throw new ConvError(op, `${param}[${i}]`, `must be a stream of its own (each part keeps its own state); got the same stream twice`);
    seen.add(s);
  });
  return xs as StreamBase[];
}

function part(op: string, param: string, s: unknown): StreamBase {
  if (!guarded(op, param, () => s instanceof StreamBase))
    throw new ConvError(op, param, `must be a stream made by convkit (module.stream(), conv1dStream(…), sequentialStream(…), …); got ${fmt(typeof s)}`);
  const b = s as StreamBase;
  if (b.part) throw new ConvError(op, param, `is already part of another composite stream; make a new one; got ${b.op}`);
  if (b.started) throw new ConvError(op, param, `must not have been pushed yet (call reset() first); got ${b.op} with ${b.received} positions received`);
  return b;
}

/**
 * Chains streams: each part's output chunk is the next part's input chunk (as `Sequential.stream()`).
 * The parts become the composite's: push to the composite only.
 * @example sequentialStream([conv.stream(), pointwiseStream((x) => leakyRelu(x, 0.1)), up.stream()])
 */
export function sequentialStream(streams: readonly Stream[]): Stream {
  const list = parts('sequentialStream', 'streams', streams);
  return new SequentialStream('sequentialStream', list);
}

/**
 * `x + inner(x)` as a stream: the skip path waits for the inner stream's look-ahead, so the sum
 * stays aligned (as `Residual.stream()`). The inner stream must keep rate and length.
 */
export function residualStream(inner: Stream): Stream {
  return new ResidualStream('residualStream', part('residualStream', 'inner', inner));
}

/**
 * `((b0(x) + b1(x)) + …)`, divided by the branch count with `reduce: 'mean'`, as a stream: every
 * branch gets every chunk and the output waits for the slowest branch (as `Parallel.stream()`).
 * The branches must share rate and lengths.
 */
export function parallelStream(branches: readonly Stream[], options: ParallelStreamOptions = {}): Stream {
  const op = 'parallelStream', list = parts(op, 'branches', branches);
  if (options === null || typeof options !== 'object') throw new ConvError(op, 'options', `must be an object; got ${fmt(options)}`);
  const given = guarded(op, 'reduce', () => options.reduce), reduce = given === undefined ? 'sum' : given;
  if (reduce !== 'sum' && reduce !== 'mean') throw new ConvError(op, 'reduce', `must be 'sum' or 'mean'; got ${fmt(reduce)}`);
  return new ParallelStream(op, list, reduce === 'mean');
}

/**
 * A step that maps each time position on its own (an activation, a scale): its stream applies `fn`
 * to each chunk, with no delay. `fn` must return a tensor with the chunk's time length.
 * @example pointwiseStream((x) => leakyRelu(x, 0.1)); pointwiseStream(tanh)
 */
export function pointwiseStream(fn: (chunk: Tensor) => Tensor): Stream {
  if (typeof fn !== 'function') throw new ConvError('pointwiseStream', 'fn', `must be a function (chunk: Tensor) => Tensor; got ${fmt(typeof fn)}`);
  return new PointwiseStream('pointwiseStream', fn);
}

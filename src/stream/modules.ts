/** `module.stream()`: the stream of each kind of module, found by class. */
import { ConvError } from '../spec/errors.js';
import { Module, setStreamHook } from '../nn/module.js';
import { ConvNdBase } from '../nn/conv.js';
import { LeakyReLU, ReLU, Sequential, Sigmoid, Tanh } from '../nn/sequential.js';
import { Parallel, Residual } from '../nn/residual.js';
import { Identity } from '../nn/identity.js';
import { BatchNorm1d } from '../nn/batchnorm.js';
import { StreamBase } from './base.js';
import { ConvStream } from './conv.js';
import { ConvTransposeStream } from './conv-transpose.js';
import { ParallelStream, PointwiseStream, ResidualStream, SequentialStream } from './compose.js';

type ModuleClass = abstract new (...args: never[]) => Module;
const pointwise: ModuleClass[] = [ReLU, LeakyReLU, Tanh, Sigmoid, Identity];

/**
 * Declares that a module class maps each time position on its own (an activation, a scale, an
 * eval-mode normalisation): its stream is its `forward` on each chunk, with no delay.
 */
export function registerPointwiseStream(cls: ModuleClass): void {
  if (typeof cls !== 'function' || !(cls.prototype instanceof Module))
    throw new ConvError('registerPointwiseStream', 'cls', `must be a Module subclass; got ${typeof cls}`);
  if (!pointwise.includes(cls)) pointwise.push(cls);
}

/** The stream of module `m` (see Module.stream). */
export function streamOf(m: Module): StreamBase {
  const name = m.constructor.name, op = `${name}.stream`;
  if (m.stream !== Module.prototype.stream) {
    // A custom module that builds its own stream (from the composable pieces, src/stream/build.ts).
    const s = m.stream();
    if (!(s instanceof StreamBase)) throw new ConvError(op, 'stream', `must return a stream made by convkit (sequentialStream(…), conv.stream(), …); got ${typeof s}`);
    return s;
  }
  if (m instanceof ConvNdBase)
    return m.spec.transposed ? new ConvTransposeStream(op, m.spec, m.weight, m.bias) : new ConvStream(op, m.spec, m.weight, m.bias);
  if (m instanceof Sequential) return new SequentialStream(op, Array.from({ length: m.length }, (_, i) => streamOf(m.at(i))));
  if (m instanceof Residual) return new ResidualStream(op, streamOf(m.inner));
  if (m instanceof Parallel) return new ParallelStream(op, m.branches.map(streamOf), m.reduce === 'mean');
  if (pointwise.some((c) => m instanceof c)) return new PointwiseStream(op, (x) => m.forward(x));
  if (m instanceof BatchNorm1d) {
    // Eval mode with running statistics is a per-channel affine map of each position; training mode
    // normalises with statistics over the whole input, known only at the end.
    if (m.training || !m.trackRunningStats)
      throw new ConvError(op, 'module', `cannot stream in training mode or without running statistics (its statistics span the whole input); call eval() first; got training=${m.training}, trackRunningStats=${m.trackRunningStats}`);
    return new PointwiseStream(op, (x) => m.forward(x));
  }
  throw new ConvError(op, 'module',
    `cannot stream: ${name} is not a 1-D convolution, Sequential, Residual, Parallel or pointwise module (registerPointwiseStream adds one, or override its stream() with sequentialStream(…) and the other pieces); got ${name}`);
}

setStreamHook(streamOf);

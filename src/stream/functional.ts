/** Streams over a weight, a bias and the functional ops' options (PyTorch's and Paddle's spellings). */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import { convSpec, convTransposeSpec, type ConvOptions, type ConvTransposeOptions } from '../spec/normalize.js';
import type { Tensor } from '../autograd/tensor.js';
import { paddleConvSpec, type PaddleConvOptions, type PaddleConvTransposeOptions } from '../api/paddle.js';
import type { Stream } from './types.js';
import { ConvStream } from './conv.js';
import { ConvTransposeStream } from './conv-transpose.js';

/** Options of a transposed-convolution stream: those of convTranspose1d but `outputSize` (a per-call option; use outputPadding). */
export type ConvTransposeStreamOptions = Omit<ConvTransposeOptions, 'outputSize'>;
export type PaddleConvTransposeStreamOptions = Omit<PaddleConvTransposeOptions, 'outputSize'>;

function noOutputSize(op: string, o: unknown): void {
  if (o !== null && typeof o === 'object' && guarded(op, 'outputSize', () => 'outputSize' in o))
    throw new ConvError(op, 'outputSize', `is not an option of a stream (its length is known only at flush()); use outputPadding; got ${fmt(guarded(op, 'outputSize', () => (o as { outputSize: unknown }).outputSize))}`);
}

/**
 * A stream computing `conv1d(x, weight, bias, options)` chunk by chunk (docs/streaming.md).
 * @example const s = conv1dStream(w, b, { padding: 'same', dilation: 3 }); s.push(chunk); …; s.flush()
 */
export function conv1dStream(weight: Tensor, bias: Tensor | null | undefined, options: ConvOptions = {}): Stream {
  return new ConvStream('conv1dStream', convSpec('conv1dStream', 1, options), weight, bias ?? null);
}

/** A stream computing `convTranspose1d(x, weight, bias, options)` chunk by chunk. */
export function convTranspose1dStream(weight: Tensor, bias: Tensor | null | undefined, options: ConvTransposeStreamOptions = {}): Stream {
  noOutputSize('convTranspose1dStream', options);
  return new ConvTransposeStream('convTranspose1dStream', convTransposeSpec('convTranspose1dStream', 1, options), weight, bias ?? null);
}

/** Paddle's `conv1d` (dataFormat 'NCL' | 'NLC', 'SAME' / 'VALID', Paddle's padding lists) as a stream. */
export function paddleConv1dStream(weight: Tensor, bias: Tensor | null | undefined, options: PaddleConvOptions = {}): Stream {
  return new ConvStream('conv1dStream', paddleConvSpec('conv1dStream', 1, false, options), weight, bias ?? null);
}

/** Paddle's `conv1d_transpose` as a stream. */
export function paddleConv1dTransposeStream(weight: Tensor, bias: Tensor | null | undefined, options: PaddleConvTransposeStreamOptions = {}): Stream {
  noOutputSize('conv1dTransposeStream', options);
  return new ConvTransposeStream('conv1dTransposeStream', paddleConvSpec('conv1dTransposeStream', 1, true, options), weight, bias ?? null);
}

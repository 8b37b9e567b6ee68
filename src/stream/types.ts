/**
 * What every stream offers: push chunks of a signal, get back every output position that is final.
 * See docs/streaming.md.
 */
import type { Tensor } from '../autograd/tensor.js';

/**
 * A stream over a 1-D signal (time is the one spatial axis). Chunks have the module's layout
 * (channels-first `(N, C, t)` / `(C, t)`, or channels-last `(N, t, C)` / `(t, C)`) and the same batch
 * and channel sizes throughout; outputs have the module's output layout.
 *
 * Concatenating every `push` result and the `flush` result along time equals `forward(whole input)`.
 */
export interface Stream {
  /**
   * Takes the next `t` positions of the input (`t` may be 0) and returns every output position that
   * is now final: possibly none, as a tensor whose time axis has length 0.
   */
  push(chunk: Tensor): Tensor;
  /** Ends the input and returns the rest of the output (the end padding is applied here). */
  flush(): Tensor;
  /** Forgets everything pushed so far; the stream can take a new signal (buffers are kept for reuse). */
  reset(): void;
  /**
   * Look-ahead in input positions: how far beyond the input position an output position stands at
   * the input must have arrived before that output is final, in steady state (0 for a causal layer).
   * Through an upsampling layer this can be a fraction of an input position; `latency · rate` is the
   * same delay in output positions.
   */
  readonly latency: number;
  /** Output positions per input position (1/stride for a strided convolution, stride for a transposed one). */
  readonly rate: number;
  /** Input positions pushed since the start (or the last `reset`). */
  readonly received: number;
  /** Output positions returned since the start (or the last `reset`). */
  readonly emitted: number;
  /** Bytes of signal the stream keeps between pushes (its state: O(receptive field), not O(stream length)). */
  readonly stateBytes: number;
  /** True after `flush()` until `reset()`. */
  readonly ended: boolean;
}

/** The interface every kernel family implements. Inputs are typed arrays and a Geometry, nothing else. */
import type { Geometry } from '../spec/types.js';

export type F = Float32Array | Float64Array;

export interface ConvKernels {
  readonly name: string;
  /** y += conv(x, w): x is (n, cIn, *inSize), w is (cOut, cIn/g, *kSize), y is (n, cOut, *outSize). */
  conv(x: F, w: F, y: F, g: Geometry): void;
  /** y += convTranspose(x, w): x is (n, cOut, *outSize), y is (n, cIn, *inSize): the adjoint of conv. */
  convT(x: F, w: F, y: F, g: Geometry): void;
  /** gw += Σ x ⊗ gy over the taps of conv: x is (n, cIn, *inSize), gy is (n, cOut, *outSize). */
  weightGrad(x: F, gy: F, gw: F, g: Geometry): void;
  /** Optional fused form for a zero-filled y: y = conv(x, w) + b, b (cOut) broadcast over batch and space. */
  convBias?(x: F, w: F, b: F, y: F, g: Geometry): void;
  /** Optional fused form for a zero-filled y: y = convTranspose(x, w) + b, b (cIn) broadcast. */
  convTBias?(x: F, w: F, b: F, y: F, g: Geometry): void;
}

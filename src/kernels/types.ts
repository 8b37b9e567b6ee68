/**
 * The seam every backend plugs into. A kernel sees typed arrays (or a device backend's own buffers)
 * and one Geometry, never a user-facing option: pads, layout, output padding and 'same' are settled
 * in spec/ and plan/ before a kernel runs.
 *
 * Every kernel *overwrites* its output (`y = …`, never `y += …`): callers hand it any array of the
 * right length and need not zero it.
 */
import type { DType, Geometry } from '../spec/types.js';

export type F = Float32Array | Float64Array;

/** The activations an epilogue can apply (PyTorch's ReLU, LeakyReLU, Tanh, Sigmoid). */
export type Activation = 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid';

/**
 * What is applied as a convolution's output is written: `y = act(conv(x, w) + bias + residual)`.
 * `bias` has one value per output channel, broadcast over batch and space; `residual` has the
 * output's shape (channels-first, batched); `negativeSlope` is LeakyReLU's slope for x < 0.
 * B is the buffer type of the backend (typed arrays on the host).
 */
export interface Epilogue<B = F> {
  readonly bias?: B;
  readonly activation?: Activation;
  readonly negativeSlope?: number;
  readonly residual?: B;
}

/**
 * The parts of an epilogue a kernel family writes together with its output. They apply in the
 * order bias → residual → activation, so a family fuses a prefix of what a call asks for and the
 * generic fallback (kernels/ref/epilogue.ts) applies the rest to the written output.
 */
export interface Fuses {
  readonly bias?: boolean;
  readonly residual?: boolean;
  /** Every activation (true), or only those listed. */
  readonly activation?: boolean | readonly Activation[];
}

/**
 * Identifies a weight operand's values across calls: its storage (the tensor's `data` array, shared
 * by reshapes and detaches) and that storage's write count (Tensor.version) now. A backend may keep
 * what it derives from the weights (the WebAssembly kernels' packed copy in linear memory) and reuse
 * it while the same storage comes back with the same version; a key whose storage is not the `w`
 * array of the call is ignored. Backends that keep nothing ignore it.
 */
export interface WeightKey {
  readonly storage: object;
  readonly version: number;
}

/** A kernel family on host arrays, computed before each call returns. */
export interface ConvKernels {
  readonly name: string;
  /** Which epilogue parts conv and convT fuse; none where absent. */
  readonly fuses?: Fuses;
  /** y = conv(x, w) (+ the fused epilogue): x is (n, cIn, *inSize), w is (cOut, cIn/g, *kSize), y is (n, cOut, *outSize). */
  conv(x: F, w: F, y: F, g: Geometry, ep?: Epilogue, wk?: WeightKey): void;
  /** y = convTranspose(x, w) (+ epilogue): x is (n, cOut, *outSize), y is (n, cIn, *inSize): the adjoint of conv. */
  convT(x: F, w: F, y: F, g: Geometry, ep?: Epilogue, wk?: WeightKey): void;
  /** gw = Σ x ⊗ gy over the taps of conv: x is (n, cIn, *inSize), gy is (n, cOut, *outSize). */
  weightGrad(x: F, gy: F, gw: F, g: Geometry): void;
}

/**
 * One phase of a transposed convolution run as stride-1 convolutions (plan/phases.ts computes them):
 * its stride-1 conv geometry (cIn/cOut swapped: it maps x to the phase's outputs).
 */
export interface PhasePlan extends Geometry {
  /** Flat tap index j into the full kernel for each flipped phase tap u (row-major over kSize). */
  readonly taps: Int32Array;
  /** First output position per dim: φ − p0 + s·q0. */
  readonly base: readonly number[];
}

/** A family whose convT runs as phases: plan/ hands it the phases of the geometry. */
export interface PhaseKernels extends Omit<ConvKernels, 'convT'> {
  convTPhases(x: F, w: F, y: F, g: Geometry, phases: readonly PhasePlan[], ep?: Epilogue, wk?: WeightKey): void;
}

/** Where a backend's operands live: host typed arrays, or buffers a device (a GPU) owns. */
export type Location = 'host' | 'device';

/**
 * A kernel family whose operands live on a device (WebGPU). Calls are queued: `conv` … return once
 * the work is submitted, `download` resolves when the result is on the host. The seam uploads the
 * host operands, runs and downloads, so tensors, spec and public API stay what they are.
 */
export interface DeviceKernels<B = unknown> {
  readonly name: string;
  readonly fuses?: Fuses;
  /** A device buffer holding a copy of `a` (a backend may keep one per array it has seen). */
  upload(a: F): B;
  /** A device buffer of `length` elements of `dtype` (its contents are written by a kernel). */
  allocate(dtype: DType, length: number): B;
  /** Copies a device buffer into `out` (of its length and dtype). */
  download(b: B, out: F): Promise<void>;
  /** Frees a buffer from allocate or upload once no queued work reads it. */
  release(b: B): void;
  conv(x: B, w: B, y: B, g: Geometry, ep?: Epilogue<B>): void;
  convT(x: B, w: B, y: B, g: Geometry, ep?: Epilogue<B>): void;
  weightGrad(x: B, gy: B, gw: B, g: Geometry): void;
}

/** Which named predicate of plan/select.ts decides where a candidate applies. */
export type Algorithm = 'polyphase' | 'depthwise' | 'gemm' | 'direct';

export type Direction = 'conv' | 'convT' | 'weightGrad';

interface CandidateBase {
  readonly name: string;
  readonly algorithm: Algorithm;
  /** The dtypes it computes. */
  readonly dtypes: readonly DType[];
  /** The limits this backend can honour (index width, memory) and where it wins; everything when absent. */
  readonly fits?: (g: Geometry, dir: Direction) => boolean;
}

/** One way to run some directions of some geometries, with the limits it can honour. */
export type Candidate =
  | (CandidateBase & { readonly location: 'host'; readonly algorithm: 'polyphase'; readonly kernels: PhaseKernels })
  | (CandidateBase & { readonly location: 'host'; readonly algorithm: Exclude<Algorithm, 'polyphase'>; readonly kernels: ConvKernels })
  | (CandidateBase & { readonly location: 'device'; readonly kernels: DeviceKernels });

/** A backend: its own folder under kernels/ (or beside it) exports one and registers it with plan/select.ts. */
export interface Backend {
  readonly name: string;
  /** Higher runs first ('ref' 0, 'js' 10, 'wasm' 20). */
  readonly priority: number;
  readonly candidates: readonly Candidate[];
}

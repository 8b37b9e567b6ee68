/**
 * The HiFi-GAN generator (Kong et al. 2020, github.com/jik876/hifi-gan `models.py`: `Generator` with
 * `ResBlock1`) ported to convkit modules. Fields carry PyTorch's attribute names, so the reference
 * implementation's state dict (weight-normed `weight_g`/`weight_v` included) loads without a key map:
 *
 *   const g = new HifiganGenerator(HIFIGAN_V1);
 *   loadSafetensorsStateDict(g, bytes); // conv_pre.weight_g, ups.0.weight_v, resblocks.4.convs1.2.bias, …
 *   const audio = noGrad(() => g.forward(mel)); // (N, 80, frames) → (N, 1, frames · 256)
 *
 * `g.stream()` runs the same steps chunk by chunk for live audio (docs/streaming.md): push mel
 * frames as they arrive, get back every sample that is final.
 *
 * docs/porting.md walks through this file.
 */
import {
  Conv1d, ConvTranspose1d, Module, ModuleList, Tensor, add, asyncSteps, conv1d, div, leakyRelu, tanh,
  parallelStream, pointwiseStream, residualStream, sequentialStream, type Stream,
} from '../../src/index.js';

/** The `h` of the reference implementation (its config_v1.json), in camelCase. */
export interface HifiganConfig {
  /** Mel channels of the input (80). */
  numMels: number;
  upsampleRates: readonly number[];
  upsampleKernelSizes: readonly number[];
  upsampleInitialChannel: number;
  resblockKernelSizes: readonly number[];
  /** One list of three dilations per resblock kernel size (ResBlock1 has three dilated convs). */
  resblockDilationSizes: readonly (readonly number[])[];
}

/** The published V1 configuration: 256× upsampling, 22.05 kHz audio from 80-band mels. */
export const HIFIGAN_V1: HifiganConfig = {
  numMels: 80,
  upsampleRates: [8, 8, 2, 2],
  upsampleKernelSizes: [16, 16, 4, 4],
  upsampleInitialChannel: 512,
  resblockKernelSizes: [3, 7, 11],
  resblockDilationSizes: [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
};

/** A small configuration with the same structure (used by the tests: 8× upsampling, 16 channels). */
export const HIFIGAN_SMALL: HifiganConfig = {
  numMels: 8,
  upsampleRates: [4, 2],
  upsampleKernelSizes: [8, 4],
  upsampleInitialChannel: 16,
  resblockKernelSizes: [3, 7],
  resblockDilationSizes: [[1, 3, 5], [1, 3, 5]],
};

/** The reference's slope for every leaky ReLU but the last. */
export const LRELU_SLOPE = 0.1;

/** `get_padding`: the padding that keeps the length of a stride-1 conv of kernel k and dilation d. */
const getPadding = (k: number, d: number) => (k * d - d) / 2;

export interface HifiganOptions {
  /**
   * Let the convolutions apply what follows them (the convolution epilogue, docs/epilogue.md): each
   * resblock's first conv its leaky ReLU, its second conv the residual add, conv_post the tanh.
   * Same function, same keys; the results agree with the unfused forward to float rounding.
   * `forwardAsync` always runs the unfused steps. Default false.
   */
  fused?: boolean;
}

/** `ResBlock1`: three (dilated conv, conv) pairs, each wrapped in a residual connection. */
export class ResBlock1 extends Module {
  readonly convs1: ModuleList;
  readonly convs2: ModuleList;
  readonly #kernelSize: number;
  readonly #dilation: readonly number[];
  readonly #fused: boolean;

  constructor(channels: number, kernelSize = 3, dilation: readonly number[] = [1, 3, 5], { fused = false }: HifiganOptions = {}) {
    super();
    this.#kernelSize = kernelSize;
    this.#dilation = [...dilation];
    this.#fused = fused;
    this.convs1 = new ModuleList(dilation.map((d) => new Conv1d(channels, channels, kernelSize, { dilation: d, padding: getPadding(kernelSize, d) })));
    this.convs2 = new ModuleList(dilation.map(() => new Conv1d(channels, channels, kernelSize, { padding: getPadding(kernelSize, 1) })));
  }

  /** x ← c2(lrelu(c1(lrelu(x)))) + x for each pair. */
  override forward(x: Tensor): Tensor {
    if (this.#fused) return this.forwardFused(x);
    for (let i = 0; i < this.convs1.length; i++) {
      let xt = this.convs1.at(i).forward(leakyRelu(x, LRELU_SLOPE));
      xt = this.convs2.at(i).forward(leakyRelu(xt, LRELU_SLOPE));
      x = add(xt, x);
    }
    return x;
  }

  /** The same with c1's leaky ReLU and the residual add done by the convolutions' epilogue. */
  private forwardFused(x: Tensor): Tensor {
    const k = this.#kernelSize;
    for (let i = 0; i < this.convs1.length; i++) {
      const c1 = this.convs1.at(i) as Conv1d, c2 = this.convs2.at(i) as Conv1d, d = this.#dilation[i];
      const xt = conv1d(leakyRelu(x, LRELU_SLOPE), c1.weight, c1.bias, { dilation: d, padding: getPadding(k, d), activation: 'leakyRelu', negativeSlope: LRELU_SLOPE });
      x = conv1d(xt, c2.weight, c2.bias, { padding: getPadding(k, 1), residual: x });
    }
    return x;
  }

  /**
   * The same steps as a stream: each pair is x ← x + c2(lrelu(c1(lrelu(x)))), whose skip path waits
   * for the two convolutions' look-ahead. A fused block streams its unfused steps (equal to its
   * forward to float rounding, as the unfused forward is).
   */
  override stream(): Stream {
    const lrelu = () => pointwiseStream((x) => leakyRelu(x, LRELU_SLOPE));
    return sequentialStream(Array.from({ length: this.convs1.length }, (_, i) =>
      residualStream(sequentialStream([lrelu(), this.convs1.at(i).stream(), lrelu(), this.convs2.at(i).stream()]))));
  }

  /** The same steps with the convolutions awaited (see Module.forwardAsync). */
  override async forwardAsync(x: Tensor): Promise<Tensor> {
    const step = asyncSteps();
    for (let i = 0; i < this.convs1.length; i++) {
      let xt = await step(() => this.convs1.at(i).forwardAsync(leakyRelu(x, LRELU_SLOPE)));
      xt = await step(() => this.convs2.at(i).forwardAsync(leakyRelu(xt, LRELU_SLOPE)));
      x = await step(() => add(xt, x));
    }
    return x;
  }
}

/** `Generator`: mel spectrogram (N, numMels, frames) → waveform (N, 1, frames · Π upsampleRates) in [−1, 1]. */
export class HifiganGenerator extends Module {
  readonly conv_pre: Conv1d;
  readonly ups: ModuleList;
  readonly resblocks: ModuleList;
  readonly conv_post: Conv1d;
  readonly numKernels: number;
  readonly #fused: boolean;

  constructor(readonly config: HifiganConfig = HIFIGAN_V1, options: HifiganOptions = {}) {
    super();
    this.#fused = options.fused ?? false;
    const h = config, c0 = h.upsampleInitialChannel;
    this.numKernels = h.resblockKernelSizes.length;
    this.conv_pre = new Conv1d(h.numMels, c0, 7, { padding: 3 });
    this.ups = new ModuleList(h.upsampleRates.map((u, i) => {
      const k = h.upsampleKernelSizes[i];
      return new ConvTranspose1d(c0 >> i, c0 >> (i + 1), k, { stride: u, padding: (k - u) >> 1 });
    }));
    this.resblocks = new ModuleList();
    for (let i = 0; i < h.upsampleRates.length; i++)
      h.resblockKernelSizes.forEach((k, j) => this.resblocks.append(new ResBlock1(c0 >> (i + 1), k, h.resblockDilationSizes[j], options)));
    this.conv_post = new Conv1d(c0 >> h.upsampleRates.length, 1, 7, { padding: 3 });
  }

  override forward(mel: Tensor): Tensor {
    let x = this.conv_pre.forward(mel);
    for (let i = 0; i < this.ups.length; i++) {
      x = this.ups.at(i).forward(leakyRelu(x, LRELU_SLOPE));
      let xs = this.resblocks.at(i * this.numKernels).forward(x);
      for (let j = 1; j < this.numKernels; j++) xs = add(xs, this.resblocks.at(i * this.numKernels + j).forward(x));
      x = div(xs, this.numKernels);
    }
    const post = this.conv_post;
    return this.#fused
      ? conv1d(leakyRelu(x, 0.01), post.weight, post.bias, { padding: 3, activation: 'tanh' })
      : tanh(post.forward(leakyRelu(x, 0.01)));
  }

  /**
   * The forward as a stream over mel frames (docs/streaming.md): conv_pre, then per upsampling stage
   * leaky ReLU, the transposed convolution and the mean of the stage's resblocks (the branches
   * aligned by their look-ahead), then leaky ReLU, conv_post and tanh. Pushing mel chunks
   * `(N, numMels, t)` returns every sample now final; the concatenation equals `forward(whole)`.
   */
  override stream(): Stream {
    const lrelu = (slope: number) => pointwiseStream((x) => leakyRelu(x, slope));
    const parts: Stream[] = [this.conv_pre.stream()];
    for (let i = 0; i < this.ups.length; i++) {
      const branches = Array.from({ length: this.numKernels }, (_, j) => this.resblocks.at(i * this.numKernels + j).stream());
      parts.push(lrelu(LRELU_SLOPE), this.ups.at(i).stream(), parallelStream(branches, { reduce: 'mean' }));
    }
    parts.push(lrelu(0.01), this.conv_post.stream(), pointwiseStream(tanh));
    return sequentialStream(parts);
  }

  /** The same steps with every convolution awaited: the calling thread stays free while they run. */
  override async forwardAsync(mel: Tensor): Promise<Tensor> {
    const step = asyncSteps();
    let x = await step(() => this.conv_pre.forwardAsync(mel));
    for (let i = 0; i < this.ups.length; i++) {
      const up = x;
      x = await step(() => this.ups.at(i).forwardAsync(leakyRelu(up, LRELU_SLOPE)));
      const input = x;
      let xs = await step(() => this.resblocks.at(i * this.numKernels).forwardAsync(input));
      for (let j = 1; j < this.numKernels; j++) {
        const r = await step(() => this.resblocks.at(i * this.numKernels + j).forwardAsync(input));
        xs = await step(() => add(xs, r));
      }
      x = await step(() => div(xs, this.numKernels));
    }
    const last = x;
    const y = await step(() => this.conv_post.forwardAsync(leakyRelu(last, 0.01)));
    return step(() => tanh(y));
  }
}

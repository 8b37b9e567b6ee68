/**
 * A 1-D U-Net with concatenated skip connections, for signals (N, inChannels, L): an input conv,
 * `levels` stride-2 Conv1d steps down (each halving L and doubling the channels), the same number
 * of stride-2 ConvTranspose1d steps up, and after each step up the skip from the matching level
 * concatenated along channels and fused by a conv; a 1×1 conv makes the output. L must be a
 * multiple of 2^levels. The same model is defined in PyTorch by scripts/gen_model_fixtures.py
 * (class `UNet1d`), and the keys match: `inc.weight`, `downs.0.bias`, `ups.3.weight`, `fuses.1.weight`, ….
 */
import { Conv1d, ConvTranspose1d, Module, ModuleList, Tensor, asyncSteps, cat, relu } from '../../src/index.js';

export interface Unet1dConfig {
  inChannels: number;
  outChannels: number;
  /** Channels at the top level; level i has channels · 2^i. */
  channels: number;
  /** Steps down (and up). */
  levels: number;
  /** Kernel of the input and fusing convs (odd: 'same' length). */
  kernelSize: number;
}

/** The benchmark's configuration: 4 levels, 32 → 512 channels. */
export const UNET1D: Unet1dConfig = { inChannels: 1, outChannels: 1, channels: 32, levels: 4, kernelSize: 15 };

/** A small configuration with the same structure (used by the tests). */
export const UNET1D_SMALL: Unet1dConfig = { inChannels: 2, outChannels: 1, channels: 3, levels: 4, kernelSize: 5 };

export class Unet1d extends Module {
  readonly inc: Conv1d;
  readonly downs: ModuleList;
  readonly ups: ModuleList;
  readonly fuses: ModuleList;
  readonly outc: Conv1d;

  constructor(readonly config: Unet1dConfig = UNET1D) {
    super();
    const { inChannels, outChannels, channels: c, levels, kernelSize: k } = config;
    const ch = (i: number) => c << i;
    this.inc = new Conv1d(inChannels, c, k, { padding: k >> 1 });
    this.downs = new ModuleList(Array.from({ length: levels }, (_, i) => new Conv1d(ch(i), ch(i + 1), 4, { stride: 2, padding: 1 })));
    // ups[j] and fuses[j] work at level levels − 1 − j (deepest first).
    const up = Array.from({ length: levels }, (_, j) => levels - 1 - j);
    this.ups = new ModuleList(up.map((i) => new ConvTranspose1d(ch(i + 1), ch(i), 4, { stride: 2, padding: 1 })));
    this.fuses = new ModuleList(up.map((i) => new Conv1d(2 * ch(i), ch(i), k, { padding: k >> 1 })));
    this.outc = new Conv1d(c, outChannels, 1);
  }

  override forward(x: Tensor): Tensor {
    x = relu(this.inc.forward(x));
    const skips: Tensor[] = [];
    for (const down of this.downs) {
      skips.push(x);
      x = relu(down.forward(x));
    }
    for (let j = 0; j < this.ups.length; j++) {
      x = relu(this.ups.at(j).forward(x));
      x = relu(this.fuses.at(j).forward(cat([x, skips.pop()!], 1)));
    }
    return this.outc.forward(x);
  }

  /** The same steps with every convolution awaited. */
  override async forwardAsync(input: Tensor): Promise<Tensor> {
    const step = asyncSteps();
    const h0 = await step(() => this.inc.forwardAsync(input));
    let x = await step(() => relu(h0));
    const skips: Tensor[] = [];
    for (const down of this.downs) {
      skips.push(x);
      const h = await step(() => down.forwardAsync(x));
      x = await step(() => relu(h));
    }
    for (let j = 0; j < this.ups.length; j++) {
      const h = await step(() => this.ups.at(j).forwardAsync(x));
      const joined = await step(() => cat([relu(h), skips.pop()!], 1));
      const f = await step(() => this.fuses.at(j).forwardAsync(joined));
      x = await step(() => relu(f));
    }
    return step(() => this.outc.forwardAsync(x));
  }
}

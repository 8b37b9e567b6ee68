/**
 * The DCGAN generator of PyTorch's DCGAN tutorial (Radford et al. 2015): a latent vector
 * (N, nz, 1, 1) → an image (N, nc, 64, 64) through five ConvTranspose2d layers with BatchNorm2d and
 * ReLU between them and Tanh at the end. As in the tutorial the layers sit in a Sequential named
 * `main`, so the keys are `main.0.weight`, `main.1.running_mean`, `main.1.num_batches_tracked`, ….
 *
 *   const g = new DcganGenerator(DCGAN).eval();
 *   g.loadStateDict(readSafetensors(bytes).tensors);
 *   const fast = foldDcgan(g); // BatchNorm folded into the convolutions: same output in eval mode
 */
import {
  BatchNorm2d, ConvTranspose2d, Identity, Module, ReLU, Sequential, Tanh, Tensor, foldBatchNorm,
} from '../../src/index.js';

export interface DcganConfig {
  /** Size of the latent vector (100). */
  nz: number;
  /** Feature maps of the last hidden layer (64); the first has 8·ngf. */
  ngf: number;
  /** Image channels (3). */
  nc: number;
}

/** The tutorial's configuration. */
export const DCGAN: DcganConfig = { nz: 100, ngf: 64, nc: 3 };

/** A small configuration with the same structure (used by the tests). */
export const DCGAN_SMALL: DcganConfig = { nz: 8, ngf: 4, nc: 3 };

export class DcganGenerator extends Module {
  readonly main: Sequential;

  constructor(readonly config: DcganConfig = DCGAN) {
    super();
    const { nz, ngf, nc } = config;
    const block = (cIn: number, cOut: number, stride: number, padding: number) =>
      [new ConvTranspose2d(cIn, cOut, 4, { stride, padding, bias: false }), new BatchNorm2d(cOut), new ReLU()];
    this.main = new Sequential(
      ...block(nz, ngf * 8, 1, 0), // (ngf·8) × 4 × 4
      ...block(ngf * 8, ngf * 4, 2, 1), // 8 × 8
      ...block(ngf * 4, ngf * 2, 2, 1), // 16 × 16
      ...block(ngf * 2, ngf, 2, 1), // 32 × 32
      new ConvTranspose2d(ngf, nc, 4, { stride: 2, padding: 1, bias: false }), // nc × 64 × 64
      new Tanh(),
    );
  }

  override forward(z: Tensor): Tensor {
    return this.main.forward(z);
  }

  override forwardAsync(z: Tensor): Promise<Tensor> {
    return this.main.forwardAsync(z);
  }
}

/**
 * The generator for inference: each ConvTranspose2d followed by a BatchNorm2d becomes one folded
 * ConvTranspose2d (with a bias) and the BatchNorm an Identity, so the layer indices stay those of
 * `main`. Equal to `g` in eval mode; `g` itself is not changed.
 */
export function foldDcgan(g: DcganGenerator): Sequential {
  const layers: Module[] = [];
  for (let i = 0; i < g.main.length; i++) {
    const m = g.main.at(i), next = i + 1 < g.main.length ? g.main.at(i + 1) : null;
    if (m instanceof ConvTranspose2d && next instanceof BatchNorm2d) {
      layers.push(foldBatchNorm(m, next), new Identity());
      i++;
    } else layers.push(m);
  }
  return new Sequential(...layers);
}

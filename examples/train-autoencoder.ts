/**
 * A small 1-D convolutional autoencoder (Conv1d down, ConvTranspose1d up) learns to reconstruct
 * clean sums of sines from noisy copies. Run with `npm run train` (options: --steps, --seed, --lr).
 * A progress bar shows the loss on a terminal; without one, a few lines are printed instead.
 * `trainAutoencoder` is exported so that tests can run a shortened version.
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import {
  Adam, Conv1d, ConvTranspose1d, Generator, LeakyReLU, mseLoss, noGrad, Sequential, Tensor, type DType,
} from '../src/index.js';

export interface SignalBatch {
  /** Noisy signals, the autoencoder's input: (batch, 1, length). */
  noisy: Tensor;
  /** The clean sums of sines, the target: (batch, 1, length). */
  clean: Tensor;
}

/** Sums of 1–3 sines (random amplitude, frequency and phase) plus Gaussian noise of std `noise`. */
export function makeSignals(batch: number, length: number, gen: Generator, noise = 0.1, dtype: DType = 'float32'): SignalBatch {
  const Arr = dtype === 'float64' ? Float64Array : Float32Array;
  const clean = new Arr(batch * length), noisy = new Arr(batch * length);
  for (let b = 0; b < batch; b++) {
    const parts = 1 + Math.floor(gen.uniform() * 3);
    const waves = Array.from({ length: parts }, () => ({
      amp: gen.uniformRange(0.3, 1) / Math.sqrt(parts), cycles: gen.uniformRange(0.5, 4), phase: gen.uniformRange(0, 2 * Math.PI),
    }));
    for (let t = 0; t < length; t++) {
      let v = 0;
      for (const w of waves) v += w.amp * Math.sin((2 * Math.PI * w.cycles * t) / length + w.phase);
      clean[b * length + t] = v;
      noisy[b * length + t] = v + noise * gen.normal();
    }
  }
  return { clean: new Tensor(clean, [batch, 1, length]), noisy: new Tensor(noisy, [batch, 1, length]) };
}

/** 1 → 8 → 16 channels, length L → L/2 → L/4, then mirrored back up with transposed convolutions. */
export function buildAutoencoder(seed = 0, dtype: DType = 'float32'): Sequential {
  const down = { stride: 2, padding: 1, dtype, seed } as const;
  return new Sequential(
    new Conv1d(1, 8, 4, { ...down, seed: seed + 1 }),
    new LeakyReLU(0.1),
    new Conv1d(8, 16, 4, { ...down, seed: seed + 2 }),
    new LeakyReLU(0.1),
    new ConvTranspose1d(16, 8, 4, { ...down, seed: seed + 3 }),
    new LeakyReLU(0.1),
    new ConvTranspose1d(8, 1, 4, { ...down, seed: seed + 4 }),
  );
}

export interface TrainOptions {
  steps?: number;
  batchSize?: number;
  /** Signal length (a multiple of 4). */
  length?: number;
  lr?: number;
  noise?: number;
  seed?: number;
  dtype?: DType;
  /** Called after every step with the step index (from 1) and the batch loss. */
  onStep?: (step: number, loss: number) => void;
}

export interface TrainResult {
  model: Sequential;
  /** MSE on a fixed held-out batch before and after training. */
  startLoss: number;
  endLoss: number;
  /** Training loss of every step. */
  losses: number[];
  seconds: number;
}

/** Trains the autoencoder with Adam on fresh batches each step; returns held-out losses before and after. */
export function trainAutoencoder(o: TrainOptions = {}): TrainResult {
  const { steps = 400, batchSize = 16, length = 64, lr = 5e-3, noise = 0.1, seed = 1, dtype = 'float32' } = o;
  const gen = new Generator(seed);
  const model = buildAutoencoder(seed, dtype);
  const heldOut = makeSignals(64, length, new Generator(seed + 1000), noise, dtype);
  const evaluate = () => noGrad(() => mseLoss(model.forward(heldOut.noisy), heldOut.clean).item());
  const opt = new Adam(model.parameters(), { lr });
  const t0 = performance.now();
  const startLoss = evaluate();
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const { noisy, clean } = makeSignals(batchSize, length, gen, noise, dtype);
    opt.zeroGrad();
    const loss = mseLoss(model.forward(noisy), clean);
    loss.backward();
    opt.step();
    losses.push(loss.item());
    o.onStep?.(step, loss.item());
  }
  const endLoss = evaluate();
  return { model, startLoss, endLoss, losses, seconds: (performance.now() - t0) / 1000 };
}

function main(): void {
  const cmd = new Command('train-autoencoder')
    .description('Train a small 1-D conv autoencoder on noisy sums of sines')
    .option('--steps <n>', 'training steps', (v) => parseInt(v, 10), 400)
    .option('--seed <n>', 'random seed', (v) => parseInt(v, 10), 1)
    .option('--lr <x>', 'Adam learning rate', parseFloat, 5e-3)
    .parse();
  const { steps, seed, lr } = cmd.opts<{ steps: number; seed: number; lr: number }>();
  const tty = Boolean(process.stdout.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar({ format: 'train |{bar}| {value}/{total} steps | loss {loss}', hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(steps, 0, { loss: '-' });
  const every = Math.max(1, Math.round(steps / 5));
  const result = trainAutoencoder({
    steps, seed, lr,
    onStep: (step, loss) => {
      if (bar) bar.update(step, { loss: loss.toFixed(5) });
      else if (step === 1 || step % every === 0) console.log(`step ${step}/${steps}  loss ${loss.toFixed(5)}`);
    },
  });
  bar?.stop();
  const ratio = result.startLoss / result.endLoss;
  console.log(`held-out MSE: start ${result.startLoss.toFixed(5)}, end ${result.endLoss.toFixed(5)} ` +
    `(${ratio.toFixed(1)}× lower) in ${result.seconds.toFixed(2)} s`);
  if (ratio < 10) {
    console.error('the loss fell less than 10×');
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();

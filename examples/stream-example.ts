/**
 * Streams a HiFi-GAN-style generator (mel frames in, 22.05 kHz audio out) over a signal cut into
 * random chunks, as live audio would arrive, and prints how far the streamed audio is from the full
 * forward, the latency and the time per chunk.  Run with `npm run stream-example`.
 */
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  Conv1d, ConvTranspose1d, LeakyReLU, noGrad, Parallel, randn, Residual, Sequential, Tanh, Tensor, type Module,
} from '../src/index.js';

export const SAMPLE_RATE = 22050;

export interface GeneratorOptions {
  /** Mel channels in (default 80). */
  mel?: number;
  /** Channels after the first convolution; each upsampler halves them (default 64). */
  channels?: number;
  /** Upsampling factors; their product is the hop in samples per frame (default [8, 8, 4]: 256). */
  ups?: number[];
  /** Kernel sizes of the residual blocks averaged after each upsampler (HiFi-GAN's MRF; default [3, 5]). */
  kernels?: number[];
  /** Dilations of each residual block's convolutions (default [1, 3]). */
  dilations?: number[];
  seed?: number;
}

/**
 * HiFi-GAN's generator shape from Sequential, Residual and Parallel: conv_pre (k7), then per upsampling
 * factor u LeakyReLU(0.1), ConvTranspose1d(c, c/2, 2u, stride u, padding u/2) and the mean of one
 * residual block per kernel size k (x ← x + conv_{k,d}(LeakyReLU(x, 0.1)) for each dilation d: V3's
 * ResBlock2), then LeakyReLU, conv_post (k7) and Tanh.
 */
export function hifiganStyle({ mel = 80, channels = 64, ups = [8, 8, 4], kernels = [3, 5], dilations = [1, 3], seed = 1 }: GeneratorOptions = {}): Sequential {
  let s = seed, c = channels;
  const parts: Module[] = [new Conv1d(mel, c, 7, { padding: 3, seed: s++ })];
  for (const u of ups) {
    parts.push(new LeakyReLU(0.1), new ConvTranspose1d(c, c / 2, 2 * u, { stride: u, padding: u / 2, seed: s++ }));
    c /= 2;
    parts.push(new Parallel(kernels.map((k) => new Sequential(...dilations.map((d) =>
      new Residual(new Sequential(new LeakyReLU(0.1), new Conv1d(c, c, k, { dilation: d, padding: (d * (k - 1)) / 2, seed: s++ })))))), { reduce: 'mean' }));
  }
  parts.push(new LeakyReLU(0.01), new Conv1d(c, 1, 7, { padding: 3, seed: s++ }), new Tanh());
  return new Sequential(...parts);
}

/** Frames [a, a + n) of a (1, C, T) tensor. */
export function frames(x: Tensor, a: number, n: number): Tensor {
  const [, C, T] = x.shape, d = new Float32Array(C * n);
  for (let c = 0; c < C; c++) d.set(x.data.subarray(c * T + a, c * T + a + n), c * n);
  return new Tensor(d, [1, C, n]);
}

function main(): void {
  const model = hifiganStyle();
  const hop = 256, seconds = 2, T = Math.ceil((seconds * SAMPLE_RATE) / hop);
  const mel = randn([1, 80, T], { seed: 42 });
  noGrad(() => model.forward(frames(mel, 0, 8))); // warm-up: compiles the kernels, starts the threads
  const tFull = performance.now();
  const full = noGrad(() => model.forward(mel));
  const fullMs = performance.now() - tFull;

  // A little xorshift so the "random" chunks are the same on every run.
  let r = 12345;
  const next = () => { r ^= r << 13; r ^= r >>> 17; r ^= r << 5; return (r >>> 0) / 2 ** 32; };

  const s = model.stream();
  const audio = new Float32Array(full.size);
  let at = 0, written = 0, pushes = 0, spent = 0, worst = 0;
  while (at < T) {
    const n = Math.min(T - at, 1 + Math.floor(next() * 12)); // 1 … 12 frames (11.6 … 139 ms)
    const t0 = performance.now();
    const y = s.push(frames(mel, at, n));
    const dt = performance.now() - t0;
    spent += dt; worst = Math.max(worst, dt); pushes++;
    audio.set(y.data, written);
    written += y.size;
    at += n;
  }
  const t0 = performance.now();
  const rest = s.flush();
  spent += performance.now() - t0;
  audio.set(rest.data, written);
  written += rest.size;

  let maxDiff = 0;
  for (let i = 0; i < full.size; i++) maxDiff = Math.max(maxDiff, Math.abs(audio[i] - full.data[i]));
  const latencySamples = s.latency * s.rate;
  const fmt = (v: number, d = 2) => v.toFixed(d);
  console.log(`HiFi-GAN-style generator: 80 mel channels → ${SAMPLE_RATE} Hz audio, hop ${hop} (upsampling ${s.rate}×)`);
  console.log(`signal: ${T} frames = ${written} samples (${fmt(written / SAMPLE_RATE)} s), streamed in ${pushes} random chunks of 1–12 frames`);
  console.log(`max |streamed − full forward|: ${maxDiff}${maxDiff === 0 ? ' (bitwise equal)' : ''}`);
  console.log(`latency: ${s.latency} frames = ${latencySamples} samples = ${fmt((1000 * latencySamples) / SAMPLE_RATE)} ms of look-ahead`);
  console.log(`time per chunk: mean ${fmt(spent / pushes)} ms for ${fmt((1000 * written) / SAMPLE_RATE / pushes, 1)} ms of audio, worst ${fmt(worst)} ms`);
  console.log(`whole stream ${fmt(spent, 1)} ms vs full forward ${fmt(fullMs, 1)} ms (${fmt(spent / fullMs)}×)`);
  console.log(`state kept between chunks: ${s.stateBytes} bytes`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();

/**
 * Quick GFLOP/s of the fast kernels on the benchmark workloads through the public API (float32 by
 * default, bias on). `--dtype float64` times the same workloads in float64; `--step` times a
 * forward + backward step (gradients of input, weight and bias) instead of the forward alone.
 * H1–H3 are HiFi-GAN V1 generator shapes (a late residual block on 22016 samples, the first
 * block on 86 frames, the first upsampling). The first line says which wasm build runs: the
 * relaxed-SIMD one (fused multiply-adds) where the host validates it — in Node 20 run with
 * `node --experimental-wasm-relaxed-simd --import tsx scripts/measure-kernels.ts` — else the plain one.
 * Usage: node --import tsx scripts/measure-kernels.ts [threads…] [--only T1,C4] [--backend wasm] [--dtype float64] [--step]
 */
import { conv1d, conv2d, convTranspose1d, convTranspose2d, randn, setBackend, setNumThreads, type Tensor } from '../src/index.ts';
import { wasmEngine } from '../src/kernels/wasm/glue.ts';
import { macCount, weightShapeFor } from '../src/spec/shape.ts';

type W = { name: string; run: () => unknown; flops: number };
const args = process.argv.slice(2);
const di = args.indexOf('--dtype'), dtype = di >= 0 ? (args[di + 1] as 'float32' | 'float64') : 'float32';
const step = args.includes('--step');
const mk = (name: string, tr: boolean, rank: 1 | 2, n: number, cIn: number, cOut: number, L: number[], k: number, opts: Record<string, number>): W => {
  const g = opts.groups ?? 1;
  const o = { dtype, requiresGrad: step };
  const x = randn([n, cIn, ...L], o);
  const ks = L.map(() => k);
  const w = randn(weightShapeFor(tr, cIn, cOut, g, ks), o);
  const b = randn([cOut], o);
  const f = (tr ? (rank === 1 ? convTranspose1d : convTranspose2d) : rank === 1 ? conv1d : conv2d) as (x: Tensor, w: Tensor, b: Tensor, o: object) => Tensor;
  const y = f(x, w, b, opts);
  // multiply-adds in the convolution direction (a transposed op's input is its convolution's output)
  const macs = tr ? macCount({ n, cIn: cOut, cOut: cIn, groups: g, outSize: L, kSize: ks })
    : macCount({ n, cIn, cOut, groups: g, outSize: y.shape.slice(2), kSize: ks });
  const gy = randn(y.shape, { dtype });
  const fwdBwd = () => {
    for (const p of [x, w, b]) p.grad = null;
    f(x, w, b, opts).backward(gy);
  };
  // A step does three passes of the same multiply-adds (forward, input gradient, weight gradient).
  return step ? { name, run: fwdBwd, flops: 6 * macs } : { name, run: () => f(x, w, b, opts), flops: 2 * macs };
};
const all: W[] = [
  mk('T1', true, 1, 1, 512, 256, [200], 16, { stride: 8, padding: 4 }),
  mk('T2', true, 1, 1, 64, 32, [6400], 4, { stride: 2, padding: 1 }),
  mk('T3', true, 1, 1, 16, 8, [10], 3, { stride: 2, padding: 1, outputPadding: 1 }),
  mk('T4', true, 2, 8, 256, 128, [16, 16], 4, { stride: 2, padding: 1 }),
  mk('T5', true, 1, 4, 256, 256, [1000], 8, { stride: 4, padding: 2, groups: 8 }),
  mk('T6', true, 1, 4, 64, 64, [1000], 3, { stride: 1, dilation: 3, padding: 3 }),
  mk('C1', false, 1, 1, 256, 256, [1600], 3, { dilation: 3, padding: 3 }),
  mk('C2', false, 1, 20, 16, 33, [50], 3, { stride: 2 }),
  mk('C3', false, 1, 4, 512, 512, [1000], 31, { padding: 15, groups: 512 }),
  mk('C4', false, 2, 8, 64, 64, [56, 56], 3, { padding: 1 }),
  mk('C5', false, 1, 8, 128, 256, [4096], 8, { stride: 4, padding: 2 }),
  mk('H1', false, 1, 1, 32, 32, [22016], 11, { dilation: 5, padding: 25 }),
  mk('H2', false, 1, 1, 512, 512, [86], 7, { padding: 3 }),
  mk('H3', true, 1, 1, 512, 256, [86], 16, { stride: 8, padding: 4 }),
];
console.log(`wasm module: ${wasmEngine()?.relaxed ? 'relaxed SIMD (fused multiply-add)' : 'SIMD (multiply, add)'}`);
const oi = args.indexOf('--only'), only = oi >= 0 ? args[oi + 1].split(',') : null;
const bi = args.indexOf('--backend');
if (bi >= 0) setBackend(args[bi + 1]);
const threads = args.filter((a, i) => /^\d+$/.test(a) && !(oi >= 0 && i === oi + 1)).map(Number);
if (dtype !== 'float32' || step) console.log(`${dtype}${step ? ', forward + backward step' : ''}`);
for (const t of threads.length ? threads : [1, 2]) {
  setNumThreads(t);
  for (const w of all) {
    if (only && !only.includes(w.name)) continue;
    for (let i = 0; i < 2; i++) w.run();
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < 5 || (performance.now() - t0 < 1000 && times.length < 2000)) {
      const s = performance.now();
      w.run();
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    const med = times[times.length >> 1], best = times[0];
    console.log(`${t}T ${w.name}: median ${med.toFixed(3)} ms, best ${best.toFixed(3)} ms, ${(w.flops / best / 1e6).toFixed(1)} GFLOP/s (best), ${(w.flops / med / 1e6).toFixed(1)} (median)`);
  }
}

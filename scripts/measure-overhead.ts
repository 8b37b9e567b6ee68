/**
 * Per-call overhead, channels-last cost and peak memory of the public API (Node only; not library code).
 *
 *   node --import tsx scripts/measure-overhead.ts                 # tiny calls T3, C2: µs/call over a warm loop of 20k calls
 *   node --import tsx scripts/measure-overhead.ts --calls 5000    # fewer calls
 *   node --import tsx scripts/measure-overhead.ts --layout        # C4 and T1, channels-last vs channels-first (ms/call)
 *   node --import tsx scripts/measure-overhead.ts --rss C4        # peak RSS of one call in this (fresh) process
 *   node --import tsx scripts/measure-overhead.ts --split         # tiny calls: the API against its forward kernels alone
 *   node --cpu-prof --import tsx scripts/measure-overhead.ts      # profile the tiny calls
 *   node --import tsx scripts/measure-overhead.ts --only T3,C2,module  # 'module': a Conv1d(16, 8, 3) forward of (1, 16, 10)
 *   node --import tsx scripts/measure-overhead.ts --layers        # the same calls with a no-op kernel: the layers above the kernels alone
 *   node --import tsx scripts/measure-overhead.ts --against /tmp/old  # rounds interleaved with another checkout's src/ (same process)
 *
 * Operands are float32 with bias, as in bench/workloads.ts; calls run under noGrad like the benchmark,
 * on one thread. The machine is shared: compare medians of interleaved rounds (--against), not runs
 * made minutes apart.
 */
import * as ck from '../src/index.js';
import { workloads, xShape, wShape, type Workload } from '../bench/workloads.js';
import { convForward } from '../src/autograd/rules.js';
import { planConv } from '../src/plan/plan.js';
import { convSpec, convTransposeSpec } from '../src/spec/normalize.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const byId = (id: string): Workload => {
  const wl = workloads.find((w) => w.id === id);
  if (!wl) throw new Error(`unknown workload ${id}; known: ${workloads.map((w) => w.id).join(', ')}`);
  return wl;
};

/** Seeded operands in the workload's layout ('last': channels moved to the end of x). */
function prepare(wl: Workload, layout: 'first' | 'last'): () => InstanceType<typeof ck.Tensor> {
  return prepareOf(ck, wl, layout) as () => InstanceType<typeof ck.Tensor>;
}

/** The workload's call through `ck` (another checkout's public API with --against). */
function prepareOf(ck: typeof import('../src/index.js'), wl: Workload, layout: 'first' | 'last'): () => unknown {
  const xs = xShape(wl);
  const shape = layout === 'first' ? xs : [xs[0], ...xs.slice(2), xs[1]];
  const x = ck.randn(shape, { seed: 1 }), w = ck.randn(wShape(wl), { seed: 2 }), b = ck.randn([wl.cOut], { seed: 3 });
  const dataFormat = layout === 'first' ? 'channelsFirst' : 'channelsLast';
  const o = { stride: wl.stride, padding: wl.padding, dilation: wl.dilation, groups: wl.groups, dataFormat } as const;
  const ot = { ...o, outputPadding: wl.outputPadding };
  const f = {
    conv1d: () => ck.conv1d(x, w, b, o),
    conv2d: () => ck.conv2d(x, w, b, o),
    convTranspose1d: () => ck.convTranspose1d(x, w, b, ot),
    convTranspose2d: () => ck.convTranspose2d(x, w, b, ot),
  }[wl.op];
  return () => ck.noGrad(f);
}

/** Median over `rounds` of the mean time per call of `calls` calls (ms), after a warm-up. */
function time(f: () => unknown, calls: number, rounds: number, warm = true): number {
  if (warm) for (let i = 0; i < Math.min(calls, 2000); i++) f();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) f();
    per.push((performance.now() - t0) / calls);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

if (args.includes('--rss')) {
  const wl = byId(flag('--rss') ?? 'C4');
  const before = process.memoryUsage().rss;
  const f = prepare(wl, 'first');
  f();
  const y = f();
  const peakKB = process.resourceUsage().maxRSS;
  console.log(`${wl.id}: peak RSS ${mb(peakKB * 1024)} MB (RSS before operands ${mb(before)} MB, heap used ${mb(process.memoryUsage().heapUsed)} MB, output ${y.size} elements)`);
} else if (args.includes('--layout')) {
  const ids = (flag('--only') ?? 'C4,T1').split(',');
  const rounds = Number(flag('--rounds') ?? 5);
  for (const id of ids) {
    const wl = byId(id);
    const first = prepare(wl, 'first'), last = prepare(wl, 'last');
    // Interleave the two so that machine noise hits both alike.
    const a: number[] = [], b: number[] = [];
    for (let r = 0; r < rounds; r++) { a.push(time(first, 3, 1)); b.push(time(last, 3, 1)); }
    const med = (v: number[]) => v.sort((p, q) => p - q)[Math.floor(v.length / 2)];
    const mf = med(a), ml = med(b);
    console.log(`${wl.id} ${wl.op}: channels-first ${mf.toFixed(2)} ms, channels-last ${ml.toFixed(2)} ms (+${((ml / mf - 1) * 100).toFixed(1)}%)`);
  }
} else if (args.includes('--split')) {
  // The same operands through the public API and through the forward kernels alone (plan made once,
  // output buffer reused): the difference is what the layers above the kernels cost per call.
  const calls = Number(flag('--calls') ?? 20000), rounds = 10;
  for (const id of (flag('--only') ?? 'T3,C2').split(',')) {
    const wl = byId(id), api = prepare(wl, 'first');
    const x = ck.randn(xShape(wl), { seed: 1 }), w = ck.randn(wShape(wl), { seed: 2 }), b = ck.randn([wl.cOut], { seed: 3 });
    const o = { stride: wl.stride, padding: wl.padding, dilation: wl.dilation, groups: wl.groups };
    const t = wl.op.startsWith('convTranspose');
    const spec = t ? convTransposeSpec(wl.op, wl.inSize.length as 1 | 2, { ...o, outputPadding: wl.outputPadding }) : convSpec(wl.op, wl.inSize.length as 1 | 2, o);
    const plan = planConv(spec, x.shape, w.shape, b.shape);
    const y = new Float32Array(plan.outShape.reduce((p, v) => p * v, 1));
    const kernel = () => { convForward(x.data, w.data, b.data, y, plan.geometry, t); };
    const a: number[] = [], k: number[] = [];
    for (let r = 0; r < rounds; r++) { a.push(time(api, calls / rounds, 1) * 1000); k.push(time(kernel, calls / rounds, 1) * 1000); }
    a.sort((p, q) => p - q); k.sort((p, q) => p - q);
    console.log(`${id}: API ${a[rounds >> 1].toFixed(2)} µs (fastest ${a[0].toFixed(2)}), kernels alone ${k[rounds >> 1].toFixed(2)} µs (fastest ${k[0].toFixed(2)}): layers ${(a[0] - k[0]).toFixed(2)} µs`);
  }
} else {
  // Warm calls split into rounds; with --against, each round runs every checkout in turn, so that
  // machine noise hits all alike. The median and the fastest round (least disturbed) per checkout.
  const calls = Number(flag('--calls') ?? 20000), rounds = Number(flag('--rounds') ?? 20);
  const ids = (flag('--only') ?? 'T3,C2,module').split(',');
  const against = flag('--against');
  type Api = typeof ck;
  const checkouts: [string, Api][] = [['this', ck]];
  if (against) checkouts.push([against, (await import(`${against}/src/index.ts`)) as Api]);
  if (args.includes('--layers')) for (const [name] of checkouts) await noopKernels(name);
  for (const id of ids) {
    const fs = checkouts.map(([, lib]) => (id === 'module' ? moduleCall(lib) : prepareOf(lib, byId(id), 'first')));
    for (const f of fs) for (let i = 0; i < 2000; i++) f();
    const per = fs.map((): number[] => []);
    for (let r = 0; r < rounds; r++) fs.forEach((f, j) => per[j].push(time(f, Math.ceil(calls / rounds), 1, false) * 1000));
    const line = per.map((v, j) => {
      v.sort((a, b) => a - b);
      return `${checkouts[j][0]} ${v[rounds >> 1].toFixed(2)} µs/call median, ${v[0].toFixed(2)} fastest`;
    });
    console.log(`${id}${args.includes('--layers') ? ' (no-op kernel)' : ''}: ${line.join(' | ')} (${rounds} rounds × ${Math.ceil(calls / rounds)} calls)`);
  }
}

/** A tiny module call: Conv1d(16, 8, 3) on (1, 16, 10), seeded, under noGrad. */
function moduleCall(lib: typeof ck): () => unknown {
  const m = new lib.Conv1d(16, 8, 3, { seed: 1 }), x = lib.randn([1, 16, 10], { seed: 2 });
  return () => lib.noGrad(() => m.forward(x));
}

/**
 * Registers a backend of the highest priority whose kernels do nothing (fusing every epilogue part),
 * so that a call's time is its layers': checks, spec and plan caches, allocation, autograd.
 */
async function noopKernels(name: string): Promise<void> {
  const root = name === 'this' ? '..' : name;
  const select = (await import(`${root}/src/plan/select.ts`)) as typeof import('../src/plan/select.js');
  if (typeof select.registerBackend !== 'function') throw new Error(`${name}: no registerBackend in src/plan/select (--layers needs the backend seam)`);
  const none = () => {};
  select.registerBackend({
    name: 'noop', priority: 1e9,
    candidates: [{ name: 'noop', location: 'host', algorithm: 'direct', dtypes: ['float32', 'float64'],
      kernels: { name: 'noop', fuses: { bias: true, residual: true, activation: true }, conv: none, convT: none, weightGrad: none } }],
  });
}

/**
 * The WebGPU backend (Dawn on SwiftShader where there is no GPU): every PyTorch fixture forward
 * and backward on GPU tensors, the error cases, the device-tensor API, the elementwise/loss ops and
 * optimizers against the CPU, bitwise-identical reruns and property tests against the reference.
 * No adapter is a failure, never a skip.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as ck from '../src/index.js';
import { Adam, ConvError, SGD, Tensor, tensor, webgpuAvailable, withBackend } from '../src/index.js';
import { loadCases, type ArrayRecord, type ConvCase, type ErrorCase } from './helpers/fixtures.js';
import { assertClose } from './helpers/close.js';
import { sameOnGpu, startWebGPU, values } from './helpers/webgpu.js';

type OpFn = (x: Tensor, w: Tensor, b: Tensor | null, options: object) => Tensor;
const OPS: Record<string, OpFn> = {
  conv1d: ck.conv1d as OpFn, conv2d: ck.conv2d as OpFn, conv3d: ck.conv3d as OpFn,
  convTranspose1d: ck.convTranspose1d as OpFn, convTranspose2d: ck.convTranspose2d as OpFn, convTranspose3d: ck.convTranspose3d as OpFn,
};
type ModuleCtor = new (inChannels: number, outChannels: number, kernelSize: number[], opts: object) =>
  ck.Module & { weight: Tensor; bias: Tensor | null; forward(x: Tensor, outputSize?: readonly number[]): Tensor };
const MODULES: Record<string, ModuleCtor> = {
  conv1d: ck.Conv1d as unknown as ModuleCtor, conv2d: ck.Conv2d as unknown as ModuleCtor, conv3d: ck.Conv3d as unknown as ModuleCtor,
  convTranspose1d: ck.ConvTranspose1d as unknown as ModuleCtor, convTranspose2d: ck.ConvTranspose2d as unknown as ModuleCtor,
  convTranspose3d: ck.ConvTranspose3d as unknown as ModuleCtor,
};

/** float32 tolerances (relative to the expected max-abs); float64 fixtures run in float32 on the GPU. */
const FORWARD_RTOL = 2e-5;
const GRAD_RTOL = 1e-4;

/** A recorded array as a float32 GPU leaf. */
function gpuLeaf(rec: ArrayRecord, requiresGrad: boolean): Tensor {
  const t = new Tensor(Float32Array.from(rec.data), rec.shape).to('webgpu');
  t.requiresGrad = requiresGrad;
  return t;
}

before(async () => {
  await startWebGPU();
});

test('a WebGPU adapter is found and the backend is up (a missing adapter fails)', async () => {
  const info = await startWebGPU();
  assert.ok(webgpuAvailable());
  assert.ok(info.maxStorageBufferBindingSize > 0 && info.maxComputeWorkgroupsPerDimension > 0, JSON.stringify(info));
});

const FILES = ['conv1d', 'conv2d', 'conv3d', 'conv-transpose1d', 'conv-transpose2d', 'conv-transpose3d'];

async function replay(c: ConvCase): Promise<void> {
  const grad = c.gy !== undefined;
  const x = gpuLeaf(c.x, grad), w = gpuLeaf(c.w, grad), b = c.b ? gpuLeaf(c.b, grad) : null;
  const y = OPS[c.op](x, w, b, c.options);
  assert.equal(y.device, 'webgpu');
  assert.deepEqual([...y.shape], c.y.shape, 'output shape');
  assertClose(await values(y), c.y.data, FORWARD_RTOL, 'y');
  if (!grad) return;
  y.backward(gpuLeaf(c.gy!, false));
  for (const [name, t, want] of [['gx', x, c.gx], ['gw', w, c.gw], ['gb', b, c.gb]] as const) {
    if (!t || !want) continue;
    assert.ok(t.grad, `${name}: no gradient accumulated`);
    assert.equal(t.grad.device, 'webgpu', `${name} stays on the GPU`);
    assertClose(await values(t.grad), want.data, GRAD_RTOL, name);
  }
}

/** The same case through the module class moved with `to('webgpu')`. */
async function replayModule(c: ConvCase): Promise<void> {
  const transposed = c.op.startsWith('convTranspose');
  const { outputSize, ...opts } = c.options as { outputSize?: number[] };
  const groups = (opts as { groups?: number }).groups ?? 1;
  const [w0, w1, ...k] = c.w.shape;
  const [cIn, cOut] = transposed ? [w0, w1 * groups] : [w1 * groups, w0];
  const m = new MODULES[c.op](cIn, cOut, k, { ...opts, bias: c.b !== null });
  m.weight.data.set(c.w.data);
  if (c.b) m.bias!.data.set(c.b.data);
  m.to('webgpu');
  const y = m.forward(gpuLeaf(c.x, false), outputSize);
  assertClose(await values(y), c.y.data, FORWARD_RTOL, 'module y');
  if (!c.gy) return;
  y.backward(gpuLeaf(c.gy, false));
  assertClose(await values(m.weight.grad!), c.gw!.data, GRAD_RTOL, 'module gw');
  if (c.b) assertClose(await values(m.bias!.grad!), c.gb!.data, GRAD_RTOL, 'module gb');
}

for (const file of FILES) {
  const cases = loadCases<ConvCase>(`torch-${file}.json`);
  describe(`webgpu: ${cases[0].op} PyTorch fixtures`, () => {
    for (const c of cases) test(c.name + (c.gy ? ' (+grad)' : ''), () => replay(c));
    test('every float32 case through the module class moved to the GPU', async () => {
      const failures: string[] = [];
      for (const c of cases.filter((k) => k.dtype === 'float32')) await replayModule(c).catch((e: Error) => failures.push(`${c.name}: ${e.message}`));
      assert.deepEqual(failures, []);
    });
  });
}

describe('webgpu: PyTorch error cases on GPU tensors throw the same ConvError before any GPU work', () => {
  for (const c of loadCases<ErrorCase>('torch-errors.json')) {
    test(`${c.name} → ${c.param}`, () => {
      // A dtype mismatch is kept (the float64 operand stays on the CPU: the dtype rule is checked first).
      const mismatch = c.x.dtype !== c.w.dtype;
      const x = ck.zeros(c.x.shape).to('webgpu');
      const w = mismatch ? ck.zeros(c.w.shape, { dtype: c.w.dtype }) : ck.zeros(c.w.shape).to('webgpu');
      const b = c.b ? ck.zeros(c.b.shape).to('webgpu') : null;
      assert.throws(() => OPS[c.op](x, w, b, c.options), (err: unknown) => {
        assert.ok(err instanceof ConvError, `expected a ConvError, got ${String(err)}`);
        assert.ok(err.message.startsWith(`${c.op}: `), err.message);
        assert.equal(err.param, c.param, err.message);
        return true;
      });
    });
  }
});

describe('webgpu: device tensors', () => {
  test('to / cpu / toArrayAsync round-trip the values; a GPU tensor is read only by awaiting', async () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    const g = t.to('webgpu');
    assert.equal(t.device, 'cpu');
    assert.equal(g.device, 'webgpu');
    assert.equal(g.to('webgpu'), g);
    assert.deepEqual(await g.toArrayAsync(), [[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(Array.from((await g.to('cpu')).data), [1, 2, 3, 4, 5, 6]);
    assert.equal(await t.cpu(), t);
    for (const read of [() => g.data, () => g.toArray(), () => ck.ones([1]).to('webgpu').item()])
      assert.throws(read, (e: unknown) => e instanceof ConvError && e.message.includes('await t.cpu()'));
    // reshape and detach share the GPU storage; clone copies it.
    const r = g.reshape([3, 2]);
    assert.equal(r.device, 'webgpu');
    assert.deepEqual(await r.toArrayAsync(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepEqual(await g.clone().toArrayAsync(), [[1, 2, 3], [4, 5, 6]]);
  });

  test('float64 cannot go to the GPU; mixing devices names both', () => {
    assert.throws(() => ck.zeros([2], { dtype: 'float64' }).to('webgpu'), (e: unknown) => e instanceof ConvError && /float32/.test(e.message));
    assert.throws(() => ck.zeros([2]).to('tpu' as 'webgpu'), (e: unknown) => e instanceof ConvError && e.param === 'device');
    const xg = ck.randn([1, 2, 5]).to('webgpu'), wc = ck.randn([3, 2, 3]);
    const both = (e: unknown) => e instanceof ConvError && e.message.includes("'webgpu'") && e.message.includes("'cpu'");
    assert.throws(() => ck.conv1d(xg, wc), both);
    assert.throws(() => ck.conv1d(ck.randn([1, 2, 5]), wc.to('webgpu')), both);
    assert.throws(() => ck.conv1d(xg, wc.to('webgpu'), ck.zeros([3])), both);
    assert.throws(() => ck.add(xg, ck.zeros([1])), both);
    assert.throws(() => ck.mseLoss(xg, ck.zeros([1, 2, 5])), both);
  });

  test('Module.to moves the parameters once, in place (optimizers keep the same tensors)', async () => {
    const m = new ck.Conv1d(2, 3, 3, { padding: 1 });
    const [w, b] = m.parameters();
    const want = Array.from(w.data);
    assert.equal(m.to('webgpu'), m);
    assert.equal(m.weight, w);
    assert.equal(w.device, 'webgpu');
    const storage = w.storage;
    m.to('webgpu');
    assert.equal(w.storage, storage, 'a second to() uploads nothing');
    assert.deepEqual(Array.from(await values(w)), want);
    assert.equal(b.device, 'webgpu');
    assert.throws(() => m.to('cpu'), ConvError);
    // loadStateDict writes into the GPU parameters; stateDict copies stay on the GPU.
    m.loadStateDict({ weight: ck.ones([3, 2, 3]), bias: ck.zeros([3]) });
    assert.deepEqual(Array.from(await values(w)), new Array(18).fill(1));
    assert.equal(m.stateDict().weight.device, 'webgpu');
  });
});

/** Runs f on CPU tensors and on their GPU copies; compares outputs and input gradients. */

describe('webgpu: elementwise, shape and loss ops match the CPU (values and gradients)', () => {
  const a = ck.randn([2, 3, 4], { seed: 1 }), b = ck.randn([3, 1], { seed: 2 }), c = ck.randn([2, 3, 4], { seed: 3 });
  const cases: [string, Tensor[], (...t: Tensor[]) => Tensor][] = [
    ['add broadcast', [a, b], (x, y) => ck.add(x, y)],
    ['sub broadcast', [b, a], (x, y) => ck.sub(x, y)],
    ['mul broadcast', [a, b], (x, y) => ck.mul(x, y)],
    ['mul by a number', [a], (x) => ck.mul(ck.add(x, 2), -0.5)],
    ['relu', [a], (x) => ck.relu(x)],
    ['leakyRelu', [a], (x) => ck.leakyRelu(x, 0.2)],
    ['tanh', [a], (x) => ck.tanh(ck.mul(x, 10))],
    ['sigmoid', [a], (x) => ck.sigmoid(ck.mul(x, 30))],
    ['sum all', [a], (x) => ck.sum(x)],
    ['sum dims keepdim', [a], (x) => ck.sum(x, [0, 2], true)],
    ['mean dim', [a], (x) => ck.mean(x, -1)],
    ['mseLoss mean', [a, c], (x, y) => ck.mseLoss(x, y)],
    ['mseLoss sum', [a, c], (x, y) => ck.mseLoss(x, y, 'sum')],
    ['l1Loss none', [a, c], (x, y) => ck.l1Loss(x, y, 'none')],
    ['l1Loss mean', [a, c], (x, y) => ck.l1Loss(x, y)],
    ['reshape', [a], (x) => ck.mul(ck.reshape(x, [4, -1]), ck.reshape(x, [4, 6]))],
    ['permute', [a], (x) => ck.permute(x, [2, 0, 1])],
    ['a used twice (gradients accumulate)', [a], (x) => ck.add(ck.mul(x, x), x)],
  ];
  for (const [name, inputs, f] of cases) test(name, () => sameOnGpu(name, inputs, f));
});

describe('webgpu: optimizers update GPU parameters on the GPU as on the CPU', () => {
  const run = async (make: (p: Tensor[]) => ck.Optimizer, steps: number) => {
    const init = [ck.randn([3, 4], { seed: 11 }), ck.randn([4], { seed: 12 })];
    const target = ck.randn([3, 4], { seed: 13 });
    const result: Float32Array[][] = [];
    for (const dev of ['cpu', 'webgpu'] as const) {
      const ps = init.map((t) => { const p = dev === 'cpu' ? t.clone() : t.to('webgpu'); p.requiresGrad = true; return p; });
      const tg = dev === 'cpu' ? target : target.to('webgpu');
      const opt = make(ps);
      for (let s = 0; s < steps; s++) {
        opt.zeroGrad();
        ck.mseLoss(ck.mul(ps[0], ps[1]), tg).backward();
        opt.step();
      }
      result.push(await Promise.all(ps.map(values)));
    }
    for (let i = 0; i < result[0].length; i++) assertClose(result[1][i], result[0][i], 1e-5, `param ${i}`);
  };
  test('SGD: momentum, weight decay, Nesterov', () => run((p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }), 4));
  test('SGD: plain, maximize', () => run((p) => new SGD(p, { lr: 0.05, maximize: true }), 3));
  test('Adam and AMSGrad', async () => {
    await run((p) => new Adam(p, { lr: 0.05 }), 4);
    await run((p) => new Adam(p, { lr: 0.05, amsgrad: true, weightDecay: 0.1 }), 4);
  });
});

describe('webgpu: deterministic', () => {
  test('the same forward and backward give bitwise-identical results', async () => {
    const once = async () => {
      const x = ck.randn([2, 6, 33], { seed: 21 }).to('webgpu'), w = ck.randn([6, 3, 5], { seed: 22 }).to('webgpu');
      const w2 = ck.randn([6, 2, 5], { seed: 23 }).to('webgpu');
      for (const t of [x, w, w2]) t.requiresGrad = true;
      const y = ck.convTranspose1d(ck.conv1d(x, w, null, { stride: 2, groups: 2 }), w2, null, { stride: 3, groups: 2 });
      ck.sum(ck.mul(y, y)).backward();
      return Promise.all([values(y), values(x.grad!), values(w.grad!), values(w2.grad!)]);
    };
    const [a, b] = [await once(), await once()];
    for (let i = 0; i < a.length; i++) assert.deepEqual(Buffer.from(a[i].buffer), Buffer.from(b[i].buffer));
  });
});

describe('webgpu: property tests against the reference kernels', () => {
  const geometry = fc.record({
    rank: fc.constantFrom(1, 2, 3),
    transposed: fc.boolean(),
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cig: fc.integer({ min: 1, max: 3 }),
    cog: fc.integer({ min: 1, max: 3 }),
    k: fc.integer({ min: 1, max: 3 }),
    stride: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(1000, 2 ** 20, 2 ** 29)),
    dilation: fc.integer({ min: 1, max: 3 }),
    padding: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom(2 ** 20, 2 ** 29)),
    size: fc.integer({ min: 1, max: 6 }),
    bias: fc.boolean(),
  });
  test('GPU = ref, forward and gradients, on random geometries (huge strides and paddings included)', async () => {
    await fc.assert(fc.asyncProperty(geometry, async (p) => {
      const d = p.rank;
      const transposed = p.transposed;
      // Huge paddings only where the output stays small: a large stride (conv) or a cropping pad (convT, skipped).
      const padding = transposed ? Math.min(p.padding, 2) : p.stride >= 1000 ? p.padding : Math.min(p.padding, 2);
      const cIn = p.groups * p.cig, cOut = p.groups * p.cog;
      const size = new Array<number>(d).fill(p.size + (p.k - 1) * p.dilation);
      const xShape = [p.n, transposed ? cOut : cIn, ...size];
      const wShape = transposed ? [cOut, p.cig, ...new Array<number>(d).fill(p.k)] : [cOut, p.cig, ...new Array<number>(d).fill(p.k)];
      // A huge padding comes with a stride at least twice it, so that the output stays a few positions.
      const stride = transposed ? Math.min(p.stride, 4) : Math.max(p.stride, 2 * padding);
      const opts = { stride, dilation: p.dilation, padding, groups: p.groups };
      const op = (transposed ? [ck.convTranspose1d, ck.convTranspose2d, ck.convTranspose3d] : [ck.conv1d, ck.conv2d, ck.conv3d])[d - 1] as OpFn;
      const x = ck.randn(xShape, { seed: 1 }), w = ck.randn(wShape, { seed: 2 });
      const b = p.bias ? ck.randn([transposed ? p.groups * p.cig : cOut], { seed: 3 }) : null;
      let yr: Tensor;
      try {
        yr = withBackend('ref', () => op(x, w, b, opts));
      } catch (e) {
        if (e instanceof ConvError) return; // an invalid geometry: the GPU must refuse it too
        throw e;
      }
      const leaves = [x, w, ...(b ? [b] : [])].map((t) => { const r = t.clone(); r.requiresGrad = true; return r; });
      const gleaves = [x, w, ...(b ? [b] : [])].map((t) => { const g = t.to('webgpu'); g.requiresGrad = true; return g; });
      const yref = withBackend('ref', () => op(leaves[0], leaves[1], leaves[2] ?? null, opts));
      const yg = op(gleaves[0], gleaves[1], gleaves[2] ?? null, opts);
      assertClose(await values(yg), yr.data, 1e-5, 'y');
      const gy = ck.randn([...yr.shape], { seed: 4 });
      withBackend('ref', () => yref.backward(gy));
      yg.backward(gy.to('webgpu'));
      for (let i = 0; i < leaves.length; i++) assertClose(await values(gleaves[i].grad!), leaves[i].grad!.data, 1e-4, `grad ${i}`);
    }), { numRuns: Number(process.env.PROP_RUNS ?? 30), seed: 20261201, endOnFailure: true });
  });

  test('padding modes and channels-last / unbatched inputs match the CPU', async () => {
    for (const mode of ['reflect', 'replicate', 'circular', 'zeros'] as const) {
      const m = new ck.Conv2d(2, 3, [3, 2], { padding: [2, 1], paddingMode: mode, stride: [1, 2] });
      const x = ck.randn([2, 2, 5, 6], { seed: 5 });
      const yc = m.forward(x);
      m.to('webgpu');
      assertClose(await values(m.forward(x.to('webgpu'))), yc.data, 1e-5, mode);
      await sameOnGpu(`conv1d ${mode} grads`, [ck.randn([1, 2, 7], { seed: 6 }), ck.randn([2, 2, 3], { seed: 8 })],
        (xx, ww) => ck.conv1d(xx, ww, null, { padding: 2, paddingMode: mode }), 1e-4);
    }
    await sameOnGpu('channels-last conv2d', [ck.randn([2, 5, 4, 3], { seed: 9 }), ck.randn([4, 3, 2, 2], { seed: 10 })],
      (x, w) => ck.conv2d(x, w, null, { dataFormat: 'channelsLast', padding: 'same' } as object), 1e-4);
    await sameOnGpu('unbatched convTranspose1d with outputSize', [ck.randn([3, 5], { seed: 11 }), ck.randn([3, 2, 3], { seed: 12 })],
      (x, w) => ck.convTranspose1d(x, w, null, { stride: 2, outputSize: [12] }), 1e-4);
    await sameOnGpu('depthwise conv1d with multiplier', [ck.randn([2, 4, 9], { seed: 13 }), ck.randn([8, 1, 3], { seed: 14 })],
      (x, w) => ck.conv1d(x, w, null, { groups: 4, dilation: 2 }), 1e-4);
  });
});

/**
 * The WebGPU forms of batch norm (functional and modules, inference and training, running
 * statistics updated on the GPU), of the async convolution API and module `forwardAsync`, and of
 * the shape ops div / cat / narrow / slice / pad, each against the CPU path (values, gradients,
 * running statistics) within float32 tolerance; mixed-device calls of every listed op are ConvErrors
 * naming both devices. foldBatchNorm of GPU modules (against the CPU fold, no readback), the
 * in-place activations on GPU tensors (identity, version, autograd refusals) and loadStateDict /
 * loadStateDictAsync with GPU and CPU dicts into GPU and CPU modules. No adapter is a failure,
 * never a skip.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ck from '../src/index.js';
import { ConvError, Tensor } from '../src/index.js';
import { GpuStorage } from '../src/kernels/webgpu/device.js';
import type { ConvNdBase } from '../src/nn/conv.js';
import { assertClose } from './helpers/close.js';
import { sameOnGpu, startWebGPU, values } from './helpers/webgpu.js';


before(async () => {
  await startWebGPU();
});

test('a WebGPU adapter is found (a missing adapter fails)', async () => {
  const info = await startWebGPU();
  assert.ok(ck.webgpuAvailable());
  assert.ok(info.maxComputeWorkgroupsPerDimension > 0, JSON.stringify(info));
});

const both = (e: unknown) => e instanceof ConvError && e.message.includes("'webgpu'") && e.message.includes("'cpu'");

describe('webgpu: batchNorm (functional) matches the CPU', () => {
  const shapes = [[4, 3], [2, 3, 7], [2, 3, 4, 5], [2, 3, 2, 3, 4]];
  for (const shape of shapes)
    for (const training of [true, false])
      test(`${training ? 'training' : 'eval'} on ${JSON.stringify(shape)}: output, gradients of x, weight and bias, running statistics`, async () => {
        const c = shape[1];
        const x = ck.mul(ck.add(ck.randn(shape, { seed: 1 }), 0.5), 3);
        const w = ck.randn([c], { seed: 2 }), b = ck.randn([c], { seed: 3 });
        const rm0 = ck.randn([c], { seed: 4 }), rv0 = ck.add(ck.rand([c], { seed: 5 }), 0.5);
        const rmC = rm0.clone(), rvC = rv0.clone(), rmG = rm0.to('webgpu'), rvG = rv0.to('webgpu');
        await sameOnGpu('batchNorm', [x, w, b], (xx, ww, bb) => {
          const [rm, rv] = xx.device === 'webgpu' ? [rmG, rvG] : [rmC, rvC];
          return ck.batchNorm(xx, rm, rv, ww, bb, { training, momentum: 0.3, eps: 1e-3 });
        }, 1e-4);
        assert.equal(rmG.device, 'webgpu');
        assertClose(await values(rmG), rmC.data, 1e-5, 'running mean');
        assertClose(await values(rvG), rvC.data, 1e-5, 'running var');
        if (!training) assertClose(await values(rmG), rm0.data, 0, 'eval leaves the running mean alone');
      });

  test('training without running statistics or affine parameters', async () => {
    await sameOnGpu('batchNorm bare', [ck.randn([3, 2, 6], { seed: 8 })], (x) => ck.batchNorm(x, null, null, null, null, { training: true }), 1e-4);
  });

  test('bitwise-identical reruns (fixed-order reductions, no atomics)', async () => {
    const once = async () => {
      const x = ck.randn([4, 5, 300], { seed: 9 }).to('webgpu'), w = ck.ones([5]).to('webgpu'), rm = ck.zeros([5]).to('webgpu'), rv = ck.ones([5]).to('webgpu');
      x.requiresGrad = true;
      w.requiresGrad = true;
      const y = ck.batchNorm(x, rm, rv, w, null, { training: true });
      ck.sum(ck.mul(y, y)).backward();
      return Promise.all([values(y), values(x.grad!), values(w.grad!), values(rm), values(rv)]);
    };
    const [a, b] = [await once(), await once()];
    for (let i = 0; i < a.length; i++) assert.deepEqual(Buffer.from(a[i].buffer), Buffer.from(b[i].buffer), `output ${i}`);
  });

  test('a CPU running statistic, weight or bias with a GPU input (and the reverse) names both devices', () => {
    const xg = ck.randn([2, 3, 4]).to('webgpu'), v = ck.ones([3]);
    assert.throws(() => ck.batchNorm(xg, v, v), both);
    assert.throws(() => ck.batchNorm(xg, null, null, v, null, { training: true }), both);
    assert.throws(() => ck.batchNorm(xg, null, null, null, v, { training: true }), both);
    assert.throws(() => ck.batchNorm(ck.randn([2, 3, 4]), v.to('webgpu'), v.to('webgpu')), both);
  });
});

describe('webgpu: BatchNorm modules moved with to(webgpu)', () => {
  const cases = [
    ['BatchNorm1d', () => new ck.BatchNorm1d(3, { momentum: 0.2 }), [4, 3, 9]],
    ['BatchNorm1d (N, C), momentum null', () => new ck.BatchNorm1d(3, { momentum: null }), [6, 3]],
    ['BatchNorm2d', () => new ck.BatchNorm2d(3), [2, 3, 4, 5]],
    ['BatchNorm3d without affine', () => new ck.BatchNorm3d(3, { affine: false }), [2, 3, 2, 3, 3]],
  ] as const;
  for (const [name, make, shape] of cases)
    test(`${name}: three training steps then eval follow the CPU module (outputs, gradients, buffers)`, async () => {
      const mc = make(), mg = make();
      assert.equal(mg.to('webgpu'), mg);
      assert.equal(mg.runningMean!.device, 'webgpu');
      assert.equal(mg.numBatchesTracked!.device, 'cpu', 'the float64 batch counter stays on the CPU');
      if (mg.weight) assert.equal(mg.weight.device, 'webgpu');
      for (let step = 0; step < 3; step++) {
        const x = ck.mul(ck.randn([...shape], { seed: 10 + step }), step + 1);
        const xc = x.clone(), xg = x.to('webgpu');
        xc.requiresGrad = xg.requiresGrad = true;
        const yc = mc.forward(xc), yg = mg.forward(xg);
        assert.equal(yg.device, 'webgpu');
        assertClose(await values(yg), yc.data, 1e-4, `step ${step} y`);
        // A random weighting: Σ y² alone has a gradient that vanishes (BatchNorm fixes each channel's Σ x̂²).
        const r = ck.randn([...shape], { seed: 60 + step });
        ck.sum(ck.mul(yc, r)).backward();
        ck.sum(ck.mul(yg, r.to('webgpu'))).backward();
        assertClose(await values(xg.grad!), xc.grad!.data, 1e-4, `step ${step} gx`);
        if (mc.weight) {
          assertClose(await values(mg.weight!.grad!), mc.weight.grad!.data, 1e-4, `step ${step} gw`);
          assertClose(await values(mg.bias!.grad!), mc.bias!.grad!.data, 1e-4, `step ${step} gb`);
        }
      }
      assertClose(await values(mg.runningMean!), mc.runningMean!.data, 1e-5, 'running mean');
      assertClose(await values(mg.runningVar!), mc.runningVar!.data, 1e-5, 'running var');
      assert.equal(mg.numBatchesTracked!.data[0], 3);
      mc.eval();
      mg.eval();
      const x = ck.randn([...shape], { seed: 20 });
      assertClose(await values(mg.forward(x.to('webgpu'))), mc.forward(x).data, 1e-5, 'eval y');
    });

  test('resetRunningStats, stateDict and loadStateDict work on GPU buffers', async () => {
    const m = new ck.BatchNorm1d(2).to('webgpu');
    m.forward(ck.randn([4, 2, 3], { seed: 30 }).to('webgpu'));
    assert.notDeepEqual(Array.from(await values(m.runningMean!)), [0, 0]);
    m.resetRunningStats();
    assert.deepEqual(Array.from(await values(m.runningMean!)), [0, 0]);
    assert.deepEqual(Array.from(await values(m.runningVar!)), [1, 1]);
    assert.equal(m.numBatchesTracked!.data[0], 0);
    m.loadStateDict({ weight: ck.ones([2]), bias: ck.zeros([2]), running_mean: ck.tensor([1.5, -2]), running_var: ck.tensor([2, 3]), num_batches_tracked: ck.zeros([], { dtype: 'float64' }) });
    assert.deepEqual(Array.from(await values(m.runningMean!)), [1.5, -2]);
    assert.deepEqual(Array.from(await values(m.runningVar!)), [2, 3]);
    assert.equal(m.stateDict().running_var.device, 'webgpu');
  });

  test('a CPU input to a GPU module is refused naming both devices, and nothing changes (not even the batch counter)', async () => {
    const m = new ck.BatchNorm2d(2).to('webgpu');
    assert.throws(() => m.forward(ck.randn([2, 2, 3, 3])), both);
    assert.equal(m.numBatchesTracked!.data[0], 0);
    assert.deepEqual(Array.from(await values(m.runningMean!)), [0, 0]);
    assert.deepEqual(Array.from(await values(m.runningVar!)), [1, 1]);
  });

  test('a Conv1d → BatchNorm1d → LeakyReLU Sequential trains on the GPU as on the CPU (SGD)', async () => {
    const build = () => new ck.Sequential(new ck.Conv1d(2, 4, 3, { padding: 1, seed: 3 }), new ck.BatchNorm1d(4), new ck.LeakyReLU(0.1));
    const losses: number[][] = [];
    for (const dev of ['cpu', 'webgpu'] as const) {
      const m = build();
      if (dev === 'webgpu') m.to('webgpu');
      const opt = new ck.SGD(m.parameters(), { lr: 0.1, momentum: 0.5 });
      const run: number[] = [];
      for (let s = 0; s < 4; s++) {
        const x = ck.randn([3, 2, 10], { seed: 40 + s }), t = ck.randn([3, 4, 10], { seed: 50 + s });
        opt.zeroGrad();
        const loss = ck.mseLoss(m.forward(dev === 'cpu' ? x : x.to('webgpu')), dev === 'cpu' ? t : t.to('webgpu'));
        loss.backward();
        opt.step();
        run.push((await values(loss))[0]);
      }
      losses.push(run);
    }
    assertClose(losses[1], losses[0], 1e-4, 'losses');
  });
});

describe('webgpu: the async API with GPU tensors', () => {
  test('conv1dAsync … convTranspose3dAsync take and return GPU tensors (values and gradients as the CPU)', async () => {
    const calls: [string, (x: Tensor, w: Tensor, b: Tensor, o: object) => Promise<Tensor>, number[], number[], object][] = [
      ['conv1dAsync', ck.conv1dAsync as never, [2, 4, 9], [6, 2, 3], { stride: 2, groups: 2 }],
      ['conv2dAsync', ck.conv2dAsync as never, [1, 3, 6, 5], [4, 3, 3, 2], { padding: 1, activation: 'relu' }],
      ['conv3dAsync', ck.conv3dAsync as never, [1, 2, 4, 4, 3], [3, 2, 2, 2, 2], { dilation: [1, 2, 1] }],
      ['convTranspose1dAsync', ck.convTranspose1dAsync as never, [2, 4, 7], [4, 3, 4], { stride: 3, padding: 1 }],
      ['convTranspose2dAsync', ck.convTranspose2dAsync as never, [1, 2, 3, 4], [2, 2, 3, 3], { stride: 2, outputPadding: 1 }],
      ['convTranspose3dAsync', ck.convTranspose3dAsync as never, [1, 2, 2, 3, 2], [2, 1, 2, 2, 2], { stride: [1, 2, 2] }],
    ];
    for (const [name, f, xs, ws, opts] of calls) {
      const x = ck.randn(xs, { seed: 1 }), w = ck.randn(ws, { seed: 2 });
      const cOut = name.includes('Transpose') ? ws[1] : ws[0];
      const b = ck.randn([cOut], { seed: 3 });
      const [xc, wc, bc] = [x, w, b].map((t) => { const c = t.clone(); c.requiresGrad = true; return c; });
      const [xg, wg, bg] = [x, w, b].map((t) => { const g = t.to('webgpu'); g.requiresGrad = true; return g; });
      const yc = await f(xc, wc, bc, opts), yg = await f(xg, wg, bg, opts);
      assert.equal(yg.device, 'webgpu', name);
      assertClose(await values(yg), yc.data, 1e-5, `${name} y`);
      ck.sum(ck.mul(yc, yc)).backward();
      ck.sum(ck.mul(yg, yg)).backward();
      for (const [i, [c, g]] of [[xc, xg], [wc, wg], [bc, bg]].entries()) {
        assert.equal(g.grad!.device, 'webgpu');
        assertClose(await values(g.grad!), c.grad!.data, 1e-4, `${name} grad ${i}`);
      }
    }
  });

  test('noGrad around an async GPU call records nothing; a mixed-device call rejects with a ConvError naming both', async () => {
    const x = ck.randn([1, 2, 8]).to('webgpu'), w = ck.randn([3, 2, 3]).to('webgpu');
    w.requiresGrad = true;
    const y = await ck.noGrad(() => ck.conv1dAsync(x, w));
    assert.equal(y.requiresGrad, false);
    await assert.rejects(ck.conv1dAsync(x, ck.randn([3, 2, 3])), both);
    await assert.rejects(new ck.Conv1d(2, 3, 3).forwardAsync(x), both);
  });

  test('module forwardAsync on a GPU model: a Sequential of conv, BatchNorm, activation and transposed conv', async () => {
    const build = () => new ck.Sequential(
      new ck.Conv1d(3, 4, 5, { padding: 2, seed: 1 }), new ck.BatchNorm1d(4), new ck.Tanh(),
      new ck.ConvTranspose1d(4, 2, 4, { stride: 2, padding: 1, seed: 2 }), new ck.Sigmoid());
    const mc = build(), mg = build().to('webgpu');
    const x = ck.randn([2, 3, 16], { seed: 5 });
    const yc = await mc.forwardAsync(x), yg = await mg.forwardAsync(x.to('webgpu'));
    assert.equal(yg.device, 'webgpu');
    assertClose(await values(yg), yc.data, 1e-4, 'y');
    const r = ck.randn([...yc.shape], { seed: 6 });
    ck.sum(ck.mul(yc, r)).backward();
    ck.sum(ck.mul(yg, r.to('webgpu'))).backward();
    const pc = mc.parameters(), pg = mg.parameters();
    // The conv bias before a BatchNorm has a zero gradient in exact arithmetic: an absolute floor for it.
    for (let i = 0; i < pc.length; i++)
      assertClose(await values(pg[i].grad!), pc[i].grad!.data, { rtol: 1e-4, atol: 1e-5, relativeTo: 'largest' }, `param ${i} grad`);
    assertClose(await values(mg.namedBuffers()[0][1]), mc.namedBuffers()[0][1].data, 1e-5, 'running mean');
  });
});

describe('webgpu: div, cat, narrow, slice and pad match the CPU (values and gradients)', () => {
  const a = ck.randn([2, 3, 5], { seed: 1 }), b = ck.add(ck.rand([3, 1], { seed: 2 }), 0.5), c = ck.randn([2, 2, 5], { seed: 3 });
  const cases: [string, Tensor[], (...t: Tensor[]) => Tensor][] = [
    ['div broadcast', [a, b], (x, y) => ck.div(x, y)],
    ['div by a number and of a number', [b], (x) => ck.add(ck.div(x, 4), ck.div(2, x))],
    ['cat dim 1', [a, c], (x, y) => ck.cat([x, y], 1)],
    ['cat dim -1 of three', [a, a, a], (x, y, z) => ck.cat([x, ck.mul(y, 2), z], -1)],
    ['narrow', [a], (x) => ck.narrow(x, 2, -4, 3)],
    ['slice with a step', [a], (x) => ck.slice(x, 2, 1, Infinity, 2)],
    ['slice empty', [a], (x) => ck.slice(x, 1, 2, 1)],
    ['pad constant with a value, two dims', [a], (x) => ck.pad(x, [1, 2, 0, 1], 'constant', -1.5)],
    ['pad crop', [a], (x) => ck.pad(x, [-1, 2])],
    ['pad reflect', [a], (x) => ck.pad(x, [2, 3], 'reflect')],
    ['pad replicate 2-D', [ck.randn([1, 2, 3, 4], { seed: 4 })], (x) => ck.pad(x, [1, 2, 2, 0], 'replicate')],
    ['pad circular', [a], (x) => ck.pad(x, [3, 1], 'circular')],
  ];
  for (const [name, inputs, f] of cases) test(name, () => sameOnGpu(name, inputs, f));
});

describe('webgpu: every listed op refuses mixed devices with a ConvError naming both', () => {
  const g = () => ck.randn([2, 3]).to('webgpu'), h = () => ck.randn([2, 3]);
  const calls: [string, () => unknown][] = [
    ['add', () => ck.add(g(), h())], ['sub', () => ck.sub(h(), g())], ['mul', () => ck.mul(g(), h())], ['div', () => ck.div(h(), g())],
    ['mseLoss', () => ck.mseLoss(g(), h())], ['l1Loss', () => ck.l1Loss(h(), g())],
    ['cat', () => ck.cat([g(), h()], 0)], ['cat (CPU first)', () => ck.cat([h(), g()], 1)],
    ['conv1d', () => ck.conv1d(ck.randn([1, 2, 4]).to('webgpu'), ck.randn([1, 2, 2]))],
    ['batchNorm', () => ck.batchNorm(g(), null, null, ck.ones([3]), null, { training: true })],
  ];
  for (const [name, call] of calls) test(name, () => assert.throws(call, both));
});

/** How many GPU buffers `f` reads back (GpuStorage.read: the only way values leave the GPU). */
function readbacks(f: () => void): number {
  const proto = GpuStorage.prototype, read = proto.read;
  let n = 0;
  proto.read = function (this: GpuStorage) { n++; return read.call(this); };
  try { f(); } finally { proto.read = read; }
  return n;
}

/** A BatchNorm with trained-looking statistics and affine parameters (CPU), in eval mode. */
function trainedBn(bn: ck.BatchNorm, seed: number): ck.BatchNorm {
  const c = bn.numFeatures;
  if (bn.weight) bn.weight.data.set(Array.from(ck.randn([c], { seed }).data, (v) => 1 + 0.3 * v));
  if (bn.bias) bn.bias.data.set(ck.randn([c], { seed: seed + 1 }).data);
  bn.runningMean!.data.set(ck.randn([c], { seed: seed + 2 }).data);
  bn.runningVar!.data.set(Array.from(ck.randn([c], { seed: seed + 3 }).data, (v) => 0.5 + v * v));
  return bn.eval();
}

describe('webgpu: foldBatchNorm on GPU modules folds on the GPU, as on the CPU', () => {
  const cases: [string, () => ConvNdBase, () => ck.BatchNorm, number[]][] = [
    ['Conv1d with bias', () => new ck.Conv1d(4, 6, 3, { padding: 'same', dilation: 2, seed: 1 }), () => new ck.BatchNorm1d(6), [2, 4, 9]],
    ['grouped Conv2d without bias, reflect', () => new ck.Conv2d(4, 6, 3, { stride: 2, groups: 2, bias: false, paddingMode: 'reflect', padding: 1, seed: 2 }), () => new ck.BatchNorm2d(6), [1, 4, 7, 6]],
    ['Conv3d, BatchNorm without affine', () => new ck.Conv3d(2, 3, 2, { seed: 3 }), () => new ck.BatchNorm3d(3, { affine: false }), [1, 2, 3, 3, 3]],
    ['grouped ConvTranspose1d without bias', () => new ck.ConvTranspose1d(4, 6, 4, { stride: 2, padding: 1, groups: 2, bias: false, seed: 4 }), () => new ck.BatchNorm1d(6, { eps: 1e-3 }), [2, 4, 5]],
    ['ConvTranspose2d, output padding', () => new ck.ConvTranspose2d(3, 2, 3, { stride: 2, outputPadding: 1, padding: [[1, 0], [0, 1]], seed: 5 }), () => new ck.BatchNorm2d(2), [1, 3, 4, 3]],
    ['grouped ConvTranspose3d', () => new ck.ConvTranspose3d(2, 4, 2, { groups: 2, seed: 6 }), () => new ck.BatchNorm3d(4), [1, 2, 2, 2, 2]],
  ];
  for (const [name, makeConv, makeBn, xShape] of cases)
    test(`${name}: weight and bias equal the CPU fold, the module is on the GPU, nothing is read back, the arguments are unchanged`, async () => {
      const conv = makeConv(), bn = trainedBn(makeBn(), 11);
      const cpuFold = ck.foldBatchNorm(conv, bn);
      const before = await Promise.all([conv.weight, bn.runningMean!, bn.runningVar!].map((t) => t.clone()));
      conv.to('webgpu');
      bn.to('webgpu');
      let fold: ConvNdBase | null = null;
      assert.equal(readbacks(() => { fold = ck.foldBatchNorm(conv, bn); }), 0, 'no readback');
      const gpuFold = fold! as ConvNdBase;
      assert.equal(gpuFold.constructor, conv.constructor);
      assert.equal(gpuFold.weight.device, 'webgpu');
      assert.equal(gpuFold.bias!.device, 'webgpu');
      assert.deepEqual(gpuFold.weight.shape, cpuFold.weight.shape);
      assert.equal(gpuFold.weight.requiresGrad, cpuFold.weight.requiresGrad);
      assertClose(await values(gpuFold.weight), cpuFold.weight.data, 1e-6, `${name} weight`);
      assertClose(await values(gpuFold.bias!), cpuFold.bias!.data, 1e-6, `${name} bias`);
      // The folded GPU module computes conv → BatchNorm (eval) of the GPU modules.
      const x = ck.randn(xShape, { seed: 9 }).to('webgpu');
      const want = ck.noGrad(() => bn.forward(conv.forward(x))), got = ck.noGrad(() => gpuFold.forward(x));
      assert.equal(got.device, 'webgpu');
      assertClose(await values(got), await values(want), 1e-5, `${name} forward`);
      for (const [i, t] of [conv.weight, bn.runningMean!, bn.runningVar!].entries())
        assert.deepEqual(await values(t), before[i].data, `${name}: argument ${i} unchanged`);
    });

  test('mixed devices (conv on the GPU, bn on the CPU, and the reverse) are a ConvError naming both devices', () => {
    const conv = () => new ck.Conv1d(2, 3, 3), bn = () => trainedBn(new ck.BatchNorm1d(3), 1);
    const mixed = (e: unknown) => both(e) && (e as Error).message.startsWith('foldBatchNorm: ');
    assert.throws(() => ck.foldBatchNorm(conv().to('webgpu'), bn()), mixed);
    assert.throws(() => ck.foldBatchNorm(conv(), bn().to('webgpu')), mixed);
    assert.throws(() => ck.foldBatchNorm(conv(), bn().to('webgpu')), /bn must be on the device of the conv's weight \('cpu'\); got its weight on device 'webgpu'/);
  });
});

describe('webgpu: in-place activations on GPU tensors', () => {
  const ops: [string, (x: Tensor, inplace: boolean) => Tensor][] = [
    ['relu', (x, ip) => ck.relu(x, ip)], ['leakyRelu', (x, ip) => ck.leakyRelu(x, 0.2, ip)],
    ['tanh', (x, ip) => ck.tanh(x, ip)], ['sigmoid', (x, ip) => ck.sigmoid(x, ip)],
  ];
  for (const [name, f] of ops) {
    test(`${name}(x, true) writes the out-of-place values into x's own buffer, returns x and bumps its version`, async () => {
      const cpu = ck.mul(ck.randn([3, 5, 17], { seed: 1 }), 4);
      const x = cpu.to('webgpu'), storage = x.storage, v = x.version;
      const expected = await values(f(x, false));
      assert.equal(f(x, true), x, 'returns its input');
      assert.equal(x.storage, storage, 'the same buffer');
      assert.equal(x.device, 'webgpu');
      assert.equal(x.version, v + 1);
      assert.deepEqual(await values(x), expected, 'bitwise the out-of-place GPU values');
      assertClose(await values(x), f(cpu, false).data, 1e-6, `${name} against the CPU`);
    });

    test(`${name}(x, true) refuses a GPU input autograd needs (nothing written), and runs under noGrad`, async () => {
      const x = ck.randn([40], { seed: 2 }).to('webgpu');
      x.requiresGrad = true;
      const copy = await values(x);
      assert.throws(() => f(x, true), (e: unknown) => e instanceof ConvError && new RegExp(`^${name}: inplace needs an input that does not require a gradient`).test(e.message));
      assert.deepEqual(await values(x), copy, 'a refused in-place op changes nothing');
      assert.equal(x.version, 0);
      assert.equal(ck.noGrad(() => f(x, true)), x);
      assert.equal(x.version, 1);
      assertClose(await values(x), f(ck.tensor(copy), false).data, 1e-6, `${name} under noGrad`);
    });
  }

  test('the write is ordered after earlier GPU work that reads x, and is seen through views (shared version)', async () => {
    const cpu = ck.randn([2, 6], { seed: 3 }), x = cpu.to('webgpu'), view = x.reshape([3, 4]);
    const doubled = ck.mul(x, 2); // enqueued before the in-place write
    ck.relu(view, true);
    assert.equal(x.version, 1, 'a view shares its version');
    assert.deepEqual(await values(doubled), ck.mul(cpu, 2).data, 'earlier work read the old values');
    assert.deepEqual(await values(x), ck.relu(cpu).data);
  });

  test('ReLU(true) / LeakyReLU(s, true) modules overwrite a GPU input; an empty tensor is fine; a non-boolean is refused', async () => {
    const cpu = ck.randn([1, 4, 30], { seed: 4 }), x = cpu.to('webgpu');
    assert.equal(ck.noGrad(() => new ck.LeakyReLU(0.2, true).forward(x)), x);
    assertClose(await values(x), ck.leakyRelu(cpu, 0.2).data, 1e-7, 'LeakyReLU in place');
    assert.equal(new ck.ReLU(true).forward(x), x);
    assert.equal(x.version, 2);
    const empty = ck.zeros([0, 3]).to('webgpu');
    assert.equal(ck.sigmoid(empty, true), empty);
    assert.throws(() => ck.relu(x, 'yes' as never), /relu: inplace must be a boolean/);
  });
});

describe('webgpu: loadStateDict with GPU tensors', () => {
  const build = (seed: number) => new ck.Sequential(new ck.Conv1d(2, 3, 3, { seed }), new ck.BatchNorm1d(3), new ck.ConvTranspose1d(3, 3, 2, { seed: seed + 1 }));

  test('a GPU dict into a GPU module is copied on the GPU: values, the same tensors and buffers, versions bumped, nothing read back', async () => {
    const src = build(1), dst = build(7).to('webgpu');
    src.forward(ck.randn([2, 2, 8], { seed: 2 })); // running statistics and the batch counter
    const want = src.stateDict();
    const dict = src.to('webgpu').stateDict();
    assert.equal(dict['0.weight'].device, 'webgpu');
    assert.equal(dict['1.num_batches_tracked'].device, 'cpu', 'the float64 counter stays on the CPU');
    const named = dst.stateDict(), tensors = Object.fromEntries([...dst.namedParameters(), ...dst.namedBuffers()]);
    const storages = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.storage]));
    const versions = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.version]));
    assert.equal(readbacks(() => dst.loadStateDict(dict)), 0, 'no readback');
    for (const [k, t] of Object.entries(tensors)) {
      assert.equal(t.storage, storages[k], `${k}: the same buffer`);
      assert.equal(t.version, versions[k] + 1, `${k}: version bumped`);
      assert.deepEqual(t.device === 'cpu' ? t.data : await values(t), want[k].data, `${k}: the loaded values`);
    }
    assert.equal(Object.keys(named).length, Object.keys(tensors).length);
    // Later writes to the dict's tensors do not reach the module (a copy, not a share).
    ck.relu(dict['0.bias'], true);
    assert.deepEqual(await values(tensors['0.bias']), want['0.bias'].data);
  });

  test("the module's own GPU tensors as the dict are loaded as they were (a swap is a swap), and a tensor into itself is kept", async () => {
    const m = new ck.Sequential(new ck.Conv1d(2, 2, 3, { seed: 1 }), new ck.Conv1d(2, 2, 3, { seed: 2 })).to('webgpu');
    const [w0, b0, w1, b1] = m.parameters();
    const [v0, v1, c0, c1] = await Promise.all([w0, w1, b0, b1].map(values));
    m.loadStateDict({ '0.weight': w1, '1.weight': w0, '0.bias': b0, '1.bias': b1.reshape([2]) });
    assert.deepEqual(await values(w0), v1);
    assert.deepEqual(await values(w1), v0);
    assert.deepEqual(await values(b0), c0);
    assert.deepEqual(await values(b1), c1);
    assert.deepEqual(m.parameters().map((p) => p.version), [1, 1, 1, 1]);
  });

  test('a GPU dict into a CPU module is a ConvError naming the key and both devices, and changes nothing; loadStateDictAsync loads it', async () => {
    const gpuModel = build(3).to('webgpu'), cpu = build(9);
    const dict = gpuModel.stateDict();
    const before = cpu.parameters().map((p) => p.data.slice());
    assert.throws(() => cpu.loadStateDict(dict), (e: unknown) => e instanceof ConvError
      && e.message.startsWith('Sequential.loadStateDict: stateDict does not match the module: ')
      && e.message.includes("'0.weight' is on device 'webgpu' but the module's tensor is on device 'cpu', which cannot read it synchronously")
      && e.message.includes('`await t.cpu()`') && e.message.includes('loadStateDictAsync'));
    cpu.parameters().forEach((p, i) => { assert.deepEqual(p.data, before[i]); assert.equal(p.version, 0); });
    const result = await cpu.loadStateDictAsync(dict);
    assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
    for (const [k, p] of [...cpu.namedParameters(), ...cpu.namedBuffers()]) {
      assert.deepEqual(p.data, dict[k].device === 'cpu' ? dict[k].data : await values(dict[k]), `${k} loaded`);
      assert.equal(p.version, 1, `${k} version`);
    }
    // A GPU module takes the same dict through the async form too (copied on the GPU).
    const other = build(5).to('webgpu');
    await other.loadStateDictAsync(dict);
    assert.deepEqual(await values(other.parameters()[0]), await values(dict['0.weight']));
    // Its checks are loadStateDict's.
    await assert.rejects(cpu.loadStateDictAsync({ ...dict, '0.weight': ck.zeros([1]).to('webgpu') }), /'0.weight' has shape \[1\] but the parameter has shape \[3, 2, 3\]/);
  });

  test('a CPU dict into a GPU module uploads it (versions bumped); a GPU value of the wrong shape is refused with nothing changed', async () => {
    const src = build(4), dst = build(8).to('webgpu');
    const dict = src.stateDict();
    dst.loadStateDict(dict);
    for (const [k, p] of dst.namedParameters()) {
      assert.equal(p.device, 'webgpu');
      assert.equal(p.version, 1);
      assert.deepEqual(await values(p), dict[k].data, k);
    }
    const w = dst.parameters()[0], keep = await values(w);
    assert.throws(() => dst.loadStateDict({ ...dict, '0.weight': ck.zeros([3, 2, 2]).to('webgpu') }), /'0.weight' has shape \[3, 2, 2\] but the parameter has shape \[3, 2, 3\]/);
    assert.deepEqual(await values(w), keep);
    assert.equal(w.version, 1);
  });
});

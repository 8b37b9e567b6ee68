/**
 * The async API: results and gradients bitwise equal to the synchronous calls for several
 * workloads and thread counts, the event loop stays responsive during a long call, argument
 * errors reject with the synchronous call's ConvError, a lost driver fails its calls and the next
 * call starts a fresh one, and a program that awaited an async call exits on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  conv1d, conv1dAsync, conv2d, conv2dAsync, conv3d, conv3dAsync, convTranspose1d, convTranspose1dAsync, convTranspose2d,
  convTranspose2dAsync, convTranspose3d, convTranspose3dAsync, ConvTranspose1d, Conv2d, paddle, asyncStats, manualSeed, noGrad, randn,
  setNumThreads, withBackend, ConvError, Conv1d, Tensor,
} from '../src/index.js';
import { own } from '../src/async/conv.js';
import { stopAsyncDriver } from '../src/async/index.js';
import { setDriverStartTimeout } from '../src/async/driver.js';

type Case = { name: string; inputs: Tensor[]; sync: () => Tensor; async: () => Promise<Tensor> };

function cases(): Case[] {
  manualSeed(11);
  const r = (s: number[]) => randn(s, { requiresGrad: true });
  const x1 = r([2, 24, 700]), w1 = r([32, 24, 5]), b1 = r([32]);
  const xt = r([2, 32, 300]), wt = r([32, 16, 8]);
  const x2 = r([2, 16, 40, 36]), wd = r([32, 1, 3, 3]), bd = r([32]);
  const wt2 = r([16, 8, 4, 4]);
  const x3 = r([1, 8, 12, 14, 16]), w3 = r([8, 8, 3, 3, 3]), wt3 = r([8, 4, 2, 3, 2]);
  const xl = r([2, 300, 24]); // channels-last for Paddle
  const pm = new paddle.Conv1D(24, 32, 5, { stride: 2, padding: 'SAME', dataFormat: 'NLC', seed: 3 } as never);
  const o1 = { padding: 2, dilation: 2, paddingMode: 'reflect' as const };
  const ot = { stride: 4, padding: 2, outputPadding: 1 };
  const od = { padding: 1, groups: 16 }, ot2 = { stride: 2, padding: 1 }, o3 = { padding: 1 }, ot3 = { stride: [2, 1, 2], groups: 2 };
  return [
    { name: 'conv1d reflect, bias', inputs: [x1, w1, b1], sync: () => conv1d(x1, w1, b1, o1), async: () => conv1dAsync(x1, w1, b1, o1) },
    { name: 'convTranspose1d stride 4', inputs: [xt, wt], sync: () => convTranspose1d(xt, wt, null, ot), async: () => convTranspose1dAsync(xt, wt, null, ot) },
    { name: 'conv2d depthwise ×2, bias', inputs: [x2, wd, bd], sync: () => conv2d(x2, wd, bd, od), async: () => conv2dAsync(x2, wd, bd, od) },
    { name: 'convTranspose2d', inputs: [x2, wt2], sync: () => convTranspose2d(x2, wt2, null, ot2), async: () => convTranspose2dAsync(x2, wt2, null, ot2) },
    { name: 'conv3d', inputs: [x3, w3], sync: () => conv3d(x3, w3, null, o3), async: () => conv3dAsync(x3, w3, null, o3) },
    { name: 'convTranspose3d groups 2', inputs: [x3, wt3], sync: () => convTranspose3d(x3, wt3, null, ot3), async: () => convTranspose3dAsync(x3, wt3, null, ot3) },
    { name: 'Paddle Conv1D NLC SAME stride 2', inputs: [xl, pm.weight, pm.bias!], sync: () => pm.forward(xl), async: () => pm.forwardAsync(xl) },
  ];
}

/** Runs async calls until the driver's workers (started by the first parallel call) take units. */
async function driverWorkersReady(): Promise<void> {
  const x = randn([2, 64, 4000], { seed: 1 } as never), w = randn([64, 64, 5], { seed: 2 } as never);
  for (const t0 = Date.now(); Date.now() - t0 < 20000;) {
    const before = asyncStats().unitsByWorkers;
    await conv1dAsync(x, w);
    if (asyncStats().unitsByWorkers > before) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail("the driver's workers never took units");
}

/** Output and the gradients of every input, as plain arrays. */
function outcome(y: Tensor, inputs: Tensor[]): number[][] {
  for (const p of inputs) p.grad = null;
  y.backward(randn(y.shape, { seed: 5 } as never));
  return [Array.from(y.data), ...inputs.map((p) => Array.from(p.grad!.data))];
}

test('async results and gradients equal the synchronous ones bitwise, for 1, 2 and 3 threads', async () => {
  const all = cases();
  for (const t of [1, 2, 3]) {
    setNumThreads(t);
    const before = asyncStats();
    if (t > 1) await driverWorkersReady(); // on a busy machine the workers may still be starting
    for (const c of all) {
      const want = withBackend('wasm', () => outcome(c.sync(), c.inputs));
      const y = await c.async();
      assert.ok(y.gradFn, `${c.name}: the async result records an autograd node`);
      const got = withBackend('wasm', () => outcome(y, c.inputs));
      got.forEach((a, i) => assert.deepEqual(a, want[i], `${c.name}, ${t} threads, ${i ? `gradient ${i}` : 'output'}`));
    }
    const after = asyncStats();
    assert.ok(after.offloaded > before.offloaded, 'the driver ran the calls');
    assert.equal(after.threads, t);
    if (t > 1) assert.ok(after.unitsByWorkers > before.unitsByWorkers, `the driver's workers ran units with ${t} threads`);
    else assert.equal(after.unitsByWorkers, before.unitsByWorkers);
  }
  setNumThreads(0);
});

test('forwardAsync of PyTorch and Paddle modules equals forward', async () => {
  const x = randn([2, 16, 200], { seed: 1 } as never), x2 = randn([1, 8, 40, 40], { seed: 2 } as never);
  const m = new ConvTranspose1d(16, 24, 5, { stride: 3, padding: 1, seed: 4 });
  assert.deepEqual(Array.from((await m.forwardAsync(x, [600])).data), Array.from(m.forward(x, [600]).data));
  const c = new Conv2d(8, 32, 3, { padding: 'same', seed: 5 });
  assert.deepEqual(Array.from((await c.forwardAsync(x2)).data), Array.from(c.forward(x2).data));
  const p = new paddle.Conv1DTranspose(16, 24, 4, { stride: 2, padding: 'SAME', seed: 6 } as never);
  const py = await p.forwardAsync(x);
  assert.deepEqual(py.shape, p.forward(x).shape);
  assert.deepEqual(Array.from(py.data), Array.from(p.forward(x).data));
  const q = new paddle.Conv2D(8, 16, 3, { padding: 1, dataFormat: 'NHWC', seed: 7 } as never);
  const xh = randn([1, 40, 40, 8], { seed: 3 } as never);
  assert.deepEqual(Array.from((await q.forwardAsync(xh)).data), Array.from(q.forward(xh).data));
});

test('the event loop keeps ticking during a long async call', async (t) => {
  setNumThreads(2);
  manualSeed(2);
  const x = randn([4, 64, 20000]), w = randn([64, 64, 9]);
  await conv1dAsync(randn([1, 64, 4000]), w, null, { padding: 4 }); // the driver is warm
  let ticks = 0, last = performance.now(), worst = 0;
  const timer = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now; ticks++; }, 5);
  const t0 = performance.now();
  const y = await conv1dAsync(x, w, null, { padding: 4 });
  const ms = performance.now() - t0;
  clearInterval(timer);
  const want = withBackend('wasm', () => conv1d(x, w, null, { padding: 4 }));
  assert.deepEqual(Array.from(y.data), Array.from(want.data));
  t.diagnostic(`async conv1d [4, 64, 20000] * [64, 64, 9]: ${ms.toFixed(0)} ms, ${ticks} ticks of a 5 ms timer, worst gap ${worst.toFixed(1)} ms`);
  assert.ok(ms > 40, `the call took ${ms.toFixed(0)} ms: long enough to watch`);
  assert.ok(ticks >= Math.floor(ms / 5 / 4), `${ticks} ticks of 5 ms in ${ms.toFixed(0)} ms (worst gap ${worst.toFixed(0)} ms)`);
  setNumThreads(0);
});

test('Conv1d.forwardAsync refuses an outputSize as forward does', async () => {
  const m = new Conv1d(4, 6, 3, { seed: 1 }), x = randn([1, 4, 10]);
  const sync = (() => { try { m.forward(x, [6]); } catch (e) { return e as ConvError; } })()!;
  assert.ok(sync instanceof ConvError && /outputSize/.test(sync.message));
  await assert.rejects(m.forwardAsync(x, [6]), (e: unknown) => e instanceof ConvError && e.message === sync.message);
});

test('operands are copied at call time: a SharedArrayBuffer-backed tensor zeroed right after the call leaves the result alone', async () => {
  manualSeed(21);
  const w = randn([32, 24, 5]), src = randn([2, 24, 700]);
  const shared = new Float32Array(new SharedArrayBuffer(src.data.byteLength));
  shared.set(src.data);
  const x = new Tensor(shared, [2, 24, 700]), expected = Array.from(conv1d(x, w).data);
  const before = asyncStats().offloaded;
  const pending = conv1dAsync(x, w);
  shared.fill(0);
  const y = await pending;
  assert.equal(asyncStats().offloaded, before + 1, 'the call ran on the driver');
  assert.deepEqual(Array.from(y.data), expected);
});

test('a small view into a large buffer is sent as a copy of its own bytes, and computes like the whole array', async () => {
  manualSeed(22);
  const w = randn([32, 24, 5]), src = randn([2, 24, 700]);
  const big = new Float32Array(src.data.length + 3_000_000);
  big.set(src.data, 1000);
  const view = big.subarray(1000, 1000 + src.data.length);
  const sent = own(view);
  assert.equal(sent.buffer.byteLength, view.byteLength, 'only the view\'s bytes');
  assert.deepEqual(Array.from(sent), Array.from(view));
  assert.equal(own(src.data), src.data, 'a whole ordinary array is left to postMessage to clone');
  const y = await conv1dAsync(new Tensor(view, [2, 24, 700]), w);
  assert.deepEqual(Array.from(y.data), Array.from(conv1d(src, w).data));
});

test('argument errors reject with the synchronous ConvError; noGrad at call time holds for the result', async () => {
  const x = randn([1, 4, 10]), w = randn([6, 3, 3]);
  const sync = (() => { try { conv1d(x, w); } catch (e) { return e as ConvError; } })()!;
  assert.ok(sync instanceof ConvError);
  await assert.rejects(conv1dAsync(x, w), (e: unknown) => e instanceof ConvError && e.message === sync.message);
  await assert.rejects(convTranspose1dAsync(randn([1, 4, 10]), randn([4, 2, 3]), null, { stride: 2, outputSize: [40] }), ConvError);
  const xg = randn([2, 32, 400], { requiresGrad: true }), wg = randn([32, 32, 5], { requiresGrad: true });
  const pending = noGrad(() => conv1dAsync(xg, wg));
  const y = await pending;
  assert.equal(y.gradFn, null);
  assert.deepEqual(Array.from(y.data), Array.from(noGrad(() => conv1d(xg, wg)).data));
});

test('a lost driver fails its calls with a ConvError and the next call starts a fresh one', async () => {
  setNumThreads(2);
  const x = randn([4, 64, 20000], { seed: 8 } as never), w = randn([64, 64, 9], { seed: 9 } as never);
  const call = conv1dAsync(x, w, null, { padding: 4 });
  stopAsyncDriver();
  await assert.rejects(call, (e: unknown) => e instanceof ConvError && /^async: driver stopped: .*next call starts a fresh driver/.test(e.message));
  const y = await conv1dAsync(x, w, null, { padding: 4 });
  assert.deepEqual(Array.from(y.data), Array.from(withBackend('wasm', () => conv1d(x, w, null, { padding: 4 })).data));
  setNumThreads(0);
});

test('a driver that does not load in time fails its calls; its late messages and exit leave the next driver alone', async () => {
  setNumThreads(2);
  const x = randn([2, 64, 4000], { seed: 3 } as never), w = randn([64, 64, 5], { seed: 4 } as never);
  const want = Array.from(withBackend('wasm', () => conv1d(x, w, null, { padding: 2 })).data);
  stopAsyncDriver(); // the next call starts a fresh driver, which cannot load within 1 ms
  setDriverStartTimeout(1);
  try {
    await assert.rejects(conv1dAsync(x, w, null, { padding: 2 }),
      (e: unknown) => e instanceof ConvError && /^async: driver stopped: the driver did not start within 1 ms; the next call starts a fresh driver/.test(e.message));
  } finally {
    setDriverStartTimeout(0);
  }
  // The replaced driver may still post 'ready' and then exit while these calls are in flight.
  for (let i = 0; i < 3; i++) {
    const y = await conv1dAsync(x, w, null, { padding: 2 });
    assert.deepEqual(Array.from(y.data), want, `call ${i} after the restart`);
  }
  assert.throws(() => setDriverStartTimeout(-5), ConvError);
  setNumThreads(0);
});

test('a program that awaited async calls exits on its own', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const script = `import { conv1dAsync, convTranspose1dAsync, randn, setNumThreads } from './src/index.ts';
    setNumThreads(2);
    const y = await conv1dAsync(randn([4, 64, 2000]), randn([64, 64, 5]), null, { padding: 2 });
    const z = await convTranspose1dAsync(y, randn([64, 32, 4]), null, { stride: 2 });
    console.log('done', y.shape.join('x'), z.shape.join('x'));`;
  // A worker or timer left referenced keeps the process alive until spawnSync kills it (signal set).
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.signal, null, 'the program was still running after 60 s: something keeps the event loop alive');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /done 4x64x2000 4x32x4002/);
});

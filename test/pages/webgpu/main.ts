/**
 * The WebGPU page test's script: starts convkit on navigator.gpu, runs convolutions (forward and
 * backward) on GPU tensors and the same calls on the CPU, and publishes both on window.result.
 */
import * as ck from '../../../src/index.js';

interface PageResult { adapter: string; cases: { name: string; gpu: number[]; cpu: number[] }[]; error?: string }

async function run(): Promise<PageResult> {
  const info = await ck.initWebGPU();
  const cases: PageResult['cases'] = [];
  const add = async (name: string, f: (x: ck.Tensor, w: ck.Tensor) => ck.Tensor, xs: number[], ws: number[]) => {
    const x = ck.randn(xs, { seed: 1 }), w = ck.randn(ws, { seed: 2 });
    const xg = x.to('webgpu'), wg = w.to('webgpu');
    wg.requiresGrad = true;
    const yg = f(xg, wg);
    ck.sum(ck.mul(yg, yg)).backward();
    const wc = w.clone();
    wc.requiresGrad = true;
    const yc = f(x, wc);
    ck.sum(ck.mul(yc, yc)).backward();
    cases.push({ name, gpu: [...(await yg.cpu()).data, ...(await wg.grad!.cpu()).data], cpu: [...yc.data, ...wc.grad!.data] });
  };
  await add('conv1d stride 2 dilation 2', (x, w) => ck.conv1d(x, w, null, { stride: 2, dilation: 2, padding: 1 }), [2, 3, 17], [4, 3, 3]);
  await add('convTranspose1d stride 4 (audio upsampling)', (x, w) => ck.convTranspose1d(x, w, null, { stride: 4, padding: 2 }), [1, 4, 9], [4, 2, 8]);
  await add('conv2d groups 2 reflect', (x, w) => ck.conv2d(x, w, null, { groups: 2, padding: 1, paddingMode: 'reflect' }), [1, 4, 6, 5], [6, 2, 3, 3]);
  await add('convTranspose3d stride 2', (x, w) => ck.convTranspose3d(x, w, null, { stride: 2, outputPadding: 1 }), [1, 2, 3, 2, 3], [2, 3, 2, 2, 2]);
  return { adapter: info.adapter, cases };
}

const w = window as unknown as { result?: PageResult };
run().then((r) => { w.result = r; }, (e: Error) => { w.result = { adapter: '', cases: [], error: `${e.name}: ${e.message}` }; });

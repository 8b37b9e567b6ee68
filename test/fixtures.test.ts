/**
 * Replays the PyTorch fixtures (test/cases/torch-*.json, made by scripts/gen_fixtures.py) on every
 * backend: forward outputs, gradients of x, w and b after y.backward(gy), and PyTorch's error cases.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as convkit from '../src/index.js';
import { backends, ConvError, withBackend, type Tensor } from '../src/index.js';
import { caseTensors, loadCases, toTensor, type ConvCase, type ErrorCase } from './helpers/fixtures.js';
import { assertClose } from './helpers/close.js';

type OpFn = (x: Tensor, w: Tensor, b: Tensor | null, options: object) => Tensor;
const OPS: Record<string, OpFn> = {
  conv1d: convkit.conv1d as OpFn,
  conv2d: convkit.conv2d as OpFn,
  conv3d: convkit.conv3d as OpFn,
  convTranspose1d: convkit.convTranspose1d as OpFn,
  convTranspose2d: convkit.convTranspose2d as OpFn,
  convTranspose3d: convkit.convTranspose3d as OpFn,
};

/** Forward tolerance relative to the output's max-abs scale, and the gradients' (float64 only). */
const FORWARD_RTOL = { float32: 1e-5, float64: 1e-10 } as const;
const GRAD_RTOL = { float32: 1e-4, float64: 1e-9 } as const;

const FILES = ['conv1d', 'conv2d', 'conv3d', 'conv-transpose1d', 'conv-transpose2d', 'conv-transpose3d'];
const BACKENDS = backends();

test('every backend is replayed, ref and js included', () => {
  assert.ok(BACKENDS.includes('ref') && BACKENDS.includes('js'), `backends: ${BACKENDS.join(', ')}`);
});

function replay(c: ConvCase): void {
  const { x, w, b, gy } = caseTensors(c);
  const y = OPS[c.op](x, w, b, c.options);
  assert.deepEqual([...y.shape], c.y.shape, 'output shape');
  assert.equal(y.dtype, c.dtype, 'output dtype');
  assertClose(y.data, c.y.data, FORWARD_RTOL[c.dtype], 'y');
  if (!gy) return;
  y.backward(gy);
  for (const [name, t, want] of [['gx', x, c.gx], ['gw', w, c.gw], ['gb', b, c.gb]] as const) {
    if (!t || !want) continue;
    assert.ok(t.grad, `${name}: no gradient accumulated`);
    assert.deepEqual([...t.grad.shape], want.shape, `${name} shape`);
    assertClose(t.grad.data, want.data, GRAD_RTOL[c.dtype], name);
  }
}

type ModuleCtor = new (inChannels: number, outChannels: number, kernelSize: number[], opts: object) =>
  { weight: Tensor; bias: Tensor | null; forward(x: Tensor, outputSize?: readonly number[]): Tensor };
const MODULES: Record<string, ModuleCtor> = {
  conv1d: convkit.Conv1d as unknown as ModuleCtor,
  conv2d: convkit.Conv2d as unknown as ModuleCtor,
  conv3d: convkit.Conv3d as unknown as ModuleCtor,
  convTranspose1d: convkit.ConvTranspose1d as unknown as ModuleCtor,
  convTranspose2d: convkit.ConvTranspose2d as unknown as ModuleCtor,
  convTranspose3d: convkit.ConvTranspose3d as unknown as ModuleCtor,
};

/** The same case through the module (PyTorch's nn.ConvNd: outputSize is a forward argument). */
function replayModule(c: ConvCase): void {
  const transposed = c.op.startsWith('convTranspose');
  const { outputSize, ...opts } = c.options as { outputSize?: number[] };
  const groups = (opts as { groups?: number }).groups ?? 1;
  const [w0, w1, ...k] = c.w.shape;
  const [cIn, cOut] = transposed ? [w0, w1 * groups] : [w1 * groups, w0];
  const m = new MODULES[c.op](cIn, cOut, k, { ...opts, bias: c.b !== null, dtype: c.dtype });
  m.weight.data.set(c.w.data);
  if (c.b) m.bias!.data.set(c.b.data);
  const x = toTensor(c.x, c.dtype, c.gy !== undefined);
  const y = m.forward(x, outputSize);
  assert.deepEqual([...y.shape], c.y.shape, 'module output shape');
  assertClose(y.data, c.y.data, FORWARD_RTOL[c.dtype], 'module y');
  if (!c.gy) return;
  y.backward(toTensor(c.gy, c.dtype));
  assertClose(x.grad!.data, c.gx!.data, GRAD_RTOL[c.dtype], 'module gx');
  assertClose(m.weight.grad!.data, c.gw!.data, GRAD_RTOL[c.dtype], 'module gw');
  if (c.b) assertClose(m.bias!.grad!.data, c.gb!.data, GRAD_RTOL[c.dtype], 'module gb');
}

for (const file of FILES) {
  const cases = loadCases<ConvCase>(`torch-${file}.json`);
  const op = cases[0].op;
  describe(`${op}: PyTorch fixtures`, () => {
    test('the fixture file covers forward and gradient cases', () => {
      assert.ok(cases.length > 0 && cases.every((c) => c.op === op));
      assert.ok(cases.some((c) => c.gy !== undefined) && cases.some((c) => c.dtype === 'float32'));
    });
    for (const c of cases) {
      test(c.name + (c.gy ? ' (+grad)' : ''), async (t) => {
        for (const backend of BACKENDS) await t.test(backend, () => withBackend(backend, () => replay(c)));
      });
    }
    test('every case through the module class (default backend)', () => {
      const failures: string[] = [];
      for (const c of cases) {
        try {
          replayModule(c);
        } catch (err) {
          failures.push(`${c.name}: ${(err as Error).message}`);
        }
      }
      assert.deepEqual(failures, []);
    });
  });
}

describe('PyTorch error cases: convkit throws ConvError naming the parameter', () => {
  const cases = loadCases<ErrorCase>('torch-errors.json');
  for (const c of cases) {
    test(`${c.name} → ${c.param}`, () => {
      const x = convkit.zeros(c.x.shape, { dtype: c.x.dtype });
      const w = convkit.zeros(c.w.shape, { dtype: c.w.dtype });
      const b = c.b ? convkit.zeros(c.b.shape, { dtype: c.b.dtype }) : null;
      assert.throws(
        () => OPS[c.op](x, w, b, c.options),
        (err: unknown) => {
          assert.ok(err instanceof ConvError, `expected a ConvError, got ${String(err)} (PyTorch: ${c.torchMessage})`);
          assert.ok(err.message.startsWith(`${c.op}: `), `message names the op: ${err.message}`);
          assert.ok(err.message.includes(c.param), `message names '${c.param}': ${err.message} (PyTorch: ${c.torchMessage})`);
          assert.equal(err.param, c.param, `param of: ${err.message}`);
          return true;
        },
      );
    });
  }
});

/**
 * Property tests (fast-check, bounded runs): every backend equals 'ref' forward and backward over
 * random shapes and options; 'ref' equals docs/behaviour.md's formulas; and ⟨conv(x, w), y⟩ = ⟨x, convTranspose(y, w)⟩.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  backends, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, convTransposeOutSize, convOutSize, span,
  tensor, torchSamePads, withBackend, type DType, type PaddingMode, type Tensor,
} from '../src/index.js';
import { directConv, directConvTranspose, padPlanes, prod, randomInts, randomValues, lastToFirst } from './helpers-core.js';

const CONV = [conv1d, conv2d, conv3d];
const CONVT = [convTranspose1d, convTranspose2d, convTranspose3d];

interface Dim { L: number; k: number; s: number; d: number; p0: number; p1: number; op: number }
interface Case {
  rank: 1 | 2 | 3;
  transposed: boolean;
  n: number;
  groups: number;
  cig: number;
  cog: number;
  dims: Dim[];
  mode: PaddingMode;
  same: boolean;
  useOutputSize: boolean;
  batched: boolean;
  channelsLast: boolean;
  bias: boolean;
  seed: number;
}

const dimArb = fc.record({
  L: fc.integer({ min: 1, max: 6 }), k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 3 }),
  d: fc.integer({ min: 1, max: 2 }), p0: fc.integer({ min: 0, max: 3 }), p1: fc.integer({ min: 0, max: 3 }), op: fc.integer({ min: 0, max: 2 }),
});

/** Random valid cases: sizes are clamped so that every output is non-empty and every padding mode is legal. */
const caseArb: fc.Arbitrary<Case> = fc.record({
  rank: fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
  transposed: fc.boolean(),
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cig: fc.integer({ min: 1, max: 2 }),
  cog: fc.integer({ min: 1, max: 2 }),
  dims: fc.array(dimArb, { minLength: 3, maxLength: 3 }),
  mode: fc.constantFrom('zeros', 'zeros', 'reflect', 'replicate', 'circular') as fc.Arbitrary<PaddingMode>,
  same: fc.boolean(),
  useOutputSize: fc.boolean(),
  batched: fc.boolean(),
  channelsLast: fc.boolean(),
  bias: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
}).map((c) => {
  const dims = c.dims.slice(0, c.rank).map((q) => {
    const L = c.rank === 3 ? Math.min(q.L, 4) : q.L;
    let { p0, p1 } = q;
    const sp = span(q.k, q.d);
    if (!c.transposed) {
      if (c.mode === 'reflect') { p0 = Math.min(p0, L - 1); p1 = Math.min(p1, L - 1); }
      if (c.mode === 'circular') { p0 = Math.min(p0, L); p1 = Math.min(p1, L); }
      // Enough input for one output: L + p0 + p1 ≥ span.
      return { ...q, L: Math.max(L, sp - p0 - p1), p0, p1, op: 0 };
    }
    // outputPadding < max(s, δ); an outputSize can only ask for less than s more (PyTorch's range).
    const op = q.op % (c.useOutputSize ? q.s : Math.max(q.s, q.d));
    const full = (L - 1) * q.s + sp + op;
    p0 = Math.min(p0, full - 1);
    p1 = Math.min(p1, full - 1 - p0);
    return { ...q, L, p0, p1, op };
  });
  const same = c.same && !c.transposed && dims.every((q) => q.s === 1);
  // 'same' pads are fixed by the kernel; keep reflect/circular legal for them.
  const fixed = same ? dims.map((q) => {
    const [a, b] = torchSamePads(q.k, q.d);
    const need = c.mode === 'reflect' ? Math.max(a, b) + 1 : c.mode === 'circular' ? Math.max(a, b) : 1;
    return { ...q, p0: a, p1: b, L: Math.max(q.L, need) };
  }) : dims;
  return { ...c, dims: fixed, same, mode: c.transposed ? 'zeros' : c.mode } as Case;
});

function shapes(c: Case): { x: number[]; w: number[]; cIn: number; cOut: number } {
  const cIn = c.groups * c.cig, cOut = c.groups * c.cog, L = c.dims.map((q) => q.L), k = c.dims.map((q) => q.k);
  const spatialX = c.channelsLast ? [...L, cIn] : [cIn, ...L];
  const x = c.batched ? [c.n, ...spatialX] : spatialX;
  const w = c.transposed ? [cIn, c.cog, ...k] : [cOut, c.cig, ...k];
  return { x, w, cIn, cOut };
}

function options(c: Case): Record<string, unknown> {
  const o: Record<string, unknown> = {
    stride: c.dims.map((q) => q.s), dilation: c.dims.map((q) => q.d), groups: c.groups,
    padding: c.same ? 'same' : c.dims.map((q) => [q.p0, q.p1]),
  };
  if (c.channelsLast) o.dataFormat = 'channelsLast';
  if (c.transposed) {
    if (c.useOutputSize) o.outputSize = c.dims.map((q) => convTransposeOutSize(q.L, q.k, q.s, q.d, [q.p0, q.p1], q.op));
    else o.outputPadding = c.dims.map((q) => q.op);
  } else if (c.mode !== 'zeros') o.paddingMode = c.mode;
  return o;
}

interface Run { y: Tensor; gx: Float64Array; gw: Float64Array; gb: Float64Array | null }

/** Forward and backward once, on the current backend; data are small integers so float32 sums are exact. */
function run(c: Case, dtype: DType): Run {
  const { x: xs, w: ws, cOut } = shapes(c);
  const x = tensor(randomInts(prod(xs), c.seed), xs, { dtype, requiresGrad: true });
  const w = tensor(randomInts(prod(ws), c.seed + 1), ws, { dtype, requiresGrad: true });
  const b = c.bias ? tensor(randomInts(cOut, c.seed + 2), [cOut], { dtype, requiresGrad: true }) : null;
  const fn = (c.transposed ? CONVT : CONV)[c.rank - 1] as (x: Tensor, w: Tensor, b: Tensor | null, o: object) => Tensor;
  const y = fn(x, w, b, options(c));
  y.backward(tensor(randomInts(y.size, c.seed + 3), [...y.shape], { dtype }));
  const f64 = (t: Tensor | null) => Float64Array.from(t!.grad!.data);
  return { y, gx: f64(x), gw: f64(w), gb: b ? f64(b) : null };
}

const RUNS = Number(process.env.CONVKIT_PROPERTY_RUNS ?? 500);
/** A fixed seed keeps CI reproducible; CONVKIT_PROPERTY_SEED explores other cases. */
const SEED = Number(process.env.CONVKIT_PROPERTY_SEED ?? 20240601);

test(`every backend equals 'ref' forward and backward (${RUNS} random cases, all ranks and options)`, () => {
  const others = backends().filter((b) => b !== 'ref');
  assert.ok(others.length >= 1);
  fc.assert(
    fc.property(caseArb, fc.constantFrom('float32', 'float64') as fc.Arbitrary<DType>, (c, dtype) => {
      const ref = withBackend('ref', () => run(c, dtype));
      for (const b of others) {
        const got = withBackend(b, () => run(c, dtype));
        assert.deepEqual([...got.y.shape], [...ref.y.shape], `${b} shape`);
        assert.deepEqual(Array.from(got.y.data), Array.from(ref.y.data), `${b} forward`);
        assert.deepEqual(Array.from(got.gx), Array.from(ref.gx), `${b} grad input`);
        assert.deepEqual(Array.from(got.gw), Array.from(ref.gw), `${b} grad weight`);
        assert.deepEqual(got.gb && Array.from(got.gb), ref.gb && Array.from(ref.gb), `${b} grad bias`);
      }
    }),
    { numRuns: RUNS, seed: SEED + 0 },
  );
});

test(`'ref' equals docs/behaviour.md's formulas, written independently (${RUNS} random cases)`, () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const { x: xs, w: ws, cIn, cOut } = shapes(c);
      const { y } = withBackend('ref', () => run(c, 'float64'));
      let x = randomInts(prod(xs), c.seed);
      const w = randomInts(prod(ws), c.seed + 1);
      const bias = c.bias ? randomInts(cOut, c.seed + 2) : null;
      let yShape = [...y.shape], yData = Array.from(y.data);
      // Bring everything to batched channels-first.
      const xb = c.batched ? xs : [1, ...xs];
      if (!c.batched) yShape = [1, ...yShape];
      if (c.channelsLast) {
        x = lastToFirst(x, xb).y;
        const t = lastToFirst(yData, yShape);
        yData = t.y;
        yShape = t.shape;
      }
      const n = xb[0];
      const g = {
        n, cIn, cOut, groups: c.groups, inSize: c.dims.map((q) => q.L), kSize: c.dims.map((q) => q.k),
        stride: c.dims.map((q) => q.s), dilation: c.dims.map((q) => q.d), pads: c.dims.map((q) => [q.p0, q.p1] as [number, number]),
      };
      let ref: { y: Float64Array; outSize: number[] };
      if (c.transposed) ref = directConvTranspose(x, w, g, c.dims.map((q) => q.op));
      else if (c.mode === 'zeros') ref = directConv(x, w, g);
      else {
        const padded = padPlanes(x, n * cIn, g.inSize, g.pads, c.mode);
        ref = directConv(padded.y, w, { ...g, inSize: padded.size, pads: g.pads.map(() => [0, 0] as [number, number]) });
      }
      assert.deepEqual(yShape, [n, cOut, ...ref.outSize]);
      if (!c.transposed) assert.deepEqual(ref.outSize, c.dims.map((q) => convOutSize(q.L, q.k, q.s, q.d, [q.p0, q.p1])));
      const vol = prod(ref.outSize);
      assert.deepEqual(yData, Array.from(ref.y, (v, i) => v + (bias ? bias[Math.floor(i / vol) % cOut] : 0)));
    }),
    { numRuns: RUNS, seed: SEED + 1 },
  );
});

test(`⟨conv(x, w), y⟩ = ⟨x, convTranspose(y, w)⟩ in float64 on every backend (${RUNS} random geometries)`, () => {
  fc.assert(
    fc.property(caseArb, fc.boolean(), (c0, viaOutputSize) => {
      const c = { ...c0, transposed: false, mode: 'zeros' as PaddingMode, same: false, batched: true, channelsLast: false };
      const { x: xs, w: ws } = shapes(c);
      const outSize = c.dims.map((q) => convOutSize(q.L, q.k, q.s, q.d, [q.p0, q.p1]));
      if (outSize.some((o) => o < 1)) return;
      const stride = c.dims.map((q) => q.s), dilation = c.dims.map((q) => q.d), padding = c.dims.map((q) => [q.p0, q.p1] as [number, number]);
      // The output padding that restores x's size: L − ((Lout − 1)s − p0 − p1 + δ(k − 1) + 1), always < s.
      const outputPadding = c.dims.map((q, a) => q.L - convTransposeOutSize(outSize[a], q.k, q.s, q.d, [q.p0, q.p1], 0));
      assert.ok(outputPadding.every((p, a) => p >= 0 && p < stride[a]));
      const xv = randomValues(prod(xs), c.seed), wv = randomValues(prod(ws), c.seed + 1);
      const ys = [c.n, c.groups * c.cog, ...outSize], yv = randomValues(prod(ys), c.seed + 2);
      for (const b of backends())
        withBackend(b, () => {
          const x = tensor(xv, xs, { dtype: 'float64' }), w = tensor(wv, ws, { dtype: 'float64' }), y = tensor(yv, ys, { dtype: 'float64' });
          const cx = CONV[c.rank - 1](x, w, null, { stride, dilation, padding, groups: c.groups });
          assert.deepEqual([...cx.shape], ys);
          const tOpts = viaOutputSize ? { outputSize: xs.slice(2) } : { outputPadding };
          const ty = CONVT[c.rank - 1](y, w, null, { stride, dilation, padding, groups: c.groups, ...tOpts });
          assert.deepEqual([...ty.shape], xs);
          let lhs = 0, rhs = 0, scale = 0;
          for (let i = 0; i < yv.length; i++) { lhs += cx.data[i] * yv[i]; scale += Math.abs(cx.data[i] * yv[i]); }
          for (let i = 0; i < xv.length; i++) rhs += xv[i] * ty.data[i];
          assert.ok(Math.abs(lhs - rhs) <= 1e-12 * (1 + scale), `[${b}] ⟨conv x, y⟩ = ${lhs} but ⟨x, convT y⟩ = ${rhs}`);
        });
    }),
    { numRuns: RUNS, seed: SEED + 2 },
  );
});

/**
 * Fuzzing the functional API with options valid or not (wrong types, NaN, negative, huge, strings) and
 * shapes right or wrong. An independent model of docs/behaviour.md predicts, for every call, either an error or the
 * output shape; the library must then throw a ConvError (never another error, never hang) or return
 * exactly that shape with docs/behaviour.md's values, on every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  backends, paddle, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, ConvError, tensor, withBackend, type Tensor,
} from '../src/index.js';
import { directConv, directConvTranspose, firstToLast, lastToFirst, padPlanes, prod, randomInts } from './helpers-core.js';

type Mode = 'zeros' | 'reflect' | 'replicate' | 'circular';
const MAX_OUT = 2 ** 28;
const MODES = ['zeros', 'reflect', 'replicate', 'circular'];
const FORMATS: Record<number, [string, string]> = { 1: ['NCL', 'NLC'], 2: ['NCHW', 'NHWC'], 3: ['NCDHW', 'NDHWC'] };

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** docs/behaviour.md's per-dim option: an int or `rank` ints, each ≥ min; PyTorch (`single`) also repeats a one-element list. */
function perDim(v: unknown, rank: number, min: number, single = false): number[] | null {
  let list = isInt(v) ? new Array<number>(rank).fill(v) : Array.isArray(v) ? v : null;
  if (single && list && list.length === 1) list = new Array(rank).fill(list[0]);
  if (!list || list.length !== rank || !list.every(isInt) || list.some((x) => x < min)) return null;
  return list as number[];
}

function padding(v: unknown, rank: number, transposed: boolean): [number, number][] | 'same' | null {
  if (v === undefined) return new Array(rank).fill(0).map(() => [0, 0]);
  // PyTorch's transposed ops take no padding strings at all.
  if (typeof v === 'string' && transposed) return null;
  if (v === 'valid') return new Array(rank).fill(0).map(() => [0, 0]);
  if (v === 'same') return 'same';
  if (Array.isArray(v) && v.length === rank && v.every(Array.isArray)) {
    const ok = v.every((p: unknown[]) => p.length === 2 && p.every((q) => isInt(q) && q >= 0));
    return ok ? v.map((p: number[]) => [p[0], p[1]] as [number, number]) : null;
  }
  const sym = perDim(v, rank, 0, true);
  return sym && sym.map((p) => [p, p] as [number, number]);
}

interface Prediction {
  outShape: number[];
  channelsLast: boolean;
  batched: boolean;
  n: number; cIn: number; cOut: number; groups: number;
  inSize: number[]; kSize: number[]; stride: number[]; dilation: number[]; pads: [number, number][]; outputPadding: number[]; mode: Mode;
}

/** The model: null where docs/behaviour.md says the call is an error, else what it must compute. */
function predict(rank: number, transposed: boolean, options: unknown, xs: number[], ws: number[], bs: number[] | null, mixedDtype: boolean, api: 'torch' | 'paddle' = 'torch'): Prediction | null {
  if (options === null || (options !== undefined && typeof options !== 'object')) return null;
  const o = (options ?? {}) as Record<string, unknown>;
  const torch = api === 'torch';
  // Paddle's functional ops have no paddingMode.
  const allowed = ['stride', 'padding', 'dilation', 'groups', ...(torch ? ['paddingMode'] : []), 'dataFormat', ...(transposed ? ['outputPadding', 'outputSize'] : [])];
  if (Object.keys(o).some((k) => !allowed.includes(k))) return null;
  const stride = perDim(o.stride ?? 1, rank, 1, torch), dilation = perDim(o.dilation ?? 1, rank, 1, torch);
  const pad = padding(o.padding, rank, transposed);
  if (!stride || !dilation || !pad) return null;
  if (pad === 'same' && stride.some((s) => s !== 1)) return null;
  const mode = (o.paddingMode ?? 'zeros') as Mode;
  if (!MODES.includes(mode) || (transposed && mode !== 'zeros')) return null;
  // null means 'not given' for stride, dilation and outputPadding (as `??` reads it) but is a wrong type elsewhere.
  const groups = o.groups === undefined ? 1 : o.groups;
  if (!isInt(groups) || groups < 1) return null;
  const f = o.dataFormat;
  const formats = [...(torch ? ['channelsFirst', 'channelsLast'] : []), ...FORMATS[rank]]; // Paddle takes its own names only
  if (f !== undefined && !formats.includes(f as string)) return null;
  const channelsLast = f === 'channelsLast' || f === FORMATS[rank][1];
  let outputPadding = new Array<number>(rank).fill(0);
  if (transposed) {
    const op = perDim(o.outputPadding ?? 0, rank, 0, torch);
    if (!op || op.some((p, a) => p >= stride[a] && p >= dilation[a])) return null;
    // Paddle's conv1d_transpose: "output_padding should not be greater than stride".
    if (!torch && rank === 1 && op[0] > stride[0]) return null;
    outputPadding = op;
  }
  // Operands.
  if (mixedDtype) return null;
  if (xs.length !== rank + 1 && xs.length !== rank + 2) return null;
  if (!torch && xs.length !== rank + 2) return null; // Paddle: batched input only
  const batched = xs.length === rank + 2;
  const inSize = channelsLast ? xs.slice(xs.length - rank - 1, -1) : xs.slice(xs.length - rank);
  const cIn = channelsLast ? xs[xs.length - 1] : xs[xs.length - rank - 1];
  if (inSize.some((L) => L < 1)) return null;
  if (ws.length !== rank + 2 || ws.some((s) => s < 1) || ws[0] % groups !== 0) return null;
  if (cIn !== (transposed ? ws[0] : ws[1] * groups)) return null;
  const cOut = transposed ? ws[1] * groups : ws[0];
  if (bs && (bs.length !== 1 || bs[0] !== cOut)) return null;
  const kSize = ws.slice(2);
  const pads: [number, number][] = pad === 'same'
    ? kSize.map((k, a) => { const t = dilation[a] * (k - 1); return [Math.floor(t / 2), t - Math.floor(t / 2)]; })
    : pad;
  const spanOf = (a: number) => dilation[a] * (kSize[a] - 1) + 1;
  let outSize: number[];
  if (!transposed) {
    if (mode === 'reflect' && pads.some(([p0, p1], a) => p0 >= inSize[a] || p1 >= inSize[a])) return null;
    if (mode === 'circular' && pads.some(([p0, p1], a) => p0 > inSize[a] || p1 > inSize[a])) return null;
    // A padding mode materialises the padded input, which must fit as an output would.
    const padded = Math.max(batched ? xs[0] : 1, 1) * cIn * prod(inSize.map((L, a) => L + pads[a][0] + pads[a][1]));
    if (mode !== 'zeros' && pads.some(([p0, p1]) => p0 + p1 > 0) && (!Number.isSafeInteger(padded) || padded > MAX_OUT)) return null;
    outSize = inSize.map((L, a) => Math.floor((L + pads[a][0] + pads[a][1] - spanOf(a)) / stride[a]) + 1);
  } else {
    if (o.outputSize !== undefined) {
      // Paddle: an integer for every dim, or the spatial sizes only.
      const req = !torch && isInt(o.outputSize) ? new Array(rank).fill(o.outputSize) : o.outputSize;
      if (!Array.isArray(req)) return null;
      let spatial: unknown[];
      if (req.length === rank) spatial = req;
      else if (torch && req.length === rank + (batched ? 2 : 1)) {
        const c = channelsLast ? req[req.length - 1] : req[req.length - rank - 1];
        if (c !== cOut || (batched && req[0] !== xs[0])) return null;
        spatial = channelsLast ? req.slice(req.length - rank - 1, -1) : req.slice(req.length - rank);
      } else return null;
      if (!spatial.every(isInt)) return null;
      const min = inSize.map((L, a) => (L - 1) * stride[a] - pads[a][0] - pads[a][1] + spanOf(a));
      if ((spatial as number[]).some((v, a) => v < min[a] || v > min[a] + stride[a] - 1)) return null;
      outputPadding = (spatial as number[]).map((v, a) => v - min[a]);
    }
    outSize = inSize.map((L, a) => (L - 1) * stride[a] - pads[a][0] - pads[a][1] + spanOf(a) + outputPadding[a]);
  }
  if (outSize.some((v) => v <= 0)) return null;
  const n = batched ? xs[0] : 1;
  // The limit counts at least one sample, so an empty batch cannot hide a huge per-sample output.
  const total = Math.max(n, 1) * cOut * prod(outSize);
  if (!Number.isSafeInteger(total) || total > MAX_OUT) return null;
  const outShape = channelsLast ? [...outSize, cOut] : [cOut, ...outSize];
  return {
    outShape: batched ? [n, ...outShape] : outShape, channelsLast, batched, n, cIn, cOut, groups, inSize, kSize,
    stride, dilation, pads, outputPadding, mode,
  };
}

/** docs/behaviour.md's values for a predicted call (channels-first batched internally). */
function expectedValues(p: Prediction, x: number[], xs: number[], w: number[], b: number[] | null, transposed: boolean): number[] {
  const xb = p.batched ? xs : [1, ...xs];
  let xf = p.channelsLast ? lastToFirst(x, xb).y : x;
  let g = { n: p.n, cIn: p.cIn, cOut: p.cOut, groups: p.groups, inSize: p.inSize, kSize: p.kSize, stride: p.stride, dilation: p.dilation, pads: p.pads };
  if (!transposed && p.mode !== 'zeros') {
    const padded = padPlanes(xf, p.n * p.cIn, p.inSize, p.pads, p.mode);
    xf = Array.from(padded.y);
    g = { ...g, inSize: padded.size, pads: p.pads.map(() => [0, 0] as [number, number]) };
  }
  const r = transposed ? directConvTranspose(xf, w, g, p.outputPadding) : directConv(xf, w, g);
  const vol = prod(r.outSize);
  const y = Array.from(r.y, (v, i) => v + (b ? b[Math.floor(i / vol) % p.cOut] : 0));
  return p.channelsLast ? firstToLast(y, [p.n, p.cOut, ...r.outSize]).y : y;
}

// Generators: mostly plausible values for the op's rank, with junk mixed in.
const junk = fc.constantFrom<unknown>(NaN, Infinity, -Infinity, -1, 0, 2.5, 1e9, 2 ** 31, 1e300, '2', 'same', 'valid', 'abc', '', null, true, {}, [], [[]], [1, 2, 3, 4, 5, 6, 7]);
const small = fc.integer({ min: -1, max: 4 });
const maybe = <T>(a: fc.Arbitrary<T>, presentWeight: number) =>
  fc.oneof({ weight: 10 - presentWeight, arbitrary: fc.constant(undefined) }, { weight: presentWeight, arbitrary: a });
const perDimArb = (rank: number, lo: number, hi: number) => fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: lo, max: hi }) },
  { weight: 5, arbitrary: fc.array(fc.integer({ min: lo, max: hi }), { minLength: rank, maxLength: rank }) },
  { weight: 1, arbitrary: fc.array(small, { minLength: 0, maxLength: 4 }) },
  { weight: 1, arbitrary: junk },
);
const padArb = (rank: number) => fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 3, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: rank, maxLength: rank }) },
  { weight: 3, arbitrary: fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { minLength: rank, maxLength: rank }) },
  { weight: 1, arbitrary: fc.array(fc.array(small, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>('same', 'valid', 'SAME', 'full') },
  { weight: 1, arbitrary: junk },
);
const optionsArb = (rank: number, transposed: boolean) => fc.record({
  stride: maybe(perDimArb(rank, 1, 3), 6),
  padding: maybe(padArb(rank), 6),
  dilation: maybe(perDimArb(rank, 1, 2), 4),
  groups: maybe(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: junk }), 5),
  paddingMode: maybe(fc.constantFrom<unknown>(...(transposed ? ['zeros', 'zeros', 'zeros', 'reflect'] : ['zeros', 'reflect', 'replicate', 'circular', 'circular', 'reflect']), 'mirror', 3), transposed ? 1 : 6),
  dataFormat: maybe(fc.constantFrom<unknown>(...FORMATS[rank], ...FORMATS[rank], 'channelsFirst', 'channelsLast', 'NHCW', FORMATS[rank === 3 ? 1 : rank + 1][1], 5), 4),
  outputPadding: maybe(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 2, arbitrary: perDimArb(rank, 0, 2) }), transposed ? 5 : 1),
  outputSize: maybe(fc.oneof({ weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: 14 }), { minLength: rank, maxLength: rank }) },
    { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 14 }), { minLength: 0, maxLength: 5 }) }, { weight: 1, arbitrary: junk }), transposed ? 3 : 1),
  strides: maybe(fc.constant(2), 1),
}).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
const paddlePadArb = (rank: number) => fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 2, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: rank, maxLength: rank }) },
  { weight: 3, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2 * rank, maxLength: 2 * rank }) },
  { weight: 3, arbitrary: fc.tuple(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { minLength: rank, maxLength: rank }),
    fc.constantFrom([0, 0], [0, 0], [0, 0], [0, 1]), fc.boolean())
    .map(([sp, bc, lastOrder]) => (lastOrder ? [[0, 0], ...sp, bc] : [[0, 0], bc, ...sp])) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: 0, maxLength: 7 }) },
  { weight: 4, arbitrary: fc.constantFrom<unknown>('SAME', 'same', 'Same', 'VALID', 'valid', 'full') },
  { weight: 1, arbitrary: junk },
);
const anyOptions = (rank: number, transposed: boolean, api: 'torch' | 'paddle' = 'torch') => fc.oneof(
  { weight: 30, arbitrary: api === 'torch' ? optionsArb(rank, transposed)
    : fc.tuple(optionsArb(rank, transposed), fc.option(paddlePadArb(rank), { freq: 6 })).map(([o, p]) => {
      const { padding: _torchPadding, paddingMode: _mode, ...rest } = o as Record<string, unknown>;
      return p === null ? rest : { ...rest, padding: p };
    }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 3, 'stride=2', true) },
);

const shapeArb = fc.record({
  rank: fc.constantFrom(1, 2, 3),
  transposed: fc.boolean(),
  n: fc.integer({ min: 0, max: 2 }),
  cig: fc.integer({ min: 1, max: 2 }),
  cog: fc.integer({ min: 1, max: 2 }),
  L: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 3, maxLength: 3 }),
  k: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
  // Mutations that make operands wrong now and then.
  xRank: fc.constantFrom(0, 0, 0, 0, 0, 0, -1, -2, 1), // 0 batched, −1 unbatched, −2 too few dims, +1 too many
  wrongChannels: fc.constantFrom(false, false, false, false, false, false, false, true),
  zeroSpatial: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  bias: fc.constantFrom<'none' | 'right' | 'wrong'>('none', 'right', 'right', 'wrong'),
  mixedDtype: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  dtype: fc.constantFrom<'float32' | 'float64'>('float32', 'float64'),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
});

const FN = { false: [conv1d, conv2d, conv3d], true: [convTranspose1d, convTranspose2d, convTranspose3d] };
const PADDLE_FN = { false: [paddle.conv1d, paddle.conv2d, paddle.conv3d], true: [paddle.conv1dTranspose, paddle.conv2dTranspose, paddle.conv3dTranspose] };
const RUNS = Number(process.env.CONVKIT_FUZZ_RUNS ?? 5000);
const PADDLE_RUNS = Number(process.env.CONVKIT_FUZZ_RUNS ?? 2500);

/**
 * Paddle's padding spellings (docs/behaviour.md, Paddle section) → the PyTorch options `predict` reads, or null for an error.
 * 'SAME' needs the input size: o = ceil(L/s), padSum = max((o − 1)s + k − L, 0), before = floor(padSum/2); dilation 1.
 */
function paddleAsTorch(rank: number, transposed: boolean, options: unknown, xs: number[], ws: number[]): unknown {
  if (options === null || typeof options !== 'object') return options; // predict rejects these too
  const o = { ...(options as Record<string, unknown>) };
  const last = o.dataFormat === 'channelsLast' || o.dataFormat === FORMATS[rank][1];
  const v = o.padding;
  let pads: [number, number][] | 'same' | null;
  const all = (p: number): [number, number][] => new Array(rank).fill(0).map(() => [p, p]);
  if (v === undefined) pads = all(0);
  else if (typeof v === 'string') pads = v.toUpperCase() === 'SAME' ? 'same' : v.toUpperCase() === 'VALID' ? all(0) : null;
  else if (isInt(v)) pads = all(v);
  else if (!Array.isArray(v)) pads = null;
  else if (v.every(isInt)) {
    // A one-element list is one per dim only for a 1-D op (_update_padding_nd).
    pads = v.length === 2 * rank ? new Array(rank).fill(0).map((_, a) => [v[2 * a], v[2 * a + 1]] as [number, number])
      : v.length === rank ? v.map((p: number) => [p, p] as [number, number]) : null;
  } else if (v.every((e) => Array.isArray(e) && e.length === 2 && e.every(isInt))) {
    const pairs = v as [number, number][];
    if (pairs.length === rank + 2) {
      const bc = last ? [pairs[0], pairs[rank + 1]] : [pairs[0], pairs[1]];
      pads = bc.some(([a, b]) => a !== 0 || b !== 0) ? null : pairs.slice(last ? 1 : 2, (last ? 1 : 2) + rank);
    } else pads = null; // pairs without the batch and channel pairs
  } else pads = null;
  if (pads !== 'same' && pads && pads.some(([a, b]) => a < 0 || b < 0)) pads = null;
  if (pads === null) return { ...o, padding: 'invalid' };
  const stride = perDim(o.stride ?? 1, rank, 1), dilation = perDim(o.dilation ?? 1, rank, 1);
  if (pads === 'same') {
    if (!stride || !dilation) return { ...o, padding: 0 }; // predict reports the bad stride or dilation
    if (xs.length !== rank + 1 && xs.length !== rank + 2) return { ...o, padding: 0 };
    const inSize = last ? xs.slice(xs.length - rank - 1, -1) : xs.slice(xs.length - rank);
    pads = inSize.map((L, a) => {
      const k = ws[a + 2] ?? 1, q = Math.ceil(L / stride[a]), sum = Math.max((q - 1) * stride[a] + k - L, 0);
      return [Math.floor(sum / 2), sum - Math.floor(sum / 2)] as [number, number];
    });
    o.dilation = 1; // Paddle's 'SAME' takes dilation as 1 (after checking the one given)
  }
  if (transposed && o.outputSize !== undefined && perDim(o.outputPadding ?? 0, rank, 0)?.some((p) => p !== 0)) return { ...o, padding: 'invalid' };
  return { ...o, padding: pads };
}

function fuzz(api: 'torch' | 'paddle', runs: number, seed: number): void {
  let errors = 0, results = 0, slowest = 0;
  fc.assert(
    fc.property(shapeArb.chain((sh) => fc.tuple(fc.constant(sh), anyOptions(sh.rank, sh.transposed, api))), ([s, options]) => {
      const { rank, transposed } = s;
      const o = options as Record<string, unknown> | undefined;
      // Shapes follow the options where they are usable, so that many calls are valid.
      const g = o && isInt(o.groups) && o.groups >= 1 && o.groups <= 3 ? o.groups : 1;
      const last = !!o && typeof o === 'object' && (o.dataFormat === 'channelsLast' || o.dataFormat === FORMATS[rank][1]);
      const cIn = g * s.cig + (s.wrongChannels ? 1 : 0), cOut = g * s.cog;
      const L = s.L.slice(0, rank).map((v, a) => (rank === 3 ? Math.min(v, 4) : v) * (s.zeroSpatial && a === 0 ? 0 : 1));
      const k = s.k.slice(0, rank);
      let xs = last ? [s.n, ...L, cIn] : [s.n, cIn, ...L];
      if (s.xRank === -1) xs = xs.slice(1);
      if (s.xRank === -2) xs = xs.slice(2);
      if (s.xRank === 1) xs = [1, ...xs];
      const ws = transposed ? [g * s.cig, s.cog, ...k] : [cOut, s.cig, ...k];
      const bs = s.bias === 'none' ? null : [s.bias === 'right' ? cOut : cOut + 1];
      const asTorch = api === 'torch' ? options : paddleAsTorch(rank, transposed, options, xs, ws);
      const expected = predict(rank, transposed, asTorch, xs, ws, bs, s.mixedDtype, api);
      const xv = randomInts(prod(xs), s.seed), wv = randomInts(prod(ws), s.seed + 1), bv = bs ? randomInts(bs[0], s.seed + 2) : null;
      const fn = (api === 'torch' ? FN : PADDLE_FN)[`${transposed}`][rank - 1] as (x: Tensor, w: Tensor, b: Tensor | null, o: unknown) => Tensor;
      const op = api === 'torch' ? `${transposed ? 'convTranspose' : 'conv'}${rank}d` : `conv${rank}d${transposed ? 'Transpose' : ''}`;
      const want = expected && expectedValues(expected, xv, xs, wv, bv, transposed);
      for (const backend of backends()) {
        const x = tensor(xv, xs, { dtype: s.dtype });
        const w = tensor(wv, ws, { dtype: s.mixedDtype ? (s.dtype === 'float32' ? 'float64' : 'float32') : s.dtype });
        const b = bv && tensor(bv, bs!, { dtype: s.dtype });
        const t0 = performance.now();
        let y: Tensor | null = null, err: unknown = null;
        try {
          y = withBackend(backend, () => fn(x, w, b, options));
        } catch (e) {
          err = e;
        }
        slowest = Math.max(slowest, performance.now() - t0);
        const what = `[${backend}] ${api} ${op} x ${JSON.stringify(xs)} w ${JSON.stringify(ws)} b ${JSON.stringify(bs)} options ${fc.stringify(options)}`;
        if (err !== null) {
          assert.ok(err instanceof ConvError, `${what}: threw a non-ConvError: ${String(err)}`);
          assert.equal(expected, null, `${what}: threw ${String(err)} but docs/behaviour.md predicts shape ${JSON.stringify(expected?.outShape)}`);
          assert.ok((err as ConvError).message.startsWith(`${op}: ${(err as ConvError).param} `), what);
          errors++;
        } else {
          assert.ok(expected !== null, `${what}: returned shape ${JSON.stringify(y!.shape)} but docs/behaviour.md predicts an error`);
          assert.deepEqual([...y!.shape], expected.outShape, `${what}: shape`);
          assert.equal(y!.dtype, s.dtype);
          assert.deepEqual(Array.from(y!.data), want, `${what}: values`);
          results++;
        }
      }
    }),
    { numRuns: runs, seed },
  );
  if (process.env.CONVKIT_FUZZ_VERBOSE) console.log({ api, errors, results, slowest });
  // Both outcomes must be well represented, and no call may take long.
  const share = results / (errors + results);
  assert.ok(share > 0.05 && share < 0.95, `errors ${errors}, results ${results}`);
  assert.ok(slowest < 2000, `slowest call ${slowest.toFixed(0)} ms`);
}

const SEED = Number(process.env.CONVKIT_FUZZ_SEED ?? 424242);

test(`fuzz: ${RUNS} random PyTorch-style calls either throw a ConvError or return docs/behaviour.md's shape and values, on every backend`, () => {
  fuzz('torch', RUNS, SEED);
});

test(`fuzz: ${PADDLE_RUNS} random Paddle-style calls ('SAME', list paddings, data formats) likewise`, () => {
  fuzz('paddle', PADDLE_RUNS, SEED + 1);
});

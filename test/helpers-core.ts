/**
 * Helpers for the hand-derived, property and fuzz tests of the core: an independent direct-definition
 * oracle (written from docs/behaviour.md's formulas, not from src/kernels), value comparison, seeded data and
 * ConvError assertions.
 */
import assert from 'node:assert/strict';
import { backends, ConvError, withBackend, type Tensor } from '../src/index.js';
import { assertClose, type Nested } from './helpers/close.js';

/** Shape of a (rectangular) nested array. */
export function shapeOf(v: Nested): number[] {
  const s: number[] = [];
  let cur: Nested = v;
  while (Array.isArray(cur)) {
    s.push(cur.length);
    cur = (cur as readonly Nested[])[0];
  }
  return s;
}

/** Asserts tensor shape and values against a nested expectation. */
export function assertTensor(t: Tensor, expected: Nested, rtol = 1e-5, atol = 1e-6): void {
  assert.deepEqual([...t.shape], shapeOf(expected), 'shape');
  assertClose(t.toArray() as Nested, expected, { rtol, atol, relativeTo: 'element' });
}

/** Runs `fn` once per registered backend ('ref', 'js', and any other), naming the backend in failures. */
export function forEachBackend(fn: (backend: string) => void): void {
  for (const b of backends()) {
    try {
      withBackend(b, () => fn(b));
    } catch (e) {
      if (e instanceof Error) e.message = `[backend ${b}] ${e.message}`;
      throw e;
    }
  }
}

/** mulberry32: a tiny seeded generator for test data (independent of the library's generator). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [−1, 1) from `seed`. */
export function randomValues(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => 2 * r() - 1);
}

/** Small integers in [−3, 3]: sums of their products are exact in float32, so backends must agree exactly. */
export function randomInts(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * 7) - 3);
}

export const prod = (a: readonly number[]): number => a.reduce((x, y) => x * y, 1);

/** Geometry of the direct oracle, channels-first and batched, in the convolution direction. */
export interface DirectGeom {
  n: number;
  cIn: number;
  cOut: number;
  groups: number;
  inSize: number[];
  kSize: number[];
  stride: number[];
  dilation: number[];
  pads: [number, number][];
}

const convLen = (L: number, k: number, s: number, d: number, p0: number, p1: number) =>
  Math.floor((L + p0 + p1 - d * (k - 1) - 1) / s) + 1;

function coords(q: number, size: readonly number[]): number[] {
  const c = new Array<number>(size.length);
  for (let a = size.length - 1; a >= 0; a--) {
    c[a] = q % size[a];
    q = Math.floor(q / size[a]);
  }
  return c;
}

/**
 * docs/behaviour.md's convolution formula, literally: out[n, co, o] = Σ_{c ∈ group(co)} Σ_j w[co, c − g0, j] · x[n, c, o·s + j·δ − p0].
 * x (n, cIn, *inSize), w (cOut, cIn/g, *k); returns (n, cOut, *outSize) flat and its spatial size.
 */
export function directConv(x: ArrayLike<number>, w: ArrayLike<number>, g: DirectGeom): { y: Float64Array; outSize: number[] } {
  const outSize = g.inSize.map((L, a) => convLen(L, g.kSize[a], g.stride[a], g.dilation[a], g.pads[a][0], g.pads[a][1]));
  const inVol = prod(g.inSize), outVol = prod(outSize), kVol = prod(g.kSize);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const y = new Float64Array(g.n * g.cOut * outVol);
  for (let n = 0; n < g.n; n++)
    for (let co = 0; co < g.cOut; co++) {
      const grp = Math.floor(co / cog);
      for (let oq = 0; oq < outVol; oq++) {
        const o = coords(oq, outSize);
        let s = 0;
        for (let c = 0; c < cig; c++)
          for (let kq = 0; kq < kVol; kq++) {
            const j = coords(kq, g.kSize);
            let off = 0, inside = true;
            for (let a = 0; a < o.length; a++) {
              const i = o[a] * g.stride[a] + j[a] * g.dilation[a] - g.pads[a][0];
              if (i < 0 || i >= g.inSize[a]) { inside = false; break; }
              off = off * g.inSize[a] + i;
            }
            if (inside) s += w[(co * cig + c) * kVol + kq] * x[(n * g.cIn + grp * cig + c) * inVol + off];
          }
        y[(n * g.cOut + co) * outVol + oq] = s;
      }
    }
  return { y, outSize };
}

/**
 * docs/behaviour.md's transposed convolution, literally (scatter form): out[n, co, i·s + j·δ − p0] += x[n, ci, i] · w[ci, co − g0, j],
 * then the output is `L_out = (L − 1)·s − p0 − p1 + δ(k − 1) + op + 1` long.
 * x (n, cIn, *inSize), w (cIn, cOut/g, *k).
 */
export function directConvTranspose(x: ArrayLike<number>, w: ArrayLike<number>, g: DirectGeom, outputPadding: number[]): { y: Float64Array; outSize: number[] } {
  const outSize = g.inSize.map((L, a) => (L - 1) * g.stride[a] - g.pads[a][0] - g.pads[a][1] + g.dilation[a] * (g.kSize[a] - 1) + outputPadding[a] + 1);
  const inVol = prod(g.inSize), outVol = prod(outSize), kVol = prod(g.kSize);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const y = new Float64Array(g.n * g.cOut * outVol);
  for (let n = 0; n < g.n; n++)
    for (let ci = 0; ci < g.cIn; ci++) {
      const grp = Math.floor(ci / cig);
      for (let iq = 0; iq < inVol; iq++) {
        const i = coords(iq, g.inSize);
        const xv = x[(n * g.cIn + ci) * inVol + iq];
        for (let c = 0; c < cog; c++)
          for (let kq = 0; kq < kVol; kq++) {
            const j = coords(kq, g.kSize);
            let off = 0, inside = true;
            for (let a = 0; a < i.length; a++) {
              const o = i[a] * g.stride[a] + j[a] * g.dilation[a] - g.pads[a][0];
              if (o < 0 || o >= outSize[a]) { inside = false; break; }
              off = off * outSize[a] + o;
            }
            if (inside) y[(n * g.cOut + grp * cog + c) * outVol + off] += xv * w[(ci * cog + c) * kVol + kq];
          }
      }
    }
  return { y, outSize };
}

/** Pads every (n, c) plane of a channels-first batched array explicitly with a padding mode (docs/behaviour.md's rules). */
export function padPlanes(x: ArrayLike<number>, planes: number, inSize: number[], pads: [number, number][], mode: 'zeros' | 'reflect' | 'replicate' | 'circular'): { y: Float64Array; size: number[] } {
  const size = inSize.map((L, a) => L + pads[a][0] + pads[a][1]);
  const inVol = prod(inSize), vol = prod(size);
  const src = (i: number, L: number): number => {
    if (i >= 0 && i < L) return i;
    if (mode === 'zeros') return -1;
    if (mode === 'replicate') return i < 0 ? 0 : L - 1;
    if (mode === 'circular') return ((i % L) + L) % L;
    return i < 0 ? -i : 2 * (L - 1) - i; // reflect (no edge repeat)
  };
  const y = new Float64Array(planes * vol);
  for (let p = 0; p < planes; p++)
    for (let q = 0; q < vol; q++) {
      const o = coords(q, size);
      let off = 0;
      for (let a = 0; a < o.length && off >= 0; a++) {
        const s = src(o[a] - pads[a][0], inSize[a]);
        off = s < 0 ? -1 : off * inSize[a] + s;
      }
      y[p * vol + q] = off < 0 ? 0 : x[p * inVol + off];
    }
  return { y, size };
}

/** Moves the last axis to position 1 (channels-last → channels-first) of a flat array of `shape`. */
export function lastToFirst(x: ArrayLike<number>, shape: number[]): { y: number[]; shape: number[] } {
  const n = shape[0], c = shape[shape.length - 1], vol = prod(shape.slice(1, -1));
  const y = new Array<number>(x.length);
  for (let b = 0; b < n; b++)
    for (let q = 0; q < vol; q++)
      for (let ch = 0; ch < c; ch++) y[(b * c + ch) * vol + q] = x[(b * vol + q) * c + ch];
  return { y, shape: [n, c, ...shape.slice(1, -1)] };
}

/** Moves axis 1 to the end (channels-first → channels-last). */
export function firstToLast(x: ArrayLike<number>, shape: number[]): { y: number[]; shape: number[] } {
  const n = shape[0], c = shape[1], vol = prod(shape.slice(2));
  const y = new Array<number>(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let q = 0; q < vol; q++) y[(b * vol + q) * c + ch] = x[(b * c + ch) * vol + q];
  return { y, shape: [n, ...shape.slice(2), c] };
}

/**
 * Asserts `fn` throws a ConvError for `op` and `param` whose message contains every string of `mentions`
 * (the values it should name). Returns the error.
 */
export function assertConvError(fn: () => unknown, op: string, param: string, mentions: readonly string[] | RegExp = []): ConvError {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== null, `expected a ConvError (${op}: ${param}) but the call returned`);
  assert.ok(caught instanceof ConvError, `expected a ConvError, got ${String(caught)}`);
  const err = caught as ConvError;
  assert.equal(err.op, op, `op of: ${err.message}`);
  assert.equal(err.param, param, `param of: ${err.message}`);
  assert.ok(err.message.startsWith(`${op}: ${param} `), `message pattern: ${err.message}`);
  if (mentions instanceof RegExp) assert.match(err.message, mentions);
  else for (const m of mentions) assert.ok(err.message.includes(m), `message should mention ${JSON.stringify(m)}: ${err.message}`);
  return err;
}

/** A plain object whose `key` getter throws a RangeError (an option that must become a ConvError). */
export const throwingGetter = (key: string): object =>
  Object.defineProperty({}, key, { get: () => { throw new RangeError('getter'); }, enumerable: true });

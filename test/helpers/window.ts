/**
 * Window invariance: an output position of a convolution must get the same bits from a call over
 * the whole input as from a call over a window of it that holds all of its taps (the streaming API
 * promises concat(pushes) == forward(whole), bitwise). Used by test/wasm-window.test.ts, in process
 * and in child Nodes with and without relaxed SIMD (test/helpers/window-child.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { conv1d, conv2d, convTranspose1d, convTranspose2d, narrow, noGrad, setNumThreads, tensor, withBackend, type Tensor } from '../../src/index.js';
import { seededValues as values } from './seeded.js';

export interface WindowCase {
  rank: 1 | 2; transposed: boolean; n: number; groups: number;
  /** Input and output channels per group (of the op as called: for a convT, cIn is its input's). */
  cig: number; cog: number;
  k: number; s: number; d: number; p: number; L: number;
  /** Rank 2: the height of x and of the kernel (stride 1, padding ⌊(kh − 1)/2⌋). */
  H: number; kh: number;
  /** Where the window starts and how long it is, as fractions of what is possible (0 … 1). */
  at: number; len: number; seed: number;
}

/**
 * Compares, bitwise, the outputs of the window call with those of the whole call at the same
 * positions (along the last dim), on the current backend; fails with the first differing position.
 */
export function assertWindowed(c: WindowCase, what = ''): void {
  const ax = c.rank + 1, cIn = c.cig * c.groups, cOut = c.cog * c.groups, ph = Math.floor((c.kh - 1) / 2);
  const xShape = c.rank === 2 ? [c.n, cIn, c.H, c.L] : [c.n, cIn, c.L];
  const wLead = c.transposed ? [cIn, c.cog] : [cOut, c.cig], wShape = c.rank === 2 ? [...wLead, c.kh, c.k] : [...wLead, c.k];
  const x = tensor(values(xShape.reduce((a, b) => a * b), c.seed), xShape);
  const w = tensor(values(wShape.reduce((a, b) => a * b), c.seed + 1), wShape);
  const b = tensor(values(cOut, c.seed + 2), [cOut]);
  const op = (xx: Tensor, p: number): Tensor => noGrad(() => {
    const o = { groups: c.groups };
    if (c.rank === 1) {
      const o1 = { ...o, stride: c.s, padding: p, dilation: c.d };
      return c.transposed ? convTranspose1d(xx, w, b, o1) : conv1d(xx, w, b, o1);
    }
    const o2 = { ...o, stride: [1, c.s] as [number, number], padding: [ph, p] as [number, number], dilation: [1, c.d] as [number, number] };
    return c.transposed ? convTranspose2d(xx, w, b, o2) : conv2d(xx, w, b, o2);
  });
  const span = (c.k - 1) * c.d + 1;
  // The window [a, a + W) of x, unpadded: a conv's window starts where the whole call's outputs
  // start a tap window ((a + p) a multiple of s); a convT's outputs with all their taps inside are compared.
  let a = Math.floor(c.at * (c.L - span));
  if (!c.transposed) while ((a + c.p) % c.s !== 0) a++;
  const minW = c.transposed ? Math.ceil(span / c.s) + 1 : span;
  if (a + minW > c.L) return;
  const W = minW + Math.floor(c.len * (c.L - a - minW));
  const full = op(x, c.p), win = op(narrow(x, ax, a, W), 0);
  const T = full.shape[ax], Tw = win.shape[ax], rows = full.size / T;
  assert.equal(win.size / Tw, rows);
  for (let tw = 0; tw < Tw; tw++) {
    let t: number;
    if (c.transposed) {
      t = tw + a * c.s - c.p;
      if (tw < span - 1 || tw > (W - 1) * c.s || t < 0 || t >= T) continue;
    } else t = tw + (a + c.p) / c.s;
    for (let r = 0; r < rows; r++) {
      const u = full.data[r * T + t], v = win.data[r * Tw + tw];
      if (!Object.is(u, v))
        assert.fail(`${what} ${JSON.stringify(c)}: window [${a}, ${a + W}) gives ${v} at position ${t} (row ${r}), the whole call ${u}`);
    }
  }
}

/**
 * Random geometries for assertWindowed, with depths around and above one packed GEMM block (256):
 * convs (im2col, Direct, samples folded), convTs as phases (shallow) and as GEMM + col2im (deep,
 * or strided and dilated), depthwise convs; 1-D and 2-D. The deep convTs are long enough that
 * their column tiles split the call.
 */
export const windowCases: fc.Arbitrary<WindowCase> = fc.record({
  kind: fc.constantFrom('conv', 'convT', 'deepConvT', 'depthwise'),
  rank: fc.constantFrom(1, 1, 2), n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }),
  ci: fc.integer({ min: 0, max: 1000 }), co: fc.integer({ min: 1, max: 40 }),
  k: fc.integer({ min: 1, max: 9 }), s: fc.constantFrom(1, 1, 2, 3, 4, 8), d: fc.integer({ min: 1, max: 3 }), p: fc.integer({ min: 0, max: 1000 }),
  L: fc.integer({ min: 0, max: 1000 }), kh: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 3, max: 4 }),
  at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.double({ min: 0, max: 1, noNaN: true }), seed: fc.integer({ min: 1, max: 2 ** 30 }),
}).map((r): WindowCase => {
  const transposed = r.kind === 'convT' || r.kind === 'deepConvT';
  const pick = (a: readonly number[]) => a[r.ci % a.length];
  let groups = r.groups, cig: number, cog: number;
  if (r.kind === 'conv') { cig = pick([3, 17, 40, 70, 130]); cog = r.co; }
  else if (r.kind === 'convT') { cig = pick([1, 8, 33, 64, 130, 200]); cog = r.co; }
  else if (r.kind === 'deepConvT') { cig = pick([256, 300]); cog = 1 + (r.co % 6); }
  else { groups = pick([3, 16]); cig = 1; cog = 1 + (r.co % 2); }
  const d = r.kind === 'convT' && r.s > 1 && r.ci % 3 !== 0 ? 1 : r.d; // polyphase: dilation 1 when strided (mostly)
  const p = r.p % (Math.floor(((r.k - 1) * d) / 2) + 1);
  // Long enough for several column tiles of a deep convT (≤ 1024 columns), short enough to stay fast.
  const L = r.kind === 'deepConvT' ? (r.rank === 1 ? 1100 + r.L : 400 + Math.floor(r.L / 4)) : (r.rank === 1 ? 300 + r.L : 60 + Math.floor(r.L / 5));
  return { rank: r.rank as 1 | 2, transposed, n: r.n, groups, cig, cog, k: r.k, s: r.s, d, p, L, H: r.H, kh: r.rank === 2 ? r.kh : 1, at: r.at, len: r.len, seed: r.seed };
});

/** The property on the wasm backend, each case on 1 and then 2 threads; returns the cases run. */
export function checkWindows(numRuns: number, seed?: number): number {
  let cases = 0;
  try {
    fc.assert(fc.property(windowCases, (c) => {
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        withBackend('wasm', () => assertWindowed(c, `${threads} thread(s)`));
      }
      cases++;
    }), { numRuns, seed });
  } finally {
    setNumThreads(1);
  }
  return cases;
}

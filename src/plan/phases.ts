/**
 * Transposed convolution with stride > 1 as s^rank stride-1 convolutions (polyphase / sub-pixel
 * decomposition): no multiplication by the zeros a stride inserts, no scatter of overlapping
 * columns. With conv geometry g (convT maps the conv's output space back to its input space)
 * and dilation 1, `i + p0 = o·s + j`. Output positions of phase φ are i = φ − p0 + s·q and the taps
 * that reach them are j = φ + t·s (t < T = ⌈(k − φ)/s⌉), read from o = q − t. Flipping the taps
 * (u = T − 1 − t) makes each phase an ordinary convolution of x with kernel T, stride 1 and
 * padBefore T − 1 − q0, whose output is then written to every s-th position of y.
 * This is planning, not a kernel: a backend whose candidate has algorithm 'polyphase' receives the
 * phases from plan/select.ts (the WebAssembly glue runs them; in plain TypeScript the GEMM + col2im
 * path measured faster).
 */
import type { Geometry } from '../spec/types.js';
import type { PhasePlan } from '../kernels/types.js';
import { prod } from '../util/shape.js';

/**
 * Every dim is either strided without dilation (s phases, each a stride-1 conv) or unstrided with
 * any dilation (one phase: the conv with the flipped kernel, dilation δ, padBefore (k − 1)·δ − p0).
 */
export const usePolyphase = (g: Geometry): boolean => g.stride.every((s, a) => s === 1 || g.dilation[a] === 1);

interface Phase1 { phi: number; T: number; q0: number; Q: number; d: number }

function phasesOf(g: Geometry, a: number): Phase1[] {
  const s = g.stride[a], k = g.kSize[a], p = g.padBefore[a], L = g.inSize[a];
  if (s === 1) return [{ phi: 0, T: k, q0: p, Q: L, d: g.dilation[a] }];
  const out: Phase1[] = [];
  // Phases φ ≥ k have no tap (T = 0): stop at min(s, k) so that a huge stride costs nothing.
  for (let phi = 0; phi < Math.min(s, k); phi++) {
    const T = Math.max(0, Math.ceil((k - phi) / s));
    const q0 = Math.max(0, Math.ceil((p - phi) / s)), q1 = Math.floor((L - 1 - phi + p) / s);
    if (T > 0 && q1 >= q0) out.push({ phi, T, q0, Q: q1 - q0 + 1, d: 1 });
  }
  return out;
}

/** The phases that produce output (those with no taps or no positions are skipped). */
export function phasePlan(g: Geometry): PhasePlan[] {
  const known = memo.get(g);
  if (known) return known;
  const phases = computePhases(g);
  memo.set(g, phases);
  return phases;
}

/** Phases per geometry object: a planned call and its gradients pass the same (frozen) geometry. */
const memo = new WeakMap<Geometry, PhasePlan[]>();

function computePhases(g: Geometry): PhasePlan[] {
  const combos = g.kSize.map((_, a) => phasesOf(g, a))
    .reduce<Phase1[][]>((acc, ph) => acc.flatMap((c) => ph.map((q) => [...c, q])), [[]]);
  return combos.map((combo) => {
    const kSize = combo.map((c) => c.T), tVol = prod(kSize);
    const taps = new Int32Array(tVol);
    const u = new Array<number>(kSize.length);
    for (let t = 0; t < tVol; t++) {
      let r = t;
      for (let a = kSize.length - 1; a >= 0; a--) { u[a] = r % kSize[a]; r = Math.floor(r / kSize[a]); }
      let j = 0;
      for (let a = 0; a < kSize.length; a++) j = j * g.kSize[a] + combo[a].phi + (kSize[a] - 1 - u[a]) * g.stride[a];
      taps[t] = j;
    }
    return {
      n: g.n, cIn: g.cOut, cOut: g.cIn, groups: g.groups, inSize: g.outSize, outSize: combo.map((c) => c.Q), kSize,
      stride: kSize.map(() => 1), dilation: combo.map((c) => c.d), padBefore: combo.map((c) => (c.T - 1) * c.d - c.q0),
      taps, base: combo.map((c, a) => c.phi - g.padBefore[a] + g.stride[a] * c.q0),
    };
  });
}

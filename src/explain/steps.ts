/**
 * The steps of one small convolution, for the explainers (`convkit explain` and the web page).
 * Transposed: every input element scatters every weight tap to `f = i·s + j·δ` in the full
 * (uncropped) output; padding crops `[0, p0)` and the tail, output padding adds trailing elements.
 * Convolution: every output reads the window `i = o·s + j·δ − p0` of the input. Sizes come from
 * the formulas of spec/shape.ts. Pure generators of index records; the renderers add the values.
 */
import type { Pair } from '../spec/types.js';
import { convOutSize, convTransposeOutSize } from '../spec/shape.js';
import { prod, unravel } from '../util/shape.js';

/** The coordinates of row-major flat index q in size. */
function coords(q: number, size: readonly number[]): number[] {
  const p = new Array<number>(size.length);
  unravel(q, size, p);
  return p;
}

/** Channels-first geometry of one call, in the op's own terms (for a transposed op: its input and output). */
export interface StepGeometry {
  /** Batch size. */
  readonly n: number;
  /** Channels of the op's input and output. */
  readonly cIn: number; readonly cOut: number;
  readonly groups: number;
  /** Spatial size of the op's input (unpadded) and of the kernel. */
  readonly inSize: readonly number[]; readonly kSize: readonly number[];
  readonly stride: readonly number[]; readonly dilation: readonly number[];
  /** Padding [before, after] per spatial dimension. */
  readonly pads: readonly Pair[];
  /** Output padding per spatial dimension (transposed only; 0 when absent). */
  readonly outputPadding?: readonly number[];
}

/** Full (uncropped) output size of a transposed op: `(L − 1)·s + δ·(k − 1) + 1` per spatial dimension. */
export const fullOutSize = (g: StepGeometry): number[] =>
  g.inSize.map((L, a) => convTransposeOutSize(L, g.kSize[a], g.stride[a], g.dilation[a], [0, 0], 0));

/** Output size of the op: the transposed or the convolution formula. */
export const stepOutSize = (g: StepGeometry, transposed: boolean): number[] =>
  g.inSize.map((L, a) => transposed
    ? convTransposeOutSize(L, g.kSize[a], g.stride[a], g.dilation[a], g.pads[a], g.outputPadding?.[a] ?? 0)
    : convOutSize(L, g.kSize[a], g.stride[a], g.dilation[a], g.pads[a]));

/**
 * Where full-output position f of a transposed op lands: 'crop' when padding removes it,
 * 'outpad' when it lies in the trailing output-padding cells of the output, null otherwise.
 */
export function fullCellKind(g: StepGeometry, f: readonly number[]): 'crop' | 'outpad' | null {
  const out = stepOutSize(g, true);
  let outpad = false;
  for (let a = 0; a < f.length; a++) {
    const o = f[a] - g.pads[a][0];
    if (o < 0 || o >= out[a]) return 'crop';
    if (o >= out[a] - (g.outputPadding?.[a] ?? 0)) outpad = true;
  }
  return outpad ? 'outpad' : null;
}

/** One tap of a transposed op's scatter. */
export interface ScatterTap {
  /** Input element [n, ci, …i] (flat spatial index iq) and weight tap [ci, c, …j] with co = group·(cOut/groups) + c. */
  readonly n: number; readonly ci: number; readonly i: number[]; readonly iq: number;
  readonly c: number; readonly co: number; readonly j: number[]; readonly kq: number;
  /** Position in the full output, f = i·s + j·δ (flat index fq over fullOutSize). */
  readonly f: number[]; readonly fq: number;
  /** Output position f − p0, or null when padding crops the tap. */
  readonly o: number[] | null;
  /** The tap lands in the output-padding cells. */
  readonly outputPadding: boolean;
}

/** The scatter of a transposed op, in order n, ci, input position, c, kernel tap. */
export function* scatterTaps(g: StepGeometry): Generator<ScatterTap> {
  const full = fullOutSize(g), inVol = prod(g.inSize), kVol = prod(g.kSize);
  const cinG = g.cIn / g.groups, coutG = g.cOut / g.groups;
  for (let n = 0; n < g.n; n++)
    for (let ci = 0; ci < g.cIn; ci++) {
      const grp = Math.floor(ci / cinG);
      for (let iq = 0; iq < inVol; iq++) {
        const i = coords(iq, g.inSize);
        for (let c = 0; c < coutG; c++)
          for (let kq = 0; kq < kVol; kq++) {
            const j = coords(kq, g.kSize);
            const f = i.map((v, a) => v * g.stride[a] + j[a] * g.dilation[a]); // f = i·s + j·δ
            const fq = f.reduce((q, v, a) => q * full[a] + v, 0);
            const kind = fullCellKind(g, f);
            yield {
              n, ci, i, iq, c, co: grp * coutG + c, j, kq, f, fq,
              o: kind === 'crop' ? null : f.map((v, a) => v - g.pads[a][0]), outputPadding: kind === 'outpad',
            };
          }
      }
    }
}

/** One term of a convolution's window. */
export interface WindowTap {
  /** Output element [n, co, …o] (flat spatial index oq) and weight tap [co, c, …j] reading input channel ci. */
  readonly n: number; readonly co: number; readonly o: number[]; readonly oq: number;
  readonly c: number; readonly ci: number; readonly j: number[]; readonly kq: number;
  /** Input position i = o·s + j·δ − p0, in the unpadded input (may lie in the padding). */
  readonly i: number[];
  /** i lies in the padding. */
  readonly inPad: boolean;
}

/** The windows of a convolution, in order n, co, output position, c, kernel tap. */
export function* windowTaps(g: StepGeometry): Generator<WindowTap> {
  const out = stepOutSize(g, false), outVol = prod(out), kVol = prod(g.kSize);
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  for (let n = 0; n < g.n; n++)
    for (let co = 0; co < g.cOut; co++) {
      const ci0 = Math.floor(co / cog) * cig;
      for (let oq = 0; oq < outVol; oq++) {
        const o = coords(oq, out);
        for (let c = 0; c < cig; c++)
          for (let kq = 0; kq < kVol; kq++) {
            const j = coords(kq, g.kSize);
            const i = o.map((v, a) => v * g.stride[a] + j[a] * g.dilation[a] - g.pads[a][0]); // i = o·s + j·δ − p0
            yield { n, co, o, oq, c, ci: ci0 + c, j, kq, i, inPad: i.some((v, a) => v < 0 || v >= g.inSize[a]) };
          }
      }
    }
}

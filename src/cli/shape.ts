/**
 * `convkit shape`: the output shape of a call, each dim's formula with the numbers substituted, and
 * for transposed ops the outputSize range. Pure: returns lines and a JSON-ready object.
 */
import { fmt } from '../spec/errors.js';
import { convOutSize, convTransposeOutSize, outputSizeRange, span } from '../spec/shape.js';
import type { ConvPlan } from '../plan/plan.js';
import type { OpInfo } from './conv-args.js';

export const dimNames = (rank: number): string[] => (rank === 1 ? ['L'] : rank === 2 ? ['H', 'W'] : ['D', 'H', 'W']);

export interface DimReport {
  readonly dim: string;
  readonly inSize: number;
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padding: readonly [number, number];
  readonly outputPadding: number;
  readonly outSize: number;
  /** The formula with symbols and with numbers. */
  readonly formula: string;
  readonly substituted: string;
  /** Transposed ops: the outputSize values accepted along this dim. */
  readonly outputSizeRange?: { readonly min: number; readonly max: number };
}

export interface ShapeReport {
  readonly op: string;
  readonly inputShape: readonly number[];
  readonly weightShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly groups: number;
  readonly dims: readonly DimReport[];
}

export function shapeReport(info: OpInfo, plan: ConvPlan, xShape: readonly number[], wShape: readonly number[]): ShapeReport {
  const { spec } = plan;
  const names = dimNames(info.rank);
  const inSize = plan.spec.transposed ? plan.geometry.outSize : plan.inputPad ? plan.inputPad.inSize : plan.geometry.inSize;
  const dims = names.map((dim, a): DimReport => {
    const L = inSize[a], k = wShape[2 + a], s = spec.stride[a], d = spec.dilation[a];
    const [p0, p1] = plan.pads[a];
    const op = plan.outputPadding[a];
    if (!spec.transposed) {
      const outSize = convOutSize(L, k, s, d, plan.pads[a]);
      return {
        dim, inSize: L, kernel: k, stride: s, dilation: d, padding: [p0, p1], outputPadding: 0, outSize,
        formula: `floor((${dim} + p0 + p1 − δ·(k − 1) − 1) / s) + 1`,
        substituted: `floor((${L} + ${p0} + ${p1} − ${d}·(${k} − 1) − 1) / ${s}) + 1 = ${outSize}`,
      };
    }
    const outSize = convTransposeOutSize(L, k, s, d, plan.pads[a], op);
    const range = outputSizeRange(L, k, s, d, plan.pads[a]);
    return {
      dim, inSize: L, kernel: k, stride: s, dilation: d, padding: [p0, p1], outputPadding: op, outSize,
      formula: `(${dim} − 1)·s − p0 − p1 + δ·(k − 1) + outputPadding + 1`,
      substituted: `(${L} − 1)·${s} − ${p0} − ${p1} + ${d}·(${k} − 1) + ${op} + 1 = ${outSize}`,
      outputSizeRange: range,
    };
  });
  return { op: spec.op, inputShape: [...xShape], weightShape: [...wShape], outputShape: [...plan.outShape], groups: spec.groups, dims };
}

export function shapeLines(r: ShapeReport): string[] {
  const lines = [`${r.op}: input ${fmt(r.inputShape)}, weight ${fmt(r.weightShape)} → output ${fmt(r.outputShape)}`];
  for (const d of r.dims) {
    const extent = span(d.kernel, d.dilation);
    lines.push(`  ${d.dim}: ${d.formula}`);
    lines.push(`  ${' '.repeat(d.dim.length)}  = ${d.substituted}   (k=${d.kernel}, s=${d.stride}, δ=${d.dilation}, p=[${d.padding.join(', ')}], dilated kernel ${extent})`);
  }
  const ranged = r.dims.filter((d) => d.outputSizeRange);
  if (ranged.length) {
    const lo = ranged.map((d) => d.outputSizeRange!.min), hi = ranged.map((d) => d.outputSizeRange!.max);
    lines.push(`  valid outputSize: ${ranged.map((d) => `${d.dim} ∈ [${d.outputSizeRange!.min}, ${d.outputSizeRange!.max}]`).join(', ')}` +
      `  (outputSize ${fmt(lo)} … ${fmt(hi)} ⇔ outputPadding ${fmt(lo.map(() => 0))} … ${fmt(hi.map((h, i) => h - lo[i]))})`);
  }
  return lines;
}

/**
 * `convkit explain`: a step-by-step account of one small call.
 * Transposed: which input element scatters which kernel tap where in the full (uncropped) output,
 * how padding crops it, where output padding adds elements. Convolution: which window each output
 * reads. The steps come from explain/steps.ts (the generator the explainer page renders too); this
 * file adds the values and the text. The account is checked against the op itself before it is shown. Pure.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { ConvPlan } from '../plan/plan.js';
import { padSource } from '../spec/padding.js';
import { macCount } from '../spec/shape.js';
import type { PaddingMode } from '../spec/types.js';
import { fullOutSize, scatterTaps, stepOutSize, windowTaps, type StepGeometry } from '../explain/steps.js';
import { prod, unravel } from '../util/shape.js';
import { dimNames } from './shape.js';

/** More taps than this are no longer a readable account. */
export const MAX_EXPLAIN_TAPS = 2000;

export interface ScatterStep {
  /** Input element [n, c, …i], its value, the weight tap [ci, co − g0, …j] and its value. */
  readonly x: number[]; readonly xValue: number;
  readonly w: number[]; readonly wValue: number;
  /** Position in the full output [n, co, …f] with f = i·s + j·δ, and x·w. */
  readonly full: number[]; readonly product: number;
  /** Where it lands in the output (f − p0), or null when padding crops it. */
  readonly out: number[] | null;
}

export interface WindowTerm {
  readonly w: number[]; readonly wValue: number;
  /** Input position [n, c, …i] with i = o·s + j·δ − p0 (in the unpadded input), or null for a zero of the padding. */
  readonly x: number[] | null; readonly xValue: number;
  /** The padded coordinate, when it lies in the padding. */
  readonly padded?: number[];
}

export interface WindowStep {
  readonly out: number[];
  readonly terms: WindowTerm[];
  readonly bias: number;
  readonly value: number;
}

export interface DimCrop {
  readonly dim: string;
  readonly fullSize: number;
  readonly cropBefore: number;
  readonly cropAfter: number;
  readonly outputPadding: number;
  /** Output padding that keeps elements the trailing crop would have removed. */
  readonly restored: number;
  /** Output padding beyond the full output: zeros (plus bias). */
  readonly zeros: number;
  /** Full-output index range [start, end) that the output shows. */
  readonly keep: readonly [number, number];
}

export interface Explanation {
  readonly op: string;
  readonly transposed: boolean;
  readonly input: { readonly shape: number[]; readonly values: number[] };
  readonly weight: { readonly shape: number[]; readonly values: number[] };
  readonly bias: number[] | null;
  readonly stride: readonly number[];
  readonly padding: readonly (readonly [number, number])[];
  readonly dilation: readonly number[];
  readonly outputPadding: readonly number[];
  readonly groups: number;
  readonly paddingMode: string;
  readonly scatter?: ScatterStep[];
  readonly fullShape?: number[];
  readonly full?: number[];
  readonly crop?: DimCrop[];
  readonly windows?: WindowStep[];
  readonly output: { readonly shape: number[]; readonly values: number[] };
}

/** Builds the account of `plan` on channels-first values x (shape xShape), w, b. */
export function explain(plan: ConvPlan, xShape: readonly number[], x: readonly number[], wShape: readonly number[], w: readonly number[],
  b: readonly number[] | null): Explanation {
  const { spec, geometry: g } = plan;
  const taps = macCount(g);
  if (taps > MAX_EXPLAIN_TAPS)
    throw new ConvError('explain', 'input', `is too large to explain step by step: ${taps} kernel taps, at most ${MAX_EXPLAIN_TAPS}; ` +
      `use a smaller --input or --weight, or 'convkit shape'; got input ${fmt(xShape)}, weight ${fmt(wShape)}`);
  const base = {
    op: spec.op, transposed: spec.transposed, input: { shape: [...xShape], values: [...x] }, weight: { shape: [...wShape], values: [...w] },
    bias: b ? [...b] : null, stride: spec.stride, padding: plan.pads, dilation: spec.dilation, outputPadding: plan.outputPadding,
    groups: spec.groups, paddingMode: spec.paddingMode,
  };
  const steps = stepGeometry(plan);
  return spec.transposed ? { ...base, ...scatterAccount(steps, x, w, b) } : { ...base, ...windowAccount(steps, spec.paddingMode, x, w, b) };
}

/** The op's own geometry (a transposed op's input lives in the conv's output space) in the terms of the step generators. */
function stepGeometry(plan: ConvPlan): StepGeometry {
  const { spec, geometry: g } = plan;
  const common = { n: g.n, groups: g.groups, kSize: g.kSize, stride: g.stride, dilation: g.dilation, pads: plan.pads };
  return spec.transposed
    ? { ...common, cIn: g.cOut, cOut: g.cIn, inSize: g.outSize, outputPadding: plan.outputPadding }
    : { ...common, cIn: g.cIn, cOut: g.cOut, inSize: plan.inputPad ? plan.inputPad.inSize : g.inSize };
}

/** Transposed: the scatter into the full output, the full output, its crop, and the output. */
function scatterAccount(g: StepGeometry, x: readonly number[], w: readonly number[], b: readonly number[] | null):
  Pick<Explanation, 'scatter' | 'fullShape' | 'full' | 'crop' | 'output'> {
  const d = g.inSize.length, fullSize = fullOutSize(g), outSize = stepOutSize(g, true);
  const fullVol = prod(fullSize), outVol = prod(outSize), inVol = prod(g.inSize), kVol = prod(g.kSize), coutG = g.cOut / g.groups;
  const full = new Array<number>(g.n * g.cOut * fullVol).fill(0);
  const scatter: ScatterStep[] = [];
  for (const t of scatterTaps(g)) {
    const xv = x[(t.n * g.cIn + t.ci) * inVol + t.iq], wv = w[(t.ci * coutG + t.c) * kVol + t.kq];
    full[(t.n * g.cOut + t.co) * fullVol + t.fq] += xv * wv;
    scatter.push({
      x: [t.n, t.ci, ...t.i], xValue: xv, w: [t.ci, t.c, ...t.j], wValue: wv, full: [t.n, t.co, ...t.f], product: xv * wv,
      out: t.o ? [t.n, t.co, ...t.o] : null,
    });
  }
  const output = new Array<number>(g.n * g.cOut * outVol).fill(0);
  const o = new Array<number>(d);
  for (let n = 0; n < g.n; n++)
    for (let co = 0; co < g.cOut; co++)
      for (let oq = 0; oq < outVol; oq++) {
        unravel(oq, outSize, o);
        let fq = 0, inside = true;
        for (let a = 0; a < d; a++) {
          const fa = o[a] + g.pads[a][0];
          if (fa >= fullSize[a]) inside = false;
          fq = fq * fullSize[a] + fa;
        }
        output[(n * g.cOut + co) * outVol + oq] = (inside ? full[(n * g.cOut + co) * fullVol + fq] : 0) + (b ? b[co] : 0);
      }
  const crop = fullSize.map((F, a): DimCrop => {
    const [p0, p1] = g.pads[a], op = g.outputPadding?.[a] ?? 0;
    return {
      dim: dimNames(d)[a], fullSize: F, cropBefore: p0, cropAfter: p1, outputPadding: op,
      restored: Math.min(op, p1), zeros: Math.max(0, op - p1), keep: [p0, Math.min(F, p0 + outSize[a])],
    };
  });
  return { scatter, fullShape: [g.n, g.cOut, ...fullSize], full, crop, output: { shape: [g.n, g.cOut, ...outSize], values: output } };
}

/** Convolution: the window each output reads (the padding read by paddingMode), and the output. */
function windowAccount(g: StepGeometry, mode: PaddingMode, x: readonly number[], w: readonly number[], b: readonly number[] | null):
  Pick<Explanation, 'windows' | 'output'> {
  const outSize = stepOutSize(g, false), inVol = prod(g.inSize), kVol = prod(g.kSize), cig = g.cIn / g.groups;
  const windows: { out: number[]; terms: WindowTerm[]; bias: number; value: number }[] = [];
  for (const t of windowTaps(g)) {
    // Taps come window by window; the first tap (c = 0, j = 0) opens the window of output o.
    if (t.c === 0 && t.kq === 0) windows.push({ out: [t.n, t.co, ...t.o], terms: [], bias: b ? b[t.co] : 0, value: b ? b[t.co] : 0 });
    const wnd = windows[windows.length - 1];
    const src = t.i.map((v, a) => padSource(v, g.inSize[a], mode));
    const zero = src.some((v) => v < 0);
    const q = src.reduce((acc, v, a) => acc * g.inSize[a] + Math.max(v, 0), 0);
    const wv = w[(t.co * cig + t.c) * kVol + t.kq];
    const xv = zero ? 0 : x[(t.n * g.cIn + t.ci) * inVol + q];
    wnd.value += wv * xv;
    wnd.terms.push({ w: [t.co, t.c, ...t.j], wValue: wv, x: zero ? null : [t.n, t.ci, ...src], xValue: xv, ...(t.inPad ? { padded: [...t.i] } : {}) });
  }
  return { windows, output: { shape: [g.n, g.cOut, ...outSize], values: windows.map((s) => s.value) } };
}

// ---------------------------------------------------------------------------------------------
// Text rendering

const num = (v: number): string => {
  if (Number.isInteger(v)) return String(v);
  const s = v.toPrecision(6);
  return s.includes('e') ? s : s.replace(/\.?0+$/, '');
};

/** Index notation: x[i] when batch and channels are 1, x[n, c, i] otherwise. */
function idx(name: string, p: readonly number[], full: boolean): string {
  return `${name}[${(full ? p : p.slice(2)).join(', ')}]`;
}

/** A channels-first array printed one (n, c) plane at a time: a row, a grid, or slices of grids. */
export function planeLines(name: string, shape: readonly number[], values: readonly number[], indent = '  '): string[] {
  const [n, c, ...size] = shape;
  const vol = prod(size);
  const cells = values.map(num);
  const width = Math.max(1, ...cells.map((s) => s.length));
  const row = (start: number, len: number) => `[${cells.slice(start, start + len).map((s) => s.padStart(width)).join(' ')}]`;
  const out: string[] = [];
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const at = (b * c + ch) * vol;
      const label = n * c > 1 ? `${name}[${b}, ${ch}]` : name;
      if (size.length === 1) { out.push(`${indent}${label} = ${row(at, size[0])}`); continue; }
      const [rows, cols] = size.slice(-2), depth = size.length === 3 ? size[0] : 1;
      for (let z = 0; z < depth; z++) {
        out.push(`${indent}${label}${size.length === 3 ? `[${z}]` : ''} =`);
        for (let r = 0; r < rows; r++) out.push(`${indent}  ${row(at + (z * rows + r) * cols, cols)}`);
      }
    }
  return out;
}

export function explainLines(e: Explanation): string[] {
  const d = e.stride.length;
  const names = dimNames(d);
  const many = e.input.shape[0] * e.input.shape[1] > 1 || e.output.shape[1] > 1;
  const lines = [
    `${e.op}: input ${fmt(e.input.shape)}, weight ${fmt(e.weight.shape)}${e.bias ? `, bias [${e.bias.length}]` : ''}; ` +
      `stride ${fmt(e.stride)}, padding ${fmt(e.padding)}, dilation ${fmt(e.dilation)}` +
      (e.transposed ? `, outputPadding ${fmt(e.outputPadding)}` : '') + (e.groups > 1 ? `, groups ${e.groups}` : '') +
      (e.paddingMode !== 'zeros' ? `, paddingMode '${e.paddingMode}'` : ''),
    '',
    'Input:', ...planeLines('x', e.input.shape, e.input.values),
    'Kernel:', ...planeLines('w', e.weight.shape, e.weight.values),
    '',
  ];
  if (e.transposed) {
    const sj = names.map((n, a) => `${n}: i·${e.stride[a]} + j·${e.dilation[a]}`).join(', ');
    lines.push(`Step 1 — scatter: every input element x[i] adds x[i]·w[j] to full[i·s + j·δ] (${sj}); '(cropped)' marks taps that padding removes`);
    let last = '';
    let line = '';
    for (const s of e.scatter!) {
      const key = s.x.join(',');
      if (key !== last) {
        if (line) lines.push(line);
        line = `  ${idx('x', s.x, many)} = ${num(s.xValue)}  →`;
        last = key;
      }
      line += `  ${idx('full', s.full, many)} += ${num(s.xValue)}·${num(s.wValue)}${s.out ? '' : ' (cropped)'}`;
    }
    if (line) lines.push(line);
    lines.push('');
    const fs = e.crop!.map((c) => c.fullSize);
    lines.push(`Step 2 — the full (uncropped) output: size (L − 1)·s + δ·(k − 1) + 1 = ${fmt(fs)} per spatial dim`);
    lines.push(...planeLines('full', e.fullShape!, e.full!));
    lines.push('');
    lines.push('Step 3 — padding crops the full output:');
    for (const c of e.crop!)
      lines.push(`  ${c.dim}: padding [${c.cropBefore}, ${c.cropAfter}] removes ${c.cropBefore} element${c.cropBefore === 1 ? '' : 's'} before and ` +
        `${c.cropAfter} after: full[${c.cropBefore} … ${c.fullSize - c.cropAfter - 1}] remain`);
    lines.push('');
    lines.push('Step 4 — output padding adds elements on the trailing side only:');
    for (const c of e.crop!) {
      if (c.outputPadding === 0) { lines.push(`  ${c.dim}: outputPadding 0, nothing added`); continue; }
      const parts: string[] = [];
      if (c.restored) parts.push(`keeps full[${c.fullSize - c.cropAfter} … ${c.fullSize - c.cropAfter + c.restored - 1}] that the trailing crop would remove`);
      if (c.zeros) parts.push(`adds ${c.zeros} position${c.zeros === 1 ? '' : 's'} past the full output (value 0${e.bias ? ' + bias' : ''})`);
      lines.push(`  ${c.dim}: outputPadding ${c.outputPadding} ${parts.join(' and ')}; output index o shows full[o + ${c.cropBefore}]`);
    }
    lines.push('');
    if (e.bias) lines.push(`Step 5 — bias ${fmt(e.bias.map(num))} is added per output channel.`);
  } else {
    lines.push(`Step 1 — each output reads a window of the input: i = o·s + j·δ − p0 (${e.paddingMode === 'zeros' ? 'positions in the padding read 0' : `the padding repeats the input by '${e.paddingMode}'`})`);
    for (const wnd of e.windows!) {
      const verb = { zeros: '', reflect: 'reflects', replicate: 'repeats', circular: 'wraps' }[e.paddingMode] ?? '';
      const terms = wnd.terms.map((t) => `${num(t.wValue)}·` + (!t.x ? `pad[${(t.padded ?? []).join(', ')}]`
        : `${idx('x', t.x, many)}${t.padded ? ` (${verb} [${t.padded.join(', ')}])` : ''}`));
      const values = wnd.terms.map((t) => `${num(t.wValue)}·${num(t.xValue)}`);
      const bias = e.bias ? ` + ${num(wnd.bias)}` : '';
      lines.push(`  ${idx('y', wnd.out, many)} = ${terms.join(' + ')}${bias ? ' + b' : ''} = ${values.join(' + ')}${bias} = ${num(wnd.value)}`);
    }
    lines.push('');
  }
  lines.push(`Output ${fmt(e.output.shape)}:`);
  lines.push(...planeLines('y', e.output.shape, e.output.values));
  return lines;
}

/**
 * `convkit explain`: a step-by-step account of one small call.
 * Transposed: which input element scatters which kernel tap where in the full (uncropped) output,
 * how padding crops it, where output padding adds elements. Convolution: which window each output
 * reads. The account is checked against the op itself before it is shown. Pure.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { ConvPlan } from '../plan/plan.js';
import { padSource } from '../spec/padding.js';
import { macCount } from '../spec/shape.js';
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
  const d = spec.rank;
  const taps = macCount(g);
  if (taps > MAX_EXPLAIN_TAPS)
    throw new ConvError('explain', 'input', `is too large to explain step by step: ${taps} kernel taps, at most ${MAX_EXPLAIN_TAPS}; ` +
      `use a smaller --input or --weight, or 'convkit shape'; got input ${fmt(xShape)}, weight ${fmt(wShape)}`);
  const kVol = prod(g.kSize);
  const base = {
    op: spec.op, transposed: spec.transposed, input: { shape: [...xShape], values: [...x] }, weight: { shape: [...wShape], values: [...w] },
    bias: b ? [...b] : null, stride: spec.stride, padding: plan.pads, dilation: spec.dilation, outputPadding: plan.outputPadding,
    groups: spec.groups, paddingMode: spec.paddingMode,
  };
  const j = new Array<number>(d), pos = new Array<number>(d);
  if (spec.transposed) {
    // Our input lives in the conv's output space (cOut channels of conv = our cIn), our output in its input space.
    const cInT = g.cOut, cOutT = g.cIn, inSize = g.outSize, outSize = g.inSize;
    const cinG = cInT / g.groups, coutG = cOutT / g.groups;
    const fullSize = inSize.map((L, a) => (L - 1) * g.stride[a] + g.dilation[a] * (g.kSize[a] - 1) + 1);
    const fullVol = prod(fullSize), outVol = prod(outSize), inVol = prod(inSize);
    const full = new Array<number>(g.n * cOutT * fullVol).fill(0);
    const scatter: ScatterStep[] = [];
    const f = new Array<number>(d);
    for (let n = 0; n < g.n; n++)
      for (let ci = 0; ci < cInT; ci++) {
        const grp = Math.floor(ci / cinG);
        for (let iq = 0; iq < inVol; iq++) {
          unravel(iq, inSize, pos);
          const xv = x[(n * cInT + ci) * inVol + iq];
          for (let c = 0; c < coutG; c++) {
            const co = grp * coutG + c;
            for (let kq = 0; kq < kVol; kq++) {
              unravel(kq, g.kSize, j);
              let fq = 0, inside = true;
              for (let a = 0; a < d; a++) {
                f[a] = pos[a] * g.stride[a] + j[a] * g.dilation[a]; // f = i·s + j·δ
                fq = fq * fullSize[a] + f[a];
                const o = f[a] - g.padBefore[a];
                if (o < 0 || o >= outSize[a]) inside = false;
              }
              const wv = w[(ci * coutG + c) * kVol + kq];
              full[(n * cOutT + co) * fullVol + fq] += xv * wv;
              scatter.push({
                x: [n, ci, ...pos], xValue: xv, w: [ci, c, ...j], wValue: wv, full: [n, co, ...f], product: xv * wv,
                out: inside ? [n, co, ...f.map((v, a) => v - g.padBefore[a])] : null,
              });
            }
          }
        }
      }
    const output = new Array<number>(g.n * cOutT * outVol).fill(0);
    const o = new Array<number>(d);
    for (let n = 0; n < g.n; n++)
      for (let co = 0; co < cOutT; co++)
        for (let oq = 0; oq < outVol; oq++) {
          unravel(oq, outSize, o);
          let fq = 0, inside = true;
          for (let a = 0; a < d; a++) {
            const fa = o[a] + g.padBefore[a];
            if (fa >= fullSize[a]) inside = false;
            fq = fq * fullSize[a] + fa;
          }
          output[(n * cOutT + co) * outVol + oq] = (inside ? full[(n * cOutT + co) * fullVol + fq] : 0) + (b ? b[co] : 0);
        }
    const crop = fullSize.map((F, a): DimCrop => {
      const [p0, p1] = plan.pads[a], op = plan.outputPadding[a];
      return {
        dim: dimNames(d)[a], fullSize: F, cropBefore: p0, cropAfter: p1, outputPadding: op,
        restored: Math.min(op, p1), zeros: Math.max(0, op - p1), keep: [p0, Math.min(F, p0 + outSize[a])],
      };
    });
    return {
      ...base, scatter, fullShape: [g.n, cOutT, ...fullSize], full, crop,
      output: { shape: [g.n, cOutT, ...outSize], values: output },
    };
  }
  // Convolution: each output reads the window i = o·s + j·δ − p0 of the (padded) input.
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const userIn = plan.inputPad ? plan.inputPad.inSize : g.inSize;
  const pads = plan.pads.map((p) => p[0]);
  const inVol = prod(userIn), outVol = prod(g.outSize);
  const windows: WindowStep[] = [];
  const output: number[] = [];
  const o = new Array<number>(d), src = new Array<number>(d);
  for (let n = 0; n < g.n; n++)
    for (let co = 0; co < g.cOut; co++) {
      const ci0 = Math.floor(co / cog) * cig;
      for (let oq = 0; oq < outVol; oq++) {
        unravel(oq, g.outSize, o);
        const terms: WindowTerm[] = [];
        let value = b ? b[co] : 0;
        for (let c = 0; c < cig; c++)
          for (let kq = 0; kq < kVol; kq++) {
            unravel(kq, g.kSize, j);
            let inPad = false, zero = false, q = 0;
            for (let a = 0; a < d; a++) {
              pos[a] = o[a] * g.stride[a] + j[a] * g.dilation[a] - pads[a];
              if (pos[a] < 0 || pos[a] >= userIn[a]) inPad = true;
              src[a] = padSource(pos[a], userIn[a], spec.paddingMode);
              if (src[a] < 0) zero = true;
              q = q * userIn[a] + Math.max(src[a], 0);
            }
            const wv = w[(co * cig + c) * kVol + kq];
            const xv = zero ? 0 : x[(n * g.cIn + ci0 + c) * inVol + q];
            value += wv * xv;
            terms.push({ w: [co, c, ...j], wValue: wv, x: zero ? null : [n, ci0 + c, ...src], xValue: xv, ...(inPad ? { padded: [...pos] } : {}) });
          }
        windows.push({ out: [n, co, ...o], terms, bias: b ? b[co] : 0, value });
        output.push(value);
      }
    }
  return { ...base, windows, output: { shape: [g.n, g.cOut, ...g.outSize], values: output } };
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

/**
 * The explainer's model: page state → everything the page shows, computed with convkit's public
 * API only. No DOM here, so the same code could run anywhere.
 */
import {
  ConvError, convOutSize, convTransposeOutSize, describeConv, outputSizeRange, torchSamePads, span,
  fullOutSize, fullCellKind, scatterTaps, windowTaps, type StepGeometry,
  conv1d, conv2d, convTranspose1d, convTranspose2d, paddle, tensor, rand, type ConvDescription, type Pair, type Tensor,
} from 'convkit';

export type Api = 'torch' | 'paddle';
export type Rank = 1 | 2;

/** What the user chose. Option fields keep the text the user typed; `parseArg` turns it into a value. */
export interface State {
  api: Api;
  transposed: boolean;
  rank: Rank;
  cIn: number;
  cOut: number;
  groups: number;
  /** Spatial input size per dim (first spatial dim first). */
  inSize: number[];
  kSize: number[];
  stride: string;
  padding: string;
  dilation: string;
  outputPadding: string;
  outputSize: string;
  /** One value per output channel, or blank for no bias. */
  bias: string;
  seed: number;
  /** Input values, (cIn, *inSize) row-major (batch 1). */
  x: number[];
  /** Weight values: conv (cOut, cIn/g, *k); transposed (cIn, cOut/g, *k). */
  w: number[];
}

const prod = (a: readonly number[]) => a.reduce((p, v) => p * v, 1);

/** Shapes of the operands the state describes (batch 1). */
export function inputShape(s: State): number[] {
  return [1, s.cIn, ...s.inSize];
}
export function weightShape(s: State): number[] {
  const g = Math.max(1, s.groups);
  return s.transposed ? [s.cIn, Math.max(1, Math.floor(s.cOut / g)), ...s.kSize] : [s.cOut, Math.max(1, Math.floor(s.cIn / g)), ...s.kSize];
}

/**
 * Text → option value: '' → undefined; '2' → 2; '1, 2' → [1, 2]; JSON lists as lists; anything else
 * stays a string so that convkit's own validation names it ('same', 'valid', 'SAME' or a mistake).
 */
export function parseArg(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^-?\d+$/.test(t)) return Number(t);
  if (/^-?\d+(\s*[, ]\s*-?\d+)+$/.test(t)) return t.split(/[\s,]+/).map(Number);
  if (t.startsWith('[')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return t;
    }
  }
  return t.replace(/^['"]|['"]$/g, '');
}

/** Seeded small integers, so that the arithmetic on the page stays easy to follow. */
export function seededValues(n: number, seed: number, low: number, high: number): number[] {
  const u = rand([n], { seed, dtype: 'float64' }).data;
  return Array.from(u, (v) => low + Math.floor(v * (high - low + 1)));
}

/** Resizes a row-major array from one shape to another, keeping the values whose index survives. */
export function resize(values: readonly number[], from: readonly number[], to: readonly number[], fill: readonly number[]): number[] {
  const out = [...fill];
  if (from.length !== to.length) return out;
  const idx = new Array<number>(to.length).fill(0);
  for (let q = 0; q < out.length; q++) {
    let r = q;
    for (let a = to.length - 1; a >= 0; a--) {
      idx[a] = r % to[a];
      r = Math.floor(r / to[a]);
    }
    if (idx.every((v, a) => v < from[a])) {
      let src = 0;
      for (let a = 0; a < from.length; a++) src = src * from[a] + idx[a];
      if (src < values.length) out[q] = values[src];
    }
  }
  return out;
}

/** One output-size line per spatial dim, with the numbers substituted. */
export interface FormulaLine {
  readonly axis: string;
  readonly symbolic: string;
  readonly substituted: string;
  readonly value: number;
  /** Extra lines: how 'same' pads or the output padding from outputSize were derived. */
  readonly notes: readonly string[];
}

/** A grid of one channel, always viewed as 2-D (a 1-D signal is one row). */
export interface Grid {
  readonly label: string;
  readonly rows: number;
  readonly cols: number;
  readonly values: readonly number[];
  /** Per-cell CSS classes ('pad', 'crop', 'outpad', 'ins', 'hit', 'src'). */
  readonly classes?: readonly string[];
  /** Per-cell extra text (a contribution such as '+2·1.1'). */
  readonly notes?: readonly string[];
  /** Per-cell "shown" flags: false renders an empty cell. */
  readonly shown?: readonly boolean[];
  /** Coordinates shown on the axes of the full grid (offset from the output's origin). */
  readonly rowOrigin?: number;
  readonly colOrigin?: number;
}

export interface Step {
  readonly title: string;
  readonly detail: string;
  /** Grids of this step: the scatter target (full output per output channel) or the padded input. */
  readonly grids: readonly Grid[];
  /** Cells of the input (transposed) or output (conv) highlighted as the step's source, as "c,r,col". */
  readonly source: string;
}

export interface Equivalence {
  readonly zero: readonly Grid[];
  readonly flipped: readonly Grid[];
  readonly result: readonly Grid[];
  readonly maxDiff: number;
  readonly matches: boolean;
  readonly explanation: string;
  readonly call: string;
}

export interface Outcome {
  readonly opName: string;
  readonly description: ConvDescription;
  /** Resolved pads and dilation as the op used them (Paddle's 'SAME' takes dilation 1). */
  readonly pads: readonly Pair[];
  readonly dilation: readonly number[];
  readonly stride: readonly number[];
  readonly outputPadding: readonly number[];
  readonly outShape: readonly number[];
  readonly formula: readonly FormulaLine[];
  readonly inputGrids: readonly Grid[];
  readonly kernelGrids: readonly Grid[];
  readonly outputGrids: readonly Grid[];
  readonly stepCount: number;
  readonly step: (t: number) => Step;
  readonly equivalence: Equivalence | null;
  readonly torchCode: string;
  readonly paddleCode: string;
}

/** Options in the shape convkit's functional API takes them. */
function options(s: State): Record<string, unknown> {
  const o: Record<string, unknown> = {
    stride: parseArg(s.stride) ?? 1,
    padding: parseArg(s.padding) ?? 0,
    dilation: parseArg(s.dilation) ?? 1,
    groups: s.groups,
  };
  if (s.transposed) {
    o.outputPadding = parseArg(s.outputPadding) ?? 0;
    const size = parseArg(s.outputSize);
    if (size !== undefined) o.outputSize = typeof size === 'number' ? [size] : size;
  }
  return o;
}

export function parseBias(s: State): number[] | null {
  const t = s.bias.trim();
  if (t === '') return null;
  return t.split(/[\s,]+/).filter((v) => v !== '').map(Number);
}

/** Runs the op the state describes; throws convkit's ConvError for an invalid combination. */
export function compute(s: State): Outcome {
  const rank = s.rank;
  const o = options(s);
  const xShape = inputShape(s), wShape = weightShape(s);
  if (s.x.length !== prod(xShape) || s.w.length !== prod(wShape))
    throw new ConvError('explainer', 'values', `must match the shapes ${JSON.stringify(xShape)} and ${JSON.stringify(wShape)}`);
  const x = tensor(Float64Array.from(s.x), xShape);
  const w = tensor(Float64Array.from(s.w), wShape);
  const biasValues = parseBias(s);
  if (biasValues && biasValues.some((v) => !Number.isFinite(v)))
    throw new ConvError('explainer', 'bias', `must be numbers separated by commas; got '${s.bias}'`);
  const b = biasValues ? tensor(Float64Array.from(biasValues), [biasValues.length]) : null;

  let y: Tensor;
  let description: ConvDescription;
  let opName: string;
  let pads: Pair[];
  let dilation: number[];
  const torchOp = (s.transposed ? `convTranspose${rank}d` : `conv${rank}d`) as ConvDescription['op'];
  if (s.api === 'torch') {
    opName = torchOp;
    description = describeConv(torchOp, xShape, wShape, o);
    const run = s.transposed ? (rank === 1 ? convTranspose1d : convTranspose2d) : rank === 1 ? conv1d : conv2d;
    y = run(x, w, b, o);
    pads = description.pads.map((p) => [p[0], p[1]] as Pair);
    dilation = [...description.dilation];
  } else {
    opName = s.transposed ? `conv${rank}dTranspose` : `conv${rank}d`;
    const run = s.transposed ? (rank === 1 ? paddle.conv1dTranspose : paddle.conv2dTranspose) : rank === 1 ? paddle.conv1d : paddle.conv2d;
    y = run(x, w, b, o);
    // Paddle's own rules resolve the padding spellings and the dilation ('SAME' takes dilation 1).
    const paddleView = paddle.describeConv(opName as 'conv1d', xShape, wShape, o as never);
    pads = paddleView.pads.map((p) => [p[0], p[1]] as Pair);
    dilation = [...paddleView.dilation];
    description = { ...paddleView, op: torchOp };
  }
  const strides = [...description.stride];
  const outputPadding = [...description.outputPadding];
  const outShape = [...y.shape];
  const formula = formulaLines(s, o, pads, dilation, strides, outputPadding);
  const view = viewOf(s, pads, dilation, strides, outputPadding, outShape);
  const cOut = outShape[1];
  const inputGrids = channelGrids(s.x, s.cIn, view.inRows, view.inCols, (c) => `x[0, ${c}]`);
  const kernelGrids = kernelGridsOf(s);
  const outputGrids = channelGrids(Array.from(y.data), cOut, view.outRows, view.outCols, (c) => `y[0, ${c}]`);
  const steps = s.transposed ? scatterSteps(s, view, Array.from(y.data), biasValues) : windowSteps(s, view);
  return {
    opName, description, pads, dilation, stride: strides, outputPadding, outShape, formula,
    inputGrids, kernelGrids, outputGrids, stepCount: steps.count, step: steps.step,
    equivalence: s.transposed ? equivalence(s, view, y, b) : null,
    torchCode: torchCode(s, pads, dilation, strides, outputPadding, outShape, biasValues),
    paddleCode: paddleCode(s, o, pads, dilation, strides, outputPadding, outShape, biasValues),
  };
}

// ---------------------------------------------------------------------------------------------
// Formulas

const AXES: Record<Rank, string[]> = { 1: ['L'], 2: ['H', 'W'] };

function formulaLines(s: State, o: Record<string, unknown>, pads: Pair[], dilation: number[], stride: number[], outPad: number[]): FormulaLine[] {
  const padText = String(parseArg(s.padding) ?? '');
  const torchSame = s.api === 'torch' && padText === 'same';
  const paddleSame = s.api === 'paddle' && padText.toUpperCase() === 'SAME';
  return s.inSize.map((L, a) => {
    const k = s.kSize[a], st = stride[a], d = dilation[a], [p0, p1] = pads[a], axis = AXES[s.rank][a];
    const notes: string[] = [];
    if (torchSame) {
      const [b0, b1] = torchSamePads(k, d);
      notes.push(`'same' (stride 1): total = δ·(k − 1) = ${d}·(${k} − 1) = ${b0 + b1}; p0 = ⌊${b0 + b1}/2⌋ = ${b0}, p1 = ${b1} (the odd one goes after)`);
    }
    if (paddleSame) {
      const out = Math.ceil(L / st), sum = Math.max((out - 1) * st + k - L, 0);
      notes.push(`Paddle 'SAME': o = ⌈${L}/${st}⌉ = ${out}; pad_sum = max((${out} − 1)·${st} + ${k} − ${L}, 0) = ${sum}; ` +
        `p0 = ⌊${sum}/2⌋ = ${pads[a][0]}, p1 = ${pads[a][1]}; dilation taken as 1`);
    }
    if (!s.transposed) {
      const value = convOutSize(L, k, st, d, pads[a]);
      return {
        axis, value, notes,
        symbolic: `${axis}_out = ⌊(${axis} + p0 + p1 − δ·(k − 1) − 1) / s⌋ + 1`,
        substituted: `⌊(${L} + ${p0} + ${p1} − ${d}·(${k} − 1) − 1) / ${st}⌋ + 1 = ${value}`,
      };
    }
    const op = outPad[a];
    const value = convTransposeOutSize(L, k, st, d, pads[a], op);
    if (o.outputSize !== undefined) {
      const { min, max } = outputSizeRange(L, k, st, d, pads[a]);
      notes.push(`output size must lie in [${min}, ${max}] (min = size with output padding 0, max = min + s − 1); ` +
        `requested ${value} → output padding = ${value} − ${min} = ${op}`);
    }
    return {
      axis, value, notes,
      symbolic: `${axis}_out = (${axis} − 1)·s − p0 − p1 + δ·(k − 1) + output_padding + 1`,
      substituted: `(${L} − 1)·${st} − ${p0} − ${p1} + ${d}·(${k} − 1) + ${op} + 1 = ${value}`,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Views: every op seen as 2-D (a 1-D op is one row) so that one renderer draws everything.

interface View {
  readonly inRows: number; readonly inCols: number;
  readonly kRows: number; readonly kCols: number;
  readonly outRows: number; readonly outCols: number;
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly pads: readonly [Pair, Pair];
  readonly outPad: readonly [number, number];
  readonly cOut: number;
}

function viewOf(s: State, pads: Pair[], dilation: number[], stride: number[], outPad: number[], outShape: number[]): View {
  const two = <T>(v: readonly T[], one: T): [T, T] => (s.rank === 1 ? [one, v[0]] : [v[0], v[1]]);
  const outSpatial = outShape.slice(2);
  const [outRows, outCols] = two(outSpatial, 1);
  const [inRows, inCols] = two(s.inSize, 1);
  const [kRows, kCols] = two(s.kSize, 1);
  return {
    inRows, inCols, kRows, kCols, outRows, outCols, cOut: outShape[1],
    stride: two(stride, 1), dilation: two(dilation, 1), pads: two(pads, [0, 0] as Pair), outPad: two(outPad, 0),
  };
}

function channelGrids(values: readonly number[], channels: number, rows: number, cols: number, label: (c: number) => string): Grid[] {
  const vol = rows * cols;
  return Array.from({ length: channels }, (_, c) => ({ label: label(c), rows, cols, values: values.slice(c * vol, (c + 1) * vol) }));
}

function kernelGridsOf(s: State): Grid[] {
  const shape = weightShape(s);
  const [kRows, kCols] = s.rank === 1 ? [1, s.kSize[0]] : [s.kSize[0], s.kSize[1]];
  const vol = kRows * kCols;
  const grids: Grid[] = [];
  for (let a = 0; a < shape[0]; a++)
    for (let b = 0; b < shape[1]; b++) {
      const off = (a * shape[1] + b) * vol;
      grids.push({ label: `w[${a}, ${b}]`, rows: kRows, cols: kCols, values: s.w.slice(off, off + vol) });
    }
  return grids;
}

const wAt = (s: State, v: View, a: number, b: number, jr: number, jc: number): number => {
  const shape = weightShape(s);
  return s.w[((a * shape[1] + b) * v.kRows + jr) * v.kCols + jc];
};

/** Rounds away float noise for display: 6 significant digits, no trailing zeros. */
export function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const r = Number(v.toPrecision(6));
  return Object.is(r, -0) ? '0' : String(r);
}

/** The page's two-dimensional view in the terms of the step generators (one batch element). */
const stepGeometry = (s: State, v: View): StepGeometry => ({
  n: 1, cIn: s.cIn, cOut: v.cOut, groups: s.groups, inSize: [v.inRows, v.inCols], kSize: [v.kRows, v.kCols],
  stride: v.stride, dilation: v.dilation, pads: v.pads, outputPadding: v.outPad,
});

/**
 * Transposed convolution as a scatter: step t takes input element t (channel-major), multiplies the
 * kernel by it and adds it into the full, uncropped output at `f = i·s + j·δ`. The real output is the
 * window `[p0, p0 + L_out)` of it; cells outside are cropped by the padding, and the last
 * `output_padding` cells of the window are the output padding.
 */
function scatterSteps(s: State, v: View, y: number[], bias: number[] | null): { count: number; step: (t: number) => Step } {
  const geo = stepGeometry(s, v);
  const [fullR, fullC] = fullOutSize(geo);
  const [[pr0], [pc0]] = v.pads;
  const gridR = Math.max(fullR, pr0 + v.outRows), gridC = Math.max(fullC, pc0 + v.outCols);
  const g = s.groups, cig = s.cIn / g, cog = v.cOut / g, inVol = v.inRows * v.inCols;
  const count = s.cIn * inVol;
  const classify = (fr: number, fc: number): string[] => {
    const kind = fullCellKind(geo, [fr, fc]);
    return kind ? [kind] : [];
  };
  const step = (t: number): Step => {
    const ci = Math.floor(t / inVol), q = t % inVol, ir = Math.floor(q / v.inCols), ic = q % v.inCols;
    const xv = s.x[t];
    const group = Math.floor(ci / cig);
    const cells = gridR * gridC;
    const acc = Array.from({ length: v.cOut }, () => new Array<number>(cells).fill(0));
    const touched = Array.from({ length: v.cOut }, () => new Array<boolean>(cells).fill(false));
    const notes = Array.from({ length: v.cOut }, () => new Array<string>(cells).fill(''));
    const hit = Array.from({ length: v.cOut }, () => new Array<boolean>(cells).fill(false));
    for (const tap of scatterTaps(geo)) {
      const u = tap.ci * inVol + tap.iq;
      if (u > t) break;
      const k = wAt(s, v, tap.ci, tap.c, tap.j[0], tap.j[1]);
      const cell = tap.f[0] * gridC + tap.f[1]; // f = i·s + j·δ
      acc[tap.co][cell] += s.x[u] * k;
      touched[tap.co][cell] = true;
      if (u === t) {
        hit[tap.co][cell] = true;
        notes[tap.co][cell] = `+${num(s.x[u])}·${num(k)}`;
      }
    }
    const grids: Grid[] = [];
    for (let co = 0; co < v.cOut; co++) {
      const coGroup = Math.floor(co / cog);
      const classes = acc[co].map((_, cell) => {
        const cls = classify(Math.floor(cell / gridC), cell % gridC);
        if (hit[co][cell]) cls.push('hit');
        return cls.join(' ');
      });
      grids.push({
        label: `full output, channel ${co}` + (group === coGroup ? '' : ' (other group: untouched)'),
        rows: gridR, cols: gridC, values: acc[co], classes, notes: notes[co], shown: touched[co], rowOrigin: -pr0, colOrigin: -pc0,
      });
    }
    const pos = s.rank === 1 ? `[${ic}]` : `[${ir}, ${ic}]`;
    const fr = ir * v.stride[0], fc = ic * v.stride[1];
    const at = s.rank === 1 ? `${fc}` : `(${fr}, ${fc})`;
    const biasNote = bias ? ' Bias is added after the crop.' : '';
    return {
      title: `Step ${t + 1} of ${count}: x[0, ${ci}]${pos} = ${num(xv)}`,
      detail: `adds ${num(xv)} × w[${ci}, ·] into the full output starting at ${at} (= i·s), taps every δ. ` +
        `Cropped cells (padding) are hatched; output-padding cells are outlined.${biasNote}`,
      grids, source: `${ci},${ir},${ic}`,
    };
  };
  void y;
  return { count, step };
}

/** Convolution as a gather: step t is output element t; it reads the window `o·s + j·δ` of the padded input. */
function windowSteps(s: State, v: View): { count: number; step: (t: number) => Step } {
  const geo = stepGeometry(s, v);
  const [[pr0, pr1], [pc0, pc1]] = v.pads;
  const padR = v.inRows + pr0 + pr1, padC = v.inCols + pc0 + pc1;
  const g = s.groups, cig = s.cIn / g, cog = v.cOut / g, outVol = v.outRows * v.outCols;
  const count = v.cOut * outVol;
  const step = (t: number): Step => {
    const co = Math.floor(t / outVol), q = t % outVol, orow = Math.floor(q / v.outCols), ocol = q % v.outCols;
    const group = Math.floor(co / cog);
    let sum = 0;
    const terms: string[] = [];
    const planes = Array.from({ length: s.cIn }, (_, ci) => {
      const values = new Array<number>(padR * padC).fill(0);
      const classes = new Array<string>(padR * padC).fill('');
      const notes = new Array<string>(padR * padC).fill('');
      for (let r = 0; r < padR; r++)
        for (let c = 0; c < padC; c++) {
          const xr = r - pr0, xc = c - pc0, cell = r * padC + c;
          const inside = xr >= 0 && xr < v.inRows && xc >= 0 && xc < v.inCols;
          values[cell] = inside ? s.x[(ci * v.inRows + xr) * v.inCols + xc] : 0;
          classes[cell] = inside ? '' : 'pad';
        }
      return { values, classes, notes };
    });
    for (const tap of windowTaps(geo)) {
      if (tap.co < co || (tap.co === co && tap.oq < q)) continue;
      if (tap.co > co || tap.oq > q) break;
      const { values, classes, notes } = planes[tap.ci];
      const cell = (tap.i[0] + pr0) * padC + tap.i[1] + pc0; // padded index o·s + j·δ
      const k = wAt(s, v, co, tap.c, tap.j[0], tap.j[1]);
      classes[cell] = `${classes[cell]} hit`.trim();
      notes[cell] = `·${num(k)}`;
      sum += values[cell] * k;
      terms.push(`${num(values[cell])}·${num(k)}`);
    }
    const grids: Grid[] = planes.map((p, ci) => ({
      label: `padded input, channel ${ci}` + (Math.floor(ci / cig) === group ? '' : ' (other group: not read)'),
      rows: padR, cols: padC, ...p, rowOrigin: -pr0, colOrigin: -pc0,
    }));
    const pos = s.rank === 1 ? `[${ocol}]` : `[${orow}, ${ocol}]`;
    const shown = terms.length > 12 ? `${terms.slice(0, 12).join(' + ')} + …` : terms.join(' + ');
    return {
      title: `Step ${t + 1} of ${count}: y[0, ${co}]${pos}`,
      detail: `reads the highlighted window (start o·s, taps every δ): ${shown} = ${num(sum)}` +
        (parseBias(s) ? ' (before bias)' : ''),
      grids, source: `${co},${orow},${ocol}`,
    };
  };
  return { count, step };
}

// ---------------------------------------------------------------------------------------------
// Transposed conv = conv over the zero-inserted, padded input with the flipped kernel.

function equivalence(s: State, v: View, y: Tensor, b: Tensor | null): Equivalence {
  const g = s.groups, cig = s.cIn / g, cog = v.cOut / g;
  const spanR = span(v.kRows, v.dilation[0]), spanC = span(v.kCols, v.dilation[1]);
  const insR = (v.inRows - 1) * v.stride[0] + 1, insC = (v.inCols - 1) * v.stride[1] + 1;
  // Pad by δ(k − 1) − p0 before and δ(k − 1) − p1 + output_padding after; a negative pad crops.
  const before = [spanR - 1 - v.pads[0][0], spanC - 1 - v.pads[1][0]];
  const after = [spanR - 1 - v.pads[0][1] + v.outPad[0], spanC - 1 - v.pads[1][1] + v.outPad[1]];
  const zr = insR + before[0] + after[0], zc = insC + before[1] + after[1];
  const z = new Array<number>(s.cIn * zr * zc).fill(0);
  const zClasses = new Array<string>(zr * zc).fill('');
  for (let r = 0; r < zr; r++)
    for (let c = 0; c < zc; c++) {
      const ir = r - before[0], ic = c - before[1];
      const inside = ir >= 0 && ir < insR && ic >= 0 && ic < insC;
      const original = inside && ir % v.stride[0] === 0 && ic % v.stride[1] === 0;
      zClasses[r * zc + c] = !inside ? 'pad' : original ? 'src' : 'ins';
      if (original)
        for (let ci = 0; ci < s.cIn; ci++)
          z[(ci * zr + r) * zc + c] = s.x[(ci * v.inRows + ir / v.stride[0]) * v.inCols + ic / v.stride[1]];
    }
  // Flipped kernel with the channel roles swapped: wf[co, ci', j] = w[g·cig + ci', co − g·cog, k − 1 − j].
  const kVol = v.kRows * v.kCols;
  const wf = new Array<number>(v.cOut * cig * kVol).fill(0);
  for (let co = 0; co < v.cOut; co++) {
    const grp = Math.floor(co / cog);
    for (let c = 0; c < cig; c++)
      for (let jr = 0; jr < v.kRows; jr++)
        for (let jc = 0; jc < v.kCols; jc++)
          wf[((co * cig + c) * v.kRows + jr) * v.kCols + jc] = wAt(s, v, grp * cig + c, co - grp * cog, v.kRows - 1 - jr, v.kCols - 1 - jc);
  }
  const spatialZ = s.rank === 1 ? [zc] : [zr, zc];
  const spatialK = s.rank === 1 ? [v.kCols] : [v.kRows, v.kCols];
  const dil = s.rank === 1 ? [v.dilation[1]] : [...v.dilation];
  const zt = tensor(Float64Array.from(z), [1, s.cIn, ...spatialZ]);
  const wt = tensor(Float64Array.from(wf), [v.cOut, cig, ...spatialK]);
  const convOpts = { dilation: s.rank === 1 ? dil[0] : dil, groups: g };
  const r = s.rank === 1 ? conv1d(zt, wt, b, convOpts) : conv2d(zt, wt, b, convOpts);
  let maxDiff = r.size === y.size ? 0 : Infinity;
  if (r.size === y.size) for (let i = 0; i < r.size; i++) maxDiff = Math.max(maxDiff, Math.abs(r.data[i] - y.data[i]));
  const zGrids = channelGrids(z, s.cIn, zr, zc, (c) => `z[0, ${c}]`).map((gr) => ({ ...gr, classes: zClasses }));
  const fGrids: Grid[] = [];
  for (let co = 0; co < v.cOut; co++)
    for (let c = 0; c < cig; c++) {
      const off = (co * cig + c) * kVol;
      fGrids.push({ label: `w′[${co}, ${c}]`, rows: v.kRows, cols: v.kCols, values: wf.slice(off, off + kVol) });
    }
  const fmtList = (a: readonly number[]) => (s.rank === 1 ? String(a[1]) : `[${a.join(', ')}]`);
  const fn = s.rank === 1 ? 'conv1d' : 'conv2d';
  return {
    zero: zGrids, flipped: fGrids,
    result: channelGrids(Array.from(r.data), v.cOut, v.outRows, v.outCols, (c) => `${fn}(z, w′)[0, ${c}]`),
    maxDiff, matches: maxDiff <= 1e-9 * Math.max(1, ...Array.from(y.data, Math.abs)),
    explanation: `z inserts s − 1 = ${fmtList(v.stride.map((q) => q - 1))} zeros between input elements, then pads ` +
      `δ·(k − 1) − p0 = ${fmtList(before)} before and δ·(k − 1) − p1 + output_padding = ${fmtList(after)} after ` +
      `(a negative pad crops). w′ swaps in/out channels and flips the kernel.`,
    call: `${fn}(z, w′${b ? ', b' : ''}, { dilation: ${Array.isArray(convOpts.dilation) ? `[${convOpts.dilation.join(', ')}]` : convOpts.dilation}, groups: ${g} })`,
  };
}

// ---------------------------------------------------------------------------------------------
// The same numbers as PyTorch and Paddle code.

function nested(values: readonly number[], shape: readonly number[]): string {
  if (shape.length === 0) return pyNum(values[0]);
  const inner = prod(shape.slice(1));
  const parts = Array.from({ length: shape[0] }, (_, i) => nested(values.slice(i * inner, (i + 1) * inner), shape.slice(1)));
  return `[${parts.join(', ')}]`;
}
/** `name(a, b, …)` wrapped at 72 columns with a 4-space hanging indent. */
function call(name: string, args: readonly string[]): string {
  const one = `${name}(${args.join(', ')})`;
  if (one.length <= 72) return one;
  const lines: string[] = [];
  let line = '';
  for (const a of args) {
    if (line && line.length + a.length + 2 > 68) {
      lines.push(`${line},`);
      line = a;
    } else line = line ? `${line}, ${a}` : a;
  }
  lines.push(`${line})`);
  return `${name}(\n    ${lines.join('\n    ')}`;
}
const pyNum = (v: number) => (Number.isInteger(v) ? `${v}.` : String(v));
const tuple = (a: readonly number[]) => (a.length === 1 ? String(a[0]) : `(${a.join(', ')})`);

function torchCode(s: State, pads: Pair[], dilation: number[], stride: number[], outPad: number[], outShape: number[], bias: number[] | null): string {
  const cls = s.transposed ? `ConvTranspose${s.rank}d` : `Conv${s.rank}d`;
  const padText = String(parseArg(s.padding) ?? '');
  const symmetric = pads.every(([a, b]) => a === b);
  const sameStr = s.api === 'torch' && !s.transposed && padText === 'same';
  const padArg = sameStr ? `'same'` : symmetric ? tuple(pads.map((p) => p[0])) : tuple(pads.map(() => 0));
  const args = [`${s.cIn}`, `${s.cOut}`, `kernel_size=${tuple(s.kSize)}`, `stride=${tuple(stride)}`, `padding=${padArg}`];
  const size = parseArg(s.outputSize);
  if (s.transposed && size === undefined) args.push(`output_padding=${tuple(outPad)}`);
  if (s.transposed && size !== undefined && !symmetric) args.push(`output_padding=${tuple(outPad)}`);
  args.push(`groups=${s.groups}`, `bias=${bias ? 'True' : 'False'}`, `dilation=${tuple(dilation)}`);
  const lines = ['import torch', 'import torch.nn as nn', 'import torch.nn.functional as F', '',
    `m = ${call(`nn.${cls}`, args)}`, 'with torch.no_grad():',
    `    m.weight.copy_(torch.tensor(${nested(s.w, weightShape(s))}))`];
  if (bias) lines.push(`    m.bias.copy_(torch.tensor(${nested(bias, [bias.length])}))`);
  lines.push(`x = torch.tensor(${nested(s.x, inputShape(s))})`);
  const spatialOut = outShape.slice(2);
  if (symmetric || sameStr) {
    lines.push(s.transposed && size !== undefined ? `y = m(x, output_size=[${spatialOut.join(', ')}])` : 'y = m(x)');
  } else if (!s.transposed) {
    // PyTorch's modules take symmetric padding only: pad explicitly (F.pad lists the last dim first).
    const padList = [...pads].reverse().flatMap((p) => [p[0], p[1]]);
    lines.push(`y = m(F.pad(x, [${padList.join(', ')}]))  # asymmetric padding, last dim first`);
  } else {
    // Asymmetric crop: run uncropped, then take the window [p0, p0 + L_out).
    const slices = pads.map((p, a) => `${p[0]}:${p[0] + spatialOut[a]}`);
    lines.push(`y = m(x)[..., ${slices.join(', ')}]  # asymmetric padding crops [p0, p0 + L_out)`);
  }
  lines.push(`print(y.shape)  # torch.Size([${outShape.join(', ')}])`, 'print(y)');
  return lines.join('\n');
}

function paddleCode(s: State, o: Record<string, unknown>, pads: Pair[], dilation: number[], stride: number[], outPad: number[], outShape: number[], bias: number[] | null): string {
  const cls = s.transposed ? `Conv${s.rank}DTranspose` : `Conv${s.rank}D`;
  const padText = String(parseArg(s.padding) ?? '');
  const same = s.api === 'paddle' ? padText.toUpperCase() === 'SAME' : false;
  const symmetric = pads.every(([a, b]) => a === b);
  const padArg = same ? `'SAME'` : symmetric ? tuple(pads.map((p) => p[0])) : `[${pads.flatMap((p) => [p[0], p[1]]).join(', ')}]`;
  const size = parseArg(s.outputSize);
  const args = [`${s.cIn}`, `${s.cOut}`, `kernel_size=${tuple(s.kSize)}`, `stride=${tuple(stride)}`, `padding=${padArg}`];
  if (s.transposed && size === undefined && outPad.some((p) => p !== 0)) args.push(`output_padding=${tuple(outPad)}`);
  args.push(`dilation=${tuple(same ? s.kSize.map(() => 1) : dilation)}`, `groups=${s.groups}`);
  if (!bias) args.push('bias_attr=False');
  const lines = ['import paddle', '', `m = ${call(`paddle.nn.${cls}`, args)}`,
    `m.weight.set_value(paddle.to_tensor(${nested(s.w, weightShape(s))}, dtype='float32'))`];
  if (bias) lines.push(`m.bias.set_value(paddle.to_tensor(${nested(bias, [bias.length])}, dtype='float32'))`);
  lines.push(`x = paddle.to_tensor(${nested(s.x, inputShape(s))}, dtype='float32')`);
  lines.push(s.transposed && o.outputSize !== undefined ? `y = m(x, output_size=[${outShape.slice(2).join(', ')}])` : 'y = m(x)');
  lines.push(`print(y.shape)  # [${outShape.join(', ')}]`, 'print(y)');
  return lines.join('\n');
}

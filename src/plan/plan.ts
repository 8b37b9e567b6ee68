/**
 * (spec, operand shapes[, outputSize]) → everything a kernel needs: the Geometry (always in the
 * convolution direction), the resolved pads, the output padding and the user-facing output shape.
 * Pads are computed here once; no kernel recomputes them.
 */
import { ConvError, fmt } from '../spec/errors.js';
import { convOutSize, convTransposeOutSize, outputPaddingFor, paddleSamePads, torchSamePads } from '../spec/shape.js';
import type { ConvSpec, Geometry, Pair, PaddingMode, Shape } from '../spec/types.js';
import { channelsOf, checkOperands, spatialOf } from '../spec/validate.js';
import { prod } from '../util/shape.js';

/**
 * Largest output convkit will allocate for one call (elements): 2^28, i.e. 1 GiB as float32 and 2 GiB as
 * float64, which a browser tab or a wasm32 heap can still hold. Larger outputs throw before allocating.
 */
export const MAX_OUTPUT_ELEMENTS = 2 ** 28;

export interface ConvPlan {
  readonly spec: ConvSpec;
  readonly batched: boolean;
  /** Convolution-direction geometry, channels-first. For a non-zero padding mode, the padded input is `inSize`. */
  readonly geometry: Geometry;
  /** Resolved padding per spatial dim. */
  readonly pads: readonly Pair[];
  /** Explicit padding applied to the input before convolving (padding modes other than zeros). */
  readonly inputPad: { readonly pads: readonly Pair[]; readonly mode: PaddingMode; readonly inSize: readonly number[] } | null;
  readonly outputPadding: readonly number[];
  /** Output shape in the user's layout (batched or not). */
  readonly outShape: readonly number[];
}

function resolvePads(spec: ConvSpec, inSize: readonly number[], kSize: readonly number[]): Pair[] {
  const p = spec.padding;
  if (p.kind === 'explicit') return p.pads.map((q) => [q[0], q[1]] as Pair);
  if (p.flavour === 'torch') return kSize.map((k, a) => torchSamePads(k, spec.dilation[a]));
  return kSize.map((k, a) => paddleSamePads(inSize[a], k, spec.stride[a]));
}

function checkPadMode(spec: ConvSpec, inSize: readonly number[], pads: readonly Pair[]): void {
  const { op, paddingMode: mode } = spec;
  pads.forEach(([p0, p1], a) => {
    const L = inSize[a];
    if (mode === 'reflect' && (p0 >= L || p1 >= L))
      throw new ConvError(op, 'padding', `must be smaller than the input size for paddingMode 'reflect'; got padding ${fmt(pads)} for input size ${fmt(inSize)}`);
    if (mode === 'circular' && (p0 > L || p1 > L))
      throw new ConvError(op, 'padding', `must be at most the input size for paddingMode 'circular'; got padding ${fmt(pads)} for input size ${fmt(inSize)}`);
    if (mode === 'replicate' && L < 1 && p0 + p1 > 0)
      throw new ConvError(op, 'input', `must be non-empty for paddingMode 'replicate'; got input size ${fmt(inSize)}`);
  });
}

function checkOutput(spec: ConvSpec, outSize: readonly number[], inSize: readonly number[], kSize: readonly number[], pads: readonly Pair[]): void {
  if (outSize.some((o) => o <= 0)) {
    const what = spec.transposed ? 'padding crops the whole output' : 'kernel (dilated) is larger than the padded input';
    throw new ConvError(spec.op, 'input',
      `is too small: ${what}; input size ${fmt(inSize)}, kernel ${fmt(kSize)}, dilation ${fmt(spec.dilation)}, stride ${fmt(spec.stride)}, padding ${fmt(pads)} give output size ${fmt(outSize)}`);
  }
}

export function planConv(spec: ConvSpec, x: Shape, w: Shape, b: Shape | null, outputSize?: readonly number[]): ConvPlan {
  const { op, rank: d, stride, dilation, transposed } = spec;
  checkOperands(spec, x, w, b);
  const batched = x.length === d + 2;
  const n = batched ? x[0] : 1;
  const cIn = channelsOf(x, spec);
  const inSize = spatialOf(x, spec);
  const kSize = w.slice(2);
  const pads = resolvePads(spec, inSize, kSize);
  let outputPadding = [...spec.outputPadding];
  let outSize: number[];
  let geometry: Geometry;
  let inputPad: ConvPlan['inputPad'] = null;
  const g = spec.groups;

  if (!transposed) {
    if (spec.paddingMode !== 'zeros') checkPadMode(spec, inSize, pads);
    outSize = inSize.map((L, a) => convOutSize(L, kSize[a], stride[a], dilation[a], pads[a]));
    checkOutput(spec, outSize, inSize, kSize, pads);
    const cOut = w[0];
    if (spec.paddingMode === 'zeros' || pads.every(([p0, p1]) => p0 === 0 && p1 === 0)) {
      geometry = { n, cIn, cOut, groups: g, inSize, outSize, kSize, stride, dilation, padBefore: pads.map((p) => p[0]) };
    } else {
      const padded = inSize.map((L, a) => L + pads[a][0] + pads[a][1]);
      // The padded input is materialised: it must fit even where a large stride keeps the output small.
      const paddedTotal = Math.max(n, 1) * cIn * prod(padded);
      if (!Number.isSafeInteger(paddedTotal) || paddedTotal > MAX_OUTPUT_ELEMENTS)
        throw new ConvError(op, 'padding', `would make a padded input of ${paddedTotal} elements (shape ${fmt([n, cIn, ...padded])}) for paddingMode '${spec.paddingMode}', more than the ${MAX_OUTPUT_ELEMENTS} convkit allocates; got padding ${fmt(pads)}`);
      inputPad = { pads, mode: spec.paddingMode, inSize };
      geometry = { n, cIn, cOut, groups: g, inSize: padded, outSize, kSize, stride, dilation, padBefore: new Array<number>(d).fill(0) };
    }
    checkSize(spec, n, cOut, outSize);
  } else {
    const cOut = w[1] * g;
    if (outputSize !== undefined) {
      if (spec.paddleRules && Array.isArray(outputSize) && outputPadding.some((p) => p !== 0))
        throw new ConvError(op, 'outputSize', `cannot be given together with a non-zero outputPadding; got outputSize ${fmt(outputSize)}, outputPadding ${fmt(outputPadding)}`);
      const min = inSize.map((L, a) => convTransposeOutSize(L, kSize[a], stride[a], dilation[a], pads[a], 0));
      outputPadding = outputPaddingFor(op, outputSize, { min, stride, inSize, batched, n, channels: cOut, layout: spec.layout });
    }
    outSize = inSize.map((L, a) => convTransposeOutSize(L, kSize[a], stride[a], dilation[a], pads[a], outputPadding[a]));
    checkOutput(spec, outSize, inSize, kSize, pads);
    checkSize(spec, n, cOut, outSize);
    // The conv this op transposes maps our output (cOut channels, outSize) back to our input.
    geometry = { n, cIn: cOut, cOut: cIn, groups: g, inSize: outSize, outSize: inSize, kSize, stride, dilation, padBefore: pads.map((p) => p[0]) };
  }
  const cOutUser = transposed ? w[1] * g : w[0];
  const spatialOut = outSize;
  const outShape = spec.layout === 'channelsLast' ? [...spatialOut, cOutUser] : [cOutUser, ...spatialOut];
  if (batched) outShape.unshift(n);
  return { spec, batched, geometry, pads, inputPad, outputPadding, outShape };
}

function checkSize(spec: ConvSpec, n: number, c: number, outSize: readonly number[]): void {
  // An empty batch still sizes the per-sample scratch and tap tables, so count at least one sample.
  const total = Math.max(n, 1) * c * prod(outSize);
  if (!Number.isSafeInteger(total) || total > MAX_OUTPUT_ELEMENTS)
    throw new ConvError(spec.op, 'output', `would have ${total} elements (shape ${fmt([n, c, ...outSize])}), more than the ${MAX_OUTPUT_ELEMENTS} convkit allocates`);
}


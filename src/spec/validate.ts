/** Every check on operands: one place, all values in the message, nothing mutated before it passes. */
import { ConvError, fmt, guarded } from './errors.js';
import type { ConvSpec, Shape } from './types.js';
import { weightChannels } from './shape.js';

/** Channel count of an input of either layout, batched or not. */
export const channelsOf = (x: Shape, spec: ConvSpec): number =>
  spec.layout === 'channelsLast' ? x[x.length - 1] : x[x.length - spec.rank - 1];

/** Spatial sizes of an input of either layout. */
export const spatialOf = (x: Shape, spec: ConvSpec): number[] =>
  spec.layout === 'channelsLast' ? x.slice(x.length - spec.rank - 1, x.length - 1) : x.slice(x.length - spec.rank);

/** `groups` must divide each channel count of a layer (`name` = inChannels, outChannels); `detail` adds where the count came from. */
export function checkGroupsDivide(op: string, name: string, channels: number, groups: number, detail = ''): void {
  if (channels % groups !== 0) throw new ConvError(op, 'groups', `must divide ${name}${detail}; got ${name}=${channels}, groups=${groups}`);
}

/** A shape given as plain numbers (describeConv takes them from the caller): non-negative safe integers. */
function checkShape(op: string, param: string, s: unknown): void {
  if (!guarded(op, param, () => Array.isArray(s) && s.length <= 8 && Array.from({ length: s.length }, (_, i) => s[i]).every((v) => Number.isSafeInteger(v) && v >= 0)))
    throw new ConvError(op, param, `shape must be a list of non-negative integers; got ${fmt(s)}`);
}

export function checkOperands(spec: ConvSpec, x: Shape, w: Shape, b: Shape | null): void {
  const { op, rank: d, groups: g, transposed } = spec;
  checkShape(op, 'input', x);
  checkShape(op, 'weight', w);
  if (b !== null) checkShape(op, 'bias', b);
  // Paddle's ops take batched input only ("Input x should be 3D tensor" for conv1d, …).
  if (spec.paddleRules && x.length !== d + 2)
    throw new ConvError(op, 'input', `must be ${d + 2}-D (batched; Paddle takes no unbatched input); got shape ${fmt(x)}`);
  if (x.length !== d + 1 && x.length !== d + 2)
    throw new ConvError(op, 'input', `must be ${d + 1}-D (unbatched) or ${d + 2}-D (batched); got shape ${fmt(x)}`);
  // PyTorch supports empty batch or channels only; an empty spatial dim would otherwise be "padded into" an output.
  if (spatialOf(x, spec).some((s) => s < 1))
    throw new ConvError(op, 'input', `must have non-empty spatial dims (only the batch may be empty); got shape ${fmt(x)}`);
  if (w.length !== d + 2)
    throw new ConvError(op, 'weight', `must be ${d + 2}-D ${transposed ? '(inChannels, outChannels/groups, *kernel)' : '(outChannels, inChannels/groups, *kernel)'}; got shape ${fmt(w)}`);
  if (w.some((s) => s < 1))
    throw new ConvError(op, 'weight', `must have positive sizes; got shape ${fmt(w)}`);
  // conv: (cOut, cIn/g, …k); transposed: (cIn, cOut/g, …k): dim 0 splits into groups either way.
  checkGroupsDivide(op, transposed ? 'inChannels' : 'outChannels', w[0], g, ` (weight dim 0 of ${fmt(w)})`);
  const cIn = channelsOf(x, spec);
  const { inChannels: wantIn, outChannels: cOut } = weightChannels(transposed, w, g);
  if (cIn !== wantIn)
    throw new ConvError(op, 'input',
      `has ${cIn} channels but weight ${fmt(w)} with groups=${g} expects ${wantIn}; input shape ${fmt(x)}${spec.layout === 'channelsLast' ? ' (channels last)' : ''}`);
  if (b && (b.length !== 1 || b[0] !== cOut))
    throw new ConvError(op, 'bias', `must have shape [${cOut}] (outChannels); got shape ${fmt(b)}`);
}

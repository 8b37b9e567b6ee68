/** The spec side of a 1-D convolution stream: which pads stream, and the spec of one window. */
import { ConvError, fmt } from '../spec/errors.js';
import { paddleSamePads, torchSamePads } from '../spec/shape.js';
import type { ConvSpec, Pair } from '../spec/types.js';
import { checkOperands } from '../spec/validate.js';
import { Tensor } from '../autograd/tensor.js';

/**
 * Checks that `spec` can stream and returns its pads `[p0, p1]` (the same for every input length).
 * Refused: other ranks; 'circular' (its leading padding is the end of the signal); Paddle's 'SAME' with
 * stride > 1 (its split depends on the total length mod stride, known only at the end).
 */
export function streamPads(op: string, spec: ConvSpec, k: number): Pair {
  if (spec.rank !== 1) throw new ConvError(op, 'module', `cannot stream: only 1-D convolutions stream; got a ${spec.rank}-D ${spec.op}`);
  if (spec.paddingMode === 'circular')
    throw new ConvError(op, 'paddingMode', `'circular' cannot stream: the padding before the first position is the end of the signal, known only at flush(); got 'circular'`);
  const p = spec.padding;
  if (p.kind === 'explicit') return p.pads[0];
  if (p.flavour === 'torch') return torchSamePads(k, spec.dilation[0]);
  if (spec.stride[0] !== 1)
    throw new ConvError(op, 'padding', `'SAME' with stride > 1 cannot stream: Paddle splits its padding by the whole input length (mod stride), known only at flush(); got stride ${fmt(spec.stride)}`);
  return paddleSamePads(1, k, 1); // stride 1: total k − 1 whatever the length
}

/** Checks weight and bias as the functional op would (dtype, rank, groups, bias shape), before any chunk arrives. */
export function checkParameters(op: string, spec: ConvSpec, weight: unknown, bias: unknown): void {
  if (!(weight instanceof Tensor)) throw new ConvError(op, 'weight', `must be a Tensor; got ${fmt(typeof weight)}`);
  if (bias !== null && bias !== undefined && !(bias instanceof Tensor)) throw new ConvError(op, 'bias', `must be a Tensor or null; got ${fmt(typeof bias)}`);
  const b = bias as Tensor | null | undefined;
  if (b && b.dtype !== weight.dtype) throw new ConvError(op, 'bias', `must have the weight's dtype ${weight.dtype}; got ${b.dtype}`);
  const w = weight.shape;
  const c = w.length === 3 ? (spec.transposed ? w[0] : w[1] * spec.groups) : 1;
  checkOperands(spec, spec.layout === 'channelsLast' ? [1, 1, c] : [1, c, 1], w, b ? b.shape : null);
}

/**
 * Every rule the functional op applies to its input, on the first chunk's shape (time taken as 1: a
 * chunk may be empty), so that a chunk the op would refuse is refused before the stream changes.
 */
export function checkChunk(spec: ConvSpec, chunk: Tensor, weight: Tensor, bias: Tensor | null): void {
  const shape = [...chunk.shape];
  shape[spec.layout === 'channelsLast' ? shape.length - 2 : shape.length - 1] = 1;
  checkOperands(spec, shape, weight.shape, bias ? bias.shape : null);
}

/**
 * Specs of the windows a stream convolves: the module's spec with explicit pads `[pb, pa]`, output
 * padding `op` and no padding mode (reflect and replicate pads are in the window already). A spec is
 * made once per distinct pads, so the plan cache (keyed by spec) answers steady-state pushes.
 */
export class WindowSpecs {
  private readonly specs = new Map<string, ConvSpec>();
  constructor(private readonly base: ConvSpec) {}

  get(pb: number, pa: number, outPad = 0): ConvSpec {
    const key = `${pb},${pa},${outPad}`;
    let s = this.specs.get(key);
    if (!s) {
      if (this.specs.size >= 256) this.specs.clear(); // a few per stream in practice; never unbounded
      s = { ...this.base, padding: { kind: 'explicit', pads: [[pb, pa]] }, paddingMode: 'zeros', outputPadding: [outPad] };
      this.specs.set(key, s);
    }
    return s;
  }
}

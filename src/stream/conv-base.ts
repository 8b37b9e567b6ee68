/**
 * What the streams of Conv1d and ConvTranspose1d share: the checked parameters, the one time axis
 * (stride, dilated span, the two pads), the channel counts, the frame and signal window of the
 * chunks and the counts of positions received and emitted.
 */
import { ConvError } from '../spec/errors.js';
import { span as spanOf, weightChannels } from '../spec/shape.js';
import type { ConvSpec, Layout } from '../spec/types.js';
import type { Tensor } from '../autograd/tensor.js';
import type { TimeWindow } from './window.js';
import { checkSameFrame, chunkFrame, StreamBase, type Frame } from './base.js';
import { checkChunk, checkParameters, streamPads, WindowSpecs } from './spec.js';

export abstract class ConvStreamBase extends StreamBase {
  readonly layout: Layout;
  protected readonly specs: WindowSpecs;
  protected readonly cIn: number;
  protected readonly cOut: number;
  protected readonly s: number;
  protected readonly span: number;
  protected readonly p0: number;
  protected readonly p1: number;
  protected frame: Frame | null = null;
  /** The signal kept for the next outputs. */
  protected win: TimeWindow | null = null;
  protected raw = 0;
  protected out = 0;

  /** `transposed`: which of the two the stream computes; a module of the other kind is refused. */
  constructor(op: string, transposed: boolean, protected readonly spec: ConvSpec, protected readonly weight: Tensor, protected readonly bias: Tensor | null) {
    super(op);
    if (spec.transposed !== transposed)
      throw new ConvError(op, 'module', transposed ? `is not a transposed convolution; got ${spec.op}` : `is a transposed convolution; use its own stream; got ${spec.op}`);
    checkParameters(op, spec, weight, bias);
    const k = weight.shape[2];
    [this.p0, this.p1] = streamPads(op, spec, k);
    this.layout = spec.layout;
    this.s = spec.stride[0];
    this.span = spanOf(k, spec.dilation[0]);
    ({ inChannels: this.cIn, outChannels: this.cOut } = weightChannels(spec.transposed, weight.shape, spec.groups));
    this.specs = new WindowSpecs(spec);
  }

  get received(): number { return this.raw; }
  get emitted(): number { return this.out; }

  check(chunk: unknown): void {
    const f = chunkFrame(this.op, chunk, this.layout, this.weight.dtype, this.cIn);
    if (this.frame) checkSameFrame(this.op, this.frame, f, (chunk as Tensor).shape);
    else checkChunk(this.spec, chunk as Tensor, this.weight, this.bias);
  }
}

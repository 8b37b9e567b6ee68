/**
 * What the streams of Conv1d and ConvTranspose1d share: the checked parameters, the one time axis
 * (stride, dilated span, the two pads), the channel counts, the frame and signal window of the
 * chunks and the counts of positions received and emitted.
 */
import { ConvError } from '../spec/errors.js';
import { span as spanOf, weightChannels } from '../spec/shape.js';
import type { ConvSpec, Layout } from '../spec/types.js';
import { allocate, Tensor, type TypedArray } from '../autograd/tensor.js';
import { applyConv, convInto, planCall } from '../functional/apply.js';
import { prod } from '../util/shape.js';
import { TimeWindow } from './window.js';
import { DeviceWindow } from './device-window.js';
import { blocks, checkSameFrame, chunkFrame, frameShape, markScratch, StreamBase, timeAxis, type Frame } from './base.js';
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
  /** The signal kept for the next outputs: typed arrays for CPU chunks, a device tensor for device chunks. */
  protected win: TimeWindow | DeviceWindow | null = null;
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
    const f = chunkFrame(this.op, chunk, this.layout, this.weight.dtype, this.cIn), x = chunk as Tensor, device = this.weight.device;
    if (x.device !== device)
      throw new ConvError(this.op, 'chunk', `must be on the weight's device '${device}' (move the module or the chunk with .to()); got a chunk on '${x.device}'`);
    if (device !== 'cpu' && this.spec.paddingMode !== 'zeros')
      throw new ConvError(this.op, 'paddingMode', `'${this.spec.paddingMode}' streams on the CPU only (its padding copies positions within the kept signal); got a chunk on '${device}'`);
    if (this.frame) checkSameFrame(this.op, this.frame, f, x.shape);
    else checkChunk(this.spec, x, this.weight, this.bias);
  }

  /** A window for the frame's signal of `c` channels, on the chunks' device (reused when it fits). */
  protected windowFor(f: Frame, c: number, old: TimeWindow | DeviceWindow | null): TimeWindow | DeviceWindow {
    const layout = this.layout;
    if (this.weight.device !== 'cpu') return new DeviceWindow(timeAxis(f.batched ? 3 : 2, layout), (t) => frameShape(f, layout, c, t));
    const { outer, inner } = blocks(f, layout);
    return old instanceof TimeWindow && old.outer === outer && old.inner === inner ? old : new TimeWindow(this.weight.dtype, outer, inner);
  }

  private outBuf: TypedArray | null = null;

  /**
   * The convolution of one window: on the CPU and channels-first, the kernels run straight from
   * the cached plan (the same call the functional op makes, so the same values), into an array
   * reused from push to push when a composite consumes the output at once; otherwise (device
   * tensors, channels-last) through the functional op.
   */
  protected convolve(spec: ConvSpec, x: Tensor): Tensor {
    const w = this.weight, b = this.bias;
    if (x.device !== 'cpu' || this.layout === 'channelsLast') return applyConv(spec, x, w, b);
    const plan = planCall(spec, x, w, b, undefined, {});
    if (plan.inputPad || plan.spec.layout !== 'channelsFirst') return applyConv(spec, x, w, b);
    const n = prod(plan.outShape);
    let y: TypedArray;
    if (this.intermediate) {
      if (!this.outBuf || this.outBuf.length < n) this.outBuf = allocate(w.dtype, Math.max(n, 2 * (this.outBuf?.length ?? 0)));
      y = markScratch(this.outBuf.subarray(0, n));
    } else y = allocate(w.dtype, n);
    convInto(plan, x, w, b, y);
    return new Tensor(y, plan.outShape);
  }

  /** The window's positions as a tensor of `c` channels. */
  protected windowTensor(win: TimeWindow | DeviceWindow, c: number): Tensor {
    return win instanceof DeviceWindow ? win.tensor() : new Tensor(win.view(), frameShape(this.frame!, this.layout, c, win.length));
  }
}

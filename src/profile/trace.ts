/**
 * Op tracing: `traceOps(fn)` runs fn and returns the ops it ran in order — name, input tensors,
 * output tensor and attributes — as the graph of a forward pass (the benchmark turns it into an
 * ONNX graph for its peers). The ops report themselves with `if (tracing()) traceOp(…)`: outside a
 * trace that is one null check, and the inputs list and attributes are not even built.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';

/** One op run: 'conv' (attrs transposed, stride, dilation, pads [before, after][], outputPadding, groups), 'add', 'sub', 'mul', 'relu', 'leakyRelu' (negativeSlope), 'tanh', 'sigmoid', 'reshape' (shape), 'sum' / 'mean' (dims, keepdim), … */
export interface TracedOp {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: Readonly<Record<string, unknown>>;
}

let sink: TracedOp[] | null = null;

/** Whether a trace is being recorded. */
export const tracing = (): boolean => sink !== null;

/** Records one op (no-op outside a trace). */
export function traceOp(op: string, inputs: readonly Tensor[], output: Tensor, attrs: Record<string, unknown> = {}): void {
  if (sink !== null) sink.push({ op, inputs: [...inputs], output, attrs });
}

/** Runs fn and returns its result and the ops it ran, in order. Traces do not nest. */
export function traceOps<T>(fn: () => T): { result: T; ops: TracedOp[] } {
  if (typeof fn !== 'function') throw new ConvError('traceOps', 'fn', `must be a function; got ${fmt(typeof fn)}`);
  if (sink !== null) throw new ConvError('traceOps', 'fn', 'must not call traceOps inside another trace; got a nested call');
  const ops: TracedOp[] = [];
  sink = ops;
  try {
    return { result: fn(), ops };
  } finally {
    sink = null;
  }
}

/**
 * ONNX models encoded by hand: the few protobuf messages needed (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto) fit in a small writer. `onnxModel`: a single Conv or
 * ConvTranspose node for a layer workload (weights and bias as initializers, input `X`).
 * `GraphBuilder`: any graph of nodes; `onnxFromTrace`: the graph of a traced convkit forward pass
 * (src/profile/trace.ts), every tensor that no traced op produced becoming an initializer.
 */
import { isTransposed, wShape, xShape, yShape, type Workload } from './workloads.js';

/** Protobuf writer for the wire types used here: varint (0) and length-delimited (2). */
class Writer {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void { this.parts.push(b); this.size += b.length; }

  private varint(v: number): void {
    const out: number[] = [];
    // Non-negative values below 2^53: split without 32-bit truncation.
    while (v >= 0x80) { out.push((v % 128) | 0x80); v = Math.floor(v / 128); }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void { this.varint(field * 8 + wire); }

  int(field: number, v: number): this {
    if (!Number.isInteger(v) || v < 0) throw new Error(`onnx-model: field ${field} needs a non-negative integer; got ${v}`);
    this.key(field, 0); this.varint(v); return this;
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this { this.key(field, 2); this.varint(b.length); this.push(b); return this; }
  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }
  message(field: number, m: Writer): this { return this.bytes(field, m.finish()); }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

const FLOAT = 1;                 // TensorProto.DataType.FLOAT
const ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType

function intsAttr(name: string, values: readonly number[]): Writer {
  const a = new Writer().string(1, name);
  for (const v of values) a.int(8, v);
  return a.int(20, ATTR_INTS);
}

function intAttr(name: string, v: number): Writer {
  return new Writer().string(1, name).int(3, v).int(20, ATTR_INT);
}

function tensorProto(name: string, dims: readonly number[], data: Float32Array): Writer {
  const t = new Writer();
  for (const d of dims) t.int(1, d);
  t.int(2, FLOAT).string(8, name);
  // raw_data is little-endian float32; copy so a view into a larger buffer encodes only its bytes.
  return t.bytes(9, new Uint8Array(data.slice().buffer));
}

function valueInfo(name: string, dims: readonly number[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

/** ONNX model bytes computing `Y = op(X, W, B)` for the workload, weights baked in. */
export function onnxModel(wl: Workload, weight: Float32Array, bias: Float32Array, opset = 17): Uint8Array {
  const transposed = isTransposed(wl);
  const node = new Writer()
    .string(1, 'X').string(1, 'W').string(1, 'B')
    .string(2, 'Y')
    .string(3, wl.id)
    .string(4, transposed ? 'ConvTranspose' : 'Conv')
    .message(5, intsAttr('kernel_shape', wl.kSize))
    .message(5, intsAttr('strides', wl.stride))
    .message(5, intsAttr('dilations', wl.dilation))
    .message(5, intsAttr('pads', [...wl.padding, ...wl.padding]))   // all begins, then all ends
    .message(5, intAttr('group', wl.groups));
  if (transposed) node.message(5, intsAttr('output_padding', wl.outputPadding));
  const graph = new Writer()
    .message(1, node)
    .string(2, `convkit-bench-${wl.id}`)
    .message(5, tensorProto('W', wShape(wl), weight))
    .message(5, tensorProto('B', [wl.cOut], bias))
    .message(11, valueInfo('X', xShape(wl)))
    .message(12, valueInfo('Y', yShape(wl)));
  return new Writer()
    .int(1, 8)                                  // ir_version
    .string(2, 'convkit-bench')                 // producer_name
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, opset))
    .finish();
}

const INT64 = 7, ATTR_FLOAT = 1;

export type AttrValue = number | readonly number[] | { readonly float: number };

/** An ONNX graph under construction: inputs, initializers, nodes and outputs, then the model bytes. */
export class GraphBuilder {
  private readonly graph = new Writer();
  private readonly inputs: Writer[] = [];
  private readonly outputs: Writer[] = [];
  private count = 0;

  constructor(private readonly name: string) {}

  /** A fresh value name. */
  fresh(hint: string): string { return `${hint}_${this.count++}`; }

  input(name: string, dims: readonly number[]): this { this.inputs.push(valueInfo(name, dims)); return this; }
  output(name: string, dims: readonly number[]): this { this.outputs.push(valueInfo(name, dims)); return this; }

  /** A float32 initializer. */
  constant(name: string, dims: readonly number[], data: Float32Array): this {
    this.graph.message(5, tensorProto(name, dims, data));
    return this;
  }

  /** An int64 initializer (shapes, axes, slice bounds). */
  ints(name: string, values: readonly number[]): this {
    const t = new Writer().int(1, values.length).int(2, INT64).string(8, name);
    const raw = new BigInt64Array(values.map((v) => BigInt(v)));
    this.graph.message(5, t.bytes(9, new Uint8Array(raw.buffer)));
    return this;
  }

  /** A node; number attributes are ints, arrays int lists, { float } floats. */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}): this {
    const n = new Writer();
    for (const i of inputs) n.string(1, i);
    for (const o of outputs) n.string(2, o);
    n.string(3, this.fresh(opType)).string(4, opType);
    for (const [k, v] of Object.entries(attrs)) {
      if (typeof v === 'number') n.message(5, intAttr(k, v));
      else if (Array.isArray(v)) n.message(5, intsAttr(k, v as number[]));
      else n.message(5, new Writer().string(1, k).float(2, (v as { float: number }).float).int(20, ATTR_FLOAT));
    }
    this.graph.message(1, n);
    return this;
  }

  finish(opset = 17): Uint8Array {
    this.graph.string(2, this.name);
    for (const i of this.inputs) this.graph.message(11, i);
    for (const o of this.outputs) this.graph.message(12, o);
    return new Writer().int(1, 8).string(2, 'convkit-bench').message(7, this.graph)
      .message(8, new Writer().string(1, '').int(2, opset)).finish();
  }
}

/** What onnxFromTrace needs of a traced op and a tensor (structurally src/profile/trace.ts's TracedOp and convkit's Tensor). */
interface TensorLike { readonly data: Float32Array | Float64Array; readonly shape: readonly number[] }
interface TracedLike { readonly op: string; readonly inputs: readonly TensorLike[]; readonly output: TensorLike; readonly attrs: Readonly<Record<string, unknown>> }

/**
 * The ONNX model (opset 17) of a traced forward pass from `input` (graph input `X`) to `output`
 * (graph output `Y`): conv → Conv/ConvTranspose (then Add and the activation for a fused
 * residual and activation), add/sub/mul/div → Add/Sub/Mul/Div, relu,
 * leakyRelu, tanh, sigmoid, reshape, sum/mean → ReduceSum/ReduceMean, cat → Concat, narrow →
 * Slice; tensors no op produced (weights, constants) become initializers. Throws on an op it
 * does not know.
 */
export function onnxFromTrace(ops: readonly TracedLike[], input: TensorLike, output: TensorLike, name = 'convkit-trace'): Uint8Array {
  const g = new GraphBuilder(name);
  const names = new Map<TensorLike, string>([[input, 'X']]);
  g.input('X', input.shape);
  const nameOf = (t: TensorLike): string => {
    let n = names.get(t);
    if (n === undefined) {
      n = g.fresh('const');
      g.constant(n, t.shape, Float32Array.from(t.data));
      names.set(t, n);
    }
    return n;
  };
  const simple: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' };
  for (const t of ops) {
    const ins = t.inputs.map(nameOf), out = g.fresh(t.op), a = t.attrs;
    if (simple[t.op]) g.node(simple[t.op], ins, [out]);
    else if (t.op === 'leakyRelu') g.node('LeakyRelu', ins, [out], { alpha: { float: a.negativeSlope as number } });
    else if (t.op === 'conv') {
      if (a.paddingMode !== 'zeros' || a.layout !== 'channelsFirst') throw new Error(`onnxFromTrace: conv with padding mode ${String(a.paddingMode)}, layout ${String(a.layout)}`);
      const pads = a.pads as [number, number][];
      const attrs: Record<string, AttrValue> = {
        kernel_shape: t.inputs[1].shape.slice(2), strides: a.stride as number[], dilations: a.dilation as number[],
        pads: [...pads.map((p) => p[0]), ...pads.map((p) => p[1])], group: a.groups as number,
      };
      if (a.transposed) attrs.output_padding = a.outputPadding as number[];
      // The call's epilogue (docs/epilogue.md) as the nodes after it: + residual, then the activation.
      const act = a.activation as string | undefined, residual = a.residual as TensorLike | undefined;
      let at = act || residual ? g.fresh('conv') : out;
      g.node(a.transposed ? 'ConvTranspose' : 'Conv', ins, [at], attrs);
      if (residual) {
        const sum = act ? g.fresh('residual') : out;
        g.node('Add', [at, nameOf(residual)], [sum]);
        at = sum;
      }
      if (act === 'leakyRelu') g.node('LeakyRelu', [at], [out], { alpha: { float: a.negativeSlope as number } });
      else if (act) g.node(simple[act], [at], [out]);
    } else if (t.op === 'reshape') {
      const shape = g.fresh('shape');
      g.ints(shape, t.output.shape).node('Reshape', [ins[0], shape], [out]);
    } else if (t.op === 'sum' || t.op === 'mean') {
      const dims = a.dims as number[], keepdims = a.keepdim ? 1 : 0;
      if (t.op === 'mean') g.node('ReduceMean', ins, [out], { axes: dims, keepdims });
      else {
        const axes = g.fresh('axes');
        g.ints(axes, dims).node('ReduceSum', [ins[0], axes], [out], { keepdims });
      }
    } else if (t.op === 'cat') g.node('Concat', ins, [out], { axis: a.dim as number });
    else if (t.op === 'narrow') {
      const [s, e, ax] = [g.fresh('starts'), g.fresh('ends'), g.fresh('axes')];
      g.ints(s, [a.start as number]).ints(e, [(a.start as number) + (a.length as number)]).ints(ax, [a.dim as number]);
      g.node('Slice', [ins[0], s, e, ax], [out]);
    } else throw new Error(`onnxFromTrace: no ONNX mapping for traced op '${t.op}'`);
    names.set(t.output, out); // an in-place op's output is its input tensor: later uses see the new value
  }
  const y = names.get(output);
  if (y === undefined || y === 'X') throw new Error('onnxFromTrace: the output was not produced by a traced op');
  g.node('Identity', [y], ['Y']).output('Y', output.shape);
  return g.finish();
}

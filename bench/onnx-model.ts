/**
 * A single-node ONNX model (Conv or ConvTranspose) for a workload, encoded by hand: the few
 * protobuf messages needed (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto) fit in a small writer. Weights and bias are initializers; the input is `X`.
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

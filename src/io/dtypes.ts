/**
 * Element types of the file formats and their faithful conversion to convkit's float32/float64.
 *
 * Conversion rule (the same for .npy, .npz and .safetensors):
 * - float32, float64: read as they are (float64 stays float64 unless float32 is asked for, which rounds).
 * - float16, bfloat16, bool, int8, uint8, int16, uint16: converted to float32 (always exact).
 * - int32, uint32, int64, uint64: converted to the target dtype (float32 by default) only when every
 *   value is exactly representable there; otherwise a ConvError names the first value that is not
 *   (ask for `dtype: 'float64'`, exact up to 2^53).
 * - anything else (complex, strings, objects, structured, float8, …): a ConvError.
 * Browser safe: typed arrays and DataView only.
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { DType } from '../spec/types.js';
import { allocate, type TypedArray } from '../autograd/tensor.js';

export type ElementKind = 'float' | 'bfloat' | 'int' | 'uint' | 'bool';

/** One element type as stored in a file. */
export interface ElementType {
  readonly kind: ElementKind;
  /** Bytes per element. */
  readonly size: 1 | 2 | 4 | 8;
  readonly littleEndian: boolean;
  /** The file's own spelling ('<f4', 'F16', …), for messages. */
  readonly name: string;
}

/** The 16 bits of a float16 or bfloat16 as given by a caller: an integer in [0, 65535]. */
function bits16(op: string, h: unknown): number {
  if (typeof h !== 'number' || !Number.isInteger(h) || h < 0 || h > 0xffff)
    throw new ConvError(op, 'bits', `must be an integer in [0, 65535] (the 16 bits of the value); got ${fmt(h)}`);
  return h;
}

/**
 * float16 bits → number (exact).
 * @param h the 16 bits, an integer in [0, 65535]; anything else is a ConvError.
 * @example halfToFloat(0x3c00) // 1
 */
export const halfToFloat = (h: number): number => decodeHalf(bits16('halfToFloat', h));

/**
 * bfloat16 bits → number (exact: the top half of a float32).
 * @param h the 16 bits, an integer in [0, 65535]; anything else is a ConvError.
 * @example bfloatToFloat(0x3f80) // 1
 */
export const bfloatToFloat = (h: number): number => decodeBfloat(bits16('bfloatToFloat', h));

/** float16 bits → number (exact). Unchecked: `h` is a Uint16 read from a file. */
function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** bfloat16 bits → number (exact: the top half of a float32). Unchecked, as decodeHalf. */
function decodeBfloat(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0];
}

/** The dtype a file element type becomes when the caller asks for none. */
export function defaultTarget(t: ElementType): DType {
  return t.kind === 'float' && t.size === 8 ? 'float64' : 'float32';
}

/**
 * Decodes `count` elements of type `t` from `bytes` (which must hold exactly `count · t.size` bytes)
 * into a new array of dtype `target`. `op` names the format in errors.
 */
export function decodeElements(op: string, bytes: Uint8Array, t: ElementType, count: number, target: DType): TypedArray {
  if (bytes.byteLength !== count * t.size)
    throw new ConvError(op, 'data', `must hold ${count} × ${t.size} bytes; got ${bytes.byteLength}`);
  const out = allocate(target, count);
  const le = t.littleEndian;
  // Fast path: the file already holds the target type in little-endian order.
  if (t.kind === 'float' && le && ((t.size === 4 && target === 'float32') || (t.size === 8 && target === 'float64'))) {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // float64 holds every int32/uint32 and, after the BigInt round trip below, every int64 it accepts.
  const exactIn = target === 'float32' ? (v: number) => Math.fround(v) === v : () => true;
  const inexact = (i: number, v: string) =>
    new ConvError(op, 'data', `holds ${t.name} value ${v} at element ${i}, which ${target} cannot represent exactly ` +
      `(${target === 'float32' ? "load with dtype 'float64'" : 'beyond 2^53'}); got dtype ${fmt(t.name)}`);
  switch (t.kind) {
    case 'float':
      if (t.size === 2) for (let i = 0; i < count; i++) out[i] = decodeHalf(view.getUint16(2 * i, le));
      else if (t.size === 4) for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, le);
      else for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, le);
      return out;
    case 'bfloat':
      for (let i = 0; i < count; i++) out[i] = decodeBfloat(view.getUint16(2 * i, le));
      return out;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = bytes[i] ? 1 : 0;
      return out;
    case 'int':
    case 'uint': {
      const signed = t.kind === 'int';
      if (t.size === 8) {
        for (let i = 0; i < count; i++) {
          const big = signed ? view.getBigInt64(8 * i, le) : view.getBigUint64(8 * i, le);
          const v = Number(big);
          if (BigInt(v) !== big || !exactIn(v)) throw inexact(i, big.toString());
          out[i] = v;
        }
        return out;
      }
      const get = t.size === 1 ? (signed ? (o: number) => view.getInt8(o) : (o: number) => view.getUint8(o))
        : t.size === 2 ? (signed ? (o: number) => view.getInt16(o, le) : (o: number) => view.getUint16(o, le))
          : signed ? (o: number) => view.getInt32(o, le) : (o: number) => view.getUint32(o, le);
      const checkExact = t.size === 4;
      for (let i = 0; i < count; i++) {
        const v = get(i * t.size);
        if (checkExact && !exactIn(v)) throw inexact(i, String(v));
        out[i] = v;
      }
      return out;
    }
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes a float array as little-endian bytes of the same element type (copy). */
export function encodeLittleEndian(data: TypedArray): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float64Array) for (let i = 0; i < data.length; i++) view.setFloat64(8 * i, data[i], true);
  else for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return out;
}

/**
 * Element count of a shape read from a file: every entry a non-negative safe integer and the
 * product bounded by `maxElements`, checked before anything is allocated.
 */
export function fileNumel(op: string, name: string, shape: unknown, maxElements: number): number {
  if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && (s as number) >= 0))
    throw new ConvError(op, 'shape', `${name}must be a list of non-negative integers; got ${fmt(shape)}`);
  if (shape.length > 64) throw new ConvError(op, 'shape', `${name}has ${shape.length} dims, more than 64; got ${fmt(shape)}`);
  let n = 1;
  for (const s of shape as number[]) n *= s;
  if (!Number.isSafeInteger(n) || n > maxElements)
    throw new ConvError(op, 'shape', `${name}${fmt(shape)} has ${n} elements, more than the ${maxElements} convkit loads into one tensor`);
  return n;
}

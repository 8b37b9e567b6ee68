/**
 * `.safetensors` files from and to bytes. Browser safe.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON
 * `{ "__metadata__"?: {str: str}, name: { dtype, shape, data_offsets: [begin, end] }, … }`,
 * then the data; offsets are relative to the end of the header.
 * Read: F32, F64; F16 and BF16 converted to float32; BOOL, I8–I64, U8–U64 by the rule in dtypes.ts.
 * The header is validated before anything is allocated: length sane and inside the file, JSON an
 * object, each entry's dtype known, shape non-negative integers, offsets integers in range with
 * `end − begin = numel · itemsize`, and no two entries overlapping. Errors are ConvErrors (op 'safetensors').
 */
import { ConvError, fmt } from '../spec/errors.js';
import type { DType } from '../spec/types.js';
import { MAX_ELEMENTS, Tensor } from '../autograd/tensor.js';
import { decodeElements, defaultTarget, encodeLittleEndian, fileNumel, type ElementType } from './dtypes.js';
import { asBytes, checkDtype, type ReadOptions } from './npy.js';

/** The reference implementation refuses headers over 100 MB. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

const TYPES: Record<string, ElementType> = {
  F64: { kind: 'float', size: 8, littleEndian: true, name: 'F64' },
  F32: { kind: 'float', size: 4, littleEndian: true, name: 'F32' },
  F16: { kind: 'float', size: 2, littleEndian: true, name: 'F16' },
  BF16: { kind: 'bfloat', size: 2, littleEndian: true, name: 'BF16' },
  BOOL: { kind: 'bool', size: 1, littleEndian: true, name: 'BOOL' },
  I8: { kind: 'int', size: 1, littleEndian: true, name: 'I8' },
  U8: { kind: 'uint', size: 1, littleEndian: true, name: 'U8' },
  I16: { kind: 'int', size: 2, littleEndian: true, name: 'I16' },
  U16: { kind: 'uint', size: 2, littleEndian: true, name: 'U16' },
  I32: { kind: 'int', size: 4, littleEndian: true, name: 'I32' },
  U32: { kind: 'uint', size: 4, littleEndian: true, name: 'U32' },
  I64: { kind: 'int', size: 8, littleEndian: true, name: 'I64' },
  U64: { kind: 'uint', size: 8, littleEndian: true, name: 'U64' },
};

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly entries: SafetensorsEntry[];
  readonly metadata: Record<string, string>;
}

/** Parses and validates the header without reading any tensor data. */
export function readSafetensorsHeader(bytes: ArrayBuffer | Uint8Array, options: ReadOptions = {}): SafetensorsHeader {
  const op = 'safetensors';
  const b = asBytes(op, bytes);
  if (b.length < 8) throw new ConvError(op, 'file', `is truncated: needs at least the 8-byte header length; got ${b.length} bytes`);
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_SAFETENSORS_HEADER, b.length - 8)))
    throw new ConvError(op, 'header', `length must fit in the file and be at most ${MAX_SAFETENSORS_HEADER} bytes; got ${n} for a ${b.length}-byte file`);
  const len = Number(n);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, 8 + len)));
  } catch (e) {
    throw new ConvError(op, 'header', `must be UTF-8 JSON (${(e as Error).message}); got ${len} bytes`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new ConvError(op, 'header', `must be a JSON object; got ${fmt(json)}`);
  const dataStart = 8 + len, dataLen = b.length - dataStart;
  const maxElements = Math.min(options.maxElements ?? MAX_ELEMENTS, MAX_ELEMENTS);
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, e] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (e === null || typeof e !== 'object' || Array.isArray(e) || !Object.values(e).every((v) => typeof v === 'string'))
        throw new ConvError(op, '__metadata__', `must map strings to strings; got ${fmt(e)}`);
      metadata = { ...(e as Record<string, string>) };
      continue;
    }
    const where = `tensor ${fmt(name)}`;
    if (e === null || typeof e !== 'object' || Array.isArray(e))
      throw new ConvError(op, where, `must be an object with dtype, shape and data_offsets; got ${fmt(e)}`);
    const { dtype, shape, data_offsets: offsets } = e as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in TYPES))
      throw new ConvError(op, where, `dtype must be one of ${Object.keys(TYPES).join(', ')}; got ${fmt(dtype)}`);
    const count = fileNumel(op, `of ${where} `, shape, maxElements);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      throw new ConvError(op, where, `data_offsets must be two non-negative integers [begin, end]; got ${fmt(offsets)}`);
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLen)
      throw new ConvError(op, where, `data_offsets must satisfy begin ≤ end ≤ ${dataLen} (the data in the file); got ${fmt(offsets)}`);
    const want = count * TYPES[dtype].size;
    if (end - begin !== want)
      throw new ConvError(op, where, `data_offsets must span numel × itemsize = ${count} × ${TYPES[dtype].size} = ${want} bytes for shape ${fmt(shape)}; got ${fmt(offsets)} (${end - begin} bytes)`);
    entries.push({ name, dtype, shape: [...(shape as number[])], begin: dataStart + begin, end: dataStart + end });
  }
  // Sorted by start, a non-empty entry overlaps an earlier one iff it starts before the furthest end so far.
  const sorted = entries.filter((e) => e.end > e.begin).sort((p, q) => p.begin - q.begin);
  for (let i = 1, last = sorted[0]; i < sorted.length; i++) {
    const q = sorted[i];
    if (q.begin < last.end)
      throw new ConvError(op, 'data_offsets', `must not overlap; got ${fmt(last.name)} [${last.begin - dataStart}, ${last.end - dataStart}] and ${fmt(q.name)} [${q.begin - dataStart}, ${q.end - dataStart}]`);
    if (q.end > last.end) last = q;
  }
  return { entries, metadata };
}

export interface SafetensorsFile {
  readonly tensors: Record<string, Tensor>;
  readonly metadata: Record<string, string>;
}

/**
 * Reads every tensor of a .safetensors file.
 * @example readSafetensors(bytes).tensors['conv.weight'].shape
 */
export function readSafetensors(bytes: ArrayBuffer | Uint8Array, options: ReadOptions = {}): SafetensorsFile {
  const op = 'safetensors';
  checkDtype(op, options.dtype);
  const b = asBytes(op, bytes);
  const { entries, metadata } = readSafetensorsHeader(b, options);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const type = TYPES[e.dtype];
    const target: DType = options.dtype ?? defaultTarget(type);
    const count = (e.end - e.begin) / type.size;
    tensors[e.name] = new Tensor(decodeElements(`${op}: tensor ${fmt(e.name)}`, b.subarray(e.begin, e.end), type, count, target), e.shape);
  }
  return { tensors, metadata };
}

/** Writes tensors (F32 or F64 by their dtype) as a .safetensors file; entries in key order. */
export function writeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const op = 'safetensors';
  if (tensors === null || typeof tensors !== 'object') throw new ConvError(op, 'tensors', `must be an object of Tensors; got ${fmt(tensors)}`);
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const names = Object.keys(tensors).sort();
  let offset = 0;
  for (const k of names) {
    const t = tensors[k];
    if (!(t instanceof Tensor)) throw new ConvError(op, `tensors.${k}`, `must be a Tensor; got ${fmt(typeof t)}`);
    header[k] = { dtype: t.dtype === 'float64' ? 'F64' : 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so that the data starts 8-byte aligned (as the reference writer does).
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const k of names) {
    out.set(encodeLittleEndian(tensors[k].data), at);
    at += tensors[k].data.byteLength;
  }
  return out;
}

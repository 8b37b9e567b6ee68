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
import { ConvError, fmt, guarded } from '../spec/errors.js';
import type { DType } from '../spec/types.js';
import { MAX_ELEMENTS, Tensor } from '../autograd/tensor.js';
import { decodeElements, defaultTarget, encodeLittleEndian, fileNumel, type ElementType } from './dtypes.js';
import { asBytes, checkDtype, ioOptions, READ_KEYS, type ReadOptions } from './npy.js';
import { parseStrictJson } from './json.js';

/** The reference implementation refuses headers over 100 MB. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

const TYPES: Record<string, ElementType> = Object.assign(Object.create(null) as Record<string, ElementType>, {
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
});

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
export function readSafetensorsHeader(bytes: ArrayBuffer | Uint8Array, opts: ReadOptions = {}): SafetensorsHeader {
  const options = ioOptions('safetensors', opts, READ_KEYS);
  const b = asBytes('safetensors', bytes);
  return parseSafetensorsHeader(b, b.length, options);
}

/** Bytes of the file that hold the header (8 + its length), from the first 8; checks the length. */
export function safetensorsHeaderEnd(first8: Uint8Array, fileLength: number): number {
  const op = 'safetensors';
  if (first8.length < 8 || fileLength < 8) throw new ConvError(op, 'file', `is truncated: needs at least the 8-byte header length; got ${Math.min(first8.length, fileLength)} bytes`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_SAFETENSORS_HEADER, fileLength - 8)))
    throw new ConvError(op, 'header', `length must fit in the file and be at most ${MAX_SAFETENSORS_HEADER} bytes; got ${n} for a ${fileLength}-byte file`);
  return 8 + Number(n);
}

/**
 * The header of a file of `fileLength` bytes whose start is `b` (at least 8 + the header length).
 * As the format's reference implementation: the header is a JSON object (no repeated key), each
 * entry's data lies inside the file, and the entries cover the data exactly, without overlaps,
 * gaps or trailing bytes.
 */
export function parseSafetensorsHeader(b: Uint8Array, fileLength: number, options: ReadOptions = {}): SafetensorsHeader {
  const op = 'safetensors';
  const headerEnd = safetensorsHeaderEnd(b, fileLength);
  const len = headerEnd - 8;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, headerEnd));
  } catch (e) {
    throw new ConvError(op, 'header', `must be UTF-8 JSON (${(e as Error).message}); got ${len} bytes`);
  }
  // The reference writer pads with spaces; JSON allows them.
  const json = parseStrictJson(op, 'header', text);
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new ConvError(op, 'header', `must be a JSON object; got ${fmt(json)}`);
  const dataStart = headerEnd, dataLen = fileLength - dataStart;
  const maxElements = Math.min(options.maxElements ?? MAX_ELEMENTS, MAX_ELEMENTS);
  const metadata = Object.create(null) as Record<string, string>;
  const entries: SafetensorsEntry[] = [];
  for (const [name, e] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (e === null || typeof e !== 'object' || Array.isArray(e) || !Object.values(e).every((v) => typeof v === 'string'))
        throw new ConvError(op, '__metadata__', `must map strings to strings; got ${fmt(e)}`);
      Object.assign(metadata, e);
      continue;
    }
    const where = `tensor ${fmt(name)}`;
    if (e === null || typeof e !== 'object' || Array.isArray(e))
      throw new ConvError(op, where, `must be an object with dtype, shape and data_offsets; got ${fmt(e)}`);
    const { dtype, shape, data_offsets: offsets } = e as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !Object.hasOwn(TYPES, dtype))
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
  // Sorted by (begin, end), the entries must tile the data: each starts where the one before ends.
  const sorted = [...entries].sort((p, q) => p.begin - q.begin || p.end - q.end);
  let at = dataStart, last: SafetensorsEntry | null = null;
  const range = (e: SafetensorsEntry) => `${fmt(e.name)} [${e.begin - dataStart}, ${e.end - dataStart}]`;
  for (const q of sorted) {
    if (q.begin < at)
      throw new ConvError(op, 'data_offsets', `must not overlap; got ${last ? range(last) : 'the start'} and ${range(q)}`);
    if (q.begin > at)
      throw new ConvError(op, 'data_offsets', `must leave no gap between tensors; got bytes [${at - dataStart}, ${q.begin - dataStart}] before ${range(q)} that no tensor holds`);
    at = q.end;
    last = q;
  }
  if (at !== fileLength)
    throw new ConvError(op, 'data', `must end where the last tensor ends; got ${fileLength - at} trailing bytes after byte ${at - dataStart} of the data`);
  return { entries, metadata };
}

export interface SafetensorsFile {
  /** The tensors by name (a null-prototype object: any name, `__proto__` included, is an ordinary key). */
  readonly tensors: Record<string, Tensor>;
  /** The `__metadata__` strings (a null-prototype object). */
  readonly metadata: Record<string, string>;
}

/**
 * Reads every tensor of a .safetensors file.
 * @example readSafetensors(bytes).tensors['conv.weight'].shape
 */
export function readSafetensors(bytes: ArrayBuffer | Uint8Array, opts: ReadOptions = {}): SafetensorsFile {
  const options = ioOptions('safetensors', opts, READ_KEYS);
  const op = 'safetensors';
  checkDtype(op, options.dtype);
  const b = asBytes(op, bytes);
  const { entries, metadata } = readSafetensorsHeader(b, options);
  const tensors = Object.create(null) as Record<string, Tensor>;
  for (const e of entries) {
    const type = TYPES[e.dtype];
    const target: DType = options.dtype ?? defaultTarget(type);
    const count = (e.end - e.begin) / type.size;
    tensors[e.name] = new Tensor(decodeElements(`${op}: tensor ${fmt(e.name)}`, b.subarray(e.begin, e.end), type, count, target), e.shape);
  }
  return { tensors, metadata };
}

/** One tensor as stored: its safetensors dtype, shape and little-endian bytes. */
export interface SafetensorsRawEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** The own keys of a dict of tensors, refusing what would be lost or misread on the way to a file. */
export function tensorDictKeys(op: string, tensors: unknown): string[] {
  const proto = tensors !== null && typeof tensors === 'object' ? guarded(op, 'tensors', () => Object.getPrototypeOf(tensors)) : undefined;
  if (proto === undefined || guarded(op, 'tensors', () => Array.isArray(tensors)) || proto === Tensor.prototype)
    throw new ConvError(op, 'tensors', `must be an object of Tensors by name; got ${proto === Tensor.prototype ? 'a Tensor' : fmt(tensors)}`);
  if (proto !== Object.prototype && proto !== null)
    throw new ConvError(op, 'tensors', `must be a plain object (an object literal's \`__proto__: t\` sets its prototype instead of a key: write ['__proto__']: t or use Object.create(null)); got an object whose prototype is ${fmt(proto?.constructor?.name ?? typeof proto)}`);
  return guarded(op, 'tensors', () => Object.keys(tensors as object));
}

/** The entries of a dict of tensors (tensorDictKeys' checks), each value read once; a throwing read is a ConvError naming the key. */
export function tensorDictEntries(op: string, tensors: unknown): [string, unknown][] {
  return tensorDictKeys(op, tensors).map((k) => [k, guarded(op, `tensors.${k}`, () => (tensors as Record<string, unknown>)[k])]);
}

/** Writes raw entries (in the order given) and the metadata as a .safetensors file. */
export function encodeSafetensors(entries: readonly SafetensorsRawEntry[], metadata?: Record<string, string>): Uint8Array {
  const op = 'safetensors';
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    // Read once into a copy: a getter or Proxy cannot answer the check and the write differently.
    const copy = metadata !== null && typeof metadata === 'object'
      ? guarded(op, 'metadata', () => (Array.isArray(metadata) ? null : Object.assign(Object.create(null) as Record<string, unknown>, metadata)))
      : null;
    if (copy === null || !Object.values(copy).every((v) => typeof v === 'string'))
      throw new ConvError(op, 'metadata', `must map strings to strings; got ${fmt(metadata)}`);
    header.__metadata__ = copy;
  }
  let offset = 0;
  for (const e of entries) {
    if (e.name === '__metadata__') throw new ConvError(op, 'tensors', `must not have a tensor named '__metadata__' (the format keeps that key for the metadata); got one`);
    if (Object.hasOwn(header, e.name)) throw new ConvError(op, 'tensors', `must not repeat a name; got ${fmt(e.name)} twice`);
    header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + e.bytes.byteLength] };
    offset += e.bytes.byteLength;
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
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.byteLength;
  }
  return out;
}

/** The stored entries of a .safetensors file, as they are (no conversion), for rewriting some of them. */
export function readSafetensorsRaw(bytes: ArrayBuffer | Uint8Array): { entries: SafetensorsRawEntry[]; metadata: Record<string, string> } {
  const b = asBytes('safetensors', bytes);
  const { entries, metadata } = readSafetensorsHeader(b);
  return { entries: entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: b.subarray(e.begin, e.end) })), metadata };
}

/** The raw entry of a Tensor: F32 or F64 by its dtype. */
export function safetensorsEntry(name: string, t: Tensor): SafetensorsRawEntry {
  if (!(t instanceof Tensor)) throw new ConvError('safetensors', `tensors.${name}`, `must be a Tensor; got ${fmt(typeof t)}`);
  return { name, dtype: t.dtype === 'float64' ? 'F64' : 'F32', shape: t.shape, bytes: encodeLittleEndian(t.data) };
}

/**
 * Writes tensors (F32 or F64 by their dtype) as a .safetensors file; entries in key order. Any
 * string is a name, `__proto__` included (as an own key: `{ ['__proto__']: t }`), except
 * `__metadata__`, which the format keeps for the metadata.
 */
export function writeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = tensorDictEntries('safetensors', tensors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return encodeSafetensors(entries.map(([k, t]) => safetensorsEntry(k, t as Tensor)), metadata);
}

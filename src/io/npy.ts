/**
 * NumPy `.npy` files (format versions 1.0, 2.0, 3.0) from and to bytes. Browser safe.
 *
 * Reading: little- and big-endian data; C order, and Fortran order converted faithfully to C order;
 * 0-d arrays (shape []). Element types follow the rule in `dtypes.ts` (float16/int/uint/bool →
 * float32 when exact, otherwise a ConvError). Every header field and size is checked before anything
 * is allocated, so a truncated or hostile file gets a ConvError (op 'npy'), never a crash or a huge
 * allocation. Writing: version 1.0, '<f4' or '<f8', C order.
 */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import type { DType } from '../spec/types.js';
import { MAX_ELEMENTS, Tensor } from '../autograd/tensor.js';
import { permute } from '../kernels/ref/layout.js';
import { decodeElements, defaultTarget, encodeLittleEndian, fileNumel, type ElementType } from './dtypes.js';

export interface ReadOptions {
  /** dtype of the result (default: float64 for float64 data, float32 for everything else). */
  dtype?: DType;
  /** Largest element count accepted (default and ceiling 2^31 − 1). */
  maxElements?: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy itself refuses headers over 10 000 bytes unless told otherwise; allow more, never unbounded. */
export const MAX_NPY_HEADER = 1 << 20;

type PyValue = string | boolean | number | PyValue[] | { [k: string]: PyValue } | null;

/** A tiny parser for the Python literal numpy writes as the header: dicts, tuples, lists, strings, ints, bools. */
function parsePyLiteral(op: string, src: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new ConvError(op, 'header', `is not a valid Python literal (${what} at character ${i}); got ${fmt(src.slice(0, 200))}`);
  };
  const ws = () => { while (i < src.length && /\s/.test(src[i])) i++; };
  const value = (depth: number): PyValue => {
    if (depth > 16) fail('nesting too deep');
    ws();
    const c = src[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const obj: { [k: string]: PyValue } = {}, list: PyValue[] = [];
      for (;;) {
        ws();
        if (src[i] === close) { i++; break; }
        if (c === '{') {
          const k = value(depth + 1);
          if (typeof k !== 'string') fail('a non-string key');
          ws();
          if (src[i++] !== ':') fail("a missing ':'");
          obj[k as string] = value(depth + 1);
        } else list.push(value(depth + 1));
        ws();
        if (src[i] === ',') i++;
        else if (src[i] !== close) fail(`a missing ',' or '${close}'`);
      }
      return c === '{' ? obj : list;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) fail('an unterminated string');
      const s = src.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+)L?/.exec(src.slice(i, i + 32));
    if (!m) fail('an unexpected token');
    i += m![0].length;
    const t = m![1];
    return t === 'True' ? true : t === 'False' ? false : t === 'None' ? null : Number(t);
  };
  const v = value(0);
  ws();
  if (i !== src.length) fail('trailing text');
  return v;
}

/** numpy's `descr` ('<f4', '>i8', '|u1', '|b1', …) → ElementType. */
function parseDescr(op: string, descr: PyValue): ElementType {
  const m = typeof descr === 'string' ? /^([<>|=])([fiub])(\d+)$/.exec(descr) : null;
  const bad = () => new ConvError(op, 'dtype',
    `must be a float (f2, f4, f8), int (i1–i8), uint (u1–u8) or bool (b1) type; got ${fmt(descr)}`);
  if (!m) throw bad();
  const size = Number(m[3]);
  const kind = ({ f: 'float', i: 'int', u: 'uint', b: 'bool' } as const)[m[2] as 'f' | 'i' | 'u' | 'b'];
  const ok = kind === 'float' ? [2, 4, 8].includes(size) : kind === 'bool' ? size === 1 : [1, 2, 4, 8].includes(size);
  if (!ok) throw bad();
  // '=' is native order; numpy writes '<' on little-endian machines, which is where such files come from.
  return { kind, size: size as ElementType['size'], littleEndian: m[1] !== '>', name: descr as string };
}

/** Header of an .npy file: where the data starts and what it holds. */
export interface NpyHeader {
  readonly type: ElementType;
  readonly shape: number[];
  readonly fortranOrder: boolean;
  readonly dataOffset: number;
  readonly count: number;
}

/** Parses and checks the header (magic, version, length, dict, dtype, shape, data size). */
export function readNpyHeader(bytes: Uint8Array, options: ReadOptions = {}, op = 'npy'): NpyHeader {
  if (!guarded(op, 'bytes', () => bytes instanceof Uint8Array)) throw new ConvError(op, 'bytes', `must be a Uint8Array or ArrayBuffer; got ${fmt(typeof bytes)}`);
  return parseNpyHeader(bytes, bytes.length, ioOptions(op, options, READ_KEYS), op);
}

/** Bytes an .npy file's start must hold for `parseNpyHeader`: the magic, version, length and header (at most). */
export const NPY_PREFIX_MAX = 12 + MAX_NPY_HEADER;

/**
 * The header of an .npy file of `fileLength` bytes whose first bytes are `bytes` (the whole header,
 * or all of a shorter file): every check of `readNpyHeader`, the data size against `fileLength`.
 */
export function parseNpyHeader(bytes: Uint8Array, fileLength: number, options: ReadOptions = {}, op = 'npy'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new ConvError(op, 'file', `must start with the magic string '\\x93NUMPY' and a version; got ${fileLength} bytes starting ${fmt(Array.from(bytes.subarray(0, 8)))}`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new ConvError(op, 'version', `must be 1.0, 2.0 or 3.0; got ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new ConvError(op, 'file', `is truncated inside the header length; got ${fileLength} bytes`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (headerLen > MAX_NPY_HEADER)
    throw new ConvError(op, 'header', `length must be at most ${MAX_NPY_HEADER} bytes; got ${headerLen}`);
  if (start + headerLen > bytes.length)
    throw new ConvError(op, 'header', `length ${headerLen} runs past the end of the file; got ${fileLength} bytes in all`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const dict = parsePyLiteral(op, text.trim());
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict))
    throw new ConvError(op, 'header', `must be a dict with 'descr', 'fortran_order' and 'shape'; got ${fmt(text.trim().slice(0, 200))}`);
  const keys = Object.keys(dict).sort();
  if (keys.join() !== 'descr,fortran_order,shape')
    throw new ConvError(op, 'header', `must have exactly the keys 'descr', 'fortran_order', 'shape'; got ${fmt(keys)}`);
  const type = parseDescr(op, dict.descr);
  if (typeof dict.fortran_order !== 'boolean')
    throw new ConvError(op, 'header', `fortran_order must be True or False; got ${fmt(dict.fortran_order)}`);
  const maxElements = Math.min(options.maxElements ?? MAX_ELEMENTS, MAX_ELEMENTS);
  const count = fileNumel(op, '', dict.shape, maxElements);
  const shape = dict.shape as number[];
  const dataOffset = start + headerLen;
  const want = count * type.size, have = fileLength - dataOffset;
  if (have !== want)
    throw new ConvError(op, 'data', `${have < want ? 'is truncated' : 'has trailing bytes'}: shape ${fmt(shape)} of ${type.name} needs ${want} bytes; got ${have}`);
  return { type, shape, fortranOrder: dict.fortran_order, dataOffset, count };
}

/**
 * A copy of the io options `keys` (each read once; absent and undefined ones left out): whatever
 * reading them throws (a getter, a Proxy) becomes a ConvError naming the option.
 */
export function ioOptions<T extends object>(op: string, o: T | undefined, keys: readonly (keyof T & string)[]): T {
  if (o === undefined) return {} as T;
  if (o === null || typeof o !== 'object') throw new ConvError(op, 'options', `must be an object; got ${fmt(o)}`);
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of keys) {
    const v = guarded(op, k, () => (o as Record<string, unknown>)[k]);
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

/** The keys of ReadOptions. */
export const READ_KEYS = ['dtype', 'maxElements'] as const;

const asBytes = (op: string, b: ArrayBuffer | Uint8Array): Uint8Array => {
  if (guarded(op, 'bytes', () => b instanceof Uint8Array)) return b as Uint8Array;
  if (guarded(op, 'bytes', () => b instanceof ArrayBuffer)) return new Uint8Array(b as ArrayBuffer);
  throw new ConvError(op, 'bytes', `must be a Uint8Array or ArrayBuffer; got ${fmt(guarded(op, 'bytes', () => Object.prototype.toString.call(b)))}`);
};
export { asBytes };

/**
 * Reads an .npy file into a Tensor (C order).
 * @example readNpy(await (await fetch('x.npy')).arrayBuffer()).shape
 */
export function readNpy(bytes: ArrayBuffer | Uint8Array, opts: ReadOptions = {}, op = 'npy'): Tensor {
  const b = asBytes(op, bytes), options = ioOptions(op, opts, READ_KEYS);
  checkDtype(op, options.dtype);
  const h = readNpyHeader(b, options, op);
  const target = options.dtype ?? defaultTarget(h.type);
  const data = decodeElements(op, b.subarray(h.dataOffset), h.type, h.count, target);
  if (!h.fortranOrder || h.shape.length < 2) return new Tensor(data, h.shape);
  // Fortran order: the bytes are the C-order array of the reversed shape; reverse the axes back.
  const d = h.shape.length, reversed = [...h.shape].reverse();
  const out = new (data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(data.length);
  permute(data, reversed, reversed.map((_, i) => d - 1 - i), out);
  return new Tensor(out, h.shape);
}

export function checkDtype(op: string, dtype: unknown): void {
  if (dtype !== undefined && dtype !== 'float32' && dtype !== 'float64')
    throw new ConvError(op, 'dtype', `must be 'float32' or 'float64'; got ${fmt(dtype)}`);
}

/** Writes a Tensor as an .npy file (version 1.0, little-endian '<f4'/'<f8', C order). */
export function writeNpy(t: Tensor, op = 'npy'): Uint8Array {
  if (!(t instanceof Tensor)) throw new ConvError(op, 'tensor', `must be a Tensor; got ${fmt(typeof t)}`);
  const descr = t.dtype === 'float64' ? '<f8' : '<f4';
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so that the data starts on a 64-byte boundary; the header ends in '\n'.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(encodeLittleEndian(t.data), total);
  return out;
}

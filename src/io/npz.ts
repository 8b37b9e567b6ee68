/**
 * NumPy `.npz` archives (a zip of .npy members, stored or deflated) from and to bytes, with fflate.
 * Browser safe.
 *
 * Reading trusts nothing in the archive: the central directory is read first (ZIP64 included) and
 * every member checked before any is inflated — method, sizes (a deflated member cannot claim
 * more than deflate can produce from its bytes), each member's local header and data inside the
 * archive and apart from every other member's (several entries pointing at one stream are a
 * ConvError), and the total of the claimed sizes within `maxBytes`. Inflating then stops as soon as
 * a member's stream yields more than its directory entry claims, and each member's CRC-32 must
 * match, as numpy requires. Errors are ConvErrors (op 'npz').
 */
import { Inflate, zipSync, type Zippable } from 'fflate';
import { ConvError, fmt, guarded } from '../spec/errors.js';
import { Tensor } from '../autograd/tensor.js';
import { asBytes, checkDtype, ioOptions, READ_KEYS, readNpy, writeNpy, type ReadOptions } from './npy.js';
import { tensorDictEntries } from './safetensors.js';

export interface NpzReadOptions extends ReadOptions {
  /** Most uncompressed bytes read from one archive, all members together (default 2^31 − 1). */
  maxBytes?: number;
}

/** Deflate cannot expand data by more than about 1032×; a member that claims more is lying. */
const MAX_DEFLATE_RATIO = 1032;
const MAX_MEMBERS = 65535;
export const DEFAULT_NPZ_MAX_BYTES = 2 ** 31 - 1;
/** Compressed bytes handed to the inflater at a time: it can overshoot a member's claim by at most ~1032× this. */
const INFLATE_CHUNK = 1 << 14;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (the zip and PNG one) of `b`, as an unsigned integer. */
export function crc32(b: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** One member as the central directory describes it. */
interface Member {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Where its local header starts, where its data starts and ends. */
  readonly headerAt: number;
  readonly dataAt: number;
}

const bad = (rule: string) => new ConvError('npz', 'archive', rule);

/** The central directory's members, every field checked against the archive (nothing inflated). */
function readDirectory(b: Uint8Array, maxBytes: number): Member[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (at: number) => v.getUint16(at, true), u32 = (at: number) => v.getUint32(at, true);
  const u64 = (at: number) => {
    const n = v.getBigUint64(at, true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`has a ZIP64 field too large to be real; got ${n}`);
    return Number(n);
  };
  const notZip = (why: string) => bad(`is not a readable zip file (${why}); got ${b.length} bytes`);
  // The end-of-central-directory record: the last 22+ bytes (a comment of up to 65535 bytes may follow).
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--)
    if (u32(i) === 0x06054b50 && i + 22 + u16(i + 20) === b.length) { eocd = i; break; }
  if (eocd < 0) throw notZip('no end-of-central-directory record');
  let count = u16(eocd + 10), cdSize = u32(eocd + 12), cdAt = u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdAt === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(loc) !== 0x07064b50) throw notZip('a ZIP64 archive without its locator');
    const at = u64(loc + 8);
    if (at + 56 > loc || u32(at) !== 0x06064b50) throw notZip('a ZIP64 end record outside the archive');
    count = u64(at + 32);
    cdSize = u64(at + 40);
    cdAt = u64(at + 48);
  }
  if (count > MAX_MEMBERS) throw bad(`must have at most ${MAX_MEMBERS} members; the directory lists ${count}`);
  if (cdAt + cdSize > eocd) throw notZip(`a central directory [${cdAt}, ${cdAt + cdSize}] that runs past its end record at ${eocd}`);
  const members: Member[] = [];
  let budget = maxBytes;
  for (let k = 0, p = cdAt; k < count; k++) {
    if (p + 46 > cdAt + cdSize || u32(p) !== 0x02014b50) throw notZip(`a damaged central directory at byte ${p}`);
    const flags = u16(p + 8), method = u16(p + 10), crc = u32(p + 16);
    let compressedSize = u32(p + 20), size = u32(p + 24), headerAt = u32(p + 42);
    const nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cdAt + cdSize) throw notZip(`a damaged central directory at byte ${p}`);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(b.subarray(p + 46, p + 46 + nameLen));
    // ZIP64: the fields set to all ones are in the extra field 0x0001, in this order.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = u16(e), len = u16(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => { if (q + 8 > e + 4 + len) throw notZip(`a short ZIP64 field for ${fmt(name)}`); const n = u64(q); q += 8; return n; };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (headerAt === 0xffffffff) headerAt = next();
      }
      e += 4 + len;
    }
    p = end;
    if (flags & 0x1) throw bad(`member ${fmt(name)} must not be encrypted; got flags ${flags}`);
    if (method !== 0 && method !== 8) throw bad(`member ${fmt(name)} must be stored or deflated; got compression method ${method}`);
    if (method === 0 && compressedSize !== size)
      throw bad(`member ${fmt(name)} has inconsistent sizes; got ${compressedSize} stored, ${size} uncompressed`);
    if (compressedSize > b.length || (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 1024))
      throw bad(`member ${fmt(name)} claims ${size} bytes from ${compressedSize} compressed bytes, more than the ${b.length}-byte archive can hold`);
    budget -= size;
    if (budget < 0) throw bad(`holds more than the ${maxBytes} uncompressed bytes allowed (maxBytes)`);
    // The local header repeats the name; its own lengths say where the data starts.
    if (headerAt + 30 > cdAt || u32(headerAt) !== 0x04034b50)
      throw notZip(`member ${fmt(name)} has no local header at byte ${headerAt}`);
    const dataAt = headerAt + 30 + u16(headerAt + 26) + u16(headerAt + 28);
    if (dataAt + compressedSize > cdAt)
      throw bad(`member ${fmt(name)}'s data [${dataAt}, ${dataAt + compressedSize}] must lie before the central directory at byte ${cdAt}`);
    members.push({ name, method, crc, compressedSize, size, headerAt, dataAt });
  }
  // Each member's bytes (local header and data) apart from every other's: no stream is read twice.
  const sorted = [...members].sort((p, q) => p.headerAt - q.headerAt);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1], q = sorted[i];
    if (q.headerAt < p.dataAt + p.compressedSize)
      throw bad(`members must not share bytes; got ${fmt(p.name)} [${p.headerAt}, ${p.dataAt + p.compressedSize}] and ${fmt(q.name)} starting at ${q.headerAt}`);
  }
  return members;
}

/** A member's bytes, inflated no further than its claimed size, and its CRC-32 checked. */
function memberBytes(b: Uint8Array, m: Member): Uint8Array {
  const stored = b.subarray(m.dataAt, m.dataAt + m.compressedSize);
  let out: Uint8Array;
  if (m.method === 0) out = stored;
  else {
    out = new Uint8Array(m.size);
    let got = 0, ended = false;
    const inflater = new Inflate((chunk, final) => {
      if (got + chunk.length > m.size)
        throw bad(`member ${fmt(m.name)} inflates to more than the ${m.size} bytes its directory entry claims`);
      out.set(chunk, got);
      got += chunk.length;
      if (final) ended = true;
    });
    try {
      for (let at = 0; at < stored.length && !ended; at += INFLATE_CHUNK) {
        const end = Math.min(at + INFLATE_CHUNK, stored.length);
        inflater.push(stored.subarray(at, end), end === stored.length);
      }
    } catch (e) {
      if (e instanceof ConvError) throw e;
      throw bad(`member ${fmt(m.name)} is not a valid deflate stream (${(e as Error).message})`);
    }
    if (!ended || got !== m.size)
      throw bad(`member ${fmt(m.name)} inflates to ${got} bytes${ended ? '' : ' and stops short'}; its directory entry claims ${m.size}`);
  }
  const crc = crc32(out);
  if (crc !== m.crc)
    throw bad(`member ${fmt(m.name)} fails its CRC-32 check (the data changed after it was written); got ${crc.toString(16).padStart(8, '0')}, the directory says ${m.crc.toString(16).padStart(8, '0')}`);
  return out;
}

/**
 * The members of an .npz archive as raw bytes (the .npy files, unconverted), by member name, in
 * archive order; every check of `readNpz` applies.
 */
export function readNpzMembers(bytes: ArrayBuffer | Uint8Array, opts: Pick<NpzReadOptions, 'maxBytes'> = {}): Map<string, Uint8Array> {
  const options = ioOptions('npz', opts, ['maxBytes']);
  const b = asBytes('npz', bytes);
  const maxBytes = options.maxBytes ?? DEFAULT_NPZ_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new ConvError('npz', 'maxBytes', `must be a non-negative integer; got ${fmt(maxBytes)}`);
  let members: Member[];
  try {
    members = readDirectory(b, maxBytes);
  } catch (e) {
    if (e instanceof ConvError) throw e;
    throw bad(`is not a readable zip file (${(e as Error).message}); got ${b.length} bytes`);
  }
  const out = new Map<string, Uint8Array>();
  for (const m of members) {
    if (out.has(m.name)) throw bad(`must not hold two members named ${fmt(m.name)}`);
    out.set(m.name, memberBytes(b, m));
  }
  return out;
}

/**
 * Reads every array of an .npz archive; keys are the member names without '.npy'
 * (as `numpy.load(...).files`), in a null-prototype object.
 */
export function readNpz(bytes: ArrayBuffer | Uint8Array, opts: NpzReadOptions = {}): Record<string, Tensor> {
  const op = 'npz';
  const b = asBytes(op, bytes), options = ioOptions<NpzReadOptions>(op, opts, [...READ_KEYS, 'maxBytes']);
  checkDtype(op, options.dtype);
  const raw = readNpzMembers(b, options);
  const out = Object.create(null) as Record<string, Tensor>;
  for (const [name, data] of raw) {
    if (name.endsWith('/')) continue;
    const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
    if (Object.hasOwn(out, key)) throw bad(`must not hold two members named ${fmt(key)} (with and without '.npy')`);
    try {
      out[key] = readNpy(data, options);
    } catch (e) {
      if (e instanceof ConvError) throw new ConvError(op, `member ${fmt(name)}`, `is not a valid .npy file: ${e.message}`);
      throw e;
    }
  }
  return out;
}

export interface NpzWriteOptions {
  /** Deflate the members (`numpy.savez_compressed`); default false (`numpy.savez`). */
  compress?: boolean;
}

/** Writes raw members (name → bytes, e.g. 'x.npy' → an .npy file) as a zip archive. */
export function writeNpzMembers(members: Map<string, Uint8Array>, opts: NpzWriteOptions = {}): Uint8Array {
  const options = ioOptions('npz', opts, ['compress']);
  const files: Zippable = Object.create(null) as Zippable;
  for (const [name, data] of members) files[name] = data;
  return zipSync(files, { level: options.compress ? 6 : 0 });
}

/** Writes tensors as an .npz archive; member `k.npy` per key `k`. */
export function writeNpz(tensors: Record<string, Tensor>, opts: NpzWriteOptions = {}): Uint8Array {
  const op = 'npz';
  const options = ioOptions(op, opts, ['compress']);
  const members = new Map<string, Uint8Array>();
  for (const [k, t] of tensorDictEntries(op, tensors)) {
    if (!(t instanceof Tensor)) throw new ConvError(op, `tensors.${k}`, `must be a Tensor; got ${fmt(typeof t)}`);
    members.set(`${k}.npy`, writeNpy(t, op));
  }
  return writeNpzMembers(members, options);
}

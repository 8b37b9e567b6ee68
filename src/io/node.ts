/// <reference types="node" />
/**
 * Node-only helpers: the file formats of `convkit` read from and written to paths.
 * Import from 'convkit/node'; the browser-safe byte versions live in 'convkit'.
 *
 * Reading opens the path without blocking (a FIFO never hangs the call), refuses anything but a
 * regular file (a link to /dev/zero, a directory, a device, a FIFO, a socket), and reads no more
 * than the file's header says it holds: the header first, its sizes checked against the file's
 * size, then the data. Writing is atomic: the bytes go to a temporary file in the same directory,
 * which is then renamed over the path, so a failed write leaves the old file as it was.
 */
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, chmodSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { NPY_PREFIX_MAX, parseNpyHeader, readNpy, writeNpy, type ReadOptions } from './npy.js';
import { DEFAULT_NPZ_MAX_BYTES, readNpz, writeNpz, type NpzReadOptions, type NpzWriteOptions } from './npz.js';
import { parseSafetensorsHeader, readSafetensors, safetensorsHeaderEnd, writeSafetensors, type SafetensorsFile } from './safetensors.js';

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

function kind(st: Stats): string {
  return st.isDirectory() ? 'a directory' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device'
    : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a regular file';
}

/** A regular file opened for reading: its descriptor and size. Close it with `closeSync(fd)`. */
interface OpenFile { readonly fd: number; readonly size: number; readonly path: string; readonly op: string }

function openRegular(op: string, path: unknown): OpenFile {
  if (typeof path !== 'string') throw new ConvError(op, 'path', `must be a string; got ${fmt(typeof path)}`);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new ConvError(op, 'path', `cannot be read (${errCode(e)}); got ${fmt(path)}`);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new ConvError(op, 'path', `must be a regular file; got ${kind(st)} at ${fmt(path)}`);
  }
  return { fd, size: st.size, path, op };
}

/** Exactly `length` bytes from `position` (a file that shrank meanwhile is a ConvError). */
function readAt(f: OpenFile, position: number, length: number, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(length);
  let got = 0;
  try {
    while (got < length) {
      const n = readSync(f.fd, out, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
  } catch (e) {
    throw new ConvError(f.op, 'path', `cannot be read (${errCode(e)}); got ${fmt(f.path)}`);
  }
  if (got !== length)
    throw new ConvError(f.op, 'file', `changed while it was read: ${f.size} bytes when opened, ${position + got} readable; got ${fmt(f.path)}`);
  return out;
}

function withFile<T>(op: string, path: string, use: (f: OpenFile) => T): T {
  const f = openRegular(op, path);
  try {
    return use(f);
  } finally {
    closeSync(f.fd);
  }
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes (default 2^31 − 1); a missing,
 * unreadable or irregular path, or a bigger file, is a ConvError naming it.
 */
export function readBytes(op: string, path: string, maxBytes = DEFAULT_NPZ_MAX_BYTES): Uint8Array {
  return withFile(op, path, (f) => {
    if (f.size > maxBytes) throw new ConvError(op, 'file', `must be at most ${maxBytes} bytes; got ${f.size} bytes at ${fmt(path)}`);
    return readAt(f, 0, f.size);
  });
}

/** The whole .npy file, read after its header has been checked against the file's size. */
export function readNpyBytes(path: string, options: ReadOptions = {}, op = 'npy'): Uint8Array {
  return withFile(op, path, (f) => {
    const prefix = readAt(f, 0, Math.min(f.size, NPY_PREFIX_MAX));
    parseNpyHeader(prefix, f.size, options, op); // throws unless the file holds exactly what the header says
    if (prefix.length === f.size) return prefix;
    const all = new Uint8Array(f.size);
    all.set(prefix);
    readAt(f, prefix.length, f.size - prefix.length, all.subarray(prefix.length));
    return all;
  });
}

/** The whole .safetensors file, read after its header has been checked against the file's size. */
export function readSafetensorsBytes(path: string, options: ReadOptions = {}): Uint8Array {
  return withFile('safetensors', path, (f) => {
    const end = safetensorsHeaderEnd(readAt(f, 0, Math.min(8, f.size)), f.size);
    const all = new Uint8Array(f.size);
    readAt(f, 0, end, all.subarray(0, end));
    parseSafetensorsHeader(all.subarray(0, end), f.size, options);
    readAt(f, end, f.size - end, all.subarray(end));
    return all;
  });
}

/** Bytes an archive may hold beyond its members' data: headers, names and the directory. */
const NPZ_OVERHEAD = 1 << 24;

/** The whole .npz file: at most `maxBytes` (the budget of uncompressed bytes) plus room for the zip structures. */
export function readNpzBytes(path: string, options: NpzReadOptions = {}): Uint8Array {
  return readBytes('npz', path, Math.min(2 ** 53 - 1, (options.maxBytes ?? DEFAULT_NPZ_MAX_BYTES) + NPZ_OVERHEAD));
}

/**
 * Writes `bytes` to `path` atomically: a temporary file beside it, flushed, then renamed over it
 * (an existing file keeps its permissions; a symbolic link is followed, its target replaced).
 * A failure leaves the path as it was and removes the temporary file.
 */
export function writeFileAtomic(op: string, path: string, bytes: Uint8Array, param = 'path'): void {
  if (typeof path !== 'string') throw new ConvError(op, param, `must be a string; got ${fmt(typeof path)}`);
  let target = path, mode: number | undefined;
  try {
    target = realpathSync(path);
    const st = statSync(target);
    if (!st.isFile()) throw new ConvError(op, param, `must be a regular file or a new path; got ${kind(st)} at ${fmt(path)}`);
    mode = st.mode & 0o7777;
  } catch (e) {
    if (e instanceof ConvError) throw e; // else: a new file
  }
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode ?? 0o666);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw new ConvError(op, param, `cannot be written (${errCode(e)}); got ${fmt(path)}`);
  }
}

/** `numpy.load` for one .npy file. */
export const loadNpy = (path: string, options?: ReadOptions): Tensor => readNpy(readNpyBytes(path, options), options);
/** `numpy.save`: float32 → '<f4', float64 → '<f8' (written atomically). */
export const saveNpy = (path: string, t: Tensor): void => writeFileAtomic('npy', path, writeNpy(t));
/** `numpy.load` for an .npz archive: arrays by name (a null-prototype object). */
export const loadNpz = (path: string, options?: NpzReadOptions): Record<string, Tensor> => readNpz(readNpzBytes(path, options), options);
/** `numpy.savez` (or `savez_compressed` with `{ compress: true }`), written atomically. */
export const saveNpz = (path: string, tensors: Record<string, Tensor>, options?: NpzWriteOptions): void =>
  writeFileAtomic('npz', path, writeNpz(tensors, options));
/** All tensors (and the metadata) of a .safetensors file. */
export const loadSafetensors = (path: string, options?: ReadOptions): SafetensorsFile => readSafetensors(readSafetensorsBytes(path, options), options);
/** Writes tensors (F32/F64) and string metadata as a .safetensors file, atomically. */
export const saveSafetensors = (path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void =>
  writeFileAtomic('safetensors', path, writeSafetensors(tensors, metadata));

export * from './index.js';

/**
 * NumPy `.npz` archives (a zip of .npy members, stored or deflated) from and to bytes, with fflate.
 * Browser safe. Member sizes are checked against the archive size and a byte budget before any
 * member is inflated, so a zip bomb or a lying directory gets a ConvError (op 'npz').
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { ConvError, fmt } from '../spec/errors.js';
import { Tensor } from '../autograd/tensor.js';
import { asBytes, checkDtype, readNpy, writeNpy, type ReadOptions } from './npy.js';

export interface NpzReadOptions extends ReadOptions {
  /** Most uncompressed bytes read from one archive (default 2^31 − 1). */
  maxBytes?: number;
}

/** Deflate cannot expand data by more than about 1032×; a member that claims more is lying. */
const MAX_DEFLATE_RATIO = 1032;
const MAX_MEMBERS = 65535;

/**
 * Reads every array of an .npz archive; keys are the member names without '.npy'
 * (as `numpy.load(...).files`).
 */
export function readNpz(bytes: ArrayBuffer | Uint8Array, options: NpzReadOptions = {}): Record<string, Tensor> {
  const op = 'npz';
  const b = asBytes(op, bytes);
  checkDtype(op, options.dtype);
  const maxBytes = options.maxBytes ?? 2 ** 31 - 1;
  let budget = maxBytes, members = 0;
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(b, {
      filter: (f) => {
        if (++members > MAX_MEMBERS) throw new ConvError(op, 'archive', `must have at most ${MAX_MEMBERS} members; the directory lists more`);
        if (f.compression !== 0 && f.compression !== 8)
          throw new ConvError(op, 'archive', `member ${fmt(f.name)} must be stored or deflated; got compression method ${f.compression}`);
        const claimed = f.compression === 0 ? f.size : f.originalSize;
        if (!Number.isSafeInteger(claimed) || claimed < 0 || (f.compression === 0 && claimed !== f.originalSize))
          throw new ConvError(op, 'archive', `member ${fmt(f.name)} has inconsistent sizes; got ${f.size} stored, ${f.originalSize} uncompressed`);
        if (f.size > b.length || (f.compression === 8 && claimed > f.size * MAX_DEFLATE_RATIO + 1024))
          throw new ConvError(op, 'archive', `member ${fmt(f.name)} claims ${claimed} bytes from ${f.size} compressed bytes, more than the ${b.length}-byte archive can hold`);
        budget -= claimed;
        if (budget < 0) throw new ConvError(op, 'archive', `holds more than the ${maxBytes} uncompressed bytes allowed (maxBytes)`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ConvError) throw e;
    throw new ConvError(op, 'archive', `is not a readable zip file (${(e as Error).message}); got ${b.length} bytes`);
  }
  const out: Record<string, Tensor> = {};
  for (const [name, data] of Object.entries(raw)) {
    if (name.endsWith('/')) continue;
    const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
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

/** Writes tensors as an .npz archive; member `k.npy` per key `k`. */
export function writeNpz(tensors: Record<string, Tensor>, options: NpzWriteOptions = {}): Uint8Array {
  const op = 'npz';
  if (tensors === null || typeof tensors !== 'object') throw new ConvError(op, 'tensors', `must be an object of Tensors; got ${fmt(tensors)}`);
  const files: Zippable = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!(t instanceof Tensor)) throw new ConvError(op, `tensors.${k}`, `must be a Tensor; got ${fmt(typeof t)}`);
    files[`${k}.npy`] = writeNpy(t, op);
  }
  return zipSync(files, { level: options.compress ? 6 : 0 });
}

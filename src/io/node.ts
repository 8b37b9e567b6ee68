/// <reference types="node" />
/**
 * Node-only helpers: the file formats of `convkit` read from and written to paths.
 * Import from 'convkit/node'; the browser-safe byte versions live in 'convkit'.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { readNpy, writeNpy, type ReadOptions } from './npy.js';
import { readNpz, writeNpz, type NpzReadOptions, type NpzWriteOptions } from './npz.js';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from './safetensors.js';

/** Reads a whole file; a missing or unreadable path is a ConvError naming it. */
export function readBytes(op: string, path: string): Uint8Array {
  if (typeof path !== 'string') throw new ConvError(op, 'path', `must be a string; got ${fmt(typeof path)}`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConvError(op, 'path', `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); got ${fmt(path)}`);
  }
}

function writeBytes(op: string, path: string, bytes: Uint8Array): void {
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw new ConvError(op, 'path', `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); got ${fmt(path)}`);
  }
}

/** `numpy.load` for one .npy file. */
export const loadNpy = (path: string, options?: ReadOptions): Tensor => readNpy(readBytes('npy', path), options);
/** `numpy.save`: float32 → '<f4', float64 → '<f8'. */
export const saveNpy = (path: string, t: Tensor): void => writeBytes('npy', path, writeNpy(t));
/** `numpy.load` for an .npz archive: arrays by name. */
export const loadNpz = (path: string, options?: NpzReadOptions): Record<string, Tensor> => readNpz(readBytes('npz', path), options);
/** `numpy.savez` (or `savez_compressed` with `{ compress: true }`). */
export const saveNpz = (path: string, tensors: Record<string, Tensor>, options?: NpzWriteOptions): void =>
  writeBytes('npz', path, writeNpz(tensors, options));
/** All tensors (and the metadata) of a .safetensors file. */
export const loadSafetensors = (path: string, options?: ReadOptions): SafetensorsFile => readSafetensors(readBytes('safetensors', path), options);
export const saveSafetensors = (path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void =>
  writeBytes('safetensors', path, writeSafetensors(tensors, metadata));

export * from './index.js';

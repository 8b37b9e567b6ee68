/**
 * Loading a PyTorch checkpoint saved as .safetensors into convkit modules. Browser safe.
 */
import type { LoadStateDictResult, Module } from '../nn/module.js';
import type { Tensor } from '../autograd/tensor.js';
import { ConvError, fmt } from '../spec/errors.js';
import { readSafetensors } from './safetensors.js';
import { foldWeightNorm } from './weight-norm.js';

export interface LoadSafetensorsOptions {
  /** Require the keys to match the module's exactly (default true). */
  strict?: boolean;
  /**
   * Renames a checkpoint key (after weight-norm folding) to the module's key, e.g. PyTorch attribute
   * names to Sequential indices; return null to drop the entry.
   */
  mapKey?: (key: string) => string | null;
}

/**
 * Reads a .safetensors state dict, folds weight norm (`weight_g`/`weight_v` and
 * `parametrizations.weight.original0/1`) into `weight`, and loads it with `module.loadStateDict`
 * (all checks before anything changes). Values are converted to the parameters' dtype.
 * @example loadSafetensorsStateDict(model, await (await fetch('generator.safetensors')).arrayBuffer())
 */
export function loadSafetensorsStateDict(module: Module, bytes: ArrayBuffer | Uint8Array, options: LoadSafetensorsOptions = {}): LoadStateDictResult {
  const folded = foldWeightNorm(readSafetensors(bytes).tensors);
  const mapped = Object.create(null) as Record<string, Tensor>; // any key, '__proto__' included
  for (const [k, t] of Object.entries(folded)) {
    const name = options.mapKey ? options.mapKey(k) : k;
    if (name === null) continue;
    if (typeof name !== 'string') throw new ConvError('loadSafetensorsStateDict', 'mapKey', `must return a string or null; got ${fmt(name)} for ${fmt(k)}`);
    if (Object.hasOwn(mapped, name)) throw new ConvError('loadSafetensorsStateDict', 'mapKey', `maps two keys to ${fmt(name)}`);
    mapped[name] = t;
  }
  return module.loadStateDict(mapped, { strict: options.strict ?? true });
}

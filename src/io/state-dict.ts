/**
 * Loading a PyTorch checkpoint saved as .safetensors into convkit modules. Browser safe.
 */
import type { LoadStateDictResult, Module } from '../nn/module.js';
import type { Tensor } from '../autograd/tensor.js';
import { ConvError, fmt } from '../spec/errors.js';
import { readOptions } from '../spec/normalize.js';
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
  const op = 'loadSafetensorsStateDict';
  const { strict, mapKey } = readOptions(op, options, ['strict', 'mapKey']);
  if (mapKey !== undefined && typeof mapKey !== 'function')
    throw new ConvError(op, 'mapKey', `must be a function (key) => string | null; got ${fmt(mapKey)}`);
  if (module === null || typeof module !== 'object' || typeof (module as Module).loadStateDict !== 'function')
    throw new ConvError(op, 'module', `must be a Module; got ${fmt(module)}`);
  const folded = foldWeightNorm(readSafetensors(bytes).tensors);
  const mapped = Object.create(null) as Record<string, Tensor>; // any key, '__proto__' included
  for (const [k, t] of Object.entries(folded)) {
    const name = mapKey ? (mapKey as (key: string) => unknown)(k) : k;
    if (name === null) continue;
    if (typeof name !== 'string') throw new ConvError('loadSafetensorsStateDict', 'mapKey', `must return a string or null; got ${fmt(name)} for ${fmt(k)}`);
    if (Object.hasOwn(mapped, name)) throw new ConvError('loadSafetensorsStateDict', 'mapKey', `maps two keys to ${fmt(name)}`);
    mapped[name] = t;
  }
  return module.loadStateDict(mapped, { strict: (strict ?? true) as boolean });
}

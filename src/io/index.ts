/** File formats (browser safe): .npy, .npz, .safetensors from and to bytes, and weight-norm folding. */
export { readNpy, writeNpy, readNpyHeader, type ReadOptions, type NpyHeader } from './npy.js';
export { readNpz, writeNpz, type NpzReadOptions, type NpzWriteOptions } from './npz.js';
export { readSafetensors, readSafetensorsHeader, writeSafetensors, type SafetensorsFile, type SafetensorsHeader, type SafetensorsEntry } from './safetensors.js';
export { foldWeightNorm, weightNormWeight } from './weight-norm.js';
export { halfToFloat, bfloatToFloat } from './dtypes.js';
export { loadSafetensorsStateDict, type LoadSafetensorsOptions } from './state-dict.js';

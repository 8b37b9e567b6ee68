/** Module base: named parameters, state dicts and gradients, as in `torch.nn.Module`. */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { readOptions } from '../spec/normalize.js';

/** Parameter values by dotted PyTorch key ('weight', '0.bias', …). */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Require the keys to match the module's exactly (default true). Shapes must always match. */
  strict?: boolean;
}

/** What `loadStateDict` did not match (non-empty only with `strict: false`). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Reads one state-dict value (a Tensor, or any object with `shape` and numeric `data`) into a
 * fresh array of the parameter's dtype, handed to `keep`; returns what is wrong instead, if anything.
 */
function stage(v: unknown, p: Tensor, keep: (values: Float32Array | Float64Array) => void): string | null {
  try {
    if (v === null || typeof v !== 'object') return `is not a Tensor (${fmt(typeof v)})`;
    const shape = (v as { shape?: unknown }).shape, data = (v as { data?: unknown }).data;
    if (!Array.isArray(shape) || !ArrayBuffer.isView(data)) return `is not a Tensor (no shape and data arrays)`;
    const sh = Array.from(shape as unknown[]);
    if (sh.length !== p.shape.length || sh.some((s, i) => s !== p.shape[i]))
      return `has shape ${fmt(sh)} but the parameter has shape ${fmt(p.shape)}`;
    if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array)
      return `holds ${data.constructor.name} data, which is not numbers (convert BigInt values with Number() first)`;
    const src = data as unknown as ArrayLike<number>;
    if (src.length !== p.size) return `has ${src.length} values but the parameter has ${p.size}`;
    const values = p.dtype === 'float64' ? new Float64Array(p.size) : new Float32Array(p.size);
    values.set(src);
    keep(values);
    return null;
  } catch (e) {
    return `could not be read (${(e as Error)?.message ?? fmt(e)})`;
  }
}

export abstract class Module {
  /** Own parameters by PyTorch key name (e.g. 'weight', 'bias'). Containers override `namedChildren`. */
  protected ownParameters(): [string, Tensor][] {
    return [];
  }

  /** Child modules by key ('0', '1', … in Sequential). */
  namedChildren(): [string, Module][] {
    return [];
  }

  /** All parameters with dotted PyTorch names ('weight', '0.bias', …). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.ownParameters().map(([k, t]) => [prefix + k, t]);
    for (const [name, child] of this.namedChildren()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * A snapshot of every parameter by PyTorch key (`weight`, `bias`, `0.weight`, …).
   * Unlike PyTorch's views, the values are copies: later training does not change a saved dict.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [k, t] of this.namedParameters()) out[k] = t.clone();
    return out;
  }

  /**
   * Copies `dict` into the parameters in place (optimizers keep working on the same tensors).
   * Everything is read, checked and converted to each parameter's dtype first: missing or unexpected
   * keys (when `strict`), shape mismatches (always) and values that cannot be read or converted
   * (a BigInt64Array, a throwing getter) throw one ConvError listing them all, and nothing is changed.
   */
  loadStateDict(dict: StateDict | ReadonlyMap<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = `${this.constructor.name}.loadStateDict`;
    const { strict = true } = readOptions(op, options, ['strict']);
    if (typeof strict !== 'boolean') throw new ConvError(op, 'strict', `must be true or false; got ${fmt(strict)}`);
    if (dict === null || typeof dict !== 'object')
      throw new ConvError(op, 'stateDict', `must be an object or Map of tensors by key; got ${fmt(dict)}`);
    let entries: Map<string, unknown>;
    try {
      entries = new Map<string, unknown>(dict instanceof Map ? dict : Object.entries(dict));
    } catch (e) {
      throw new ConvError(op, 'stateDict', `could not be read (${(e as Error)?.message ?? fmt(e)})`);
    }
    const own = this.namedParameters();
    const ownKeys = new Set(own.map(([k]) => k));
    const missingKeys = own.map(([k]) => k).filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !ownKeys.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys ${fmt(missingKeys)}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys ${fmt(unexpectedKeys)}`);
    // Phase 1: every value read once and converted into a fresh array of the parameter's dtype.
    const staged: [Tensor, Float32Array | Float64Array][] = [];
    for (const [k, p] of own) {
      if (!entries.has(k)) continue;
      const problem = stage(entries.get(k), p, (values) => staged.push([p, values]));
      if (problem) problems.push(`'${k}' ${problem}`);
    }
    if (problems.length) throw new ConvError(op, 'stateDict', `does not match the module: ${problems.join('; ')}`);
    // Phase 2: copies between arrays of the same type and length, which cannot fail.
    for (const [p, values] of staged) p.data.set(values);
    return { missingKeys, unexpectedKeys };
  }

  abstract forward(x: Tensor, ...rest: never[]): Tensor;
}

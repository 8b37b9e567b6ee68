/** Module base: named parameters, state dicts and gradients, as in `torch.nn.Module`. */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';

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

const isTensorLike = (v: unknown): v is Tensor =>
  v !== null && typeof v === 'object' && Array.isArray((v as Tensor).shape) && ArrayBuffer.isView((v as Tensor).data);

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
   * Everything is checked first: missing or unexpected keys (when `strict`) and shape mismatches
   * (always) throw one ConvError listing them all, and nothing is changed.
   */
  loadStateDict(dict: StateDict | ReadonlyMap<string, Tensor>, { strict = true }: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = `${this.constructor.name}.loadStateDict`;
    if (dict === null || typeof dict !== 'object')
      throw new ConvError(op, 'stateDict', `must be an object or Map of tensors by key; got ${fmt(dict)}`);
    const entries = new Map<string, unknown>(dict instanceof Map ? dict : Object.entries(dict));
    const own = this.namedParameters();
    const ownKeys = new Set(own.map(([k]) => k));
    const missingKeys = own.map(([k]) => k).filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !ownKeys.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys ${fmt(missingKeys)}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys ${fmt(unexpectedKeys)}`);
    for (const [k, p] of own) {
      if (!entries.has(k)) continue;
      const v = entries.get(k);
      if (!isTensorLike(v)) problems.push(`'${k}' is not a Tensor (${fmt(typeof v)})`);
      else if (v.shape.length !== p.shape.length || v.shape.some((s, i) => s !== p.shape[i]) || v.data.length !== p.data.length)
        problems.push(`'${k}' has shape ${fmt(v.shape)} but the parameter has shape ${fmt(p.shape)}`);
    }
    if (problems.length) throw new ConvError(op, 'stateDict', `does not match the module: ${problems.join('; ')}`);
    for (const [k, p] of own) {
      const v = entries.get(k) as Tensor | undefined;
      if (v) p.update((d) => d.set(v.data));
    }
    return { missingKeys, unexpectedKeys };
  }

  abstract forward(x: Tensor, ...rest: never[]): Tensor;
}

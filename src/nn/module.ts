/** Module base: named parameters, state dicts and gradients, as in `torch.nn.Module`. */
import { ConvError, fmt } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { captureGradMode, yieldToEventLoop } from './async.js';

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
  /**
   * Training mode (PyTorch's `module.training`): BatchNorm uses batch statistics while true and its
   * running statistics while false. Set it for a whole tree with `train()` / `eval()`.
   */
  training = true;

  /** Own parameters by PyTorch key name (e.g. 'weight', 'bias'). */
  protected ownParameters(): [string, Tensor][] {
    return [];
  }

  /**
   * Own buffers: state that is saved and loaded with the parameters but is not trained
   * (BatchNorm's `running_mean`, `running_var`, `num_batches_tracked`).
   */
  protected ownBuffers(): [string, Tensor][] {
    return [];
  }

  /**
   * Child modules by key. By default every field of this object that holds a Module (a ModuleList
   * included) is a child under the field's name, in the order the fields were defined, as PyTorch
   * registers attributes: `this.conv_pre = new Conv1d(…)` gives the keys `conv_pre.weight`, ….
   * Containers with other names (Sequential's '0', '1', …) override this.
   */
  namedChildren(): [string, Module][] {
    return Object.entries(this).filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /**
   * All parameters with dotted PyTorch names ('weight', '0.bias', …). As PyTorch's
   * `named_parameters()`, a module or a tensor reached twice (shared weights) is listed once,
   * under its first name, so an optimizer steps it once.
   */
  namedParameters(prefix = ''): [string, Tensor][] {
    return this.unique(prefix, (m) => m.ownParameters());
  }

  /** All buffers with dotted PyTorch names ('bn.running_mean', …), each once, as `namedParameters`. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    return this.unique(prefix, (m) => m.ownBuffers());
  }

  private unique(prefix: string, own: (m: Module) => [string, Tensor][]): [string, Tensor][] {
    const seenTensors = new Set<Tensor>(), out: [string, Tensor][] = [];
    for (const [name, t] of this.walk(prefix, own, new Set()))
      if (!seenTensors.has(t)) {
        seenTensors.add(t);
        out.push([name, t]);
      }
    return out;
  }

  /**
   * This module's tensors, then its children's, depth first. `seen` holds the modules already
   * visited (listed once, as PyTorch's named_modules) when given; otherwise a module reached by two
   * paths is listed under both, as in PyTorch's state_dict. A field pointing back up the tree (an
   * ancestor) is skipped either way, so a cycle cannot loop.
   */
  private walk(prefix: string, own: (m: Module) => [string, Tensor][], seen: Set<Module> | null, path = new Set<Module>()): [string, Tensor][] {
    seen?.add(this);
    path.add(this);
    const out: [string, Tensor][] = own(this).map(([k, t]) => [prefix + k, t]);
    for (const [name, child] of this.namedChildren())
      if (!path.has(child) && !seen?.has(child)) out.push(...child.walk(`${prefix}${name}.`, own, seen, path));
    path.delete(this);
    return out;
  }

  /**
   * Parameters and buffers in PyTorch's state-dict order (per module: parameters, buffers, then
   * children). Shared modules and tensors appear under every name, as in PyTorch's state_dict.
   */
  private namedState(): [string, Tensor][] {
    return this.walk('', (m) => [...m.ownParameters(), ...m.ownBuffers()], null);
  }

  /** Sets training mode on this module and every descendant (PyTorch `train(mode)`); returns this. */
  train(mode = true): this {
    const visit = (m: Module, seen: Set<Module>) => {
      seen.add(m);
      m.training = mode;
      for (const [, c] of m.namedChildren()) if (!seen.has(c)) visit(c, seen);
    };
    visit(this, new Set());
    return this;
  }

  /** `train(false)`: BatchNorm switches to its running statistics. Returns this. */
  eval(): this {
    return this.train(false);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * A snapshot of every parameter and buffer by PyTorch key (`weight`, `bias`, `0.weight`, …).
   * Unlike PyTorch's views, the values are copies: later training does not change a saved dict.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [k, t] of this.namedState()) out[k] = t.clone();
    return out;
  }

  /**
   * Copies `dict` into the parameters and buffers in place (optimizers keep working on the same tensors).
   * Everything is checked first: missing or unexpected keys (when `strict`) and shape mismatches
   * (always) throw one ConvError listing them all, and nothing is changed.
   */
  loadStateDict(dict: StateDict | ReadonlyMap<string, Tensor>, { strict = true }: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = `${this.constructor.name}.loadStateDict`;
    if (dict === null || typeof dict !== 'object')
      throw new ConvError(op, 'stateDict', `must be an object or Map of tensors by key; got ${fmt(dict)}`);
    const entries = new Map<string, unknown>(dict instanceof Map ? dict : Object.entries(dict));
    const own = this.namedState();
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

  /**
   * `forward` as a Promise, for callers that must not block (a page's main thread). Whether autograd
   * records is decided when the call is made: `noGrad(() => m.forwardAsync(x))` records nothing.
   * The default yields to the event loop once, then runs `forward` synchronously, so the thread is
   * held for one whole `forward` of this module. Modules with a finer grain override it:
   * - convolutions validate and plan on the calling thread; a float32 call of at least 2^20
   *   multiply-adds on the wasm kernels runs on the async driver's worker (src/async/), anything
   *   smaller or of another backend runs inline;
   * - Sequential awaits each child's `forwardAsync` in turn, with a turn of the event loop after each;
   * - a custom model does the same with `asyncSteps` (see docs/porting.md and examples/models/).
   * The backward pass stays synchronous, like every backward.
   */
  forwardAsync(x: Tensor, ...rest: never[]): Promise<Tensor> {
    const run = captureGradMode();
    return yieldToEventLoop().then(() => run(() => this.forward(x, ...rest)));
  }
}

/** Module base: named parameters, state dicts and gradients, as in `torch.nn.Module`. */
import { ConvError, fmt } from '../spec/errors.js';
import { copyInPlace, moveInPlace, Tensor, writeInPlace, type Device } from '../autograd/tensor.js';
import { readOptions } from '../spec/normalize.js';
import type { Stream } from '../stream/types.js';
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

/**
 * Reads one state-dict value (a Tensor, or any object with `shape` and numeric `data`) and hands
 * `keep` the write that loads it into the parameter `p` (phase 2 of loadStateDict); returns what is
 * wrong instead, if anything. A CPU value is converted into a fresh array of the parameter's dtype
 * now; a device tensor into a parameter on its device is copied on the device (no readback), from a
 * copy made now when it shares storage with one of the module's own tensors (`own`), so that the
 * dict is loaded as it was, whatever the order of the writes. A device tensor into a CPU parameter
 * cannot be read synchronously: that is a problem naming both devices (and `unreadable` is called).
 */
function stage(v: unknown, p: Tensor, own: ReadonlySet<unknown>, keep: (write: () => void) => void, unreadable: () => void): string | null {
  try {
    if (v === null || typeof v !== 'object') return `is not a Tensor (${fmt(typeof v)})`;
    if (v instanceof Tensor && v.device !== 'cpu') {
      if (v.shape.length !== p.shape.length || v.shape.some((s, i) => s !== p.shape[i]))
        return `has shape ${fmt(v.shape)} but the parameter has shape ${fmt(p.shape)}`;
      if (p.device !== v.device) {
        unreadable();
        return `is on device '${v.device}' but the module's tensor is on device '${p.device}', which cannot read it synchronously`;
      }
      const src = own.has(v.storage) ? v.clone() : v;
      keep(() => copyInPlace(p, src));
      return null;
    }
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
    keep(() => writeInPlace(p, values));
    return null;
  } catch (e) {
    return `could not be read (${(e as Error)?.message ?? fmt(e)})`;
  }
}

/** loadStateDict's `strict` and entries, read once and checked. */
function readStateDict(op: string, dict: unknown, options: unknown): { strict: boolean; entries: Map<string, unknown> } {
  const { strict = true } = readOptions(op, options, ['strict']);
  if (typeof strict !== 'boolean') throw new ConvError(op, 'strict', `must be true or false; got ${fmt(strict)}`);
  if (dict === null || typeof dict !== 'object')
    throw new ConvError(op, 'stateDict', `must be an object or Map of tensors by key; got ${fmt(dict)}`);
  try {
    return { strict, entries: new Map<string, unknown>(dict instanceof Map ? dict : Object.entries(dict)) };
  } catch (e) {
    throw new ConvError(op, 'stateDict', `could not be read (${(e as Error)?.message ?? fmt(e)})`);
  }
}

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
   * Each copy is on its tensor's device: after `to('webgpu')` the parameters and float32 buffers
   * come back as GPU tensors (copied on the GPU; read them with `await t.cpu()`), BatchNorm's
   * float64 `num_batches_tracked` as a CPU tensor.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [k, t] of this.namedState()) out[k] = t.clone();
    return out;
  }

  /**
   * Copies `dict` into the parameters and buffers in place (optimizers keep working on the same tensors).
   * Everything is read, checked and converted to each tensor's dtype first: missing or unexpected
   * keys (when `strict`), shape mismatches (always) and values that cannot be read or converted
   * (a BigInt64Array, a throwing getter) throw one ConvError listing them all, and nothing is changed.
   * Each written tensor's version is bumped.
   *
   * Devices: CPU values are uploaded into a module moved with `to('webgpu')`; GPU tensors (a GPU
   * module's `stateDict()`) are copied on the GPU into GPU parameters, nothing read back. A GPU
   * tensor for a tensor on the CPU (a CPU module, or BatchNorm's `num_batches_tracked`) cannot be
   * read synchronously: a ConvError naming the key and both devices — use `loadStateDictAsync`, or
   * read the value with `await t.cpu()` first.
   */
  loadStateDict(dict: StateDict | ReadonlyMap<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = `${this.constructor.name}.loadStateDict`;
    const { strict, entries } = readStateDict(op, dict, options);
    const own = this.namedState();
    const ownKeys = new Set(own.map(([k]) => k));
    const ownStorages = new Set<unknown>(own.map(([, t]) => t.storage));
    const missingKeys = own.map(([k]) => k).filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !ownKeys.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys ${fmt(missingKeys)}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys ${fmt(unexpectedKeys)}`);
    // Phase 1: every value read once: converted into a fresh array of the parameter's dtype, or a device copy planned.
    const staged: [Tensor, () => void][] = [];
    let unreadable = false; // a device value for a CPU tensor
    for (const [k, p] of own) {
      if (!entries.has(k)) continue;
      const problem = stage(entries.get(k), p, ownStorages, (write) => staged.push([p, write]), () => { unreadable = true; });
      if (problem) problems.push(`'${k}' ${problem}`);
    }
    if (unreadable)
      problems.push("read such values first with `await t.cpu()`, or load with `await module.loadStateDictAsync(dict)`");
    if (problems.length) throw new ConvError(op, 'stateDict', `does not match the module: ${problems.join('; ')}`);
    // Phase 2: copies between arrays (or device buffers) of the same type and length; each write counts (Tensor.version).
    for (const [p, write] of staged) {
      write();
      p.markChanged();
    }
    return { missingKeys, unexpectedKeys };
  }

  /**
   * `loadStateDict` for a dict whose GPU tensors go into tensors on the CPU (a GPU module's
   * `stateDict()` into a CPU module): those values are read back first (`await t.cpu()`, all at
   * once), then everything is loaded as by `loadStateDict`, with its checks and its result. GPU
   * values for GPU parameters are still copied on the device.
   * @example cpuModel.loadStateDictAsync(gpuModel.stateDict()).then(() => cpuModel.forward(x))
   */
  async loadStateDictAsync(dict: StateDict | ReadonlyMap<string, Tensor>, options: LoadStateDictOptions = {}): Promise<LoadStateDictResult> {
    const op = `${this.constructor.name}.loadStateDictAsync`;
    const { entries } = readStateDict(op, dict, options);
    const own = new Map(this.namedState());
    const read = await Promise.all([...entries].map(async ([k, v]): Promise<[string, unknown]> => {
      const p = own.get(k);
      return [k, p && p.device === 'cpu' && v instanceof Tensor && v.device !== 'cpu' ? await v.cpu() : v];
    }));
    return this.loadStateDict(new Map(read) as ReadonlyMap<string, Tensor>, options);
  }

  /**
   * Moves every parameter to `device` in place, once ('webgpu' uploads float32 parameters; the
   * same tensor objects stay in the module and in optimizers). Parameters already there are left alone.
   * float32 buffers (BatchNorm's running statistics) move with them; BatchNorm's float64 batch counter stays on the CPU.
   * @example await initWebGPU(); model.to('webgpu'); const y = model.forward(x.to('webgpu'));
   */
  to(device: Device): this {
    const params = [...this.parameters(), ...this.namedBuffers().map(([, t]) => t).filter((t) => t.dtype === 'float32')];
    for (const p of params)
      if (p.device !== 'cpu' && device === 'cpu')
        throw new ConvError(`${this.constructor.name}.to`, 'device', `'cpu' cannot take parameters back from '${p.device}' synchronously; read them with \`await t.cpu()\`, or load a CPU copy of the module with \`await copy.loadStateDictAsync(module.stateDict())\`; got device ${fmt(device)}`);
    if (device === 'webgpu')
      for (const p of params)
        if (p.dtype !== 'float32') throw new ConvError(`${this.constructor.name}.to`, 'dtype', `must be float32 on 'webgpu' (WGSL has no float64); got a ${p.dtype} parameter`);
    for (const p of params) moveInPlace(p, device);
    return this;
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

  /**
   * A stream over this module for live input: push chunks, get every output position that is final
   * (docs/streaming.md). Conv1d, ConvTranspose1d, Paddle's Conv1D and Conv1DTranspose, Sequential,
   * Residual, Parallel and the pointwise activations stream; any other module throws a ConvError
   * naming it. A custom module overrides this with a stream built from `sequentialStream`,
   * `residualStream`, `parallelStream` and `pointwiseStream` (its parts' `stream()`s); it then also
   * streams as part of a Sequential, Residual or Parallel.
   */
  stream(): Stream {
    return streamHook(this);
  }
}

/** Builds a module's stream; installed by src/stream (which imports nn/, never the reverse). */
let streamHook = (m: Module): Stream => {
  throw new ConvError(`${m.constructor.name}.stream`, 'module', `needs convkit's stream support, loaded with convkit's main entry (src/index.ts) or src/stream/index.ts; got none loaded`);
};
export function setStreamHook(f: (m: Module) => Stream): void {
  streamHook = f;
}

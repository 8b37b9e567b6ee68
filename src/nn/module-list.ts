/** `ModuleList` (PyTorch `torch.nn.ModuleList`): an indexed list of child modules keyed '0', '1', …. */
import { ConvError, fmt, guarded } from '../spec/errors.js';
import type { Tensor } from '../autograd/tensor.js';
import { Module } from './module.js';

/**
 * Holds modules the way PyTorch's ModuleList does: their parameters are keyed '0.weight', '1.bias', …
 * below the field that holds the list (`resblocks.3.convs1.0.bias`). It has no `forward`: the
 * owner decides how the modules are applied.
 * @example this.ups = new ModuleList(rates.map((r, i) => new ConvTranspose1d(c >> i, c >> (i + 1), 2 * r, { stride: r, padding: r / 2 })));
 */
export class ModuleList extends Module implements Iterable<Module> {
  readonly #modules: Module[] = [];

  constructor(modules: Iterable<Module> = []) {
    super();
    this.#modules.push(...modulesOf(modules));
  }

  get length(): number {
    return this.#modules.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const m = Number.isInteger(i) ? this.#modules.at(i) : undefined;
    if (!m) throw new ConvError('ModuleList', 'index', `must be an integer in [${-this.length}, ${this.length - 1}]; got ${fmt(i)}`);
    return m;
  }

  /** Appends a module (key `String(length)`); returns this. */
  append(module: Module): this {
    this.#modules.push(check(module, 'module'));
    return this;
  }

  /** Appends every module of `modules`; returns this. Nothing is appended when one is not a Module. */
  extend(modules: Iterable<Module>): this {
    this.#modules.push(...modulesOf(modules));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.#modules[Symbol.iterator]();
  }

  override namedChildren(): [string, Module][] {
    return this.#modules.map((m, i) => [String(i), m]);
  }

  /** A ModuleList is not callable (as in PyTorch): iterate over it in the owner's forward. */
  override forward(_x: Tensor): Tensor {
    throw new ConvError('ModuleList', 'forward', 'is not defined: apply the modules from the owning module; got a call to ModuleList.forward');
  }

  override toString(): string {
    return `ModuleList(\n${this.#modules.map((m, i) => `  (${i}): ${String(m)}`).join('\n')}\n)`;
  }
}

/** Longest list of modules taken (a guard against endless iterables). */
const MAX_MODULES = 2 ** 20;

/** The modules of an iterable, each checked; nothing is kept when one fails or reading throws. */
function modulesOf(modules: unknown): Module[] {
  const list = guarded('ModuleList', 'modules', () => {
    if (modules === null || typeof modules !== 'object' || typeof (modules as Iterable<unknown>)[Symbol.iterator] !== 'function') return null;
    const out: unknown[] = [];
    for (const m of modules as Iterable<unknown>) if (out.push(m) > MAX_MODULES) return null;
    return out;
  });
  if (list === null) throw new ConvError('ModuleList', 'modules', `must be an iterable of at most ${MAX_MODULES} Modules; got ${fmt(modules)}`);
  return list.map((m, i) => check(m, `modules[${i}]`));
}

function check(m: unknown, param: string): Module {
  if (!guarded('ModuleList', param, () => m instanceof Module)) throw new ConvError('ModuleList', param, `must be a Module; got ${fmt(typeof m)}`);
  return m as Module;
}

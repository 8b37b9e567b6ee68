/**
 * Where the time of a call goes: `profile(fn, { module })` runs fn once and reports the time per
 * module of `module`'s tree and per kind of work (convolution, elementwise, allocation/copy, weight
 * packing, thread hand-off, waiting). The library marks its work with `section(kind)`: a stack of
 * open sections, each interval of time charged to the innermost one, so the kinds add up to the
 * profiled time (the rest is 'other': JavaScript between ops, autograd bookkeeping). Outside a
 * profile a section costs one null check.
 */
import { ConvError, fmt, guarded, readList } from '../spec/errors.js';
import type { Module } from '../nn/module.js';

/** Kinds of work. 'waiting': this thread idle until the workers finish their units; 'thread hand-off': publishing a task to them. */
export type OpKind = 'convolution' | 'elementwise' | 'allocation/copy' | 'weight packing' | 'thread hand-off' | 'waiting' | 'other';
export const OP_KINDS: readonly OpKind[] = ['convolution', 'elementwise', 'allocation/copy', 'weight packing', 'thread hand-off', 'waiting', 'other'];

/** One module of the profiled tree: its key path ('' for the root), class, calls and times in ms. */
export interface ModuleProfile {
  readonly name: string;
  readonly type: string;
  readonly calls: number;
  /** Wall time inside its forward, children included. */
  readonly totalMs: number;
  /** totalMs less its children's. */
  readonly selfMs: number;
}

export interface Profile {
  /** Wall time of fn. */
  readonly totalMs: number;
  /** Time per kind of work; they sum to totalMs. */
  readonly byKind: Readonly<Record<OpKind, number>>;
  /** Calls per kind (sections opened). */
  readonly calls: Readonly<Record<OpKind, number>>;
  /** The modules of `module` in tree order (empty without one). */
  readonly modules: readonly ModuleProfile[];
  /** A plain-text table of both. */
  toString(): string;
}

export interface ProfileOptions {
  /** A module whose tree (itself and every descendant through namedChildren) is timed per module. */
  module?: Module;
}

interface Recorder {
  readonly kinds: OpKind[];
  readonly byKind: Record<OpKind, number>;
  readonly calls: Record<OpKind, number>;
  since: number;
}

let active: Recorder | null = null;
const now = () => performance.now();

/** Whether a profile is being recorded. */
export const profiling = (): boolean => active !== null;

/**
 * Opens a section of `kind` until the returned function is called (sections nest; time goes to
 * the innermost). Outside a profile it returns a shared no-op.
 */
export function section(kind: OpKind): () => void {
  const r = active;
  if (r === null) return noop;
  const t = now();
  r.byKind[r.kinds[r.kinds.length - 1]] += t - r.since;
  r.since = t;
  r.kinds.push(kind);
  r.calls[kind]++;
  const depth = r.kinds.length;
  return () => {
    if (active !== r || r.kinds.length < depth) return; // the profile ended, or this section is closed
    const u = now();
    r.byKind[r.kinds[r.kinds.length - 1]] += u - r.since;
    r.since = u;
    r.kinds.length = depth - 1; // also closes sections inside it that a throw left open
  };
}
const noop = () => {};

/** Runs fn inside a section of `kind`. */
export function timed<T>(kind: OpKind, fn: () => T): T {
  if (active === null) return fn();
  const end = section(kind);
  try {
    return fn();
  } finally {
    end();
  }
}

const zeroKinds = (): Record<OpKind, number> => Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number>;

/** Module tree in order: [key path, module]. */
function walk(m: Module, prefix: string, out: [string, Module][], seen: Set<Module>): void {
  if (seen.has(m)) return;
  seen.add(m);
  out.push([prefix, m]);
  for (const [k, c] of m.namedChildren()) walk(c, prefix ? `${prefix}.${k}` : k, out, seen);
}

/**
 * Runs `fn` once, recording where its time goes (see the file comment). Synchronous work only:
 * time spent awaiting is not attributed. Profiles do not nest.
 * @example const { result, profile: p } = profile(() => noGrad(() => model.forward(x)), { module: model }); console.log(String(p));
 */
export function profile<T>(fn: () => T, opts: ProfileOptions = {}): { result: T; profile: Profile } {
  if (typeof fn !== 'function') throw new ConvError('profile', 'fn', `must be a function; got ${fmt(typeof fn)}`);
  if (active !== null) throw new ConvError('profile', 'fn', 'must not call profile inside another profile; got a nested call');
  const tree: [string, Module][] = [];
  if (opts.module !== undefined) {
    if (opts.module === null || typeof (opts.module as Module).namedChildren !== 'function')
      throw new ConvError('profile', 'module', `must be a Module; got ${fmt(typeof opts.module)}`);
    walk(opts.module, '', tree, new Set());
  }
  const stats = tree.map(() => ({ calls: 0, total: 0, child: 0 }));
  const open: number[] = []; // indices of the modules whose forward is running
  // Each module's forward (and a convolution's fused forwardActivated) is shadowed by a timing
  // wrapper on the instance for the duration.
  const restore = tree.flatMap(([, m], i) => ['forward', 'forwardActivated'].filter((k) => typeof (m as unknown as Record<string, unknown>)[k] === 'function').map((k) => {
    const obj = m as unknown as Record<string, unknown>;
    const own = Object.prototype.hasOwnProperty.call(m, k), orig = obj[k] as (...a: unknown[]) => unknown;
    obj[k] = function (this: Module, ...args: unknown[]) {
      const t = now();
      open.push(i);
      try {
        return orig.apply(this, args);
      } finally {
        open.pop();
        const d = now() - t;
        stats[i].calls++;
        stats[i].total += d;
        if (open.length) stats[open[open.length - 1]].child += d;
      }
    };
    return () => {
      if (own) obj[k] = orig;
      else delete obj[k];
    };
  }));
  const r: Recorder = { kinds: ['other'], byKind: zeroKinds(), calls: zeroKinds(), since: now() };
  const t0 = r.since;
  active = r;
  let result: T, totalMs = 0;
  try {
    result = fn();
  } finally {
    const t1 = now();
    r.byKind[r.kinds[r.kinds.length - 1]] += t1 - r.since;
    active = null;
    for (const f of restore) f();
    r.calls.other = 0;
    totalMs = t1 - t0;
  }
  const modules = tree.map(([name, m], i) => ({
    name, type: m.constructor.name, calls: stats[i].calls, totalMs: stats[i].total, selfMs: stats[i].total - stats[i].child,
  }));
  const p: Profile = { totalMs, byKind: r.byKind, calls: r.calls, modules, toString: () => formatProfile(p) };
  return { result, profile: p };
}

/** A plain copy of a caller's profile, every field read once and checked. */
function readProfile(op: string, v: unknown): Omit<Profile, 'toString'> {
  const fail = (param: string, rule: string, got: unknown): never => {
    throw new ConvError(op, param, `${rule}; got ${fmt(got)}`);
  };
  if (v === null || typeof v !== 'object') fail('profile', 'must be a Profile (what profile() returns)', v);
  const o = v as Record<string, unknown>;
  const num = (param: string, x: unknown, integer = false): number =>
    typeof x === 'number' && (integer ? Number.isSafeInteger(x) && x >= 0 : Number.isFinite(x)) ? x
      : fail(param, integer ? 'must be a non-negative integer' : 'must be a finite number', x);
  const perKind = (key: 'byKind' | 'calls'): Record<OpKind, number> => {
    const r = o[key];
    if (r === null || typeof r !== 'object') fail(`profile.${key}`, 'must be an object with a number per kind', r);
    return Object.fromEntries(OP_KINDS.map((k) => [k, num(`profile.${key}.${k}`, (r as Record<string, unknown>)[k], key === 'calls')])) as Record<OpKind, number>;
  };
  const totalMs = num('profile.totalMs', o.totalMs), byKind = perKind('byKind'), calls = perKind('calls');
  const list = readList(op, 'profile.modules', o.modules);
  if (list === null) fail('profile.modules', 'must be a list of module entries', o.modules);
  const modules = list!.map((m, i): ModuleProfile => {
    const at = `profile.modules[${i}]`;
    if (m === null || typeof m !== 'object') fail(at, 'must be an object { name, type, calls, totalMs, selfMs }', m);
    const e = m as Record<string, unknown>;
    const str = (k: string) => {
      const x = e[k];
      return typeof x === 'string' ? x : fail(`${at}.${k}`, 'must be a string', x);
    };
    return { name: str('name'), type: str('type'), calls: num(`${at}.calls`, e.calls, true), totalMs: num(`${at}.totalMs`, e.totalMs), selfMs: num(`${at}.selfMs`, e.selfMs) };
  });
  return { totalMs, byKind, calls, modules };
}

/**
 * The profile as two text tables (kinds, then modules by self time).
 * @param p a profile from profile(); anything else is a ConvError naming the field.
 * @param topModules how many modules to list (a non-negative integer, or Infinity for all; default 20).
 */
export function formatProfile(p: Profile, topModules = 20): string {
  const op = 'formatProfile';
  if (topModules !== Infinity && !(typeof topModules === 'number' && Number.isSafeInteger(topModules) && topModules >= 0))
    throw new ConvError(op, 'topModules', `must be a non-negative integer or Infinity; got ${fmt(topModules)}`);
  const c = guarded(op, 'profile', () => readProfile(op, p));
  const ms = (v: number) => v.toFixed(2).padStart(10);
  const pc = (v: number) => `${((100 * v) / Math.max(c.totalMs, 1e-9)).toFixed(1).padStart(5)}%`;
  const lines = [`total ${c.totalMs.toFixed(2)} ms`, `${'kind'.padEnd(18)}${'ms'.padStart(10)}  share  calls`];
  for (const k of OP_KINDS) lines.push(`${k.padEnd(18)}${ms(c.byKind[k])} ${pc(c.byKind[k])}  ${k === 'other' ? '' : c.calls[k]}`);
  if (c.modules.length) {
    lines.push('', `${'module'.padEnd(34)}${'type'.padEnd(18)}${'calls'.padStart(6)}${'self ms'.padStart(10)}${'total ms'.padStart(10)}`);
    for (const m of [...c.modules].sort((a, b) => b.selfMs - a.selfMs).slice(0, topModules))
      lines.push(`${(m.name || '(root)').padEnd(34)}${m.type.padEnd(18)}${String(m.calls).padStart(6)}${ms(m.selfMs)}${ms(m.totalMs)}`);
  }
  return lines.join('\n');
}

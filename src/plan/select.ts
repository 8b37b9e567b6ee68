/**
 * Kernel selection: backends register their candidates here; each candidate names the algorithm
 * whose predicate decides where it applies and carries the limits its backend can honour. The
 * first candidate that applies runs, in this order: higher backend priority first, then within a
 * backend the more specific algorithm first (polyphase, depthwise, gemm, direct), then the order
 * of registration. This file knows the predicates and the order, not the backends.
 */
import type { DType, Geometry } from '../spec/types.js';
import { ConvError, fmt } from '../spec/errors.js';
import type { Algorithm, Backend, Candidate, ConvKernels, Direction, PhaseKernels } from '../kernels/types.js';
import { phasePlan, usePolyphase } from './phases.js';

export type { Direction } from '../kernels/types.js';

/** Transposed convolution as stride-1 convolutions, one per output phase (see plan/phases.ts). */
export const usePolyphaseConvT = (g: Geometry, _dtype: DType, dir: Direction): boolean => dir === 'convT' && usePolyphase(g);
/** One input channel per group (depthwise, any multiplier): a direct kernel beats a GEMM with M = 1. */
const oneChannelPerGroup = (g: Geometry, dir: Direction): boolean => dir === 'conv' && g.cIn === g.groups;

/** Where each algorithm applies, most specific first (the order of a backend's candidates). */
const algorithms: Record<Algorithm, { readonly rank: number; readonly applies: (g: Geometry, dir: Direction) => boolean }> = {
  polyphase: { rank: 0, applies: (g, dir) => usePolyphaseConvT(g, 'float32', dir) },
  depthwise: { rank: 1, applies: oneChannelPerGroup },
  gemm: { rank: 2, applies: () => true },
  direct: { rank: 3, applies: () => true },
};

interface Entry { readonly backend: Backend; readonly candidate: Candidate; readonly seq: number; readonly host?: ConvKernels }

let entries: Entry[] = [];
let seq = 0;

/** A polyphase family as host kernels: its convT gets the phases of the geometry from plan/phases.ts. */
const withPhases = (k: PhaseKernels): ConvKernels => ({
  name: k.name,
  fuses: k.fuses,
  conv: (x, w, y, g, ep, wk) => k.conv(x, w, y, g, ep, wk),
  convT: (x, w, y, g, ep, wk) => k.convTPhases(x, w, y, g, phasePlan(g), ep, wk),
  weightGrad: (x, gy, gw, g) => k.weightGrad(x, gy, gw, g),
});

/**
 * Adds a backend's candidates (replacing those of a backend of the same name), ordered by its
 * priority. A device backend (WebGPU) registers when its adapter is ready.
 */
export function registerBackend(b: Backend): void {
  entries = entries.filter((e) => e.backend.name !== b.name);
  for (const c of b.candidates) {
    const host = c.location !== 'host' ? undefined : c.algorithm === 'polyphase' ? withPhases(c.kernels) : c.kernels;
    entries.push({ backend: b, candidate: c, seq: seq++, host });
  }
  entries.sort((p, q) => q.backend.priority - p.backend.priority
    || algorithms[p.candidate.algorithm].rank - algorithms[q.candidate.algorithm].rank || p.seq - q.seq);
}

let preferred = 'auto';

/** The backends that have registered candidates. */
export function backends(): string[] {
  return [...new Set(entries.map((e) => e.backend.name))];
}

/**
 * Restricts kernels to one backend ('ref' is the literal definition, 'js' the TypeScript fast path),
 * or 'auto' (the default) for the first applicable candidate of any backend.
 */
export function setBackend(name: string): void {
  if (name !== 'auto' && !backends().includes(name))
    throw new ConvError('setBackend', 'name', `must be 'auto' or one of ${fmt(backends())}; got ${fmt(name)}`);
  preferred = name;
}

export function getBackend(): string {
  return preferred;
}

/** Runs `fn` with the backend set to `name`, restoring the previous choice afterwards. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = preferred;
  setBackend(name);
  try {
    return fn();
  } finally {
    preferred = prev;
  }
}

const applies = (e: Entry, g: Geometry, dtype: DType, dir: Direction): boolean =>
  e.candidate.dtypes.includes(dtype) && algorithms[e.candidate.algorithm].applies(g, dir) && (e.candidate.fits?.(g, dir) ?? true);

/** Whether the registered candidate `name` applies to (g, dtype, dir), whatever the preferred backend. */
export function candidateApplies(name: string, g: Geometry, dtype: DType, dir: Direction): boolean {
  return entries.some((e) => e.candidate.name === name && applies(e, g, dtype, dir));
}

/**
 * The first candidate of the preferred backend (any backend under 'auto') that applies; `device`
 * admits device-resident candidates (for callers that can await them). Where the preferred backend
 * has none that applies (a geometry beyond its limits, a device backend in a synchronous call),
 * the first that applies of any backend runs, as the reference always does.
 */
export function selectCandidate(g: Geometry, dtype: DType, dir: Direction, device = false): Candidate {
  return selectEntry(g, dtype, dir, device).candidate;
}

function selectEntry(g: Geometry, dtype: DType, dir: Direction, device: boolean): Entry {
  let fallback: Entry | undefined;
  for (const e of entries) {
    if ((!device && e.candidate.location !== 'host') || !applies(e, g, dtype, dir)) continue;
    if (preferred === 'auto' || e.backend.name === preferred) return e;
    fallback ??= e;
  }
  if (fallback) return fallback;
  throw new ConvError('select', 'backend', `no registered kernels compute ${dir} for ${dtype}; got backends ${fmt(backends())}`);
}

/** The host kernels of the first candidate that applies (see selectCandidate). */
export function selectKernels(g: Geometry, dtype: DType, dir: Direction): ConvKernels {
  return selectEntry(g, dtype, dir, false).host!;
}

/**
 * Memoised planning: a call whose spec object and operand shapes (and outputSize) equal those of a
 * call already planned gets that plan back without re-running the checks. Specs are immutable, so
 * the spec's identity names its options; a hit therefore means identical inputs to every check, and
 * any other call is validated in full before anything runs. Each spec keeps at most
 * PLANS_PER_SPEC plans (most recent first) in a WeakMap, so plans go away with their spec.
 */
import type { ConvSpec, Shape } from '../spec/types.js';
import { planConv, type ConvPlan } from './plan.js';

/** Plans kept per spec: a module sees a handful of input sizes (batch sizes, sequence lengths). */
export const PLANS_PER_SPEC = 8;

interface Entry {
  readonly x: Shape;
  readonly w: Shape;
  readonly b: Shape | null;
  readonly outputSize: readonly number[] | undefined;
  readonly plan: ConvPlan;
}

const plans = new WeakMap<ConvSpec, Entry[]>();

function sameShape(a: Shape | null | undefined, b: Shape | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copies an array of numbers, or returns null for anything else (such calls are never cached). */
function numbers(v: readonly unknown[] | undefined): readonly number[] | null | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'number')) return null;
  return Object.freeze([...v] as number[]);
}

/** Freezes what the plan shares with its spec and caller, so that no one can change a cached plan's inputs. */
function freezePlan(spec: ConvSpec, p: ConvPlan): ConvPlan {
  for (const a of [spec.stride, spec.dilation, spec.outputPadding]) Object.freeze(a);
  if (spec.padding.kind === 'explicit') { spec.padding.pads.forEach((q) => Object.freeze(q)); Object.freeze(spec.padding.pads); }
  Object.freeze(spec.padding);
  Object.freeze(spec);
  const g = p.geometry;
  for (const a of [g.inSize, g.outSize, g.kSize, g.stride, g.dilation, g.padBefore, p.outputPadding, p.outShape, p.pads, ...p.pads]) Object.freeze(a);
  if (p.inputPad) Object.freeze(p.inputPad);
  Object.freeze(g);
  return Object.freeze(p);
}

/** `planConv` memoised per spec object (see the file comment); the plan returned is frozen. */
export function planConvCached(spec: ConvSpec, x: Shape, w: Shape, b: Shape | null, outputSize?: readonly number[]): ConvPlan {
  let list = plans.get(spec);
  if (list) {
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (sameShape(e.x, x) && sameShape(e.w, w) && sameShape(e.b, b) && sameShape(e.outputSize, outputSize)) {
        if (i > 0) { list.splice(i, 1); list.unshift(e); }
        return e.plan;
      }
    }
  }
  const plan = planConv(spec, x, w, b, outputSize);
  const os = numbers(outputSize as readonly unknown[] | undefined);
  if (os === null) return plan;
  if (!list) plans.set(spec, (list = []));
  list.unshift({ x: Object.freeze([...x]), w: Object.freeze([...w]), b: b && Object.freeze([...b]), outputSize: os, plan: freezePlan(spec, plan) });
  if (list.length > PLANS_PER_SPEC) list.pop();
  return plan;
}

/**
 * WebAssembly SIMD elementwise kernels for the autograd ops (asm/elementwise.ts): broadcasting
 * add/sub/mul/div, relu, leakyRelu, tanh, sigmoid and the activations' backward products. The module
 * has its own plain memory: operands pass through it in chunks of CHUNK elements (copied in, one
 * kernel in place, copied out), so the memory stays at a fixed size whatever the tensor (plus one
 * copy of a broadcast operand) and a chunk stays in cache between the three passes.
 *
 * Each function returns false (or null) where it has no fast path (too few elements, a broadcast
 * it does not cover, tanh/sigmoid in float64, no WebAssembly SIMD); the caller then runs its
 * JavaScript loop. Results equal those loops bit for bit, except tanh and sigmoid in float32
 * (within 4 ulp, see asm/elementwise.ts).
 */
import type { Shape } from '../../spec/types.js';
import type { F as TypedArray } from '../types.js';
import { elementwiseWasm } from './elementwise.generated.js';

interface Exports {
  binVV(op: number, x: number, y: number, n: number): void;
  binVV64(op: number, x: number, y: number, n: number): void;
  binVS(op: number, x: number, s: number, n: number): void;
  binVS64(op: number, x: number, s: number, n: number): void;
  binB(op: number, x: number, y: number, n: number, start: number, inner: number, mid: number): void;
  binB64(op: number, x: number, y: number, n: number, start: number, inner: number, mid: number): void;
  relu(x: number, n: number): void;
  relu64(x: number, n: number): void;
  leakyRelu(x: number, n: number, slope: number): void;
  leakyRelu64(x: number, n: number, slope: number): void;
  tanh(x: number, n: number): void;
  sigmoid(x: number, n: number): void;
  actGrad(kind: number, g: number, a: number, n: number, slope: number): void;
  actGrad64(kind: number, g: number, a: number, n: number, slope: number): void;
}

/** Elements per chunk (128 KiB of f64). */
const CHUNK = 1 << 14;
/** Byte addresses: the in-place chunk, the second operand's chunk, then a whole broadcast operand. */
const XP = 4096, YP = XP + CHUNK * 8, BP = YP + CHUNK * 8;
/** Fewer elements than this run the caller's JavaScript loop (a wasm call and two copies cost more). */
const MIN_ELEMENTS = 32;

let engine: { ex: Exports; memory: WebAssembly.Memory } | null | undefined;

function load(): { ex: Exports; memory: WebAssembly.Memory } | null {
  if (engine !== undefined) return engine;
  engine = null;
  if (typeof WebAssembly !== 'object') return engine;
  const s = atob(elementwiseWasm), bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  if (!WebAssembly.validate(bytes)) return engine;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(BP / 65536) });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  engine = { ex: instance.exports as unknown as Exports, memory };
  return engine;
}

/** Whether the elementwise module loaded (WebAssembly SIMD is present). */
export const elementwiseAvailable = (): boolean => load() !== null;

const view = (m: WebAssembly.Memory, at: number, n: number, f64: boolean): TypedArray =>
  f64 ? new Float64Array(m.buffer, at, n) : new Float32Array(m.buffer, at, n);

/** Runs `kernel(at, len)` over `out` in chunks: each chunk of `src` copied in at XP, the kernel applied in place, the chunk copied to `out`. */
function chunked(src: TypedArray, out: TypedArray, kernel: (i0: number, len: number) => void): void {
  const m = engine!.memory, f64 = src instanceof Float64Array;
  for (let i0 = 0; i0 < out.length; i0 += CHUNK) {
    const len = Math.min(CHUNK, out.length - i0), x = view(m, XP, len, f64);
    (x as Float64Array).set((src as Float64Array).subarray(i0, i0 + len));
    kernel(i0, len);
    (out as Float64Array).set(x as Float64Array, i0);
  }
}

const OPS = { add: 0, sub: 1, mul: 2, div: 4 } as const;
/** The reversed forms: op(x, y) computed as op'(y, x). */
const REVERSED = { add: 0, sub: 3, mul: 2, div: 5 } as const;

/**
 * How `from` broadcasts to `to`: 'full' (same elements), 'scalar' (one element) or a block
 * { inner, mid } (its elements vary along one run of dims, `mid` elements, each repeated over the
 * `inner` elements of the dims after it); null for any other pattern.
 */
function pattern(from: Shape, to: Shape): 'full' | 'scalar' | { inner: number; mid: number } | null {
  const lead = to.length - from.length, varying: number[] = [], spread: number[] = [];
  for (let a = 0; a < to.length; a++) {
    if (to[a] === 1) continue;
    ((a < lead ? 1 : from[a - lead]) === 1 ? spread : varying).push(a);
  }
  if (varying.length === 0) return 'scalar';
  if (spread.length === 0) return 'full';
  const lo = varying[0], hi = varying[varying.length - 1] + 1;
  if (spread.some((a) => a > lo && a < hi)) return null;
  const prodOf = (a: number, b: number) => to.slice(a, b).reduce((p, q) => p * q, 1);
  const inner = prodOf(hi, to.length), mid = prodOf(lo, hi);
  return { inner, mid };
}

/**
 * out = op(x, y) with broadcasting, out of shape `shape` (x or y may be out itself). Returns false
 * where there is no fast path: one operand must have the output's elements and the other be
 * one element, the same elements or one block of dims (see pattern).
 */
export function binaryInto(op: 'add' | 'sub' | 'mul' | 'div', x: TypedArray, xs: Shape, y: TypedArray, ys: Shape, shape: Shape, out: TypedArray): boolean {
  if (out.length < MIN_ELEMENTS || !load()) return false;
  const f64 = out instanceof Float64Array;
  let px = pattern(xs, shape), py = pattern(ys, shape), code: number = OPS[op];
  if (px !== 'full') {
    if (py !== 'full') return false;
    // op(x, y) = op'(y, x): add and mul commute (bitwise), sub and div reverse.
    [x, y, px, py] = [y, x, py, px];
    code = REVERSED[op];
  }
  if (py === null) return false;
  const { ex, memory } = engine!;
  if (py === 'full') {
    chunked(x, out, (i0, len) => {
      (view(memory, YP, len, f64) as Float64Array).set((y as Float64Array).subarray(i0, i0 + len));
      (f64 ? ex.binVV64 : ex.binVV)(code, XP, YP, len);
    });
  } else if (py === 'scalar') {
    const s = y[0];
    chunked(x, out, (_, len) => (f64 ? ex.binVS64 : ex.binVS)(code, XP, s, len));
  } else {
    const { inner, mid } = py;
    const need = BP + mid * (f64 ? 8 : 4);
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    (view(memory, BP, mid, f64) as Float64Array).set(y as Float64Array);
    chunked(x, out, (i0, len) => (f64 ? ex.binB64 : ex.binB)(code, XP, BP, len, i0, inner, mid));
  }
  return true;
}

export type Activation = 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid';

/**
 * out = act(x) (out may be x). False where there is no fast path (tanh and sigmoid in float64, few
 * elements of the ops that equal the JavaScript loop bitwise). float32 tanh and sigmoid take this
 * path at every length: their SIMD approximation differs from Math's by a few ulp, and one element
 * must not get another value because it came in a shorter array (a stream's chunk, say).
 */
export function activationInto(act: Activation, x: TypedArray, out: TypedArray, negativeSlope = 0.01): boolean {
  const f64 = x instanceof Float64Array, approximated = act === 'tanh' || act === 'sigmoid';
  if ((out.length < MIN_ELEMENTS && !(approximated && !f64)) || (f64 && approximated) || !load()) return false;
  const { ex } = engine!;
  const k = act === 'relu' ? (f64 ? ex.relu64 : ex.relu) : act === 'tanh' ? ex.tanh : act === 'sigmoid' ? ex.sigmoid : null;
  if (k) chunked(x, out, (_, len) => k(XP, len));
  else chunked(x, out, (_, len) => (f64 ? ex.leakyRelu64 : ex.leakyRelu)(XP, len, negativeSlope));
  return true;
}

const GRAD_KIND: Record<Activation, number> = { relu: 0, leakyRelu: 1, tanh: 2, sigmoid: 3 };

/**
 * The activation's input gradient g · act'(·) as a new array, computed as the JavaScript VJP does
 * (bitwise): `a` is the input x for relu and leakyRelu, the output y for tanh and sigmoid. Null
 * where there is no fast path.
 */
export function activationGrad(act: Activation, g: TypedArray, a: TypedArray, negativeSlope = 0.01): TypedArray | null {
  if (g.length < MIN_ELEMENTS || !load()) return null;
  const { ex, memory } = engine!, f64 = g instanceof Float64Array;
  const out = f64 ? new Float64Array(g.length) : new Float32Array(g.length);
  chunked(g, out, (i0, len) => {
    (view(memory, YP, len, f64) as Float64Array).set((a as Float64Array).subarray(i0, i0 + len));
    (f64 ? ex.actGrad64 : ex.actGrad)(GRAD_KIND[act], XP, YP, len, negativeSlope);
  });
  return out;
}

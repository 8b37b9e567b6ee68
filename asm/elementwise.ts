/**
 * Elementwise kernels (AssemblyScript, SIMD) of the autograd ops: broadcasting add/sub/mul, relu,
 * leakyRelu, tanh, sigmoid and the activations' backward products. Each works in place on `n`
 * elements at byte address `x` of its own plain memory (src/kernels/wasm/elementwise.ts copies a
 * chunk in, runs one kernel, copies it out). f32 and f64 (`…64`) exist where the op is exact in
 * either type; tanh and sigmoid are f32 only (approximations within a few ulp, see tanh32/sigmoid32).
 *
 * The results equal the JavaScript loops they replace bit for bit, except tanh and sigmoid: an f32
 * add, subtract, multiply or divide of f32 values is the f64 one rounded to f32, and where the JavaScript
 * multiplies by an f64 constant (the slope, 1 − y²) the lanes are promoted to f64 and demoted once,
 * as the JavaScript rounds once on the store.
 */

/** Binary op codes: out = x + y, x − y, x · y, y − x, x / y, y / x. */
const ADD = 0, SUB = 1, MUL = 2, RSUB = 3, DIV = 4;

@inline function bin32(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  if (op == RSUB) return f32x4.sub(b, a);
  if (op == DIV) return f32x4.div(a, b);
  return f32x4.div(b, a);
}
@inline function bin64(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f64x2.add(a, b);
  if (op == SUB) return f64x2.sub(a, b);
  if (op == MUL) return f64x2.mul(a, b);
  if (op == RSUB) return f64x2.sub(b, a);
  if (op == DIV) return f64x2.div(a, b);
  return f64x2.div(b, a);
}
@inline function binS32(op: i32, a: f32, b: f32): f32 {
  if (op == ADD) return a + b;
  if (op == SUB) return a - b;
  if (op == MUL) return a * b;
  if (op == RSUB) return b - a;
  if (op == DIV) return a / b;
  return b / a;
}
@inline function binS64(op: i32, a: f64, b: f64): f64 {
  if (op == ADD) return a + b;
  if (op == SUB) return a - b;
  if (op == MUL) return a * b;
  if (op == RSUB) return b - a;
  if (op == DIV) return a / b;
  return b / a;
}

/** x[i] = op(x[i], y[i]) for i < n. */
function vv32(op: i32, x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2), q = y + (<usize>i << 2);
    v128.store(p, bin32(op, v128.load(p), v128.load(q)));
    v128.store(p, bin32(op, v128.load(p, 16), v128.load(q, 16)), 16);
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, binS32(op, load<f32>(p), load<f32>(y + (<usize>i << 2))));
  }
}
function vv64(op: i32, x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 3), q = y + (<usize>i << 3);
    v128.store(p, bin64(op, v128.load(p), v128.load(q)));
    v128.store(p, bin64(op, v128.load(p, 16), v128.load(q, 16)), 16);
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 3);
    store<f64>(p, binS64(op, load<f64>(p), load<f64>(y + (<usize>i << 3))));
  }
}

/** x[i] = op(x[i], s) for i < n. */
function vs32(op: i32, x: usize, s: f32, n: i32): void {
  const sv = f32x4.splat(s);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    v128.store(p, bin32(op, v128.load(p), sv));
    v128.store(p, bin32(op, v128.load(p, 16), sv), 16);
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, binS32(op, load<f32>(p), s));
  }
}
function vs64(op: i32, x: usize, s: f64, n: i32): void {
  const sv = f64x2.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 3);
    v128.store(p, bin64(op, v128.load(p), sv));
    v128.store(p, bin64(op, v128.load(p, 16), sv), 16);
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 3);
    store<f64>(p, binS64(op, load<f64>(p), s));
  }
}

/**
 * x[i] = op(x[i], y[⌊(start + i) / inner⌋ mod mid]) for i < n: the other operand broadcast along
 * the dims before and after its own block of `mid` elements (a per-channel bias: inner = the
 * plane, mid = channels; a row shared by every sample: inner = 1, mid = the row).
 */
function bcastT<T>(op: i32, x: usize, y: usize, n: i32, start: i32, inner: i32, mid: i32): void {
  const es = <i32>sizeof<T>();
  let i = 0, j = start;
  while (i < n) {
    const q = j / inner, r = j - q * inner, m = q % mid;
    let len: i32;
    if (inner == 1) {
      len = min(n - i, mid - m);
      if (es == 4) vv32(op, x + <usize>(i * es), y + <usize>(m * es), len);
      else vv64(op, x + <usize>(i * es), y + <usize>(m * es), len);
    } else {
      len = min(n - i, inner - r);
      if (es == 4) vs32(op, x + <usize>(i * es), load<f32>(y + <usize>(m * es)), len);
      else vs64(op, x + <usize>(i * es), load<f64>(y + <usize>(m * es)), len);
    }
    i += len;
    j += len;
  }
}

export function binVV(op: i32, x: usize, y: usize, n: i32): void { vv32(op, x, y, n); }
export function binVV64(op: i32, x: usize, y: usize, n: i32): void { vv64(op, x, y, n); }
export function binVS(op: i32, x: usize, s: f32, n: i32): void { vs32(op, x, s, n); }
export function binVS64(op: i32, x: usize, s: f64, n: i32): void { vs64(op, x, s, n); }
export function binB(op: i32, x: usize, y: usize, n: i32, start: i32, inner: i32, mid: i32): void { bcastT<f32>(op, x, y, n, start, inner, mid); }
export function binB64(op: i32, x: usize, y: usize, n: i32, start: i32, inner: i32, mid: i32): void { bcastT<f64>(op, x, y, n, start, inner, mid); }

/** relu: x ≤ 0 ? 0 : x (NaN stays NaN, −0 becomes 0). */
export function relu(x: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2), v = v128.load(p);
    v128.store(p, v128.bitselect(z, v, f32x4.le(v, z)));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2), v = load<f32>(p);
    store<f32>(p, v <= 0 ? 0 : v);
  }
}
export function relu64(x: usize, n: i32): void {
  const z = f64x2.splat(0);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const p = x + (<usize>i << 3), v = v128.load(p);
    v128.store(p, v128.bitselect(z, v, f64x2.le(v, z)));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 3), v = load<f64>(p);
    store<f64>(p, v <= 0 ? 0 : v);
  }
}

/** f32(f64(v) · s) for the four lanes of v: the product rounded once, to f32. */
@inline function scale32(v: v128, s: v128): v128 {
  const lo = f64x2.mul(f64x2.promote_low_f32x4(v), s);
  const hi = f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), s);
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** leakyRelu: x > 0 ? x : x · slope (slope an f64, the product rounded once). */
export function leakyRelu(x: usize, n: i32, slope: f64): void {
  const z = f32x4.splat(0), s = f64x2.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2), v = v128.load(p);
    v128.store(p, v128.bitselect(v, scale32(v, s), f32x4.gt(v, z)));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2), v = load<f32>(p);
    store<f32>(p, v > 0 ? v : <f32>(<f64>v * slope));
  }
}
export function leakyRelu64(x: usize, n: i32, slope: f64): void {
  const z = f64x2.splat(0), s = f64x2.splat(slope);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const p = x + (<usize>i << 3), v = v128.load(p);
    v128.store(p, v128.bitselect(v, f64x2.mul(v, s), f64x2.gt(v, z)));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 3), v = load<f64>(p);
    store<f64>(p, v > 0 ? v : v * slope);
  }
}

/**
 * e^v for v ≤ 0 (f32 lanes): v = k·ln 2 + r with |r| ≤ ln2/2, e^r by its degree-7 Taylor
 * polynomial (truncation < 3e-9 relative), 2^k put into the exponent bits. Lanes below −87.33654
 * (where e^v is below the smallest normal f32) give 0; NaN stays NaN.
 */
@inline function expNeg(v: v128): v128 {
  const k = f32x4.nearest(f32x4.mul(v, f32x4.splat(1.44269504)));
  let r = f32x4.sub(v, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.0 / 5040);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 720));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  // k ∈ [−126, 0] where the result is kept: 2^k is a normal f32.
  const kc = f32x4.max(k, f32x4.splat(-126));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(kc), i32x4.splat(127)), 23);
  const e = f32x4.mul(p, scale);
  return v128.andnot(e, f32x4.lt(v, f32x4.splat(-87.33654)));
}

/**
 * tanh (f32), on t = |x| with x's sign put back: t < 0.625: t + t·u·P(u), u = x², P a degree-4 least-squares fit of
 * (tanh x / x − 1)/u (6e-9 relative); otherwise (1 − e)/(1 + e) with e = e^(−2t). Within
 * 4 ulp (relative 2.4e-7) of the correctly rounded value, exact at ±0, ±∞ and NaN.
 */
@inline function tanh32(x: v128): v128 {
  const t = f32x4.abs(x), u = f32x4.mul(x, x);
  let p = f32x4.splat(-0.005741098567103022);
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(0.020671831682354827));
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(-0.05374982638611017));
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(0.13331562868387334));
  p = f32x4.add(f32x4.mul(p, u), f32x4.splat(-0.33333286252445526));
  const small = f32x4.add(t, f32x4.mul(t, f32x4.mul(u, p)));
  const e = expNeg(f32x4.mul(t, f32x4.splat(-2)));
  const one = f32x4.splat(1);
  const big = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  // Both forms on |x|, then x's sign (NaN lanes take `small`, which is NaN).
  const r = v128.bitselect(small, big, v128.not(f32x4.ge(t, f32x4.splat(0.625))));
  return v128.or(r, v128.and(x, i32x4.splat(0x80000000)));
}

/** sigmoid (f32): 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0, e = e^(−|x|); within 4 ulp, plus 2^−126 absolute below −87. */
@inline function sigmoid32(x: v128): v128 {
  const e = expNeg(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(f32x4.mul(e, s), s, f32x4.lt(x, f32x4.splat(0)));
}

/** In place over n f32 (the tail through a zero-padded vector). */
@inline function mapF32(x: usize, n: i32, kind: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2), v = v128.load(p);
    v128.store(p, kind == 0 ? tanh32(v) : sigmoid32(v));
  }
  if (i < n) {
    const buf = memory.data(16, 16);
    v128.store(buf, f32x4.splat(0));
    for (let j = i; j < n; j++) store<f32>(buf + (<usize>(j - i) << 2), load<f32>(x + (<usize>j << 2)));
    const v = v128.load(buf);
    v128.store(buf, kind == 0 ? tanh32(v) : sigmoid32(v));
    for (let j = i; j < n; j++) store<f32>(x + (<usize>j << 2), load<f32>(buf + (<usize>(j - i) << 2)));
  }
}
export function tanh(x: usize, n: i32): void { mapF32(x, n, 0); }
export function sigmoid(x: usize, n: i32): void { mapF32(x, n, 1); }

/**
 * Backward products g[i] = g[i] · d(i), d computed as the JavaScript VJPs do, in f64 and rounded
 * once to g's type: kind 0 relu (x > 0 ? 1 : 0), 1 leakyRelu (x > 0 ? 1 : slope), 2 tanh (1 − y²),
 * 3 sigmoid (y·(1 − y)); `a` is x for kinds 0–1 and y for 2–3.
 */
@inline function dAct(kind: i32, a: v128, slope: v128): v128 {
  const one = f64x2.splat(1);
  if (kind == 0) return v128.and(one, f64x2.gt(a, f64x2.splat(0)));
  if (kind == 1) return v128.bitselect(one, slope, f64x2.gt(a, f64x2.splat(0)));
  if (kind == 2) return f64x2.sub(one, f64x2.mul(a, a));
  return f64x2.mul(a, f64x2.sub(one, a));
}
@inline function dActS(kind: i32, a: f64, slope: f64): f64 {
  if (kind == 0) return a > 0 ? 1 : 0;
  if (kind == 1) return a > 0 ? 1 : slope;
  if (kind == 2) return 1 - a * a;
  return a * (1 - a);
}
export function actGrad(kind: i32, g: usize, a: usize, n: i32, slope: f64): void {
  const s = f64x2.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const pg = g + (<usize>i << 2), pa = a + (<usize>i << 2);
    const gv = v128.load(pg), av = v128.load(pa);
    const lo = f64x2.mul(f64x2.promote_low_f32x4(gv), dAct(kind, f64x2.promote_low_f32x4(av), s));
    const hi = f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(gv, gv, 2, 3, 0, 1)), dAct(kind, f64x2.promote_low_f32x4(i32x4.shuffle(av, av, 2, 3, 0, 1)), s));
    v128.store(pg, i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; i < n; i++) {
    const pg = g + (<usize>i << 2);
    store<f32>(pg, <f32>(<f64>load<f32>(pg) * dActS(kind, <f64>load<f32>(a + (<usize>i << 2)), slope)));
  }
}
export function actGrad64(kind: i32, g: usize, a: usize, n: i32, slope: f64): void {
  const s = f64x2.splat(slope);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const pg = g + (<usize>i << 3);
    v128.store(pg, f64x2.mul(v128.load(pg), dAct(kind, v128.load(a + (<usize>i << 3)), s)));
  }
  for (; i < n; i++) {
    const pg = g + (<usize>i << 3);
    store<f64>(pg, load<f64>(pg) * dActS(kind, load<f64>(a + (<usize>i << 3)), slope));
  }
}

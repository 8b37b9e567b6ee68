/**
 * convkit WebAssembly kernels (AssemblyScript, 128-bit SIMD), generic over the element type T
 * (f32 with f32x4, f64 with f64x2): every export exists as `name` (f32) and `name64` (f64).
 *
 * Everything here works on raw byte addresses in linear memory; the TypeScript glue
 * (src/kernels/wasm/) owns allocation and the loops over samples, groups and column tiles.
 * The module keeps no state in memory: the only global is the per-instance temp pointer, so
 * several instances (one per thread) can share one memory.
 *
 * Geometry block (i32 at `gp`, rank normalised to 3 by leading size-1 dims):
 *   0 n, 1 cIn, 2 cOut, 3 groups, 4..6 inSize, 7..9 outSize, 10..12 kSize, 13..15 stride,
 *   16..18 dilation, 19..21 padBefore, 22 exact (1: a padding tap adds nothing, not w·0; see depthwise).
 *
 * Packed panels (GotoBLAS layout): A (M×K) as MR-row panels, B (K×N) as NR-column panels (NR<T>
 * elements = 32 bytes: two vectors per row of a micro-tile, 8 f32 or 4 f64),
 * both cut into KC-deep blocks: element (i, k) of A lives at k0·Mp + i0·kc + (k−k0)·MR + (i−i0),
 * with k0 = ⌊k/KC⌋·KC, kc the block depth, i0 = ⌊i/MR⌋·MR and Mp = M rounded up to MR.
 */

/** Rows of a packed A panel and depth of one packed block: exported (as immutable globals) so the glue reads them from here. */
export const MR: i32 = 4;
export const KC: i32 = 256;
const MC: i32 = 128;

/** Columns of a packed B panel: 32 bytes of T. */
@inline function NR<T>(): i32 { return 32 / <i32>sizeof<T>(); }
/** Byte offset of element index i. */
@inline function at<T>(i: i32): usize { return <usize>i * sizeof<T>(); }
/** Lane-wise a + b, a · b and a splat load for T's vector shape (the branch is resolved at compile time). */
@inline function vadd<T>(a: v128, b: v128): v128 { return sizeof<T>() == 4 ? f32x4.add(a, b) : f64x2.add(a, b); }
@inline function vmul<T>(a: v128, b: v128): v128 { return sizeof<T>() == 4 ? f32x4.mul(a, b) : f64x2.mul(a, b); }
/** c + a·b: one fused multiply-add in the relaxed-SIMD build (scripts/build-wasm.mjs), else a multiply then an add. */
@inline function vmadd<T>(c: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return sizeof<T>() == 4 ? f32x4.relaxed_madd(a, b, c) : f64x2.relaxed_madd(a, b, c);
  return vadd<T>(c, vmul<T>(a, b));
}
@inline function vsplatAt<T>(p: usize, off: usize): v128 {
  return sizeof<T>() == 4 ? v128.load32_splat(p + off) : v128.load64_splat(p + off);
}
@inline function vsplat<T>(v: T): v128 { return sizeof<T>() == 4 ? f32x4.splat(<f32>v) : f64x2.splat(<f64>v); }
/** c + a·b for one element, rounded as one lane of vmadd (fused in the relaxed-SIMD build), so a scalar path gives the vector path's bits. */
@inline function smadd<T>(c: T, a: T, b: T): T {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (sizeof<T>() == 4) return <T>f32x4.extract_lane(f32x4.relaxed_madd(f32x4.splat(<f32>a), f32x4.splat(<f32>b), f32x4.splat(<f32>c)), 0);
    return <T>f64x2.extract_lane(f64x2.relaxed_madd(f64x2.splat(<f64>a), f64x2.splat(<f64>b), f64x2.splat(<f64>c)), 0);
  }
  return c + a * b;
}

let tmp: usize = 0;

/** Per-instance scratch for partial micro-tiles (MR·32 bytes). */
export function setTemp(p: usize): void {
  tmp = p;
}

@inline function up(v: i32, m: i32): i32 {
  return (v + m - 1) / m * m;
}

@inline function gi(gp: usize, i: i32): i32 {
  return load<i32>(gp + (<usize>i << 2));
}

/** Packs A (M×K), element (i, k) at a + (i·rs + k·cs) elements, into MR-row panels. */
function packAT<T>(a: usize, rs: i32, cs: i32, M: i32, K: i32, dst: usize): void {
  const Mp = up(M, MR);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    let i0 = 0;
    if (rs == 1) {
      // Rows contiguous (a convT weight read transposed, cs = its row length): four panels at once,
      // so each 4·MR-element run of a column (a cache line of f32) is read once, not once per panel.
      const pstep = at<T>(MR * kc), es = sizeof<T>();
      for (; i0 + 4 * MR <= M; i0 += 4 * MR) {
        let src = a + at<T>(i0 + k0 * cs), d = dst + at<T>(k0 * Mp + i0 * kc);
        for (let k = 0; k < kc; k++) {
          for (let q: usize = 0; q < 4; q++) {
            const from = src + q * MR * es, to = d + q * pstep;
            v128.store(to, v128.load(from));
            if (es == 8) v128.store(to, v128.load(from, 16), 16);
          }
          src += at<T>(cs);
          d += at<T>(MR);
        }
      }
    }
    for (; i0 < M; i0 += MR) {
      let d = dst + at<T>(k0 * Mp + i0 * kc);
      const mr = min(MR, M - i0);
      for (let k = 0; k < kc; k++) {
        const src = a + at<T>(i0 * rs + (k0 + k) * cs);
        for (let ii = 0; ii < MR; ii++) {
          store<T>(d, ii < mr ? load<T>(src + at<T>(ii * rs)) : <T>0);
          d += sizeof<T>();
        }
      }
    }
  }
}
export function packA(a: usize, rs: i32, cs: i32, M: i32, K: i32, dst: usize): void { packAT<f32>(a, rs, cs, M, K, dst); }
export function packA64(a: usize, rs: i32, cs: i32, M: i32, K: i32, dst: usize): void { packAT<f64>(a, rs, cs, M, K, dst); }

/**
 * Packs the weights of every polyphase phase in one pass over w (cOut, cig, kVol) (conv layout).
 * Phase φ's A (per group: M = cig rows, K = cog·T columns, k = co·T + u) gets w[grp·cog + co, ci, j]
 * for each tap j with tab[4j..4j+3] = (A_φ address, T_φ, u, unused); T_φ = 0 marks a tap no phase
 * uses. Four consecutive input channels (one MR panel) are read together, so w is read once, in
 * runs of 4·kVol elements, and each phase receives runs of 4·T elements.
 */
function packPhasesT<T>(w: usize, groups: i32, cig: i32, cog: i32, kVol: i32, tab: usize): void {
  const Mp = up(cig, MR);
  for (let grp = 0; grp < groups; grp++)
    for (let i0 = 0; i0 < cig; i0 += MR) {
      const mr = min(MR, cig - i0);
      for (let co = 0; co < cog; co++) {
        const src = w + at<T>(((grp * cog + co) * cig + i0) * kVol);
        for (let j = 0; j < kVol; j++) {
          const te = tab + (<usize>j << 4);
          const T_ = load<i32>(te, 4);
          if (T_ == 0) continue;
          const K = cog * T_, k = co * T_ + load<i32>(te, 8);
          const k0 = k / KC * KC, kc = min(KC, K - k0);
          const d = <usize>load<i32>(te) + at<T>(grp * Mp * K + k0 * Mp + i0 * kc + (k - k0) * MR);
          for (let ii = 0; ii < MR; ii++)
            store<T>(d + at<T>(ii), ii < mr ? load<T>(src + at<T>(ii * kVol + j)) : <T>0);
        }
      }
    }
}
export function packPhases(w: usize, groups: i32, cig: i32, cog: i32, kVol: i32, tab: usize): void { packPhasesT<f32>(w, groups, cig, cog, kVol, tab); }
export function packPhases64(w: usize, groups: i32, cig: i32, cog: i32, kVol: i32, tab: usize): void { packPhasesT<f64>(w, groups, cig, cog, kVol, tab); }

/**
 * One column tile of a polyphase phase written to every s-th output position: src (planes × m, row
 * stride m) holds phase outputs q = o0 … o0+m−1 (flat over Q0×Q1×Q2) of each plane;
 * y[pl, (b0 + s0·q0, b1 + s1·q1, b2 + s2·q2)] += src[pl, q − o0]. Block at sp (i32): Q0..Q2, I0..I2
 * (the output plane), s0..s2, b0..b2, V1, V2. Phases write disjoint positions, so tiles never collide.
 * The columns may run over a wider grid than the phase's outputs (V1 ≤ Q1, V2 ≤ Q2: a padded-plane
 * GEMM computes the columns q1 ≥ V1 or q2 ≥ V2 too); those are skipped.
 */
function scatterTileT<T>(src: usize, m: i32, planes: i32, y: usize, o0: i32, sp: usize): void {
  const Q1 = gi(sp, 1), Q2 = gi(sp, 2), I1 = gi(sp, 4), I2 = gi(sp, 5);
  const S0 = gi(sp, 6), S1 = gi(sp, 7), S2 = gi(sp, 8), B0 = gi(sp, 9), B1 = gi(sp, 10), B2 = gi(sp, 11);
  const inVol = gi(sp, 3) * I1 * I2, V1 = gi(sp, 12), V2 = gi(sp, 13);
  const q2s = o0 % Q2, q1s = (o0 / Q2) % Q1, q0s = o0 / (Q2 * Q1);
  for (let pl = 0; pl < planes; pl++) {
    const yb = y + at<T>(pl * inVol), row = src + at<T>(pl * m);
    let q0 = q0s, q1 = q1s, q2 = q2s;
    let yp = yb + at<T>(((B0 + S0 * q0) * I1 + B1 + S1 * q1) * I2 + B2 + S2 * q2);
    for (let j = 0; j < m; j++) {
      if (q2 < V2 && q1 < V1) store<T>(yp, load<T>(yp) + load<T>(row + at<T>(j)));
      if (++q2 == Q2) {
        q2 = 0;
        if (++q1 == Q1) { q1 = 0; q0++; }
        yp = yb + at<T>(((B0 + S0 * q0) * I1 + B1 + S1 * q1) * I2 + B2);
      } else yp += at<T>(S2);
    }
  }
}
export function scatterTile(src: usize, m: i32, planes: i32, y: usize, o0: i32, sp: usize): void { scatterTileT<f32>(src, m, planes, y, o0, sp); }
export function scatterTile64(src: usize, m: i32, planes: i32, y: usize, o0: i32, sp: usize): void { scatterTileT<f64>(src, m, planes, y, o0, sp); }

/** y[pl·vol … (pl+1)·vol) = b[pl mod c] for pl < planes: the output initialised with its bias. */
function fillBiasT<T>(y: usize, b: usize, planes: i32, c: i32, vol: i32): void {
  const lanes = 16 / <i32>sizeof<T>();
  let p = y;
  for (let pl = 0; pl < planes; pl++) {
    const v = load<T>(b + at<T>(pl % c)), vv = vsplat<T>(v);
    let q = 0;
    for (; q + lanes <= vol; q += lanes) { v128.store(p, vv); p += 16; }
    for (; q < vol; q++) { store<T>(p, v); p += sizeof<T>(); }
  }
}
export function fillBias(y: usize, b: usize, planes: i32, c: i32, vol: i32): void { fillBiasT<f32>(y, b, planes, c, vol); }
export function fillBias64(y: usize, b: usize, planes: i32, c: i32, vol: i32): void { fillBiasT<f64>(y, b, planes, c, vol); }

/** 1 when the n elements at p are all finite, else 0 (Σ v·0 is 0 for finite v and NaN once any v is ±Inf or NaN). */
function finiteT<T>(p: usize, n: i32): i32 {
  const lanes = 16 / <i32>sizeof<T>(), z = vsplat<T>(<T>0);
  let acc = z, i = 0;
  for (; i + lanes <= n; i += lanes) acc = vadd<T>(acc, vmul<T>(v128.load(p + at<T>(i)), z));
  let s: T = <T>0;
  for (; i < n; i++) s += load<T>(p + at<T>(i)) * <T>0;
  if (sizeof<T>() == 4) s += <T>(f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  else s += <T>(f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1));
  return s == <T>0 ? 1 : 0;
}
export function finite(p: usize, n: i32): i32 { return finiteT<f32>(p, n); }
export function finite64(p: usize, n: i32): i32 { return finiteT<f64>(p, n); }

/**
 * y[0 … n) = act(y + r) in place: the rest of a convolution's epilogue after its bias (r = 0: no
 * residual; act 0: none, 1: relu, 2: leakyRelu with `slope`). Bit for bit the formulas of
 * kernels/ref/epilogue.ts: an f32 sum is the f64 sum rounded once (double rounding of a sum is
 * innocuous), relu keeps NaN and maps −0 to 0, and slope products are taken in f64 and rounded
 * once, as JavaScript stores them.
 */
function epilogueT<T>(y: usize, r: usize, n: i32, act: i32, slope: f64): void {
  const lanes = 16 / <i32>sizeof<T>(), z = vsplat<T>(<T>0), s2 = f64x2.splat(slope);
  let i = 0;
  for (; i + lanes <= n; i += lanes) {
    const p = y + at<T>(i);
    let v = v128.load(p);
    if (r != 0) v = vadd<T>(v, v128.load(r + at<T>(i)));
    if (act == 1) v = v128.bitselect(z, v, sizeof<T>() == 4 ? f32x4.le(v, z) : f64x2.le(v, z));
    else if (act == 2) {
      let q: v128;
      if (sizeof<T>() == 4) {
        const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v), s2));
        const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)), s2));
        q = i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        v = v128.bitselect(v, q, f32x4.gt(v, z));
      } else {
        q = f64x2.mul(v, s2);
        v = v128.bitselect(v, q, f64x2.gt(v, z));
      }
    }
    v128.store(p, v);
  }
  for (; i < n; i++) {
    const p = y + at<T>(i);
    let v = load<T>(p);
    if (r != 0) v = <T>(v + load<T>(r + at<T>(i)));
    if (act == 1) v = v <= <T>0 ? <T>0 : v;
    else if (act == 2) v = v > <T>0 ? v : <T>(<f64>v * slope);
    store<T>(p, v);
  }
}
export function epilogue(y: usize, r: usize, n: i32, act: i32, slope: f64): void { epilogueT<f32>(y, r, n, act, slope); }
export function epilogue64(y: usize, r: usize, n: i32, act: i32, slope: f64): void { epilogueT<f64>(y, r, n, act, slope); }

/** Packs B (K×N), element (k, j) at b + (k·rs + j·cs) elements, into NR-column panels. */
function packBT<T>(b: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  const nrT = NR<T>(), Np = up(N, nrT);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let j0 = 0; j0 < N; j0 += nrT) {
      let d = dst + at<T>(k0 * Np + j0 * kc);
      const nr = min(nrT, N - j0);
      if (cs == 1 && nr == nrT) {
        for (let k = 0; k < kc; k++) {
          const src = b + at<T>((k0 + k) * rs + j0);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          d += 32;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const src = b + at<T>((k0 + k) * rs + j0 * cs);
          for (let jj = 0; jj < nrT; jj++) {
            store<T>(d, jj < nr ? load<T>(src + at<T>(jj * cs)) : <T>0);
            d += sizeof<T>();
          }
        }
      }
    }
  }
}
export function packB(b: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void { packBT<f32>(b, rs, cs, K, N, dst); }
export function packB64(b: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void { packBT<f64>(b, rs, cs, K, N, dst); }

/**
 * C[mr×nr] += (packed A panel) · B over kc steps: MR rows × two vectors (NR<T> columns) of
 * accumulators, 8 v128 registers for either type. B is a packed panel at pb (po = 0: row k at
 * pb + 32k) or, for the direct GEMM (po ≠ 0), rows read straight from an input: row k at
 * pb + load<i32>(po + 4k) (byte offsets; see gemmDirect). Either way each C element sums over k in order.
 */
@inline function micro<T>(kc: i32, pa: usize, pb: usize, po: usize, c: usize, ldc: i32, mr: i32, nr: i32): void {
  const z = vsplat<T>(<T>0);
  let c00 = z, c01 = z;
  let c10 = z, c11 = z;
  let c20 = z, c21 = z;
  let c30 = z, c31 = z;
  const es = sizeof<T>();
  if (po == 0) {
    for (let k = 0; k < kc; k++) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      let a = vsplatAt<T>(pa, 0);
      c00 = vmadd<T>(c00, a, b0);
      c01 = vmadd<T>(c01, a, b1);
      a = vsplatAt<T>(pa, es);
      c10 = vmadd<T>(c10, a, b0);
      c11 = vmadd<T>(c11, a, b1);
      a = vsplatAt<T>(pa, 2 * es);
      c20 = vmadd<T>(c20, a, b0);
      c21 = vmadd<T>(c21, a, b1);
      a = vsplatAt<T>(pa, 3 * es);
      c30 = vmadd<T>(c30, a, b0);
      c31 = vmadd<T>(c31, a, b1);
      pa += MR * es;
      pb += 32;
    }
  } else {
    for (let k = 0; k < kc; k++) {
      const pr = pb + <usize>load<i32>(po);
      const b0 = v128.load(pr);
      const b1 = v128.load(pr, 16);
      let a = vsplatAt<T>(pa, 0);
      c00 = vmadd<T>(c00, a, b0);
      c01 = vmadd<T>(c01, a, b1);
      a = vsplatAt<T>(pa, es);
      c10 = vmadd<T>(c10, a, b0);
      c11 = vmadd<T>(c11, a, b1);
      a = vsplatAt<T>(pa, 2 * es);
      c20 = vmadd<T>(c20, a, b0);
      c21 = vmadd<T>(c21, a, b1);
      a = vsplatAt<T>(pa, 3 * es);
      c30 = vmadd<T>(c30, a, b0);
      c31 = vmadd<T>(c31, a, b1);
      pa += MR * es;
      po += 4;
    }
  }
  if (mr == MR && nr == NR<T>()) {
    const ld = at<T>(ldc);
    let p = c;
    v128.store(p, vadd<T>(v128.load(p), c00)); v128.store(p, vadd<T>(v128.load(p, 16), c01), 16); p += ld;
    v128.store(p, vadd<T>(v128.load(p), c10)); v128.store(p, vadd<T>(v128.load(p, 16), c11), 16); p += ld;
    v128.store(p, vadd<T>(v128.load(p), c20)); v128.store(p, vadd<T>(v128.load(p, 16), c21), 16); p += ld;
    v128.store(p, vadd<T>(v128.load(p), c30)); v128.store(p, vadd<T>(v128.load(p, 16), c31), 16);
  } else {
    v128.store(tmp, c00); v128.store(tmp, c01, 16);
    v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
    v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
    v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
    for (let i = 0; i < mr; i++)
      for (let j = 0; j < nr; j++) {
        const p = c + at<T>(i * ldc + j);
        store<T>(p, load<T>(p) + load<T>(tmp + at<T>(i * NR<T>() + j)));
      }
  }
}

/** micro for a panel with one real row (M ≡ 1 mod MR, e.g. 33 output channels): a quarter of the multiply-adds. */
@inline function microRow<T>(kc: i32, pa: usize, pb: usize, po: usize, c: usize, nr: i32): void {
  const z = vsplat<T>(<T>0);
  let c0 = z, c1 = z;
  if (po == 0) {
    for (let k = 0; k < kc; k++) {
      const a = vsplatAt<T>(pa, 0);
      c0 = vmadd<T>(c0, a, v128.load(pb));
      c1 = vmadd<T>(c1, a, v128.load(pb, 16));
      pa += MR * sizeof<T>();
      pb += 32;
    }
  } else {
    for (let k = 0; k < kc; k++) {
      const a = vsplatAt<T>(pa, 0), pr = pb + <usize>load<i32>(po);
      c0 = vmadd<T>(c0, a, v128.load(pr));
      c1 = vmadd<T>(c1, a, v128.load(pr, 16));
      pa += MR * sizeof<T>();
      po += 4;
    }
  }
  if (nr == NR<T>()) {
    v128.store(c, vadd<T>(v128.load(c), c0));
    v128.store(c, vadd<T>(v128.load(c, 16), c1), 16);
  } else {
    v128.store(tmp, c0); v128.store(tmp, c1, 16);
    for (let j = 0; j < nr; j++) {
      const p = c + at<T>(j);
      store<T>(p, load<T>(p) + load<T>(tmp + at<T>(j)));
    }
  }
}

/**
 * C += A·B from packed panels (packA, packB layouts). Column j of B goes to column j of C (row
 * stride ldc) when per = 0; otherwise B's columns are samples side by side, `per` (a multiple of 8)
 * each, of which the first `cols` are real, starting at column `first` of sample 0: column
 * first + j = s·per + o goes to c + s·cs + o (row stride ldc) and the others are dropped. Either way every C element sums over k in the same order.
 */
function gemmT<T>(m0: i32, M: i32, Mp: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32, per: i32, cols: i32, cs: i32, first: i32): void {
  const nrT = NR<T>(), Np = up(N, nrT);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let i0 = m0; i0 < M; i0 += MC) {
      const i1 = min(M, i0 + MC);
      for (let j0 = 0; j0 < N; j0 += nrT) {
        const pbp = pb + at<T>(k0 * Np + j0 * kc);
        let nr = min(nrT, N - j0), cp = c + at<T>(j0);
        if (per > 0) {
          const q = first + j0, sm = q / per, o = q - sm * per;
          nr = min(nr, cols - o);
          if (nr <= 0) continue;
          cp = c + at<T>(sm * cs + o);
        }
        for (let i = i0; i < i1; i += MR) {
          const mr = min(MR, M - i);
          if (mr == 1) microRow<T>(kc, pa + at<T>(k0 * Mp + i * kc), pbp, 0, cp + at<T>(i * ldc), nr);
          else micro<T>(kc, pa + at<T>(k0 * Mp + i * kc), pbp, 0, cp + at<T>(i * ldc), ldc, mr, nr);
        }
      }
    }
  }
}
export function gemm(M: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32): void { gemmT<f32>(0, M, up(M, MR), N, K, pa, pb, c, ldc, 0, 0, 0, 0); }
export function gemm64(M: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32): void { gemmT<f64>(0, M, up(M, MR), N, K, pa, pb, c, ldc, 0, 0, 0, 0); }
/** gemm for rows m0 … m1−1 only (m0 a multiple of MR; A packed for Mp rows): row i still goes to c + i·ldc. */
export function gemmRows(m0: i32, m1: i32, Mp: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32): void { gemmT<f32>(m0, m1, Mp, N, K, pa, pb, c, ldc, 0, 0, 0, 0); }
export function gemmRows64(m0: i32, m1: i32, Mp: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32): void { gemmT<f64>(m0, m1, Mp, N, K, pa, pb, c, ldc, 0, 0, 0, 0); }
export function gemmSamples(M: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32, per: i32, cols: i32, cs: i32, first: i32): void { gemmT<f32>(0, M, up(M, MR), N, K, pa, pb, c, ldc, per, cols, cs, first); }
export function gemmSamples64(M: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32, per: i32, cols: i32, cs: i32, first: i32): void { gemmT<f64>(0, M, up(M, MR), N, K, pa, pb, c, ldc, per, cols, cs, first); }

/**
 * The direct GEMM of a stride-1 1-D convolution: rows m0 … m1−1 (m0 a multiple of MR) of C (M×N,
 * row stride ldc) += A·B with A packed (packA, Mp = M rounded up to MR) and B never formed: element (k, j) of B is the element at xb + offs[k] + j·es, where
 * offs (K i32 byte offsets) holds c·rowStride + kq·dilation for row k = c·kVol + kq of a padded
 * input (every tap in bounds). Rows of NR columns are read as they stand, so a panel past column N
 * reads up to NR − 1 elements beyond its row (the glue leaves that slack); those lanes are never stored.
 * Same k order and blocking as gemm, so the sums equal im2col + gemm bitwise.
 */
function gemmDirectT<T>(m0: i32, m1: i32, Mp: i32, N: i32, K: i32, pa: usize, xb: usize, offs: usize, c: usize, ldc: i32): void {
  const nrT = NR<T>();
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0), po = offs + (<usize>k0 << 2);
    for (let i0 = m0; i0 < m1; i0 += MC) {
      const i1 = min(m1, i0 + MC);
      for (let j0 = 0; j0 < N; j0 += nrT) {
        const nr = min(nrT, N - j0), xj = xb + at<T>(j0), cp = c + at<T>(j0);
        for (let i = i0; i < i1; i += MR) {
          const mr = min(MR, m1 - i);
          if (mr == 1) microRow<T>(kc, pa + at<T>(k0 * Mp + i * kc), xj, po, cp + at<T>(i * ldc), nr);
          else micro<T>(kc, pa + at<T>(k0 * Mp + i * kc), xj, po, cp + at<T>(i * ldc), ldc, mr, nr);
        }
      }
    }
  }
}
export function gemmDirect(m0: i32, m1: i32, Mp: i32, N: i32, K: i32, pa: usize, xb: usize, offs: usize, c: usize, ldc: i32): void { gemmDirectT<f32>(m0, m1, Mp, N, K, pa, xb, offs, c, ldc); }
export function gemmDirect64(m0: i32, m1: i32, Mp: i32, N: i32, K: i32, pa: usize, xb: usize, offs: usize, c: usize, ldc: i32): void { gemmDirectT<f64>(m0, m1, Mp, N, K, pa, xb, offs, c, ldc); }

/**
 * Tap table for output positions o0 … o0+nc−1: table[kq·nc + j] = flat input offset of tap kq
 * for output o0+j, or −1 where it reads padding. i = o·s + j·δ − p0 per dim.
 */
export function tapTile(gp: usize, o0: i32, nc: i32, table: usize): void {
  tapRun(gp, o0, nc, table, nc, 0);
}

/**
 * tapTile over samples side by side: column q = s·per + o (q0 … q0+nc−1) is output o of sample s,
 * whose input starts `xs` elements after sample 0's; table[kq·nc + j] = s·xs + (tapTile's offset),
 * or −1 for padding and for the filler columns o ≥ outVol.
 */
export function tapTileSamples(gp: usize, q0: i32, nc: i32, table: usize, per: i32, xs: i32): void {
  const outVol = gi(gp, 7) * gi(gp, 8) * gi(gp, 9), kVol = gi(gp, 10) * gi(gp, 11) * gi(gp, 12);
  let j = 0;
  while (j < nc) {
    // One run of a sample's real columns: tapTile writes it with row stride m, then rows are moved to stride nc.
    const q = q0 + j, sm = q / per, o = q - sm * per;
    const run = min(nc - j, per - o);
    const real = max(0, min(run, outVol - o));
    if (real > 0) tapRun(gp, o, real, table + (<usize>j << 2), nc, sm * xs);
    for (let kq = 0; kq < kVol; kq++) {
      const t = table + (<usize>(kq * nc + j + real) << 2);
      for (let r = real; r < run; r++) store<i32>(t + (<usize>(r - real) << 2), -1);
    }
    j += run;
  }
}

/** tapTile for nc outputs from o0 written with row stride ld (elements) and `base` added to every real offset. */
function tapRun(gp: usize, o0: i32, nc: i32, table: usize, ld: i32, base: i32): void {
  const ID = gi(gp, 4), IH = gi(gp, 5), IW = gi(gp, 6);
  const OH = gi(gp, 8), OW = gi(gp, 9);
  const KD = gi(gp, 10), KH = gi(gp, 11), KW = gi(gp, 12);
  const SD = gi(gp, 13), SH = gi(gp, 14), SW = gi(gp, 15);
  const DD = gi(gp, 16), DH = gi(gp, 17), DW = gi(gp, 18);
  const PD = gi(gp, 19), PH = gi(gp, 20), PW = gi(gp, 21);
  const ow0 = o0 % OW, oh0 = (o0 / OW) % OH, od0 = o0 / (OW * OH);
  let row = table;
  for (let kd = 0; kd < KD; kd++)
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++) {
        let ow = ow0, oh = oh0, od = od0, t = row;
        for (let j = 0; j < nc; j++) {
          const id = od * SD + kd * DD - PD, ih = oh * SH + kh * DH - PH, iw = ow * SW + kw * DW - PW;
          store<i32>(t, <u32>id < <u32>ID && <u32>ih < <u32>IH && <u32>iw < <u32>IW ? base + (id * IH + ih) * IW + iw : -1);
          t += 4;
          if (++ow == OW) { ow = 0; if (++oh == OH) { oh = 0; od++; } }
        }
        row += <usize>ld << 2;
      }
}

/**
 * im2col of channels x[0 … cn) (plane size inVol) straight into packed B (K = cn·kVol rows, N = nc).
 * Panel by panel, then tap by tap: the pattern of a tap's NR offsets is the same for every channel,
 * so it is classified once and the channels' rows follow (and B is written close to sequentially).
 */
function im2colBT_<T>(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void {
  const nrT = NR<T>(), K = cn * kVol, Np = up(nc, nrT);
  for (let j0 = 0; j0 < Np; j0 += nrT) {
    const full = j0 + nrT <= nc;
    for (let kq = 0; kq < kVol; kq++) {
      const tp = table + (<usize>(kq * nc + j0) << 2);
      // NR valid offsets o0 + q·e (e ≥ 1: one row of a strided conv) need no lookups and no branches.
      let o0 = 0, e = 0;
      if (full) {
        o0 = load<i32>(tp); e = load<i32>(tp, 4) - o0;
        const base = i32x4.splat(o0), ev = i32x4.splat(e);
        if (o0 < 0 || e <= 0
          || !i32x4.all_true(i32x4.eq(v128.load(tp), i32x4.add(base, i32x4.mul(ev, i32x4(0, 1, 2, 3)))))
          || (nrT == 8 && !i32x4.all_true(i32x4.eq(v128.load(tp, 16), i32x4.add(base, i32x4.mul(ev, i32x4(4, 5, 6, 7))))))) e = 0;
      }
      for (let c = 0; c < cn; c++) {
        const r = c * kVol + kq, k0 = r / KC * KC, kc = min(KC, K - k0);
        const d = dst + at<T>(k0 * Np + j0 * kc + (r - k0) * nrT), xc = x + at<T>(c * inVol);
        if (e == 1) {
          // Stride 1: one 32-byte copy.
          const src = xc + at<T>(o0);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else if (e == 2) {
          // Stride 2: four loads and two shuffles of the even lanes; reads up to one element past
          // the last one taken (inside linear memory, unused).
          const src = xc + at<T>(o0);
          const a = v128.load(src), b = v128.load(src, 16), g = v128.load(src, 32), h = v128.load(src, 48);
          if (sizeof<T>() == 4) {
            v128.store(d, i8x16.shuffle(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
            v128.store(d, i8x16.shuffle(g, h, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27), 16);
          } else {
            v128.store(d, i8x16.shuffle(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
            v128.store(d, i8x16.shuffle(g, h, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23), 16);
          }
        } else if (e > 2) {
          const src = xc + at<T>(o0);
          for (let jj = 0; jj < nrT; jj++) store<T>(d + at<T>(jj), load<T>(src + at<T>(jj * e)));
        } else {
          for (let jj = 0; jj < nrT; jj++) {
            const j = j0 + jj;
            let v: T = <T>0;
            if (j < nc) {
              const off = load<i32>(tp + (<usize>jj << 2));
              if (off >= 0) v = load<T>(xc + at<T>(off));
            }
            store<T>(d + at<T>(jj), v);
          }
        }
      }
    }
  }
}
export function im2colB(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void { im2colBT_<f32>(x, inVol, cn, kVol, table, nc, dst); }
export function im2colB64(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void { im2colBT_<f64>(x, inVol, cn, kVol, table, nc, dst); }

/** im2col transposed into packed B (K = nc output positions, N = cn·kVol rows), for the weight gradient. */
function im2colTransT<T>(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void {
  const nrT = NR<T>(), N = cn * kVol, Np = up(N, nrT);
  for (let r = 0; r < Np; r++) {
    const j0 = r & ~(nrT - 1), jj = r & (nrT - 1);
    const c = r / kVol, kq = r - c * kVol;
    const xc = x + at<T>(c * inVol), trow = table + (<usize>(kq * nc) << 2);
    for (let k0 = 0; k0 < nc; k0 += KC) {
      const kc = min(KC, nc - k0);
      let d = dst + at<T>(k0 * Np + j0 * kc + jj);
      for (let k = 0; k < kc; k++) {
        let v: T = <T>0;
        if (r < N) {
          const off = load<i32>(trow + (<usize>(k0 + k) << 2));
          if (off >= 0) v = load<T>(xc + at<T>(off));
        }
        store<T>(d, v);
        d += 32;
      }
    }
  }
}
export function im2colBT(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void { im2colTransT<f32>(x, inVol, cn, kVol, table, nc, dst); }
export function im2colBT64(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void { im2colTransT<f64>(x, inVol, cn, kVol, table, nc, dst); }

/**
 * col2im: y[c, table[kq, j]] += col[(c·kVol + kq)·nc + j] for channels c < cn, taps in descending
 * order. The taps that reach one output position come from columns o with o·s + kq·δ fixed per dim,
 * so a larger (flat) kq is a smaller (flat) column: each position receives its columns in ascending
 * order within a tile, as it does across the tiles (run in ascending order). Its sum is then
 * y + Σ over its columns in ascending order whatever the tiling and the call's length (a window of
 * x gives the same bits as the whole: streamed convT relies on it).
 */
function col2imT<T>(col: usize, nc: i32, cn: i32, kVol: i32, table: usize, y: usize, inVol: i32): void {
  for (let c = 0; c < cn; c++) {
    const yc = y + at<T>(c * inVol);
    for (let kq = kVol - 1; kq >= 0; kq--) {
      const row = col + at<T>((c * kVol + kq) * nc), trow = table + (<usize>(kq * nc) << 2);
      for (let j = 0; j < nc; j++) {
        const off = load<i32>(trow + (<usize>j << 2));
        if (off >= 0) {
          const p = yc + at<T>(off);
          store<T>(p, load<T>(p) + load<T>(row + at<T>(j)));
        }
      }
    }
  }
}
export function col2im(col: usize, nc: i32, cn: i32, kVol: i32, table: usize, y: usize, inVol: i32): void { col2imT<f32>(col, nc, cn, kVol, table, y, inVol); }
export function col2im64(col: usize, nc: i32, cn: i32, kVol: i32, table: usize, y: usize, inVol: i32): void { col2imT<f64>(col, nc, cn, kVol, table, y, inVol); }

/**
 * One output row of a depthwise conv: y[ow] += Σ_kw w[kw]·x[ow·s + kw·δ − p], taps in ascending
 * order on every path (so the result does not depend on which path an element takes). Positions
 * whose taps all fall inside the row run six vectors at a time with 6 accumulators kept in registers.
 */
@inline function depthwiseRow<T>(xr: usize, wr: usize, yr: usize, IW: i32, OW: i32, KW: i32, SW: i32, DW: i32, PW: i32): void {
  const lanes = 16 / <i32>sizeof<T>();
  let lo = (PW + SW - 1) / SW;
  if (lo > OW) lo = OW;
  const last = IW - 1 - (KW - 1) * DW + PW; // largest ow·s with every tap inside
  let hi = last < 0 ? 0 : last / SW + 1;
  if (hi > OW) hi = OW;
  if (hi < lo) hi = lo;
  let ow = lo;
  if (SW == 1) {
    // 6 accumulators: an add's latency (3 cycles) over 4 chains would leave the adders idle; 8 spill.
    for (; ow + 6 * lanes <= hi; ow += 6 * lanes) {
      const yp = yr + at<T>(ow);
      let a0 = v128.load(yp), a1 = v128.load(yp, 16), a2 = v128.load(yp, 32), a3 = v128.load(yp, 48);
      let a4 = v128.load(yp, 64), a5 = v128.load(yp, 80);
      let xp = xr + at<T>(ow - PW);
      const dstep = at<T>(DW);
      for (let kw = 0; kw < KW; kw++) {
        const wv = vsplatAt<T>(wr, at<T>(kw));
        a0 = vmadd<T>(a0, wv, v128.load(xp));
        a1 = vmadd<T>(a1, wv, v128.load(xp, 16));
        a2 = vmadd<T>(a2, wv, v128.load(xp, 32));
        a3 = vmadd<T>(a3, wv, v128.load(xp, 48));
        a4 = vmadd<T>(a4, wv, v128.load(xp, 64));
        a5 = vmadd<T>(a5, wv, v128.load(xp, 80));
        xp += dstep;
      }
      v128.store(yp, a0); v128.store(yp, a1, 16); v128.store(yp, a2, 32); v128.store(yp, a3, 48);
      v128.store(yp, a4, 64); v128.store(yp, a5, 80);
    }
    for (; ow + 4 * lanes <= hi; ow += 4 * lanes) {
      const yp = yr + at<T>(ow);
      let a0 = v128.load(yp), a1 = v128.load(yp, 16), a2 = v128.load(yp, 32), a3 = v128.load(yp, 48);
      let xp = xr + at<T>(ow - PW);
      const dstep = at<T>(DW);
      for (let kw = 0; kw < KW; kw++) {
        const wv = vsplatAt<T>(wr, at<T>(kw));
        a0 = vmadd<T>(a0, wv, v128.load(xp));
        a1 = vmadd<T>(a1, wv, v128.load(xp, 16));
        a2 = vmadd<T>(a2, wv, v128.load(xp, 32));
        a3 = vmadd<T>(a3, wv, v128.load(xp, 48));
        xp += dstep;
      }
      v128.store(yp, a0); v128.store(yp, a1, 16); v128.store(yp, a2, 32); v128.store(yp, a3, 48);
    }
    for (; ow + lanes <= hi; ow += lanes) {
      const yp = yr + at<T>(ow);
      let a0 = v128.load(yp);
      for (let kw = 0; kw < KW; kw++)
        a0 = vmadd<T>(a0, vsplatAt<T>(wr, at<T>(kw)), v128.load(xr + at<T>(ow + kw * DW - PW)));
      v128.store(yp, a0);
    }
  }
  // Everything else (edges, the interior remainder, strided rows): scalar with bounds checks. Which
  // positions of a stride-1 row run here depends on the row's length (a window of it puts others at
  // its edges), so they round as a vector lane does (smadd: fused in the relaxed build) and a position
  // gets the same bits on either path; a strided row runs here throughout, as a plain multiply-add.
  for (let o = 0; o < OW; o++) {
    if (o == lo) { o = ow; if (o >= OW) break; }
    const yp = yr + at<T>(o);
    let acc = load<T>(yp);
    for (let kw = 0; kw < KW; kw++) {
      const iw = o * SW + kw * DW - PW;
      if (<u32>iw < <u32>IW) {
        const wv = load<T>(wr + at<T>(kw)), xv = load<T>(xr + at<T>(iw));
        acc = SW == 1 ? smadd<T>(acc, wv, xv) : <T>(acc + wv * xv);
      }
    }
    store<T>(yp, acc);
  }
}

/**
 * Direct depthwise-style convolution for one output channel (cIn/groups = 1): y (outVol) += Σ_taps w·x.
 * x is that channel's input plane, w its kVol taps. Where a stride-1 row's edges (the positions with
 * taps in the padding, run scalar with bounds checks) would cost more than copying the row, the row
 * is first copied into `buf` between zeros (OW + (KW−1)·δ elements) and then runs on vectors
 * throughout; a padding tap then adds w·0, which is nothing only for a finite w: with the exact
 * flag (geometry word 22, set by the glue when w holds ±Inf or NaN) rows never take the copy, so a
 * padding tap adds nothing, as in the definition.
 */
function depthwiseT<T>(gp: usize, x: usize, w: usize, y: usize, buf: usize): void {
  const ID = gi(gp, 4), IH = gi(gp, 5), IW = gi(gp, 6);
  const OD = gi(gp, 7), OH = gi(gp, 8), OW = gi(gp, 9);
  const KD = gi(gp, 10), KH = gi(gp, 11), KW = gi(gp, 12);
  const SD = gi(gp, 13), SH = gi(gp, 14), SW = gi(gp, 15);
  const DD = gi(gp, 16), DH = gi(gp, 17), DW = gi(gp, 18);
  const PD = gi(gp, 19), PH = gi(gp, 20), PW = gi(gp, 21);
  const padded = gi(gp, 22) == 0 && usePaddedRow(IW, OW, KW, SW, DW, PW);
  const Lp = OW + (KW - 1) * DW;
  for (let od = 0; od < OD; od++)
    for (let oh = 0; oh < OH; oh++) {
      const yr = y + at<T>((od * OH + oh) * OW);
      for (let kd = 0; kd < KD; kd++) {
        const id = od * SD + kd * DD - PD;
        if (<u32>id >= <u32>ID) continue;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH + kh * DH - PH;
          if (<u32>ih >= <u32>IH) continue;
          const xr = x + at<T>((id * IH + ih) * IW), wr = w + at<T>((kd * KH + kh) * KW);
          if (padded) {
            // buf[j] = x[j − PW] inside the row, 0 outside, for j < Lp.
            const head = min(PW, Lp), n = max(0, min(IW, Lp - PW));
            memory.fill(buf, 0, at<T>(head));
            memory.copy(buf + at<T>(head), xr + at<T>(head - PW), at<T>(n));
            memory.fill(buf + at<T>(head + n), 0, at<T>(Lp - head - n));
            depthwiseRow<T>(buf, wr, yr, Lp, OW, KW, 1, DW, 0);
          } else depthwiseRow<T>(xr, wr, yr, IW, OW, KW, SW, DW, PW);
        }
      }
    }
}
export function depthwise(gp: usize, x: usize, w: usize, y: usize, buf: usize): void { depthwiseT<f32>(gp, x, w, y, buf); }
export function depthwise64(gp: usize, x: usize, w: usize, y: usize, buf: usize): void { depthwiseT<f64>(gp, x, w, y, buf); }

/**
 * A stride-1 row copies into a zero-padded buffer when its edge positions (some tap in the padding:
 * scalar, bounds-checked, about a vector op per tap) outnumber the vector stores of the copy by 4×.
 */
@inline function usePaddedRow(IW: i32, OW: i32, KW: i32, SW: i32, DW: i32, PW: i32): bool {
  if (SW != 1) return false;
  const lo = min(PW, OW), last = IW - 1 - (KW - 1) * DW + PW;
  const hi = max(lo, min(OW, last < 0 ? 0 : last + 1));
  return (OW - (hi - lo)) * KW > (OW + (KW - 1) * DW) >> 2;
}

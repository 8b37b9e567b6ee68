/**
 * convkit WebAssembly kernels (AssemblyScript, 128-bit SIMD, f32).
 *
 * Everything here works on raw byte addresses in linear memory; the TypeScript glue
 * (src/kernels/wasm/) owns allocation and the loops over samples, groups and column tiles.
 * The module keeps no state in memory: the only global is the per-instance temp pointer, so
 * several instances (one per thread) can share one memory.
 *
 * Geometry block (i32 at `gp`, rank normalised to 3 by leading size-1 dims):
 *   0 n, 1 cIn, 2 cOut, 3 groups, 4..6 inSize, 7..9 outSize, 10..12 kSize, 13..15 stride,
 *   16..18 dilation, 19..21 padBefore.
 *
 * Packed panels (GotoBLAS layout): A (M×K) as MR-row panels, B (K×N) as NR-column panels,
 * both cut into KC-deep blocks: element (i, k) of A lives at k0·Mp + i0·kc + (k−k0)·MR + (i−i0),
 * with k0 = ⌊k/KC⌋·KC, kc the block depth, i0 = ⌊i/MR⌋·MR and Mp = M rounded up to MR.
 */

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;

let tmp: usize = 0;

/** Per-instance scratch for partial micro-tiles (MR·NR·4 bytes). */
export function setTemp(p: usize): void {
  tmp = p;
}

@inline function up(v: i32, m: i32): i32 {
  return (v + m - 1) / m * m;
}

@inline function gi(gp: usize, i: i32): i32 {
  return load<i32>(gp + (<usize>i << 2));
}

/** Packs A (M×K), element (i, k) at a + 4·(i·rs + k·cs), into MR-row panels. */
export function packA(a: usize, rs: i32, cs: i32, M: i32, K: i32, dst: usize): void {
  const Mp = up(M, MR);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let i0 = 0; i0 < M; i0 += MR) {
      let d = dst + (<usize>(k0 * Mp + i0 * kc) << 2);
      const mr = min(MR, M - i0);
      for (let k = 0; k < kc; k++) {
        const src = a + (<usize>(i0 * rs + (k0 + k) * cs) << 2);
        for (let ii = 0; ii < MR; ii++) {
          store<f32>(d, ii < mr ? load<f32>(src + (<usize>(ii * rs) << 2)) : 0);
          d += 4;
        }
      }
    }
  }
}

/**
 * Packs the weights of every polyphase phase in one pass over w (cOut, cig, kVol) (conv layout).
 * Phase φ's A (per group: M = cig rows, K = cog·T columns, k = co·T + u) gets w[grp·cog + co, ci, j]
 * for each tap j with tab[4j..4j+3] = (A_φ address, T_φ, u, unused); T_φ = 0 marks a tap no phase
 * uses. Four consecutive input channels (one MR panel) are read together, so w is read once, in
 * runs of 4·kVol floats, and each phase receives runs of 4·T floats.
 */
export function packPhases(w: usize, groups: i32, cig: i32, cog: i32, kVol: i32, tab: usize): void {
  const Mp = up(cig, MR);
  for (let grp = 0; grp < groups; grp++)
    for (let i0 = 0; i0 < cig; i0 += MR) {
      const mr = min(MR, cig - i0);
      for (let co = 0; co < cog; co++) {
        const src = w + (<usize>(((grp * cog + co) * cig + i0) * kVol) << 2);
        for (let j = 0; j < kVol; j++) {
          const te = tab + (<usize>j << 4);
          const T = load<i32>(te, 4);
          if (T == 0) continue;
          const K = cog * T, k = co * T + load<i32>(te, 8);
          const k0 = k / KC * KC, kc = min(KC, K - k0);
          const d = load<i32>(te) + (<usize>(grp * Mp * K + k0 * Mp + i0 * kc + (k - k0) * MR) << 2);
          for (let ii = 0; ii < MR; ii++)
            store<f32>(d + (<usize>ii << 2), ii < mr ? load<f32>(src + (<usize>(ii * kVol + j) << 2)) : 0);
        }
      }
    }
}

/**
 * y[pl, (b0 + s0·q0, b1 + s1·q1, b2 + s2·q2)] += src[pl, q] for planes pl < planes: one polyphase
 * phase's output written to every s-th position. Block at sp (i32): Q0..Q2, I0..I2, s0..s2, b0..b2.
 */
export function scatterPhase(src: usize, y: usize, planes: i32, sp: usize): void {
  const Q0 = gi(sp, 0), Q1 = gi(sp, 1), Q2 = gi(sp, 2), I0 = gi(sp, 3), I1 = gi(sp, 4), I2 = gi(sp, 5);
  const S0 = gi(sp, 6), S1 = gi(sp, 7), S2 = gi(sp, 8), B0 = gi(sp, 9), B1 = gi(sp, 10), B2 = gi(sp, 11);
  const inVol = I0 * I1 * I2;
  let p = src;
  for (let pl = 0; pl < planes; pl++)
    for (let q0 = 0; q0 < Q0; q0++)
      for (let q1 = 0; q1 < Q1; q1++) {
        let yp = y + (<usize>(pl * inVol + ((B0 + S0 * q0) * I1 + B1 + S1 * q1) * I2 + B2) << 2);
        const step = <usize>S2 << 2;
        for (let q2 = 0; q2 < Q2; q2++) {
          store<f32>(yp, load<f32>(yp) + load<f32>(p));
          yp += step;
          p += 4;
        }
      }
}

/** y[pl·vol … (pl+1)·vol) = b[pl mod c] for pl < planes: the output initialised with its bias. */
export function fillBias(y: usize, b: usize, planes: i32, c: i32, vol: i32): void {
  let p = y;
  for (let pl = 0; pl < planes; pl++) {
    const v = load<f32>(b + (<usize>(pl % c) << 2)), v4 = f32x4.splat(v);
    let q = 0;
    for (; q + 4 <= vol; q += 4) { v128.store(p, v4); p += 16; }
    for (; q < vol; q++) { store<f32>(p, v); p += 4; }
  }
}

/** Packs B (K×N), element (k, j) at b + 4·(k·rs + j·cs), into NR-column panels. */
export function packB(b: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  const Np = up(N, NR);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let j0 = 0; j0 < N; j0 += NR) {
      let d = dst + (<usize>(k0 * Np + j0 * kc) << 2);
      const nr = min(NR, N - j0);
      if (cs == 1 && nr == NR) {
        for (let k = 0; k < kc; k++) {
          const src = b + (<usize>((k0 + k) * rs + j0) << 2);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          d += 32;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const src = b + (<usize>((k0 + k) * rs + j0 * cs) << 2);
          for (let jj = 0; jj < NR; jj++) {
            store<f32>(d, jj < nr ? load<f32>(src + (<usize>(jj * cs) << 2)) : 0);
            d += 4;
          }
        }
      }
    }
  }
}

/** C[mr×nr] += (packed A panel) · (packed B panel) over kc steps; 4×8 accumulators in 8 v128 registers. */
@inline function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    pa += 16;
    pb += 32;
  }
  if (mr == MR && nr == NR) {
    const ld = <usize>ldc << 2;
    let p = c;
    v128.store(p, f32x4.add(v128.load(p), c00)); v128.store(p, f32x4.add(v128.load(p, 16), c01), 16); p += ld;
    v128.store(p, f32x4.add(v128.load(p), c10)); v128.store(p, f32x4.add(v128.load(p, 16), c11), 16); p += ld;
    v128.store(p, f32x4.add(v128.load(p), c20)); v128.store(p, f32x4.add(v128.load(p, 16), c21), 16); p += ld;
    v128.store(p, f32x4.add(v128.load(p), c30)); v128.store(p, f32x4.add(v128.load(p, 16), c31), 16);
  } else {
    v128.store(tmp, c00); v128.store(tmp, c01, 16);
    v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
    v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
    v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
    for (let i = 0; i < mr; i++)
      for (let j = 0; j < nr; j++) {
        const p = c + (<usize>(i * ldc + j) << 2);
        store<f32>(p, load<f32>(p) + load<f32>(tmp + (<usize>(i * NR + j) << 2)));
      }
  }
}

/** C (M×N, row stride ldc) += A·B from packed panels (packA, packB layouts). */
export function gemm(M: i32, N: i32, K: i32, pa: usize, pb: usize, c: usize, ldc: i32): void {
  const Mp = up(M, MR), Np = up(N, NR);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let i0 = 0; i0 < M; i0 += MC) {
      const i1 = min(M, i0 + MC);
      for (let j0 = 0; j0 < N; j0 += NR) {
        const pbp = pb + (<usize>(k0 * Np + j0 * kc) << 2);
        const nr = min(NR, N - j0);
        for (let i = i0; i < i1; i += MR)
          micro(kc, pa + (<usize>(k0 * Mp + i * kc) << 2), pbp, c + (<usize>(i * ldc + j0) << 2), ldc, min(MR, M - i), nr);
      }
    }
  }
}

/**
 * Tap table for output positions o0 … o0+nc−1: table[kq·nc + j] = flat input offset of tap kq
 * for output o0+j, or −1 where it reads padding. i = o·s + j·δ − p0 per dim.
 */
export function tapTile(gp: usize, o0: i32, nc: i32, table: usize): void {
  const ID = gi(gp, 4), IH = gi(gp, 5), IW = gi(gp, 6);
  const OH = gi(gp, 8), OW = gi(gp, 9);
  const KD = gi(gp, 10), KH = gi(gp, 11), KW = gi(gp, 12);
  const SD = gi(gp, 13), SH = gi(gp, 14), SW = gi(gp, 15);
  const DD = gi(gp, 16), DH = gi(gp, 17), DW = gi(gp, 18);
  const PD = gi(gp, 19), PH = gi(gp, 20), PW = gi(gp, 21);
  const ow0 = o0 % OW, oh0 = (o0 / OW) % OH, od0 = o0 / (OW * OH);
  let t = table;
  for (let kd = 0; kd < KD; kd++)
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++) {
        let ow = ow0, oh = oh0, od = od0;
        for (let j = 0; j < nc; j++) {
          const id = od * SD + kd * DD - PD, ih = oh * SH + kh * DH - PH, iw = ow * SW + kw * DW - PW;
          store<i32>(t, <u32>id < <u32>ID && <u32>ih < <u32>IH && <u32>iw < <u32>IW ? (id * IH + ih) * IW + iw : -1);
          t += 4;
          if (++ow == OW) { ow = 0; if (++oh == OH) { oh = 0; od++; } }
        }
      }
}

/** im2col of channels x[0 … cn) (plane size inVol) straight into packed B (K = cn·kVol rows, N = nc). */
export function im2colB(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void {
  const K = cn * kVol, Np = up(nc, NR);
  for (let r = 0; r < K; r++) {
    const c = r / kVol, kq = r - c * kVol;
    const k0 = r / KC * KC, kc = min(KC, K - k0);
    const xc = x + (<usize>(c * inVol) << 2), trow = table + (<usize>(kq * nc) << 2);
    let d = dst + (<usize>(k0 * Np + (r - k0) * NR) << 2);
    const step = <usize>(kc * NR) << 2;
    for (let j0 = 0; j0 < Np; j0 += NR) {
      if (j0 + NR <= nc) {
        // Eight valid, consecutive offsets (the common case at stride 1): one vector copy.
        const tp = trow + (<usize>j0 << 2), o0 = load<i32>(tp), base = i32x4.splat(o0);
        if (o0 >= 0
          && i32x4.all_true(i32x4.eq(v128.load(tp), i32x4.add(base, i32x4(0, 1, 2, 3))))
          && i32x4.all_true(i32x4.eq(v128.load(tp, 16), i32x4.add(base, i32x4(4, 5, 6, 7))))) {
          const src = xc + (<usize>o0 << 2);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          d += step;
          continue;
        }
      }
      for (let jj = 0; jj < NR; jj++) {
        const j = j0 + jj;
        let v: f32 = 0;
        if (j < nc) {
          const off = load<i32>(trow + (<usize>j << 2));
          if (off >= 0) v = load<f32>(xc + (<usize>off << 2));
        }
        store<f32>(d + (<usize>jj << 2), v);
      }
      d += step;
    }
  }
}

/** im2col transposed into packed B (K = nc output positions, N = cn·kVol rows), for the weight gradient. */
export function im2colBT(x: usize, inVol: i32, cn: i32, kVol: i32, table: usize, nc: i32, dst: usize): void {
  const N = cn * kVol, Np = up(N, NR);
  for (let r = 0; r < Np; r++) {
    const j0 = r & ~(NR - 1), jj = r & (NR - 1);
    const c = r / kVol, kq = r - c * kVol;
    const xc = x + (<usize>(c * inVol) << 2), trow = table + (<usize>(kq * nc) << 2);
    for (let k0 = 0; k0 < nc; k0 += KC) {
      const kc = min(KC, nc - k0);
      let d = dst + (<usize>(k0 * Np + j0 * kc + jj) << 2);
      for (let k = 0; k < kc; k++) {
        let v: f32 = 0;
        if (r < N) {
          const off = load<i32>(trow + (<usize>(k0 + k) << 2));
          if (off >= 0) v = load<f32>(xc + (<usize>off << 2));
        }
        store<f32>(d, v);
        d += NR << 2;
      }
    }
  }
}

/** col2im: y[c, table[kq, j]] += col[(c·kVol + kq)·nc + j] for channels c < cn. */
export function col2im(col: usize, nc: i32, cn: i32, kVol: i32, table: usize, y: usize, inVol: i32): void {
  for (let c = 0; c < cn; c++) {
    const yc = y + (<usize>(c * inVol) << 2);
    for (let kq = 0; kq < kVol; kq++) {
      const row = col + (<usize>((c * kVol + kq) * nc) << 2), trow = table + (<usize>(kq * nc) << 2);
      for (let j = 0; j < nc; j++) {
        const off = load<i32>(trow + (<usize>j << 2));
        if (off >= 0) {
          const p = yc + (<usize>off << 2);
          store<f32>(p, load<f32>(p) + load<f32>(row + (<usize>j << 2)));
        }
      }
    }
  }
}

/**
 * One output row of a depthwise conv: y[ow] += Σ_kw w[kw]·x[ow·s + kw·δ − p], taps in ascending
 * order on every path (so the result does not depend on which path an element takes). Positions
 * whose taps all fall inside the row run 16 at a time with 4 accumulators kept in registers.
 */
@inline function depthwiseRow(xr: usize, wr: usize, yr: usize, IW: i32, OW: i32, KW: i32, SW: i32, DW: i32, PW: i32): void {
  let lo = (PW + SW - 1) / SW;
  if (lo > OW) lo = OW;
  const last = IW - 1 - (KW - 1) * DW + PW; // largest ow·s with every tap inside
  let hi = last < 0 ? 0 : last / SW + 1;
  if (hi > OW) hi = OW;
  if (hi < lo) hi = lo;
  let ow = lo;
  if (SW == 1) {
    for (; ow + 16 <= hi; ow += 16) {
      const yp = yr + (<usize>ow << 2);
      let a0 = v128.load(yp), a1 = v128.load(yp, 16), a2 = v128.load(yp, 32), a3 = v128.load(yp, 48);
      let xp = xr + (<usize>(ow - PW) << 2);
      const dstep = <usize>DW << 2;
      for (let kw = 0; kw < KW; kw++) {
        const wv = v128.load32_splat(wr + (<usize>kw << 2));
        a0 = f32x4.add(a0, f32x4.mul(wv, v128.load(xp)));
        a1 = f32x4.add(a1, f32x4.mul(wv, v128.load(xp, 16)));
        a2 = f32x4.add(a2, f32x4.mul(wv, v128.load(xp, 32)));
        a3 = f32x4.add(a3, f32x4.mul(wv, v128.load(xp, 48)));
        xp += dstep;
      }
      v128.store(yp, a0); v128.store(yp, a1, 16); v128.store(yp, a2, 32); v128.store(yp, a3, 48);
    }
    for (; ow + 4 <= hi; ow += 4) {
      const yp = yr + (<usize>ow << 2);
      let a0 = v128.load(yp);
      for (let kw = 0; kw < KW; kw++)
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(wr + (<usize>kw << 2)), v128.load(xr + (<usize>(ow + kw * DW - PW) << 2))));
      v128.store(yp, a0);
    }
  }
  // Everything else (edges, the interior remainder, strided rows): scalar with bounds checks.
  for (let o = 0; o < OW; o++) {
    if (o == lo) { o = ow; if (o >= OW) break; }
    const yp = yr + (<usize>o << 2);
    let acc = load<f32>(yp);
    for (let kw = 0; kw < KW; kw++) {
      const iw = o * SW + kw * DW - PW;
      if (<u32>iw < <u32>IW) acc += load<f32>(wr + (<usize>kw << 2)) * load<f32>(xr + (<usize>iw << 2));
    }
    store<f32>(yp, acc);
  }
}

/**
 * Direct depthwise-style convolution for one output channel (cIn/groups = 1): y (outVol) += Σ_taps w·x.
 * x is that channel's input plane, w its kVol taps.
 */
export function depthwise(gp: usize, x: usize, w: usize, y: usize): void {
  const ID = gi(gp, 4), IH = gi(gp, 5), IW = gi(gp, 6);
  const OD = gi(gp, 7), OH = gi(gp, 8), OW = gi(gp, 9);
  const KD = gi(gp, 10), KH = gi(gp, 11), KW = gi(gp, 12);
  const SD = gi(gp, 13), SH = gi(gp, 14), SW = gi(gp, 15);
  const DD = gi(gp, 16), DH = gi(gp, 17), DW = gi(gp, 18);
  const PD = gi(gp, 19), PH = gi(gp, 20), PW = gi(gp, 21);
  for (let od = 0; od < OD; od++)
    for (let oh = 0; oh < OH; oh++) {
      const yr = y + (<usize>((od * OH + oh) * OW) << 2);
      for (let kd = 0; kd < KD; kd++) {
        const id = od * SD + kd * DD - PD;
        if (<u32>id >= <u32>ID) continue;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH + kh * DH - PH;
          if (<u32>ih >= <u32>IH) continue;
          depthwiseRow(x + (<usize>((id * IH + ih) * IW) << 2), w + (<usize>((kd * KH + kh) * KW) << 2), yr, IW, OW, KW, SW, DW, PW);
        }
      }
    }
}

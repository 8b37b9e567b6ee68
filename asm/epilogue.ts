/**
 * The convolution epilogue of the WebAssembly kernels (compiled into the conv module with
 * asm/conv.ts): y = act(y + residual) in place over an output region of linear memory, after the
 * units wrote y (bias included) and before it is copied out. The activations are those of
 * asm/elementwise.ts, so a fused call equals the unfused ops bit for bit in float32; float64 has
 * relu and leakyRelu here (tanh and sigmoid in float64 are applied by the glue with Math).
 *
 * act: 0 none, 1 relu, 2 leakyRelu, 3 tanh, 4 sigmoid; r = 0: no residual.
 */
import { scale32, sigmoid32, tanh32 } from './elementwise';

@inline function act32(v: v128, act: i32, s: v128): v128 {
  if (act == 1) return v128.bitselect(f32x4.splat(0), v, f32x4.le(v, f32x4.splat(0)));
  if (act == 2) return v128.bitselect(v, scale32(v, s), f32x4.gt(v, f32x4.splat(0)));
  if (act == 3) return tanh32(v);
  if (act == 4) return sigmoid32(v);
  return v;
}

export function epilogue(y: usize, r: usize, n: i32, act: i32, slope: f64): void {
  const s = f64x2.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = y + (<usize>i << 2);
    let v = v128.load(p);
    if (r) v = f32x4.add(v, v128.load(r + (<usize>i << 2)));
    v128.store(p, act32(v, act, s));
  }
  if (i < n) {
    // The tail through a zero-padded vector (lanes past n are discarded).
    const buf = memory.data(16, 16);
    v128.store(buf, f32x4.splat(0));
    for (let j = i; j < n; j++) {
      const q = <usize>(j - i) << 2;
      store<f32>(buf + q, load<f32>(y + (<usize>j << 2)) + (r ? load<f32>(r + (<usize>j << 2)) : 0));
    }
    v128.store(buf, act32(v128.load(buf), act, s));
    for (let j = i; j < n; j++) store<f32>(y + (<usize>j << 2), load<f32>(buf + (<usize>(j - i) << 2)));
  }
}

export function epilogue64(y: usize, r: usize, n: i32, act: i32, slope: f64): void {
  const z = f64x2.splat(0), s = f64x2.splat(slope);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const p = y + (<usize>i << 3);
    let v = v128.load(p);
    if (r) v = f64x2.add(v, v128.load(r + (<usize>i << 3)));
    if (act == 1) v = v128.bitselect(z, v, f64x2.le(v, z));
    else if (act == 2) v = v128.bitselect(v, f64x2.mul(v, s), f64x2.gt(v, z));
    v128.store(p, v);
  }
  for (; i < n; i++) {
    const p = y + (<usize>i << 3);
    let v = load<f64>(p);
    if (r) v += load<f64>(r + (<usize>i << 3));
    if (act == 1) v = v <= 0 ? 0 : v;
    else if (act == 2) v = v > 0 ? v : v * slope;
    store<f64>(p, v);
  }
}

/** Small helpers on shapes (pure numbers). */
export const prod = (a: readonly number[]): number => a.reduce((x, y) => x * y, 1);

/** Row-major index → coordinates (written into `out`). */
export function unravel(q: number, size: readonly number[], out: number[]): void {
  for (let a = size.length - 1; a >= 0; a--) {
    out[a] = q % size[a];
    q = Math.floor(q / size[a]);
  }
}

/**
 * Walks a row-major array of shape `shape` (at least one axis, no zero size) one last-axis row at a
 * time, with an odometer over the other axes: `row(dst, src)` gets the flat offset of the row and the
 * offset of its first element in a source read with `strides` (per axis; 0 for a broadcast axis).
 * The row's elements are `src + t·strides[last]` for `t < shape[last]`.
 */
export function forEachRow(shape: readonly number[], strides: readonly number[], row: (dst: number, src: number) => void): void {
  const last = shape.length - 1, rowLen = shape[last], n = prod(shape);
  const idx = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let dst = 0; dst < n; dst += rowLen) {
    row(dst, src);
    for (let a = last - 1; a >= 0; a--) {
      idx[a]++;
      src += strides[a];
      if (idx[a] < shape[a]) break;
      src -= strides[a] * shape[a];
      idx[a] = 0;
    }
  }
}

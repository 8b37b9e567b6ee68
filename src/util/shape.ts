/** Small helpers on shapes (pure numbers). */
export const prod = (a: readonly number[]): number => a.reduce((x, y) => x * y, 1);

/** Row-major index → coordinates (written into `out`). */
export function unravel(q: number, size: readonly number[], out: number[]): void {
  for (let a = size.length - 1; a >= 0; a--) {
    out[a] = q % size[a];
    q = Math.floor(q / size[a]);
  }
}

/** Where a padding mode reads: the one index relation of 'zeros', 'reflect', 'replicate' and 'circular'. */
import type { PaddingMode } from './types.js';

/**
 * Source index along one dim of size L ≥ 1 for padded index i (i = o − p0), or −1 for a zero:
 * reflect mirrors without repeating the edge, replicate repeats it, circular wraps.
 */
export function padSource(i: number, L: number, mode: PaddingMode): number {
  if (i >= 0 && i < L) return i;
  switch (mode) {
    case 'zeros': return -1;
    case 'reflect': return i < 0 ? -i : 2 * (L - 1) - i;
    case 'replicate': return i < 0 ? 0 : L - 1;
    case 'circular': return ((i % L) + L) % L;
  }
}

/**
 * A small seedable generator (xoshiro128**), so that a test can rebuild a module bit for bit.
 * Not PyTorch's Mersenne Twister: convkit matches PyTorch's distributions, not its random stream.
 */
import { ConvError, fmt } from '../spec/errors.js';

export class Generator {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: number = (Math.random() * 2 ** 32) >>> 0) {
    // splitmix32 expands the seed into four non-zero words.
    let z = checkSeed('Generator', seed) >>> 0;
    const next = () => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z ^ (z >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** Next 32 random bits. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniformRange(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

let globalGen = new Generator();

/** A seed is an integer (its low 32 bits are used); anything else would silently become seed 0. */
function checkSeed(op: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed))
    throw new ConvError(op, 'seed', `must be an integer; got ${fmt(seed)}`);
  return seed;
}

/** Seeds the generator used when no `seed` is given (like `torch.manual_seed`). */
export function manualSeed(seed: number): void {
  globalGen = new Generator(checkSeed('manualSeed', seed));
}

/** A generator for `seed`, or the global one. `op` names the caller in the error for a bad seed. */
export function generatorFor(seed?: number, op = 'generator'): Generator {
  return seed === undefined ? globalGen : new Generator(checkSeed(op, seed));
}

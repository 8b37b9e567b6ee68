/**
 * The signal a stream keeps when its chunks live on a device (WebGPU): the same bookkeeping as
 * TimeWindow (absolute `start` / `end`, a drop that may run ahead of what has arrived), with the
 * held positions as one device tensor joined and cut along time by the device's own cat / narrow,
 * so no value crosses to the CPU.
 */
import { Tensor } from '../autograd/tensor.js';
import { cat, narrow } from '../autograd/shape-ops.js';
import { gpuFull } from '../autograd/gpu-ops.js';

export class DeviceWindow {
  private held: Tensor | null = null;
  /** Positions at the front of `held` already dropped (cut off lazily, with the next join). */
  private dropped = 0;
  start = 0;
  end = 0;

  /** `axis`: the time axis of the chunks; `shapeOf(t)`: a chunk's shape with time length t. */
  constructor(private readonly axis: number, private readonly shapeOf: (t: number) => number[]) {}

  get length(): number {
    return Math.max(0, this.end - this.start);
  }

  /** Elements held now. */
  get elements(): number {
    return this.length * (this.held ? this.held.size / this.held.shape[this.axis] : 0);
  }

  /** The held positions as one tensor. */
  tensor(): Tensor {
    const w = this.length;
    if (!this.held || w === 0) return gpuFull(this.shapeOf(0), 0);
    if (this.dropped) { this.held = narrow(this.held, this.axis, this.dropped, w); this.dropped = 0; }
    return this.held;
  }

  /** Appends a chunk of `t` positions (positions before `start` are skipped). */
  appendChunk(x: Tensor, t: number): void {
    const skip = Math.min(t, Math.max(0, this.start - this.end)), keep = this.length;
    this.end += t;
    if (t === skip) return;
    const piece = skip ? narrow(x, this.axis, skip, t - skip) : x;
    this.held = keep ? cat([this.tensor0(keep), piece], this.axis) : piece;
    this.dropped = 0;
  }

  /** The `keep` positions held before an append (the drop applied). */
  private tensor0(keep: number): Tensor {
    const h = this.held!;
    return this.dropped ? narrow(h, this.axis, this.dropped, keep) : h;
  }

  /**
   * The first `m` positions of the held positions followed by the chunk `x` (`t` positions), then
   * drops them and keeps the rest of `x`: what a skip path or a branch queue hands on.
   */
  take(x: Tensor | null, t: number, m: number, shape: readonly number[]): Tensor {
    const keep = this.length, fromHeld = Math.min(keep, m);
    if (x && keep === 0 && m === t) { this.pass(t); return x; } // in step: the chunk itself
    const parts: Tensor[] = [];
    if (fromHeld) parts.push(narrow(this.tensor0(keep), this.axis, 0, fromHeld));
    if (m > fromHeld) parts.push(narrow(x!, this.axis, 0, m - fromHeld));
    const y = parts.length === 0 ? gpuFull(shape, 0) : parts.length === 1 ? parts[0] : cat(parts, this.axis);
    this.dropBefore(this.start + m);
    if (x && t > 0) this.appendChunk(x, t);
    return y;
  }

  dropBefore(p: number): void {
    if (p <= this.start) return;
    const keep = Math.max(0, this.end - p);
    if (keep === 0) { this.held = null; this.dropped = 0; }
    else this.dropped += this.length - keep;
    this.start = p;
  }

  pass(t: number): void {
    this.end += t;
    this.start = Math.max(this.start, this.end);
  }

  clear(): void {
    this.held = null;
    this.dropped = 0;
    this.start = 0;
    this.end = 0;
  }
}

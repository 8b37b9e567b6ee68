/** Messages between the async API (calling thread) and its driver worker. */
import type { Geometry } from '../spec/types.js';

export interface DriverRequest {
  readonly id: number;
  readonly g: Geometry;
  readonly transposed: boolean;
  readonly x: Float32Array;
  readonly w: Float32Array;
  readonly b: Float32Array | null;
  /** setNumThreads on the calling side (the driver counts as one thread). */
  readonly threads: number;
  /** setBackend on the calling side. */
  readonly backend: string;
}

export type DriverReply =
  | { readonly id: 0; readonly ready: true } // sent once, when the driver has loaded
  | { readonly id: number; readonly y: Float32Array; readonly threads: number; readonly worked: number; readonly kernels: string }
  | { readonly id: number; readonly error: { readonly name: string; readonly op?: string; readonly param?: string; readonly message: string } };

/**
 * Loading recorded cases (test/cases/*.json) into convkit Tensors. Node-only (reads files).
 * A recorded array is `{ shape, data }`: flat, row-major, in the case's layout.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, type DType } from '../../src/index.js';

export interface ArrayRecord {
  readonly shape: number[];
  readonly data: number[];
}

/** A forward case; gradient cases also carry gy (upstream) and the expected gx, gw, gb. */
export interface ConvCase {
  readonly name: string;
  readonly op: string;
  readonly dtype: DType;
  readonly options: Record<string, unknown>;
  readonly x: ArrayRecord;
  readonly w: ArrayRecord;
  readonly b: ArrayRecord | null;
  readonly y: ArrayRecord;
  readonly gy?: ArrayRecord;
  readonly gx?: ArrayRecord;
  readonly gw?: ArrayRecord;
  readonly gb?: ArrayRecord | null;
}

/** A call the reference framework rejected; `param` is the parameter convkit's ConvError must name. */
export interface ErrorCase {
  readonly name: string;
  readonly op: string;
  readonly param: string;
  readonly x: { shape: number[]; dtype: DType };
  readonly w: { shape: number[]; dtype: DType };
  readonly b: { shape: number[]; dtype: DType } | null;
  readonly options: Record<string, unknown>;
  readonly torchMessage: string;
}

export const CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'cases');

/** The `cases` array of test/cases/<file>. */
export function loadCases<T = ConvCase>(file: string): T[] {
  const parsed = JSON.parse(readFileSync(join(CASES_DIR, file), 'utf8')) as { cases: T[] };
  return parsed.cases;
}

/** A recorded array as a Tensor of the given dtype (float32 values are stored exactly). */
export function toTensor(rec: ArrayRecord, dtype: DType, requiresGrad = false): Tensor {
  const data = dtype === 'float64' ? Float64Array.from(rec.data) : Float32Array.from(rec.data);
  return new Tensor(data, rec.shape, requiresGrad);
}

/** x, w, b (null when absent) and gy (null for forward-only cases) of a case; x, w, b require grad if asked. */
export function caseTensors(c: ConvCase, requiresGrad = c.gy !== undefined): { x: Tensor; w: Tensor; b: Tensor | null; gy: Tensor | null } {
  return {
    x: toTensor(c.x, c.dtype, requiresGrad),
    w: toTensor(c.w, c.dtype, requiresGrad),
    b: c.b ? toTensor(c.b, c.dtype, requiresGrad) : null,
    gy: c.gy ? toTensor(c.gy, c.dtype) : null,
  };
}

/**
 * In-memory datasets for fine-tuning: named input tensors and labels sharing their first
 * (example) axis, with seeded shuffling, batching and splitting. Browser-safe.
 */
import { allocData, type TensorData } from '../dtype.js';
import { PockError } from '../errors.js';
import { fmtShape, size } from '../shape.js';
import { rng, type Tensor } from '../tensor.js';

export interface Dataset {
  inputs: Record<string, Tensor>;
  labels: Tensor;
}

export function datasetSize(d: Dataset): number {
  const n = d.labels.shape[0] ?? 0;
  for (const [k, t] of Object.entries(d.inputs))
    if (t.shape[0] !== n) throw new PockError('input', `input '${k}' has ${t.shape[0]} examples (shape ${fmtShape(t.shape)}) but there are ${n} labels`);
  return n;
}

/** Rows `idx` of `t` along axis 0. */
export function takeRows(t: Tensor, idx: readonly number[]): Tensor {
  const per = size(t.shape.slice(1));
  const out = allocData(t.dtype, idx.length * per) as TensorData & { set(a: ArrayLike<unknown>, o: number): void };
  const src = t.data as TensorData & { subarray(a: number, b: number): ArrayLike<unknown> };
  idx.forEach((r, i) => out.set(src.subarray(r * per, (r + 1) * per), i * per));
  return { dtype: t.dtype, shape: [idx.length, ...t.shape.slice(1)], data: out };
}

export function subset(d: Dataset, idx: readonly number[]): Dataset {
  return { inputs: Object.fromEntries(Object.entries(d.inputs).map(([k, t]) => [k, takeRows(t, idx)])), labels: takeRows(d.labels, idx) };
}

export function permutation(n: number, seed: number): number[] {
  const r = rng(seed);
  const p = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** A seeded split into train and held-out parts. */
export function splitDataset(d: Dataset, heldOut: number, seed = 0): { train: Dataset; val: Dataset } {
  const n = datasetSize(d);
  const k = heldOut < 1 ? Math.round(n * heldOut) : heldOut;
  const p = permutation(n, seed);
  return { val: subset(d, p.slice(0, k)), train: subset(d, p.slice(k)) };
}

/** Full batches of `batch` examples in a seeded order (the remainder is dropped: shapes are static). */
export function* batches(d: Dataset, batch: number, seed: number): Generator<Dataset> {
  const n = datasetSize(d);
  const p = permutation(n, seed);
  for (let i = 0; i + batch <= n; i += batch) yield subset(d, p.slice(i, i + batch));
}

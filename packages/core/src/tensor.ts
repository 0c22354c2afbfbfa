import { allocData, fromNumbers, type DType, type TensorData } from './dtype.js';
import { PockError } from './errors.js';
import { fmtShape, size, type Shape } from './shape.js';

/** A host tensor: dtype, static shape and row-major data. */
export interface Tensor {
  dtype: DType;
  shape: Shape;
  data: TensorData;
}

export function tensor(dtype: DType, shape: Shape, data?: TensorData | ArrayLike<number>): Tensor {
  const n = size(shape);
  let d: TensorData;
  if (data === undefined) d = allocData(dtype, n);
  else if (ArrayBuffer.isView(data) && matchesDtype(dtype, data as TensorData)) d = data as TensorData;
  else d = fromNumbers(dtype, data instanceof BigInt64Array ? Array.from(data, Number) : (data as ArrayLike<number>));
  if (d.length !== n)
    throw new PockError('shape', `tensor of shape ${fmtShape(shape)} needs ${n} elements, got ${d.length}`);
  return { dtype, shape: [...shape], data: d };
}

export function scalarTensor(value: number, dtype: DType = 'float32'): Tensor {
  return tensor(dtype, [], [value]);
}

function matchesDtype(dtype: DType, data: TensorData): boolean {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'float64':
      return data instanceof Float64Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'int64':
      return data instanceof BigInt64Array;
    case 'bool':
    case 'uint8':
      return data instanceof Uint8Array;
    case 'int8':
      return data instanceof Int8Array;
  }
}

/** Seeded PRNG (mulberry32): deterministic initializers and test data everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller) scaled by `std`. */
export function randn(shape: Shape, seed: number, std = 1, dtype: DType = 'float32'): Tensor {
  const r = rng(seed);
  const n = size(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = Math.max(r(), 1e-12);
    const u2 = r();
    const m = Math.sqrt(-2 * Math.log(u1));
    v[i] = m * Math.cos(2 * Math.PI * u2) * std;
    if (i + 1 < n) v[i + 1] = m * Math.sin(2 * Math.PI * u2) * std;
  }
  return tensor(dtype, shape, v);
}

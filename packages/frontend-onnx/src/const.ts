/**
 * Host-side constants of the importer: values known at import time (integer initializers,
 * Constant nodes, shapes, and whatever the constant evaluator folds from them). Elements are
 * plain numbers in a Float64Array, whatever the dtype: float32 values are kept rounded to
 * float32, integers exact up to 2^53 (beyond that, e.g. INT64_MAX as a Slice end, only the
 * magnitude matters).
 */
import { PockError, size, stridesOf, tensor, type DType, type ErrorLocation, type Tensor } from '@pockengine/core';

export interface ConstTensor {
  readonly kind: 'const';
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** Rounds a number to what `dtype` can hold (float32 rounding, integer truncation and wrapping). */
export function roundTo(dtype: DType, v: number): number {
  switch (dtype) {
    case 'float32':
      return Math.fround(v);
    case 'float64':
      return v;
    case 'bool':
      return v ? 1 : 0;
    case 'int32':
      return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
    case 'int8':
      return ((Math.trunc(v) << 24) >> 24) || 0;
    case 'uint8':
      return Math.trunc(v) & 0xff;
    case 'int64':
      return Number.isFinite(v) ? Math.trunc(v) : v;
  }
}

/**
 * Largest constant the importer computes (2^26 elements, 512 MiB as float64): a corrupt or
 * hostile file asking for more (ConstantOfShape of a huge shape) gets an error, not an
 * out-of-memory crash.
 */
export const MAX_CONST_ELEMENTS = 2 ** 26;

/** Checks a constant's size before it is allocated. */
export function checkConstSize(shape: readonly number[]): number {
  const n = size(shape);
  if (!(n <= MAX_CONST_ELEMENTS) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new PockError('import', `a constant of shape [${shape}] is too large or malformed to compute at import (limit ${MAX_CONST_ELEMENTS} elements)`);
  return n;
}

export function makeConst(dtype: DType, shape: readonly number[], values: ArrayLike<number>): ConstTensor {
  const n = checkConstSize(shape);
  if (values.length !== n) throw new PockError('internal', `constant of shape [${shape}] given ${values.length} values`);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = roundTo(dtype, values[i]!);
  return { kind: 'const', dtype, shape: [...shape], data };
}

export function scalarConst(v: number, dtype: DType): ConstTensor {
  return makeConst(dtype, [], [v]);
}

export function isConst(s: unknown): s is ConstTensor {
  return typeof s === 'object' && s !== null && (s as ConstTensor).kind === 'const';
}

/** A core tensor as a constant (int64 values converted with Number(), no overflow check). */
export function constFromTensor(t: Tensor): ConstTensor {
  const n = t.data.length;
  const data = new Float64Array(n);
  const d = t.data;
  if (d instanceof BigInt64Array) for (let i = 0; i < n; i++) data[i] = Number(d[i]!);
  else data.set(d as ArrayLike<number>);
  return { kind: 'const', dtype: t.dtype, shape: [...t.shape], data };
}

/** The constant as a core tensor; int64 magnitudes past the int64 range saturate (INT64_MAX stays INT64_MAX). */
export function constToTensor(c: ConstTensor): Tensor {
  if (c.dtype === 'int64') {
    const out = new BigInt64Array(c.data.length);
    for (let i = 0; i < c.data.length; i++) {
      const v = c.data[i]!;
      if (v >= 9223372036854775807) out[i] = INT64_MAX;
      else if (v <= -9223372036854775808) out[i] = INT64_MIN;
      else out[i] = BigInt(Math.trunc(v));
    }
    return tensor('int64', c.shape, out);
  }
  return tensor(c.dtype, c.shape, c.data);
}

/** The elements as integers (for shapes, axes, indices). */
export function constInts(c: ConstTensor): number[] {
  return Array.from(c.data, (v) => (Number.isFinite(v) ? Math.trunc(v) : v));
}

/** Reads a 1-element constant. */
export function constScalar(c: ConstTensor, what: string, where: ErrorLocation): number {
  if (c.data.length !== 1) throw new PockError('attr', `${what} must have one element, got shape [${c.shape}]`, where);
  return c.data[0]!;
}

/** Numpy-broadcast elementwise map over constants (https://numpy.org/doc/stable/user/basics.broadcasting.html). */
export function broadcastMap(inputs: readonly ConstTensor[], dtype: DType, f: (...v: number[]) => number, where: ErrorLocation): ConstTensor {
  const rank = Math.max(...inputs.map((c) => c.shape.length));
  const out = new Array<number>(rank).fill(1);
  for (const c of inputs)
    c.shape.forEach((d, i) => {
      const k = rank - c.shape.length + i;
      if (d !== out[k] && d !== 1 && out[k] !== 1)
        throw new PockError('shape', `shapes ${inputs.map((x) => `[${x.shape}]`).join(' and ')} do not broadcast`, where);
      if (d !== 1) out[k] = d;
    });
  // each input's stride along every output axis (0 where it is broadcast)
  const strides = inputs.map((c) => {
    const s = stridesOf(c.shape);
    return out.map((_, k) => {
      const i = k - (rank - c.shape.length);
      return i < 0 || c.shape[i] === 1 ? 0 : s[i]!;
    });
  });
  const n = checkConstSize(out);
  const res = new Float64Array(n);
  const idx = new Array<number>(rank).fill(0);
  const args = new Array<number>(inputs.length);
  const offs = new Array<number>(inputs.length).fill(0);
  for (let e = 0; e < n; e++) {
    for (let j = 0; j < inputs.length; j++) args[j] = inputs[j]!.data[offs[j]!]!;
    res[e] = roundTo(dtype, f(...args));
    // advance the multi-index and every input offset
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]!++;
      for (let j = 0; j < inputs.length; j++) offs[j]! += strides[j]![k]!;
      if (idx[k]! < out[k]!) break;
      for (let j = 0; j < inputs.length; j++) offs[j]! -= strides[j]![k]! * out[k]!;
      idx[k] = 0;
    }
  }
  return { kind: 'const', dtype, shape: out, data: res };
}

/** Gathers elements of `c` into `shape` through an index function over output positions. */
export function remap(c: ConstTensor, shape: readonly number[], srcIndex: (outIdx: number[]) => number): ConstTensor {
  const n = checkConstSize(shape);
  const res = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let e = 0; e < n; e++) {
    res[e] = c.data[srcIndex(idx)]!;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return { kind: 'const', dtype: c.dtype, shape: [...shape], data: res };
}

export function reshapeConst(c: ConstTensor, shape: readonly number[]): ConstTensor {
  return { kind: 'const', dtype: c.dtype, shape: [...shape], data: c.data };
}

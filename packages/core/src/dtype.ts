import { PockError } from './errors.js';

/** Element types of the IR. int8/uint8 carry quantization parameters on the value (see QuantParams). */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'int8' | 'uint8';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'bool', 'int8', 'uint8'];

/**
 * Affine quantization: real = scale * (q - zeroPoint). Per-tensor when `axis` is undefined
 * (one scale), per-channel along `axis` otherwise (one scale per channel).
 */
export interface QuantParams {
  scale: readonly number[];
  zeroPoint: readonly number[];
  axis?: number;
}

/** Host-side storage of a tensor's elements. int64 lives in BigInt64Array on the host. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array;

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function isInteger(d: DType): boolean {
  return d === 'int32' || d === 'int64' || d === 'int8' || d === 'uint8';
}

export function byteSize(d: DType): number {
  switch (d) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'bool':
    case 'int8':
    case 'uint8':
      return 1;
  }
}

/** Short names used by the IR printer. */
export const DTYPE_SHORT: Record<DType, string> = {
  float32: 'f32',
  float64: 'f64',
  int32: 'i32',
  int64: 'i64',
  bool: 'bool',
  int8: 'i8',
  uint8: 'u8',
};

/** Allocates host storage for `n` elements of dtype `d`. */
export function allocData(d: DType, n: number): TensorData {
  switch (d) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'bool':
    case 'uint8':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
  }
}

/** Converts host data of any kind to plain numbers (int64 must fit in 2^53). */
export function toNumberArray(data: TensorData | ArrayLike<number>): Float64Array {
  const out = new Float64Array(data.length);
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v > 9007199254740991n || v < -9007199254740991n)
        throw new PockError('input', `int64 value ${v} does not fit in 53 bits`);
      out[i] = Number(v);
    }
  } else {
    for (let i = 0; i < data.length; i++) out[i] = data[i] as number;
  }
  return out;
}

/** Converts numbers to host data of dtype `d` (rounding toward zero for integer types). */
export function fromNumbers(d: DType, values: ArrayLike<number>): TensorData {
  const out = allocData(d, values.length);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) out[i] = BigInt(Math.trunc(values[i]!));
  } else if (d === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  } else {
    for (let i = 0; i < values.length; i++) (out as Float64Array)[i] = values[i]!;
  }
  return out;
}

/** Round half to even (IEEE roundTiesToEven: the round op, ONNX Round and QuantizeLinear): 0.5 -> 0, 1.5 -> 2, -2.5 -> -2. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

import { byteSize, size, type DType, type Shape } from '@pockengine/core';

/** Element storage of the CPU backend. int64 is kept as Float64Array (exact to 2^53). */
export type CpuData = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array;

/** A CPU buffer: a row-major typed array with its static type. */
export interface CpuTensor {
  dtype: DType;
  shape: Shape;
  data: CpuData;
}

export function cpuAlloc(dtype: DType, shape: Shape): CpuTensor {
  // element sizes match byteSize (int64 is held as float64: 8 bytes either way)
  return cpuView(new ArrayBuffer(size(shape) * byteSize(dtype)), 0, dtype, shape);
}

export function cpuBytes(t: CpuTensor): number {
  return size(t.shape) * byteSize(t.dtype);
}

/** A typed view of `shape` over `buffer` at byte `offset` (offset aligned to the element size). */
export function cpuView(buffer: ArrayBuffer, offset: number, dtype: DType, shape: Shape): CpuTensor {
  const n = size(shape);
  let data: CpuData;
  switch (dtype) {
    case 'float32':
      data = new Float32Array(buffer, offset, n);
      break;
    case 'float64':
    case 'int64':
      data = new Float64Array(buffer, offset, n);
      break;
    case 'int32':
      data = new Int32Array(buffer, offset, n);
      break;
    case 'bool':
    case 'uint8':
      data = new Uint8Array(buffer, offset, n);
      break;
    case 'int8':
      data = new Int8Array(buffer, offset, n);
      break;
  }
  return { dtype, shape, data };
}

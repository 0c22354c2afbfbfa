import { byteSize, size, type DType, type Shape } from '@pockengine/core';

/** Element storage of the CPU backend. int64 is kept as Float64Array (exact to 2^53). */
export type CpuData = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array;

/** A CPU buffer: a row-major typed array with its static type. */
export interface CpuTensor {
  dtype: DType;
  shape: Shape;
  data: CpuData;
  /**
   * The memory `data` views when the buffer lives in a kernel engine's heap (a shared
   * WebAssembly.Memory; `data.byteOffset` is then the heap address): fast kernels read and write
   * such tensors in place instead of copying them in and out.
   */
  heap?: object;
}

/**
 * Memory for a CpuBackend's buffers inside a kernel engine's heap (see `CpuBackend`'s `heap`
 * option). The memory must be shared (growing it never detaches the views).
 */
export interface HeapAllocator {
  /** The identity kernels compare `CpuTensor.heap` with. */
  readonly tag: object;
  /** The heap's buffer now (re-read after allocating: it may have grown). */
  buffer(): ArrayBufferLike;
  /** Byte address of `bytes` fresh bytes, 64-byte aligned. Throws when the heap cannot grow. */
  alloc(bytes: number): number;
  free(address: number): void;
  /** Bytes of the heap this allocator spans now (live blocks and the holes between them). */
  extent(): number;
}

export function cpuAlloc(dtype: DType, shape: Shape): CpuTensor {
  // element sizes match byteSize (int64 is held as float64: 8 bytes either way)
  return cpuView(new ArrayBuffer(size(shape) * byteSize(dtype)), 0, dtype, shape);
}

export function cpuBytes(t: CpuTensor): number {
  return size(t.shape) * byteSize(t.dtype);
}

/** A typed view of `shape` over `buffer` at byte `offset` (offset aligned to the element size). */
export function cpuView(buffer: ArrayBufferLike, offset: number, dtype: DType, shape: Shape): CpuTensor {
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

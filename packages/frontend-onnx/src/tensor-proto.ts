/**
 * TensorProto <-> host tensors. Data types follow TensorProto.DataType in onnx.proto; the IR
 * holds float32, float64, int32, int64, bool, int8 and uint8. Raw bytes are copied before they are
 * viewed as typed arrays: inside a protobuf they may sit at any byte offset.
 */
import { PockError, size, tensor, type DType, type ErrorLocation, type Tensor } from '@pockengine/core';
import type { OnnxTensor } from './proto/onnx.js';

/** TensorProto.DataType numbers. */
export const OnnxType = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(OnnxType).map(([k, v]) => [v, k]));
NAMES[17] = 'FLOAT8E4M3FN';
NAMES[18] = 'FLOAT8E4M3FNUZ';
NAMES[19] = 'FLOAT8E5M2';
NAMES[20] = 'FLOAT8E5M2FNUZ';
NAMES[21] = 'UINT4';
NAMES[22] = 'INT4';

export function onnxTypeName(t: number): string {
  return NAMES[t] ?? `data type ${t}`;
}

const TO_DTYPE: Partial<Record<number, DType>> = {
  [OnnxType.FLOAT]: 'float32',
  [OnnxType.DOUBLE]: 'float64',
  [OnnxType.INT32]: 'int32',
  [OnnxType.INT64]: 'int64',
  [OnnxType.BOOL]: 'bool',
  [OnnxType.INT8]: 'int8',
  [OnnxType.UINT8]: 'uint8',
};

export const DTYPE_TO_ONNX: Record<DType, number> = {
  float32: OnnxType.FLOAT,
  float64: OnnxType.DOUBLE,
  int32: OnnxType.INT32,
  int64: OnnxType.INT64,
  bool: OnnxType.BOOL,
  int8: OnnxType.INT8,
  uint8: OnnxType.UINT8,
};

/** The IR dtype of an ONNX data type, or a clear error naming `what`. */
export function dtypeOf(onnxType: number, what: string, where: ErrorLocation): DType {
  const d = TO_DTYPE[onnxType];
  if (!d)
    throw new PockError(
      'import',
      `${what} has ONNX type ${onnxTypeName(onnxType)}, which PockEngine does not support (float32, float64, int32, int64, bool, int8, uint8); convert the model, e.g. to float32`,
      where,
    );
  return d;
}

/** Resolves external data: returns the bytes of the file named by an external_data location. */
export type ExternalDataResolver = (location: string) => Uint8Array | undefined;

/** Decodes a TensorProto into a host tensor (copying its data). */
export function tensorFromProto(t: OnnxTensor, where: ErrorLocation, external?: ExternalDataResolver): Tensor {
  const what = `tensor '${t.name}'`;
  const dtype = dtypeOf(t.dataType, what, where);
  for (const d of t.dims)
    if (!Number.isSafeInteger(d) || d < 0) throw new PockError('import', `${what} has a bad dimension ${d}`, where);
  const shape = t.dims;
  const n = size(shape);
  const elem = dtype === 'float64' || dtype === 'int64' ? 8 : dtype === 'float32' || dtype === 'int32' ? 4 : 1;
  let raw = t.rawData;
  if (t.dataLocation === 1) raw = externalBytes(t, n * elem, where, external);
  if (raw !== undefined) {
    if (raw.length !== n * elem)
      throw new PockError('import', `${what}: raw data has ${raw.length} bytes, ${dtype} [${shape}] needs ${n * elem}`, where);
    // copy (raw bytes may sit at any offset; Buffer#slice would not even copy)
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    switch (dtype) {
      case 'float32': return tensor(dtype, shape, new Float32Array(copy.buffer));
      case 'float64': return tensor(dtype, shape, new Float64Array(copy.buffer));
      case 'int32': return tensor(dtype, shape, new Int32Array(copy.buffer));
      case 'int64': return tensor(dtype, shape, new BigInt64Array(copy.buffer));
      case 'int8': return tensor(dtype, shape, new Int8Array(copy.buffer));
      case 'bool': return tensor(dtype, shape, copy.map((v) => (v ? 1 : 0)));
      case 'uint8': return tensor(dtype, shape, copy);
    }
  }
  // typed fields: float_data for FLOAT, int32_data for the small integer types and BOOL,
  // int64_data for INT64, double_data for DOUBLE (onnx.proto comments on each field)
  const field: ArrayLike<number> | bigint[] =
    dtype === 'float32' ? t.floatData : dtype === 'float64' ? t.doubleData : dtype === 'int64' ? t.int64Data : t.int32Data;
  if (field.length !== n)
    throw new PockError('import', `${what} holds ${field.length} values, [${shape}] needs ${n}`, where);
  if (dtype === 'int64') return tensor(dtype, shape, BigInt64Array.from(t.int64Data));
  return tensor(dtype, shape, field as ArrayLike<number>);
}

function externalBytes(t: OnnxTensor, nbytes: number, where: ErrorLocation, external?: ExternalDataResolver): Uint8Array {
  const what = `tensor '${t.name}'`;
  const loc = t.externalData.location;
  if (!loc) throw new PockError('import', `${what} is stored externally but has no location`, where);
  if (!external)
    throw new PockError('import', `${what} is stored in the external file '${loc}'; pass its bytes in opts.externalData, or use loadOnnxFile from '@pockengine/frontend-onnx/node'`, where);
  const file = external(loc);
  if (!file) throw new PockError('import', `${what}: external data file '${loc}' was not provided`, where);
  const offset = Number(t.externalData.offset ?? '0');
  const length = t.externalData.length !== undefined ? Number(t.externalData.length) : nbytes;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > file.length)
    throw new PockError('import', `${what}: external range offset=${t.externalData.offset} length=${t.externalData.length} lies outside '${loc}' (${file.length} bytes)`, where);
  return file.subarray(offset, offset + length);
}

/** Encodes a host tensor as TensorProto fields (raw_data, little-endian). */
export function tensorToProto(name: string, t: Tensor): OnnxTensor {
  const d = t.data;
  const raw = t.dtype === 'bool' ? Uint8Array.from(d as Uint8Array, (v) => (v ? 1 : 0)) : Uint8Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  return {
    name, dims: [...t.shape], dataType: DTYPE_TO_ONNX[t.dtype], rawData: raw,
    floatData: [], int32Data: [], int64Data: [], doubleData: [], uint64Data: [], stringData: [], externalData: {}, dataLocation: 0,
  };
}

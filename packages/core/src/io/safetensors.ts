/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON (`{name: {dtype, shape, data_offsets}}` plus an
 * optional `__metadata__` of string values), then the raw little-endian data; `data_offsets`
 * count from the end of the header. Browser-safe: bytes in, bytes out, no file system.
 */
import type { DType } from '../dtype.js';
import { PockError } from '../errors.js';
import { size } from '../shape.js';
import { tensor, type Tensor } from '../tensor.js';

const ST_TO_DTYPE: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  I8: 'int8',
  BOOL: 'bool',
};
const DTYPE_TO_ST: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  int8: 'I8',
  bool: 'BOOL',
};
const ELEM_BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, int8: 1, bool: 1 };

export interface Safetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

function fail(message: string): never {
  throw new PockError('import', `safetensors: ${message}`);
}

/** Reads a safetensors file. Tensor data is copied, so the result does not alias `bytes`. */
export function readSafetensors(bytes: Uint8Array): Safetensors {
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8) fail(`header length ${n} exceeds the file (${bytes.length} bytes); the file is truncated or not safetensors`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, Tensor>();
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e.dtype === 'string' ? ST_TO_DTYPE[e.dtype] : undefined;
    if (!dtype) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(ST_TO_DTYPE).join(', ')})`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has a bad shape`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0))
      fail(`tensor '${name}' has bad data_offsets`);
    const [start, end] = offs as [number, number];
    const numel = size(shape as number[]);
    const nbytes = numel * ELEM_BYTES[dtype];
    if (end < start || end > dataLen) fail(`tensor '${name}' data [${start}, ${end}) lies outside the data (${dataLen} bytes)`);
    if (end - start !== nbytes) fail(`tensor '${name}' has ${end - start} bytes, ${dtype} ${JSON.stringify(shape)} needs ${nbytes}`);
    tensors.set(name, decodeData(dtype, shape as number[], bytes.subarray(dataStart + start, dataStart + end)));
  }
  return { tensors, metadata };
}

/** Copies little-endian bytes into a fresh typed array (the copy also fixes alignment). */
function decodeData(dtype: DType, shape: number[], raw: Uint8Array): Tensor {
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32':
      return tensor(dtype, shape, new Float32Array(buf));
    case 'float64':
      return tensor(dtype, shape, new Float64Array(buf));
    case 'int64':
      return tensor(dtype, shape, new BigInt64Array(buf));
    case 'int32':
      return tensor(dtype, shape, new Int32Array(buf));
    case 'int8':
      return tensor(dtype, shape, new Int8Array(buf));
    case 'uint8':
    case 'bool':
      return tensor(dtype, shape, copy);
  }
}

/** Little-endian bytes of a tensor's data (int64 from BigInt64Array; the host is little-endian). */
function dataBytes(t: Tensor): Uint8Array {
  const d = t.data;
  if (t.dtype === 'bool') {
    const out = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = d[i] ? 1 : 0;
    return out;
  }
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * Writes a safetensors file. Tensors with 8-byte elements come first, then 4-byte, then 1-byte,
 * so every tensor's absolute offset is a multiple of its element size (the header is padded to a
 * multiple of 8 with spaces); within a size class the map's order is kept.
 */
export function writeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = [...tensors].map(([name, t], i) => ({ name, t, i }));
  for (const { name, t } of entries) {
    if (name === '__metadata__') throw new PockError('input', `'__metadata__' is reserved and cannot name a tensor`);
    if (t.data.length !== size(t.shape))
      throw new PockError('shape', `tensor '${name}' has ${t.data.length} elements for shape ${JSON.stringify(t.shape)}`);
  }
  entries.sort((a, b) => ELEM_BYTES[b.t.dtype] - ELEM_BYTES[a.t.dtype] || a.i - b.i);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new PockError('input', `metadata '${k}' must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const { name, t } of entries) {
    const raw = dataBytes(t);
    header[name] = { dtype: DTYPE_TO_ST[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + raw.length] };
    chunks.push(raw);
    offset += raw.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

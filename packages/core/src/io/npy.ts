/**
 * NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0, see
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): the magic
 * "\x93NUMPY", a version, a little-endian header length (2 bytes in v1, 4 in v2/v3), a Python
 * dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded so the data
 * starts at a multiple of 64, then the C-order data. Browser-safe: bytes in, bytes out.
 */
import type { DType } from '../dtype.js';
import { PockError } from '../errors.js';
import { size } from '../shape.js';
import { tensor, type Tensor } from '../tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** descr (without the byte-order character) -> dtype and element size. */
const DESCR: Record<string, [DType, number]> = {
  f4: ['float32', 4],
  f8: ['float64', 8],
  i8: ['int64', 8],
  i4: ['int32', 4],
  u1: ['uint8', 1],
  i1: ['int8', 1],
  b1: ['bool', 1],
};
const DTYPE_DESCR: Record<DType, string> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  int8: '|i1',
  bool: '|b1',
};

function fail(message: string): never {
  throw new PockError('import', `npy: ${message}`);
}

/** Reads one array from .npy bytes. The data is copied, so the result does not alias `bytes`. */
export function readNpy(bytes: Uint8Array): Tensor {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) fail('bad magic: not a .npy file');
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`unsupported format version ${major}.${bytes[7]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) fail('file is truncated inside the header length');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = 8 + lenBytes;
  if (hstart + hlen > bytes.length) fail(`header length ${hlen} exceeds the file (${bytes.length} bytes)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(hstart, hstart + hlen));
  const { descr, fortran, shape } = parseHeader(header);

  const order = descr[0];
  const code = descr.slice(1);
  const info = DESCR[code];
  if (!info || !['<', '|', '='].includes(order!)) {
    if (order === '>' && DESCR[code]) fail(`big-endian data ('${descr}') is not supported; save it little-endian (arr.astype('<${code}'))`);
    fail(`unsupported dtype '${descr}' (supported: <f4 <f8 <i8 <i4 |u1 |i1 |b1)`);
  }
  if (fortran && shape.filter((d) => d > 1).length > 1)
    fail(`Fortran-order arrays are not supported; save with np.ascontiguousarray(arr)`);
  const [dtype, elem] = info;
  const n = size(shape);
  const dstart = hstart + hlen;
  if (bytes.length - dstart < n * elem) fail(`data is truncated: ${bytes.length - dstart} bytes for ${n} elements of ${descr}`);
  // a real copy (Node's Buffer#slice would return a view), aligned for the typed arrays below
  const copy = new Uint8Array(n * elem);
  copy.set(bytes.subarray(dstart, dstart + n * elem));
  switch (dtype) {
    case 'float32':
      return tensor(dtype, shape, new Float32Array(copy.buffer));
    case 'float64':
      return tensor(dtype, shape, new Float64Array(copy.buffer));
    case 'int64':
      return tensor(dtype, shape, new BigInt64Array(copy.buffer));
    case 'int32':
      return tensor(dtype, shape, new Int32Array(copy.buffer));
    case 'int8':
      return tensor(dtype, shape, new Int8Array(copy.buffer));
    default:
      return tensor(dtype, shape, copy);
  }
}

/** Parses the header dict literal; only the three keys numpy writes are accepted. */
function parseHeader(h: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(h);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(h);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(h);
  if (!descr || !fortran || !shape) fail(`malformed header ${JSON.stringify(h.trim())}`);
  const dims = shape[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const d = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(d) || d < 0) fail(`bad shape (${shape[1]})`);
      return d;
    });
  return { descr: descr[1]!, fortran: fortran[1] === 'True', shape: dims };
}

/** Writes a tensor as .npy (version 1.0 unless the header needs 2.0), little-endian, C order. */
export function writeNpy(t: Tensor): Uint8Array {
  const shapeStr = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${DTYPE_DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // pad with spaces and end with a newline so the data starts at a multiple of 64 (as numpy does)
  const padTo = (pre: number) => Math.ceil((pre + header.length + 1) / 64) * 64;
  const v1 = padTo(10) - 10 <= 0xffff;
  const pre = v1 ? 10 : 12;
  const total = padTo(pre);
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const d = t.data;
  let raw: Uint8Array;
  if (t.dtype === 'bool') {
    raw = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) raw[i] = d[i] ? 1 : 0;
  } else raw = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const out = new Uint8Array(total + raw.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(raw, total);
  return out;
}

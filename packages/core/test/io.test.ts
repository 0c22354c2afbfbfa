import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PockError, readNpy, readSafetensors, tensor, writeNpy, writeSafetensors, type Tensor } from '../src/index.js';

const MODELS = fileURLToPath(new URL('../../../../shared/models/', import.meta.url));

function sample(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['w', tensor('float32', [2, 3], [1.5, -2, 3.25, 0, 1e-8, -7])],
    ['d', tensor('float64', [3], [Math.PI, -1e300, 0.1])],
    ['ids', tensor('int64', [2, 2], new BigInt64Array([1n, -2n, 9007199254740993n, 0n]))],
    ['i32', tensor('int32', [2], [-2147483648, 2147483647])],
    ['u8', tensor('uint8', [3], [0, 128, 255])],
    ['i8', tensor('int8', [2], [-128, 127])],
    ['mask', tensor('bool', [2, 2], [1, 0, 0, 1])],
    ['scalar', tensor('float32', [], [42])],
    ['empty', tensor('float32', [0, 4], [])],
  ]);
}

function expectSame(a: Tensor, b: Tensor): void {
  expect(a.dtype).toBe(b.dtype);
  expect(a.shape).toEqual(b.shape);
  expect(Array.from(a.data as ArrayLike<number>)).toEqual(Array.from(b.data as ArrayLike<number>));
}

describe('safetensors', () => {
  it('round-trips every dtype with metadata', () => {
    const ts = sample();
    const bytes = writeSafetensors(ts, { format: 'test', note: 'x' });
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'test', note: 'x' });
    expect([...back.tensors.keys()].sort()).toEqual([...ts.keys()].sort());
    for (const [k, t] of ts) expectSame(back.tensors.get(k)!, t);
  });

  it('writes the layout of the format: padded header, 8-byte dtypes first, aligned offsets', () => {
    const bytes = writeSafetensors(sample());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, U8: 1, I8: 1, BOOL: 1 };
    let last = 8;
    for (const [, e] of Object.entries(header).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
      expect((8 + n + e.data_offsets[0]) % size[e.dtype]!).toBe(0);
      expect(size[e.dtype]!).toBeLessThanOrEqual(last);
      last = size[e.dtype]!;
    }
  });

  it('reads the reference files of the shared models', () => {
    const { tensors, metadata } = readSafetensors(new Uint8Array(readFileSync(`${MODELS}mcunet_tiny.eval_bn.ref.safetensors`)));
    expect(metadata.format).toBe('pockengine-ref/1');
    expect(tensors.get('input.input')!.shape).toEqual([2, 3, 128, 128]);
    expect(tensors.get('labels')!.dtype).toBe('int64');
    expect(tensors.get('loss')!.shape).toEqual([]);
    expect(Number.isFinite((tensors.get('loss')!.data as Float32Array)[0])).toBe(true);
  });

  it('rejects truncated and corrupt files with PockError(import)', () => {
    const bytes = writeSafetensors(sample());
    for (const bad of [new Uint8Array(0), bytes.subarray(0, 5), bytes.subarray(0, 40), bytes.subarray(0, bytes.length - 3)]) {
      expect(() => readSafetensors(bad)).toThrowError(PockError);
      try {
        readSafetensors(bad);
      } catch (e) {
        expect((e as PockError).code).toBe('import');
      }
    }
    const json = new TextEncoder().encode('{"a": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}');
    const f16 = new Uint8Array(8 + json.length + 2);
    new DataView(f16.buffer).setBigUint64(0, BigInt(json.length), true);
    f16.set(json, 8);
    expect(() => readSafetensors(f16)).toThrowError(/unsupported dtype "F16"/);
  });
});

describe('npy', () => {
  it('round-trips every dtype and shape', () => {
    for (const t of sample().values()) expectSame(readNpy(writeNpy(t)), t);
  });

  it('writes a version 1.0 header numpy accepts (64-byte aligned, newline-terminated)', () => {
    const bytes = writeNpy(tensor('float32', [2, 3]));
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const hlen = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + hlen) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + hlen));
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect(new TextDecoder().decode(writeNpy(tensor('int64', [5])).subarray(10, 70))).toContain("'shape': (5,)");
  });

  /** Builds .npy bytes by hand, as numpy would write them. */
  function npy(header: string, data: Uint8Array, major = 1): Uint8Array {
    const pre = major === 1 ? 10 : 12;
    const padded = header + ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
    const out = new Uint8Array(pre + padded.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    const dv = new DataView(out.buffer);
    if (major === 1) dv.setUint16(8, padded.length, true);
    else dv.setUint32(8, padded.length, true);
    out.set(new TextEncoder().encode(padded), pre);
    out.set(data, pre + padded.length);
    return out;
  }

  it('reads version 2.0 and 3.0 files and numpy spellings of the header', () => {
    const data = new Uint8Array(new Float64Array([1, 2, 3]).buffer);
    const v2 = readNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data, 2));
    expect(Array.from(v2.data as Float64Array)).toEqual([1, 2, 3]);
    const v3 = readNpy(npy('{"descr": "<f8", "fortran_order": False, "shape": (1, 3)}', data, 3));
    expect(v3.shape).toEqual([1, 3]);
    const b = readNpy(npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([1, 0])));
    expect(b.dtype).toBe('bool');
    const s = readNpy(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", new Uint8Array(new Int32Array([-7]).buffer)));
    expect(s.shape).toEqual([]);
    expect(s.data[0]).toBe(-7);
  });

  it('gives clear errors for fortran order, big-endian data, bad magic and truncation', () => {
    const data = new Uint8Array(24);
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(PockError);
        expect((e as PockError).code).toBe('import');
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(err(() => readNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data)))).toMatch(/Fortran-order/);
    expect(err(() => readNpy(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", data)))).toMatch(/big-endian/);
    expect(err(() => readNpy(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", data)))).toMatch(/unsupported dtype/);
    expect(err(() => readNpy(new TextEncoder().encode('PK\x03\x04 not npy at all')))).toMatch(/bad magic/);
    expect(err(() => readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }", data)))).toMatch(/truncated/);
    // a 1-D array is the same in both orders
    expect(readNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", data)).shape).toEqual([6]);
  });
});

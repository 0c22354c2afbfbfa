/**
 * Weight manifests: decoding the binary shards of a model.json into tensors (with TF.js's
 * quantization schemes) and encoding updated weights back as float32 shards. The decoding
 * follows tfjs-core io/io_utils.ts `decodeWeights` byte for byte: weights lie back to back in
 * the concatenation of all shards of all groups, in manifest order.
 */
import { PockError, size, tensor, type Tensor } from '@pockengine/core';
import type { ShardLoader, TfjsModelJson, WeightSpec, WeightsSource } from './types.js';

/** The weight specs of a model.json (all groups, in order) or of ModelArtifacts. */
export function weightSpecsOf(model: TfjsModelJson): WeightSpec[] {
  if (model.weightsManifest) return model.weightsManifest.flatMap((g) => g.weights);
  return model.weightSpecs ?? [];
}

function bytesOf(b: ArrayBuffer | ArrayBufferView): Uint8Array {
  return b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Concatenates shard buffers into one ArrayBuffer. */
export function concatShards(shards: readonly (ArrayBuffer | ArrayBufferView)[]): ArrayBuffer {
  const parts = shards.map(bytesOf);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out.buffer;
}

/** Loads every shard path of the manifest through `load`, concatenated in manifest order. */
export async function loadWeightData(model: TfjsModelJson, load: ShardLoader): Promise<ArrayBuffer> {
  const paths = (model.weightsManifest ?? []).flatMap((g) => g.paths);
  return concatShards(await Promise.all(paths.map(async (p) => load(p))));
}

/** Half-precision bits to a number (IEEE 754 binary16, subnormals included). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/**
 * Decodes `data` against `specs`. Quantized weights are dequantized: uint8/uint16 as
 * q * scale + min (rounded for int32 weights), float16 as half floats; all into float32 (as
 * TF.js does). String and complex weights cannot be imported and are skipped (an op that uses
 * one fails at import with its name).
 */
export function decodeWeights(specs: readonly WeightSpec[], data: ArrayBuffer | ArrayBufferView, file?: string): Map<string, Tensor> {
  const bytes = bytesOf(data);
  const out = new Map<string, Tensor>();
  let off = 0;
  const take = (n: number, name: string): ArrayBuffer => {
    if (off + n > bytes.byteLength)
      throw new PockError('import', `weight data ends at byte ${bytes.byteLength} but '${name}' needs bytes ${off}..${off + n}; are all shards loaded, in manifest order?`, { file, param: name });
    const slice = bytes.slice(off, off + n).buffer;
    off += n;
    return slice;
  };
  for (const spec of specs) {
    const n = size(spec.shape);
    const q = spec.quantization;
    if (spec.dtype === 'string') {
      // 4-byte little-endian length, then the bytes, per element
      for (let i = 0; i < n; i++) off += 4 + new DataView(take(4, spec.name)).getUint32(0, true);
      continue;
    }
    if (q) {
      const qb = DTYPE_BYTES[q.dtype];
      if (!qb || !['uint8', 'uint16', 'float16'].includes(q.dtype)) throw new PockError('import', `unknown quantization dtype '${q.dtype}'`, { file, param: spec.name });
      const raw = take(n * qb, spec.name);
      const qa = q.dtype === 'uint8' ? new Uint8Array(raw) : new Uint16Array(raw);
      if (q.dtype === 'float16') {
        out.set(spec.name, tensor('float32', spec.shape, Float32Array.from(qa, halfToFloat)));
      } else {
        if (q.min === undefined || q.scale === undefined)
          throw new PockError('import', `${q.dtype} quantization needs 'min' and 'scale'`, { file, param: spec.name });
        const { min, scale } = q;
        const deq = Float64Array.from(qa, (v) => v * scale + min);
        out.set(spec.name, spec.dtype === 'int32' ? tensor('int32', spec.shape, deq.map(Math.round)) : tensor('float32', spec.shape, deq));
      }
      continue;
    }
    const raw = take(n * (DTYPE_BYTES[spec.dtype] ?? 4), spec.name);
    if (spec.dtype === 'float32') out.set(spec.name, tensor('float32', spec.shape, new Float32Array(raw)));
    else if (spec.dtype === 'int32') out.set(spec.name, tensor('int32', spec.shape, new Int32Array(raw)));
    else if (spec.dtype === 'bool') out.set(spec.name, tensor('bool', spec.shape, new Uint8Array(raw)));
    // complex64: skipped (no complex dtype in the IR)
  }
  if (off !== bytes.byteLength)
    throw new PockError('import', `weight data has ${bytes.byteLength} bytes but the manifest describes ${off}; the shards do not match model.json`, { file });
  return out;
}

/** Resolves any WeightsSource to tensors by name. */
export function resolveWeights(model: TfjsModelJson, weights: WeightsSource | undefined, file?: string): ReadonlyMap<string, Tensor> {
  if (weights instanceof Map) return weights;
  const specs = weightSpecsOf(model);
  let data = weights ?? model.weightData;
  if (data === undefined) {
    if (specs.length === 0) return new Map();
    throw new PockError('import', 'no weight data: pass the shard buffers (or use loadWeightData / loadTfjsModel)', { file });
  }
  if (Array.isArray(data)) data = concatShards(data);
  return decodeWeights(specs, data as ArrayBuffer | ArrayBufferView, file);
}

/** Encodes tensors as one float32/int32 shard (`group1-shard1of1.bin`) with its manifest. */
export function encodeWeights(entries: readonly { name: string; tensor: Tensor }[], path = 'group1-shard1of1.bin') {
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  for (const { name, tensor: t } of entries) {
    const isInt = t.dtype === 'int32' || t.dtype === 'int64';
    const arr = isInt ? Int32Array.from(t.data as ArrayLike<number>, Number) : Float32Array.from(t.data as ArrayLike<number>, Number);
    specs.push({ name, shape: [...t.shape], dtype: isInt ? 'int32' : 'float32' });
    parts.push(new Uint8Array(arr.buffer));
  }
  return { manifest: [{ paths: [path], weights: specs }], weightData: concatShards(parts) };
}

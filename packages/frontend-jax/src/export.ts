/**
 * Trained weights back to jax-js: a params pytree of the template's structure (so the original
 * `apply` runs on it unchanged), or a safetensors file keyed by pytree path.
 */
import { numpy as np, type Array as JaxArray } from '@jax-js/jax';
import { PockError, fmtShape, shapeEq, toNumberArray, writeSafetensors, type Graph, type Tensor } from '@pockengine/core';
import { readArray } from './import.js';
import { mapWithPaths, requireArrayLeaves, type JaxArrayLike } from './pytree.js';

/** Weights by name: a Program's `weights()`, or a Graph's param and buffer data. */
export type Weights = ReadonlyMap<string, Tensor> | Graph;

function weightMap(w: Weights): ReadonlyMap<string, Tensor> {
  if (w instanceof Map) return w;
  const g = w as Graph;
  if (!Array.isArray(g.values) || !(g.init instanceof Map)) throw new PockError('input', 'weights must be a Map<string, Tensor> or a Graph');
  const out = new Map<string, Tensor>();
  for (const v of g.values) if ((v.role === 'param' || v.role === 'buffer') && g.init.has(v.id)) out.set(v.name, g.init.get(v.id)!);
  return out;
}

const TYPED = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
} as const;

/**
 * A pytree shaped like `template` whose leaves are new jax-js arrays holding the weights of the
 * same path. The template is only read (its arrays stay valid); every template leaf must have a
 * weight of the same shape.
 */
export function exportParams<T>(weights: Weights, template: T): T {
  const map = weightMap(weights);
  const leaves = requireArrayLeaves(template, 'the template');
  const missing = leaves.filter((l) => !map.has(l.path)).map((l) => l.path);
  if (missing.length) throw new PockError('input', `no weights for ${missing.join(', ')} (weights have: ${[...map.keys()].join(', ')})`);
  return mapWithPaths<JaxArrayLike, JaxArray>(template, (leaf, path) => {
    const t = map.get(path)!;
    if (!shapeEq(t.shape, leaf.shape))
      throw new PockError('shape', `weight '${path}' has shape ${fmtShape(t.shape)}, the template has ${fmtShape(leaf.shape)}`);
    const dtype = leaf.dtype as keyof typeof TYPED | 'bool';
    const values = toNumberArray(t.data);
    if (dtype === 'bool') return np.array(Array.from(values, (v) => v !== 0), { shape: [...t.shape], dtype: 'bool' as JaxArray['dtype'] });
    const Ctor = TYPED[dtype];
    if (!Ctor) throw new PockError('dtype', `template leaf '${path}' has dtype ${leaf.dtype}, which cannot hold imported weights`);
    if (dtype === 'float64' && !HAS_FLOAT16) return float64Array(values, [...t.shape]);
    return np.array(Ctor.from(values), { shape: [...t.shape] });
  }) as T;
}

const HAS_FLOAT16 = typeof (globalThis as { Float16Array?: unknown }).Float16Array !== 'undefined';

/**
 * jax-js 0.1.25 tests `instanceof Float16Array` before accepting a Float64Array, which throws a
 * ReferenceError where Float16Array does not exist (Node < 22). There the values are built as
 * the float64 sum of three float32 parts: each part holds the next 24 bits of the 53-bit
 * mantissa, so the sum is exact (for magnitudes inside float32's normal range).
 */
function float64Array(values: Float64Array, shape: number[]): JaxArray {
  let rest = values;
  let sum: JaxArray | undefined;
  for (let k = 0; k < 3; k++) {
    const part = Float32Array.from(rest);
    rest = rest.map((v, i) => v - part[i]!);
    const a = np.array(part, { shape }).astype('float64' as JaxArray['dtype']);
    sum = sum ? sum.add(a) : a;
  }
  return sum!;
}

/** Host copies of a params pytree's arrays by path (the arrays stay valid). */
export function paramsToTensors(params: unknown): Map<string, Tensor> {
  return new Map(requireArrayLeaves(params, '`params`').map(({ path, leaf }) => [path, readArray(leaf, `param '${path}'`)]));
}

/** The weights as a safetensors file keyed by pytree path. */
export function exportSafetensors(weights: Weights, metadata?: Record<string, string>): Uint8Array {
  return writeSafetensors(weightMap(weights), { format: 'pockengine-jax', ...metadata });
}

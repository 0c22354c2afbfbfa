/**
 * Reference models and tensors of ../shared/models (see its README): loading, and the
 * comparison rule of the README applied exactly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors, size, type Tensor } from '@pockengine/core';

/** ../shared/models, resolved from the repository root. */
export const MODELS = fileURLToPath(new URL('../../../../shared/models/', import.meta.url));
export const haveModels = existsSync(`${MODELS}index.json`);

export interface RefFile {
  tensors: Map<string, Tensor>;
  meta: Record<string, string>;
  fp32: Record<string, number>;
  gradMaxAbs: number;
  sparse: string[];
  /** The graph inputs: `input.<name>` tensors, by ONNX input name. */
  inputs: Record<string, Tensor>;
}

export function loadRef(file: string): RefFile {
  const { tensors, metadata } = readSafetensors(new Uint8Array(readFileSync(MODELS + file)));
  const inputs: Record<string, Tensor> = {};
  for (const [k, t] of tensors) if (k.startsWith('input.')) inputs[k.slice('input.'.length)] = t;
  return {
    tensors,
    meta: metadata,
    fp32: JSON.parse(metadata.fp32_rel_err ?? '{}') as Record<string, number>,
    gradMaxAbs: Number(metadata.grad_max_abs),
    sparse: JSON.parse(metadata.sparse_example ?? '[]') as string[],
    inputs,
  };
}

export function modelBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(MODELS + file));
}

function toF64(t: Tensor): Float64Array {
  const d = t.data;
  return d instanceof BigInt64Array ? Float64Array.from(d, Number) : Float64Array.from(d as ArrayLike<number>);
}

export interface Comparison {
  name: string;
  pass: boolean;
  /** ||g - ref|| / (rtol * ||ref|| + floor): passes at <= 1. */
  ratio: number;
  relErr: number;
}

/**
 * The README's rule: pass if ||g - ref||_2 <= rtol * ||ref||_2 + atol_floor with
 * rtol = max(1e-4, 4 * fp32_rel_err[name]) and atol_floor = 1e-6 * grad_max_abs * sqrt(numel(ref)).
 */
export function compare(name: string, got: Tensor | undefined, ref: RefFile, rtolOverride?: number): Comparison {
  const r = ref.tensors.get(name)!;
  if (!got || got.shape.join() !== r.shape.join()) return { name: `${name} (shape [${got?.shape}] vs [${r.shape}])`, pass: false, ratio: Infinity, relErr: Infinity };
  const g = toF64(got);
  const e = toF64(r);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < e.length; i++) {
    diff += (g[i]! - e[i]!) ** 2;
    norm += e[i]! ** 2;
  }
  diff = Math.sqrt(diff);
  norm = Math.sqrt(norm);
  const rtol = rtolOverride ?? Math.max(1e-4, 4 * (ref.fp32[name] ?? 0));
  const floor = 1e-6 * ref.gradMaxAbs * Math.sqrt(size(r.shape));
  const bound = rtol * norm + floor;
  return { name, pass: diff <= bound && Number.isFinite(diff), ratio: diff / bound, relErr: diff / (norm || 1) };
}

/** A RefFile from a plain safetensors map (fixture references: no metadata, no fp32 error stats). */
export function refOf(tensors: Map<string, Tensor>): RefFile {
  let gradMaxAbs = 0;
  for (const [k, t] of tensors) if (k.startsWith('grad.')) for (const v of t.data as Float32Array) gradMaxAbs = Math.max(gradMaxAbs, Math.abs(v));
  return { tensors, meta: {}, fp32: {}, gradMaxAbs, sparse: [], inputs: {} };
}

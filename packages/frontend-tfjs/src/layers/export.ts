/**
 * Export back to TF.js: the original model.json's topology with a new weights manifest and one
 * float32 shard holding the updated weights, readable by `tf.loadLayersModel`. Because params
 * keep their TF.js names and layouts (see layout.ts), this is a copy by name.
 */
import { PockError, fmtShape, shapeEq, type Tensor } from '@pockengine/core';
import type { TfjsModelJson, WeightsSource } from '../types.js';
import { encodeWeights, resolveWeights, weightSpecsOf } from '../weights.js';

export interface ExportOptions {
  /** Weights for names missing from `updatedWeights` (e.g. the original shards). */
  baseWeights?: WeightsSource;
  /** Shard file name written into the manifest. Default 'group1-shard1of1.bin'. */
  shardName?: string;
}

export interface ExportedLayersModel {
  /** model.json contents (format 'layers-model', weightsManifest pointing at the one shard). */
  modelJson: TfjsModelJson;
  /** The shard's bytes. */
  weightData: ArrayBuffer;
}

/**
 * Writes `updatedWeights` (by TF.js weight name, e.g. from `Program.weights()`) in the order and
 * shapes of the original manifest. Every weight of the manifest must be given (in `updatedWeights`
 * or `baseWeights`); quantized weights are written back as float32.
 */
export function exportLayersModel(modelJson: TfjsModelJson, updatedWeights: ReadonlyMap<string, Tensor>, opts: ExportOptions = {}): ExportedLayersModel {
  const specs = weightSpecsOf(modelJson);
  const base = opts.baseWeights === undefined ? undefined : resolveWeights(modelJson, opts.baseWeights);
  const missing: string[] = [];
  const entries: { name: string; tensor: Tensor }[] = [];
  for (const s of specs) {
    const t = updatedWeights.get(s.name) ?? base?.get(s.name);
    if (!t) {
      missing.push(s.name);
      continue;
    }
    if (!shapeEq(t.shape, s.shape))
      throw new PockError('shape', `weight '${s.name}' has shape ${fmtShape(t.shape)}, model.json declares ${fmtShape(s.shape)}`, { param: s.name });
    entries.push({ name: s.name, tensor: t });
  }
  if (missing.length)
    throw new PockError('input', `no value for ${missing.length} weight(s) of model.json: ${missing.join(', ')}; pass them in updatedWeights or opts.baseWeights`);
  const { manifest, weightData } = encodeWeights(entries, opts.shardName);
  const { weightSpecs: _s, weightData: _d, ...rest } = modelJson;
  return {
    modelJson: { ...rest, format: 'layers-model', generatedBy: 'PockEngine-JS', convertedBy: null, weightsManifest: manifest },
    weightData,
  };
}

/**
 * One entry point for any TF.js model: detects a layers model (model.json or tf.LayersModel
 * object) or a graph model (tfjs-converter GraphDef) and imports it.
 */
import { PockError } from '@pockengine/core';
import { importGraphModel } from './graph/import.js';
import { importLayersModel, importLayersModelObject } from './layers/import.js';
import type { LayersModelLike } from './layers/topology.js';
import type { ShardLoader, TfjsImportOptions, TfjsImportResult, TfjsModelJson, WeightsSource } from './types.js';
import { loadWeightData } from './weights.js';

/** 'layers' or 'graph', from `format`, else from the topology's shape (old files have no format). */
export function detectModelKind(modelJson: TfjsModelJson): 'layers' | 'graph' {
  if (modelJson.format === 'graph-model') return 'graph';
  if (modelJson.format === 'layers-model') return 'layers';
  const top = modelJson.modelTopology as Record<string, unknown> | null;
  if (top && Array.isArray(top.node)) return 'graph';
  if (top && (typeof top.class_name === 'string' || 'model_config' in top)) return 'layers';
  throw new PockError('import', 'cannot tell the model kind: model.json has neither a GraphDef (node list) nor a Keras topology (class_name)');
}

const isModelObject = (m: unknown): m is LayersModelLike =>
  typeof m === 'object' && m !== null && typeof (m as LayersModelLike).getClassName === 'function';

/**
 * Imports a model.json (or ModelArtifacts) with its weights, or a tf.LayersModel object
 * (`weights` is then ignored: the object's current weights are read).
 */
export function importTfjsModel(model: TfjsModelJson | LayersModelLike, weights?: WeightsSource, opts: TfjsImportOptions = {}): TfjsImportResult {
  if (isModelObject(model)) return importLayersModelObject(model, opts);
  return detectModelKind(model) === 'graph' ? importGraphModel(model, weights, opts) : importLayersModel(model, weights, opts);
}

/** Fetches the weight shards through `load` (e.g. `(p) => fetch(base + p).then((r) => r.arrayBuffer())`), then imports. */
export async function importTfjsModelFrom(modelJson: TfjsModelJson, load: ShardLoader, opts: TfjsImportOptions = {}): Promise<TfjsImportResult> {
  return importTfjsModel(modelJson, await loadWeightData(modelJson, load), opts);
}

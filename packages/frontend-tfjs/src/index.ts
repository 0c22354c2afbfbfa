/**
 * @pockengine/frontend-tfjs: TF.js LayersModel and GraphModel into the PockEngine IR, and
 * updated weights back into a TF.js model. Browser-safe (no Node APIs; see ./node for files).
 *
 * Layout: params keep TF.js names and layouts; activations run NCHW inside conv stacks and are
 * NHWC at the graph boundary (see layout.ts). A final softmax is stripped so the graph outputs
 * 'logits' for core's fused softmax cross-entropy (see TfjsImportResult.outputIsLogitsOfSoftmax).
 */
export type { TfjsImportOptions, TfjsImportResult, TfjsModelJson, WeightSpec, WeightsManifestGroup, WeightsSource, ShardLoader } from './types.js';
export { importTfjsModel, importTfjsModelFrom, detectModelKind } from './import.js';
export { importLayersModel, importLayersModelObject } from './layers/import.js';
export type { LayersModelLike } from './layers/topology.js';
export { importGraphModel } from './graph/import.js';
export { exportLayersModel, type ExportOptions, type ExportedLayersModel } from './layers/export.js';
export { decodeWeights, loadWeightData, concatShards, encodeWeights, weightSpecsOf } from './weights.js';
export { LAYER_HANDLERS, SUPPORTED_LAYERS, SUPPORTED_ACTIVATIONS } from './layers/handlers/index.js';
export { GRAPH_OP_HANDLERS, SUPPORTED_GRAPH_OPS } from './graph/handlers/index.js';
export { SUPPORTED } from './coverage.js';
export { tfPad1d, tfPads2d } from './layout.js';

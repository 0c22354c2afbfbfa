/**
 * One normalized view of a Keras / TF.js layers topology, built either from a model.json's
 * `modelTopology` (Python-style snake_case keys, tfjs-layers `convertTsToPythonic`) or from a
 * `tf.LayersModel` object in memory (`layer.getClassName()`, `layer.getConfig()`,
 * `layer.inboundNodes`, `layer.weights`). Config keys are camelCase in both; string values keep
 * their spelling (compare them with `normName`).
 */
import { PockError, tensor, type ErrorLocation, type Tensor } from '@pockengine/core';

/** Reference to one output tensor of one call (node) of a layer. */
export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

export interface LayerSpec {
  className: string;
  name: string;
  config: Record<string, unknown>;
  /** Inputs of each call of the layer (one entry per inbound node). */
  nodes: TensorRef[][];
  /** Weight names of the layer in order, when known (in-memory models). */
  weightNames?: string[];
  /** Names of the layer's trainable weights, when known. */
  trainableWeights?: string[];
}

export interface LayersTopology {
  name: string;
  layers: Map<string, LayerSpec>;
  inputs: TensorRef[];
  outputs: TensorRef[];
}

const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Converts object keys snake_case -> camelCase, recursively (values are kept). */
export function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [camel(k), camelKeys(x)]));
}

type Json = Record<string, unknown>;

function refOf(x: unknown, where: ErrorLocation): TensorRef {
  if (!Array.isArray(x) || typeof x[0] !== 'string')
    throw new PockError('import', `inbound node entry ${JSON.stringify(x)} is not [layer, node, tensor]; only the tfjs / Keras 2 model.json format is supported (Keras 3 files: re-save with tfjs or Keras 2)`, where);
  return { layer: x[0], node: Number(x[1] ?? 0), tensor: Number(x[2] ?? 0) };
}

/** Parses a model.json `modelTopology` (class_name Sequential / Model / Functional). */
export function topologyFromJson(modelTopology: unknown, file?: string): LayersTopology {
  const where = { file };
  let top = modelTopology as Json;
  // model.json written by Keras nests the model under model_config
  if (top && typeof top === 'object' && 'model_config' in top) top = top.model_config as Json;
  if (!top || typeof top !== 'object' || typeof top.class_name !== 'string')
    throw new PockError('import', 'modelTopology has no class_name: not a layers model', where);
  const cls = top.class_name;
  const cfg = top.config as Json | Json[];
  if (cls === 'Sequential') {
    const list = (Array.isArray(cfg) ? cfg : (cfg.layers as Json[])) ?? [];
    return sequential(String((Array.isArray(cfg) ? undefined : cfg.name) ?? 'sequential'), list.map((l) => ({
      className: String(l.class_name),
      name: String((l.config as Json).name ?? l.name),
      config: camelKeys(l.config) as Json,
      nodes: [],
    })), where);
  }
  if (cls !== 'Model' && cls !== 'Functional')
    throw new PockError('import', `modelTopology class '${cls}' is not a Sequential or functional model`, where);
  const c = cfg as Json;
  const layers = new Map<string, LayerSpec>();
  for (const l of c.layers as Json[]) {
    const name = String(l.name ?? (l.config as Json).name);
    const nodes = ((l.inbound_nodes as unknown[]) ?? []).map((n) => (n as unknown[]).map((r) => refOf(r, { ...where, node: name })));
    layers.set(name, { className: String(l.class_name), name, config: camelKeys(l.config) as Json, nodes });
  }
  const refs = (x: unknown) => (x as unknown[]).map((r) => refOf(r, where));
  return { name: String(c.name ?? 'model'), layers, inputs: refs(c.input_layers), outputs: refs(c.output_layers) };
}

/** Chains a Sequential's layers, adding its InputLayer when the first layer only carries batchInputShape. */
function sequential(name: string, list: LayerSpec[], where: ErrorLocation): LayersTopology {
  if (list.length === 0) throw new PockError('import', 'Sequential model has no layers', where);
  const layers = new Map<string, LayerSpec>();
  let prev: string;
  const first = list[0]!;
  if (first.className === 'InputLayer') {
    prev = first.name;
    layers.set(first.name, first);
    list = list.slice(1);
  } else {
    const shape = first.config.batchInputShape ?? (first.config.inputShape ? [null, ...(first.config.inputShape as unknown[])] : undefined);
    if (!shape) throw new PockError('import', `the first layer '${first.name}' of the Sequential model has no batch_input_shape`, where);
    prev = `${first.name}_input`;
    layers.set(prev, { className: 'InputLayer', name: prev, config: { batchInputShape: shape, dtype: first.config.dtype ?? 'float32', name: prev }, nodes: [] });
  }
  for (const l of list) {
    layers.set(l.name, { ...l, nodes: [[{ layer: prev, node: 0, tensor: 0 }]] });
    prev = l.name;
  }
  return { name, layers, inputs: [{ layer: [...layers.keys()][0]!, node: 0, tensor: 0 }], outputs: [{ layer: prev, node: 0, tensor: 0 }] };
}

// ---- in-memory tf.LayersModel (duck-typed: this package does not depend on tfjs at run time) ----

interface VariableLike {
  originalName?: string;
  name: string;
  shape: readonly (number | null)[];
  dtype: string;
  trainable: boolean;
  read(): { dataSync(): ArrayLike<number> };
}
interface LayerLike {
  name: string;
  trainable?: boolean;
  getClassName(): string;
  getConfig(): Json;
  inboundNodes: { inboundLayers: LayerLike[]; nodeIndices: number[]; tensorIndices: number[] }[];
  weights: VariableLike[];
}
interface SymbolicTensorLike {
  sourceLayer: LayerLike;
  nodeIndex: number;
  tensorIndex: number;
}
/** The parts of a `tf.LayersModel` the importer reads. */
export interface LayersModelLike {
  name: string;
  inputs: SymbolicTensorLike[];
  outputs: SymbolicTensorLike[];
  getClassName(): string;
}

/** Walks a model object from its outputs back through inbound nodes; reads weights by original name. */
export function topologyFromModel(model: LayersModelLike): { topology: LayersTopology; weights: Map<string, Tensor> } {
  const layers = new Map<string, LayerSpec>();
  const weights = new Map<string, Tensor>();
  const visit = (l: LayerLike): void => {
    if (layers.has(l.name)) return;
    const nodes = l.inboundNodes.map((n) => n.inboundLayers.map((il, i) => ({ layer: il.name, node: n.nodeIndices[i]!, tensor: n.tensorIndices[i]! })));
    const names: string[] = [];
    const trainable: string[] = [];
    for (const w of l.weights) {
      const name = w.originalName ?? w.name;
      names.push(name);
      if (w.trainable && l.trainable !== false) trainable.push(name);
      const dtype = w.dtype === 'int32' ? 'int32' : 'float32';
      // copy: dataSync may hand out the variable's own storage
      const data = w.read().dataSync();
      weights.set(name, tensor(dtype, w.shape as number[], dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data)));
    }
    const className = l.getClassName();
    layers.set(l.name, { className, name: l.name, config: { ...l.getConfig(), name: l.name }, nodes, weightNames: names, trainableWeights: trainable });
    for (const n of l.inboundNodes) n.inboundLayers.forEach(visit);
  };
  const ref = (t: SymbolicTensorLike): TensorRef => {
    visit(t.sourceLayer);
    return { layer: t.sourceLayer.name, node: t.nodeIndex, tensor: t.tensorIndex };
  };
  const outputs = model.outputs.map(ref);
  const inputs = model.inputs.map(ref);
  return { topology: { name: model.name, layers, inputs, outputs }, weights };
}

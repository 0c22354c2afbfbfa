/**
 * The main job's pretrained model: the MobileNetV2 that the npm package `nsfwjs` ships as a
 * TF.js layers model (224x224 training resolution, uint8-quantized weights, 5-class head).
 * Transfer learning replaces its head: features up to `out_relu`, then global average pooling
 * and a new dense layer; the tuned model is written back as a TF.js layers model.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GraphBuilder, PockError, rng, tensor, type Graph, type Tensor } from '@pockengine/core';
import { importTfjsModel, type TfjsModelJson } from '@pockengine/frontend-tfjs';

const require = createRequire(import.meta.url);

export const FEATURE_LAYER = 'out_relu';
export const HEAD = 'digits_head';
export const POOL = 'digits_pool';

export function loadNsfwjsMobileNetV2(): { modelJson: TfjsModelJson; weights: ArrayBuffer } {
  let dir: string;
  try {
    dir = join(dirname(require.resolve('nsfwjs')), '../models/mobilenet_v2'); // dist/cjs/index.js -> dist/models
  } catch {
    throw new PockError('input', "the npm package 'nsfwjs' is not installed: run npm ci at the repository root");
  }
  const modelJson = require(join(dir, 'model.min.js')) as TfjsModelJson;
  const b64 = require(join(dir, 'group1-shard1of1.min.js')) as string;
  const bytes = Buffer.from(b64, 'base64');
  return { modelJson, weights: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
}

/** The pretrained features with a new `classes`-way head (Keras layout: kernel [in, out]). */
export function withNewHead(modelJson: TfjsModelJson, weights: ArrayBuffer, batch: number, res: number, classes: number): Graph {
  const input = 'input_1';
  // import the features only: the old head (a 7x7 average pool) fits nothing but 224x224 inputs
  const imported = importTfjsModel(headless(modelJson), weights, { inputShapes: { [input]: [batch, res, res, 3] } });
  const g = imported.graph;
  const b = new GraphBuilder('mobilenet_v2_digits', { ...g, outputs: [] });
  const x = g.outputs[0]!.value; // [N, h, w, 1280]: TF.js layout at the model's boundary
  const c = b.shape(x)[3]!;
  const r = rng(42);
  const bound = Math.sqrt(6 / (c + classes)); // Glorot uniform, Keras' default
  const kernel = b.param(`${HEAD}/kernel`, tensor('float32', [c, classes], Array.from({ length: c * classes }, () => (2 * r() - 1) * bound)));
  const bias = b.param(`${HEAD}/bias`, tensor('float32', [classes]));
  const pooled = b.scoped(POOL, () => b.op1('reduce_mean', [x], { axes: [1, 2], keepdims: false }));
  b.output('logits', b.scoped(HEAD, () => b.add(b.matmul(pooled, kernel), bias)));
  return b.build();
}

type LayerConfig = { class_name: string; name?: string; config: Record<string, unknown>; inbound_nodes?: unknown };
type Topology = { model_config: { config: { layers: LayerConfig[]; output_layers: unknown } } };

/** The model.json with `extra` layers after `out_relu` in place of the original head. */
function replaceHead(modelJson: TfjsModelJson, extra: LayerConfig[], outputs: unknown, extraWeights: { name: string; shape: number[]; dtype: 'float32' }[]): TfjsModelJson {
  const topo = modelJson.modelTopology as Topology;
  const cfg = structuredClone(topo.model_config.config);
  const at = cfg.layers.findIndex((l) => (l.name ?? l.config.name) === FEATURE_LAYER);
  if (at < 0) throw new PockError('import', `layer '${FEATURE_LAYER}' not found in the pretrained model`);
  const removed = new Set(cfg.layers.slice(at + 1).map((l) => (l.name ?? l.config.name) as string));
  cfg.layers = [...cfg.layers.slice(0, at + 1), ...extra];
  cfg.output_layers = outputs;
  // the manifest describes the shard's bytes: keep it whole for reading; a written model lists its own weights
  const manifest = extraWeights.length
    ? (modelJson.weightsManifest ?? []).map((group) => ({ ...group, weights: [...group.weights.filter((w) => !removed.has(w.name.split('/')[0]!)), ...extraWeights] }))
    : modelJson.weightsManifest;
  return { ...modelJson, modelTopology: { ...(modelJson.modelTopology as object), model_config: { ...topo.model_config, config: cfg } }, weightsManifest: manifest } as TfjsModelJson;
}

/** The features of the pretrained model: everything up to `out_relu`. */
export function headless(modelJson: TfjsModelJson): TfjsModelJson {
  return replaceHead(modelJson, [], [[FEATURE_LAYER, 0, 0]], []);
}

/** model.json of the tuned model: the head after `out_relu` replaced by pooling + softmax dense. */
export function tunedModelJson(modelJson: TfjsModelJson, classes: number, c: number, res: number): TfjsModelJson {
  const json = replaceHead(
    modelJson,
    [
    { class_name: 'GlobalAveragePooling2D', name: POOL, config: { name: POOL, trainable: true, data_format: 'channels_last' }, inbound_nodes: [[[FEATURE_LAYER, 0, 0, {}]]] },
    {
      class_name: 'Dense',
      name: HEAD,
      config: { name: HEAD, trainable: true, units: classes, activation: 'softmax', use_bias: true, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null },
      inbound_nodes: [[[POOL, 0, 0, {}]]],
    },
    ],
    [[HEAD, 0, 0]],
    [
      { name: `${HEAD}/kernel`, shape: [c, classes], dtype: 'float32' },
      { name: `${HEAD}/bias`, shape: [classes], dtype: 'float32' },
    ],
  );
  // the tuned model takes the resolution it was tuned at (the net is fully convolutional up to the pool)
  const input = (json.modelTopology as Topology).model_config.config.layers.find((l) => l.class_name === 'InputLayer');
  if (input) input.config.batch_input_shape = [null, res, res, 3];
  return json;
}

export type { Tensor };

/**
 * The TF.js model.json format (https://www.tensorflow.org/js/guide/save_load, tfjs-core
 * io/types.ts `ModelJSON` / `ModelArtifacts`) as far as the importer reads it, and the shared
 * import options and result.
 */
import type { Graph, Tensor } from '@pockengine/core';

/** One weight of a manifest group (tfjs-core io `WeightsManifestEntry`). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  /** Present for quantized weights: uint8/uint16 use `min` and `scale`; float16 needs neither. */
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; min?: number; scale?: number; original_dtype?: string };
  group?: string;
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

/**
 * A model.json (`weightsManifest`) or the in-memory `ModelArtifacts` a save handler receives
 * (`weightSpecs` + `weightData`). `format` is 'layers-model' or 'graph-model'; older files omit
 * it, and the importer then looks at the topology.
 */
export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: unknown;
  weightsManifest?: WeightsManifestGroup[];
  weightSpecs?: WeightSpec[];
  /** ArrayBuffer, or (tfjs >= 4.11) a list of shard buffers. */
  weightData?: ArrayBuffer | ArrayBuffer[];
  signature?: unknown;
  userDefinedMetadata?: unknown;
  [key: string]: unknown;
}

/**
 * Weight data: the concatenated shards (all groups, in manifest order), the shard buffers in
 * manifest order, or already decoded tensors by weight name.
 */
export type WeightsSource = ArrayBuffer | ArrayBufferView | readonly (ArrayBuffer | ArrayBufferView)[] | ReadonlyMap<string, Tensor>;

/** Fetches one shard by its manifest path (relative to model.json). */
export type ShardLoader = (path: string) => ArrayBuffer | ArrayBufferView | Promise<ArrayBuffer | ArrayBufferView>;

export interface TfjsImportOptions {
  /** Batch size substituted for the unknown (null / -1) batch dimension of every input. Default 1. */
  batchSize?: number;
  /** Full static shapes by input name (InputLayer or Placeholder name), overriding the file's. */
  inputShapes?: Record<string, readonly number[]>;
  /**
   * 'frozen' (default): BatchNormalization uses its moving statistics (TF.js `training: false`;
   * the usual fine-tuning setting). 'train': batch statistics, as TF.js `training: true`, and the
   * graph updates the moving statistics as TF.js does (moving = m * moving + (1 - m) * batch,
   * with the biased batch variance).
   */
  batchNorm?: 'frozen' | 'train';
  /**
   * false (default): an output produced by a softmax over the last axis is replaced by the
   * softmax's input and named 'logits' (see TfjsImportResult.outputIsLogitsOfSoftmax).
   * true: keep the probabilities.
   */
  keepSoftmax?: boolean;
  /** File name used in error messages. */
  file?: string;
}

export interface TfjsImportResult {
  graph: Graph;
  kind: 'layers' | 'graph';
  /**
   * True when the (first) output was a softmax over the last axis and the graph outputs its
   * input instead, under the name 'logits'. Core's fused `softmax_cross_entropy` on these logits
   * equals Keras' categorical / sparse categorical cross-entropy on the probabilities (up to
   * Keras clipping probabilities to [eps, 1 - eps], eps = 1e-7) and is numerically stable: it
   * never takes the log of a rounded-to-zero probability.
   */
  outputIsLogitsOfSoftmax: boolean;
  /** Per graph output: its name and whether a final softmax was stripped from it. */
  outputs: { name: string; source: string; softmaxStripped: boolean }[];
  /** Names of the params TF.js would train (trainable weights of trainable layers). */
  trainable: string[];
  /** Activations at the graph boundary keep the TF.js layout (NHWC); see layout.ts. */
  layout: 'nhwc';
}

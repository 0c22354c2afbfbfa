/**
 * The benchmark's models and configurations, shared by every runner so all frameworks train the
 * same graph on the same batch with the same trainable set.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GraphBuilder,
  biasOnlyScheme,
  findBlocks,
  lastBlocksScheme,
  nn,
  randn,
  resolveScheme,
  rng,
  size,
  tensor,
  type Graph,
  type SparseScheme,
  type Tensor,
} from '@pockengine/core';
import { loadOnnxFile } from '@pockengine/frontend-onnx/node';

export const MODEL_NAMES = ['mcunet', 'mobilenet_v2', 'bert_medium', 'llama_medium', 'mcunet_tiny', 'mobilenet_v2_035', 'mlp'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
export const CONFIGS = ['full', 'sparse', 'bias-last-half', 'budget'] as const;
export type Config = (typeof CONFIGS)[number];

export interface ModelOptions {
  /** CNN input resolution. */
  res: number;
  /** CNN batch. */
  batch: number;
  /** Text models: batch and sequence length. */
  textBatch: number;
  seq: number;
}

export const DEFAULT_MODEL_OPTIONS: ModelOptions = { res: 96, batch: 8, textBatch: 4, seq: 32 };

/** The repository root (the folder holding apps/ and packages/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'apps')) || !existsSync(join(dir, 'packages'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root above apps/bench');
    dir = up;
  }
  return dir;
}

/** ../shared/models beside the repository (override with POCKENGINE_MODELS). */
export function modelsDir(): string {
  return process.env.POCKENGINE_MODELS ?? resolve(repoRoot(), '..', 'shared', 'models');
}

const isText = (m: ModelName) => m === 'bert_medium' || m === 'llama_medium';

/** Fixed input shapes of a model at the benchmark's sizes. */
export function inputShapes(m: ModelName, o: ModelOptions): Record<string, number[]> {
  if (m === 'bert_medium') return { input_ids: [o.textBatch, o.seq], attention_mask: [o.textBatch, o.seq] };
  if (m === 'llama_medium') return { tokens: [o.textBatch, o.seq] };
  if (m === 'mlp') return { x: [64, 784] };
  return { input: [o.batch, 3, o.res, o.res] };
}

/** The MLP 784-1024-1024-10 (ReLU) built with core's GraphBuilder, batch 64. */
export function mlpGraph(): Graph {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', [64, 784]);
  const h1 = nn.dense(b, x, 1024, 'fc1', { activation: 'relu', seed: 1 });
  const h2 = nn.dense(b, h1, 1024, 'fc2', { activation: 'relu', seed: 3 });
  b.output('logits', nn.dense(b, h2, 10, 'fc3', { seed: 5 }));
  return b.build();
}

/** The model as an IR graph with static shapes (ONNX import: frozen BN, dropout off). */
export function loadModel(m: ModelName, o: ModelOptions): Graph {
  if (m === 'mlp') return mlpGraph();
  return loadOnnxFile(join(modelsDir(), `${m}.onnx`), { inputShapes: inputShapes(m, o) }).graph;
}

/**
 * A deterministic batch: N(0,1) images / features, token ids below 100 (valid for every vocab),
 * masks of ones, and labels drawn from the logits' class count (shape = logits without the last dim).
 */
export function syntheticBatch(g: Graph, seed = 1234): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  const r = rng(seed);
  for (const id of g.inputs) {
    const v = g.values[id]!;
    if (v.dtype === 'float32' || v.dtype === 'float64') feeds[v.name] = randn(v.shape, seed + id, 1, v.dtype);
    else feeds[v.name] = tensor(v.dtype, v.shape, Array.from({ length: size(v.shape) }, () => (v.name.includes('mask') ? 1 : Math.floor(r() * 100))));
  }
  const logits = g.values[g.outputs[0]!.value]!.shape;
  const classes = logits.at(-1)!;
  feeds.labels = tensor('int64', logits.slice(0, -1), Array.from({ length: size(logits.slice(0, -1)) }, () => Math.floor(r() * classes)));
  return feeds;
}

/** The scheme of a fixed configuration (undefined = every parameter); 'budget' is searched (ours/budget.ts). */
export function fixedScheme(g: Graph, config: Exclude<Config, 'budget'>): SparseScheme | undefined {
  if (config === 'full') return undefined;
  if (config === 'sparse') return lastBlocksScheme(g, 2);
  const { blocks } = findBlocks(g);
  const lastHalf = blocks.slice(Math.floor(blocks.length / 2)).map((b) => b.name);
  return biasOnlyScheme(g, { blocks: lastHalf, head: true });
}

export interface Trainable {
  /** Parameter names touched by the scheme (whole tensors for frameworks without partial updates). */
  names: string[];
  /** Weights our engine updates (channel-partial updates count only their rows). */
  params: number;
  /** Weights of the touched tensors, whole. */
  wholeParams: number;
  /** Tensors updated on only some channels by our engine. */
  partial: string[];
}

export function trainableOf(g: Graph, scheme: SparseScheme | undefined): Trainable {
  const ps = g.values.filter((v) => v.role === 'param');
  if (!scheme) {
    const n = ps.reduce((s, v) => s + size(v.shape), 0);
    return { names: ps.map((v) => v.name), params: n, wholeParams: n, partial: [] };
  }
  const updates = resolveScheme(g, scheme);
  const out: Trainable = { names: [], params: 0, wholeParams: 0, partial: [] };
  for (const [id, u] of updates) {
    const v = g.values[id]!;
    out.names.push(v.name);
    out.wholeParams += size(v.shape);
    out.params += u.kind === 'full' ? size(v.shape) : (size(v.shape) / v.shape[0]!) * u.rows.length;
    if (u.kind === 'channels') out.partial.push(v.name);
  }
  return out;
}

export function configsFor(m: ModelName): readonly Config[] {
  // the MLP has no repeated blocks: only full training is meaningful
  return m === 'mlp' ? ['full'] : CONFIGS;
}

export { isText };

/**
 * Shared test helpers: TF.js (CPU backend) references, running imported graphs on the CPU
 * backend, and comparisons by relative L2 error.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients (tfjs-layers does); the GraphModel tests need them too
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Program, compileTrainingGraph, randn, rng, tensor, type Graph, type Tensor } from '@pockengine/core';
export { rng };
import { CpuBackend } from '@pockengine/backend-cpu';
import { expect } from 'vitest';
import type { TfjsModelJson } from '../src/index.js';

export { tf };

/** Relative L2 tolerance of every float32 comparison (sums run in different orders). */
export const RTOL = 1e-4;

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** ||a - b|| / max(||b||, 1e-12). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (Number(a[i]) - Number(b[i])) ** 2;
    den += Number(b[i]) ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rtol = RTOL): void {
  const e = relL2(a, b);
  if (!(e <= rtol)) throw new Error(`${what}: relative L2 error ${e.toExponential(3)} > ${rtol}`);
}

/** Deterministic weights for a TF.js model: N(0, std) everywhere, variances in [0.5, 1.5). */
export function randomizeWeights(model: tfl.LayersModel, seed: number, std = 0.3): void {
  const r = rng(seed);
  for (const w of model.weights) {
    const n = w.shape.reduce((p: number, d) => p * (d ?? 1), 1);
    const isVar = /moving_variance$/.test(w.originalName);
    const vals = isVar ? Float32Array.from({ length: n }, () => 0.5 + r()) : (randn(w.shape as number[], Math.floor(r() * 1e9), std).data as Float32Array);
    w.write(tf.tensor(vals, w.shape as number[], 'float32'));
  }
}

export function randomInput(shape: number[], seed: number, std = 1): Tensor {
  return randn(shape, seed, std);
}

export function randomLabels(n: number, classes: number, seed: number): Tensor {
  const r = rng(seed);
  return tensor('int32', [n], Int32Array.from({ length: n }, () => Math.floor(r() * classes)));
}

export const toTf = (t: Tensor) => tf.tensor(t.data as Float32Array | Int32Array, t.shape as number[], t.dtype === 'int32' ? 'int32' : 'float32');

/** model.json + weight data as tf.io.withSaveHandler receives them (no files). */
export async function saveToMemory(model: tfl.LayersModel): Promise<{ modelJson: TfjsModelJson; weightData: ArrayBuffer }> {
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      art = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const modelJson: TfjsModelJson = {
    format: art!.format,
    generatedBy: art!.generatedBy,
    convertedBy: art!.convertedBy ?? null,
    modelTopology: art!.modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: art!.weightSpecs as TfjsModelJson['weightSpecs'] & object }],
  };
  const wd = art!.weightData!;
  return { modelJson, weightData: Array.isArray(wd) ? (wd[0] as ArrayBuffer) : (wd as ArrayBuffer) };
}

/** Runs a model graph forward once on the CPU backend; `state`: params and buffers afterwards (updates applied). */
export async function forward(graph: Graph, feeds: Record<string, Tensor>): Promise<{ out: Record<string, Tensor>; state: Map<string, Tensor> }> {
  const prog = Program.create(graph, new CpuBackend());
  const out = await prog.step(feeds);
  return { out, state: await prog.weights() };
}

/** Loss and gradients (mean sparse softmax cross-entropy on output `output`) of the given params. */
export async function lossAndGrads(graph: Graph, feeds: Record<string, Tensor>, labels: Tensor, trainable: string[], output?: string) {
  const { graph: g } = compileTrainingGraph(graph, { loss: { kind: 'cross-entropy', labelDtype: 'int32', output }, trainable });
  const out = await Program.create(g, new CpuBackend()).step({ ...feeds, labels });
  const grads = new Map<string, Tensor>();
  for (const name of trainable) grads.set(name, out[`grad.${name}`]!);
  return { loss: Number(out.loss!.data[0]), grads };
}

/**
 * TF.js reference: mean sparse categorical cross-entropy and its gradient for every trainable
 * weight (by original weight name), via tf.variableGrads. `probs`: the model outputs
 * probabilities (final softmax), so the loss is -log p[label]; otherwise logits.
 */
export function tfLossAndGrads(model: tfl.LayersModel, x: Tensor | Tensor[], labels: Tensor, opts: { training: boolean; probs: boolean }) {
  const xs = (Array.isArray(x) ? x : [x]).map(toTf);
  const vars = model.trainableWeights;
  const y = toTf(labels);
  const f = () => {
    const out = model.apply(xs.length === 1 ? xs[0]! : xs, { training: opts.training }) as tf.Tensor;
    const onehot = tf.oneHot(y as tf.Tensor1D, out.shape.at(-1)!);
    const logp = opts.probs ? tf.log(out) : tf.logSoftmax(out);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1))) as tf.Scalar;
  };
  const { value, grads } = tf.variableGrads(f, vars.map((v) => v.read() as tf.Variable));
  const byName = new Map<string, Float32Array>();
  for (const v of vars) byName.set(v.originalName, grads[(v.read() as tf.Variable).name]!.dataSync() as Float32Array);
  return { loss: value.dataSync()[0]!, grads: byName };
}

export function softmaxRows(logits: ArrayLike<number>, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i += classes) {
    let m = -Infinity;
    for (let j = 0; j < classes; j++) m = Math.max(m, Number(logits[i + j]));
    let s = 0;
    for (let j = 0; j < classes; j++) s += (out[i + j] = Math.exp(Number(logits[i + j]) - m));
    for (let j = 0; j < classes; j++) out[i + j]! /= s;
  }
  return out;
}

/**
 * Central differences of `loss` around `base`, one element at a time (the reference where TF.js's
 * own gradient of an op is wrong). Leaves `loss` last called at `base`.
 */
export function centralDifferences(base: Float32Array, loss: (w: Float32Array) => number, h = 1e-2): Float32Array {
  const fd = Float32Array.from(base, (_, i) => {
    const up = base.slice();
    const dn = base.slice();
    up[i]! += h;
    dn[i]! -= h;
    return (loss(up) - loss(dn)) / (2 * h);
  });
  loss(base);
  return fd;
}

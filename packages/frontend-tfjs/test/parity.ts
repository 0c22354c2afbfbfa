/**
 * The parity check every layers-model test runs: import a TF.js model both from the object in
 * memory and from its saved model.json + weights, then compare with TF.js itself:
 * the prediction (softmax of our logits against TF.js's probabilities when the model ends in a
 * softmax), the mean sparse softmax cross-entropy and the gradient of every trainable weight.
 * Tolerance: relative L2 error <= 1e-4 (RTOL) for predictions, loss and each gradient (see the
 * floor below for gradients that are analytically zero). PARITY_LOG=1 prints the errors.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import type { Tensor } from '@pockengine/core';
import { importLayersModel, importLayersModelObject, type TfjsImportResult } from '../src/index.js';
import { RTOL, expectClose, relL2, forward, lossAndGrads, saveToMemory, softmaxRows, tf, tfLossAndGrads, toTf } from './helpers.js';

export interface ParityCase {
  model: tfl.LayersModel;
  /** Inputs by input layer name, in model.inputs order. */
  inputs: Record<string, Tensor>;
  labels: Tensor;
  /** BatchNormalization mode (TF.js training flag). Default 'frozen'. */
  batchNorm?: 'frozen' | 'train';
  rtol?: number;
  /** false: compare predictions only (TF.js cannot differentiate some configurations). */
  gradients?: boolean;
  /** Import with the inputs' full shapes (for models whose saved input shape TF.js itself altered). */
  passInputShapes?: boolean;
}

export interface ParityReport {
  viaObject: TfjsImportResult;
  viaJson: TfjsImportResult;
  loss: number;
  maxGradError: number;
}

export async function checkParity(c: ParityCase): Promise<ParityReport> {
  const batchNorm = c.batchNorm ?? 'frozen';
  const training = batchNorm === 'train';
  const batchSize = Object.values(c.inputs)[0]!.shape[0]!;
  const inputShapes = c.passInputShapes ? Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, [...t.shape]])) : undefined;
  const opts = { batchSize, batchNorm, inputShapes } as const;
  const viaObject = importLayersModelObject(c.model, opts);
  const saved = await saveToMemory(c.model);
  const viaJson = importLayersModel(saved.modelJson, saved.weightData, opts);
  expect(viaJson.outputs).toEqual(viaObject.outputs);
  expect(new Set(viaJson.trainable)).toEqual(new Set(viaObject.trainable));
  const probs = viaObject.outputIsLogitsOfSoftmax;
  const xs = Object.values(c.inputs);

  // ours first: TF.js in training mode updates the moving statistics as it runs
  const ours = [];
  for (const r of [viaObject, viaJson]) {
    const { out, state } = await forward(r.graph, c.inputs);
    const g = c.gradients === false ? { loss: NaN, grads: new Map<string, Tensor>() } : await lossAndGrads(r.graph, c.inputs, c.labels, r.trainable);
    ours.push({ r, pred: out[r.outputs[0]!.name]!, ...g, state });
  }
  const before = new Map(c.model.weights.map((w) => [w.originalName, w.read().dataSync().slice()]));
  const tfPred = (c.model.apply(xs.length === 1 ? toTf(xs[0]!) : xs.map(toTf), { training }) as tf.Tensor).dataSync();
  const movedAfterOneCall = new Map(c.model.weights.map((w) => [w.originalName, w.read().dataSync().slice()]));
  const ref = c.gradients === false ? { loss: NaN, grads: new Map<string, Float32Array>() } : tfLossAndGrads(c.model, xs, c.labels, { training, probs });
  const rtol = c.rtol;

  let maxGradError = 0;
  for (const o of ours) {
    const classes = o.pred.shape.at(-1)!;
    const pred = probs ? softmaxRows(o.pred.data as Float32Array, classes) : (o.pred.data as Float32Array);
    expectClose(pred, tfPred, `prediction (${o.r === viaObject ? 'object' : 'json'})`, rtol);
    if (c.gradients === false) continue;
    expect(Math.abs(o.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(rtol ?? RTOL);
    expect([...o.grads.keys()].sort()).toEqual([...ref.grads.keys()].sort());
    // Relative L2 per weight, the denominator floored at 1% of the model's largest gradient norm:
    // gradients that are analytically zero (a BN beta feeding only training-mode BNs) are float32 noise.
    const floor = 1e-2 * Math.max(0, ...[...ref.grads.values()].map(norm));
    for (const [name, g] of o.grads) {
      const want = ref.grads.get(name)!;
      const err = norm(diff(g.data as Float32Array, want)) / Math.max(norm(want), floor);
      if (process.env.PARITY_LOG) console.log(`  ${name}: ${err.toExponential(2)} |ours| ${norm(g.data as Float32Array)} |tf| ${norm(want)}`);
      if (!(err <= (rtol ?? RTOL))) throw new Error(`gradient of '${name}': relative L2 error ${err.toExponential(3)} > ${rtol ?? RTOL}`);
      maxGradError = Math.max(maxGradError, err);
    }
    if (training) {
      // one step of ours = one TF.js call with training = true: both move the statistics once
      for (const [name, after] of movedAfterOneCall) {
        if (!/moving_(mean|variance)$/.test(name)) continue;
        expect(relL2(after, before.get(name)!)).toBeGreaterThan(1e-3);
        expectClose(o.state.get(name)!.data as Float32Array, after, `updated '${name}'`, rtol);
      }
    }
  }
  if (process.env.PARITY_LOG) console.log(`parity: loss ${ref.loss} max grad relL2 ${maxGradError.toExponential(2)}`);
  return { viaObject, viaJson, loss: ref.loss, maxGradError };
}

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((p, v) => p + v * v, 0));
const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (v, i) => v - Number(b[i]));

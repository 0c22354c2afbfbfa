/**
 * Fast float32 batch_norm, layer_norm and their backward ops on the engine's vector primitives
 * (wasm-norm.ts), over core's batchNormDims / layerNormDims layouts: operands are used in the heap (copied in and out unless they
 * live there), as the conv kernels do. Formulas: core/ops/norm.ts and the reference kernels.
 */
import { batchNormDims, layerNormDims, type BatchNormAttrs, type LayerNormAttrs } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { layerNormGradScratch, load, place, store, type Engine, type VectorOps } from './engine.js';

/** inputs x, scale, bias, runMean, runVar; outputs y, and in training mode the batch mean and biased variance. */
export function batchNormForward(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: BatchNormAttrs): void {
  const [x, scale, bias, runMean, runVar] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor];
  const d = batchNormDims(x.shape);
  e.reset();
  const xp = load(e, x);
  const sp = load(e, scale);
  const bp = load(e, bias);
  const mp = a.training ? place(e, outputs[1]!) : load(e, runMean);
  const vp = a.training ? place(e, outputs[2]!) : load(e, runVar);
  const yp = place(e, outputs[0]!);
  v.batchNorm({ ...d, x: xp, y: yp, scale: sp, bias: bp, mean: mp, variance: vp, epsilon: a.epsilon, training: a.training, activation: a.activation ?? 'none' });
  store(e, yp, outputs[0]!);
  if (a.training) {
    store(e, mp, outputs[1]!);
    store(e, vp, outputs[2]!);
  }
}

/** inputs x, scale, mean, variance (the statistics the forward used), dy; outputs dx, dscale, dbias. */
export function batchNormGrad(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: BatchNormAttrs): void {
  const [x, scale, mean, variance, dy] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor];
  const [dx, dscale, dbias] = outputs as [CpuTensor, CpuTensor, CpuTensor];
  const d = batchNormDims(x.shape);
  e.reset();
  const call = {
    ...d,
    x: load(e, x),
    scale: load(e, scale),
    mean: load(e, mean),
    variance: load(e, variance),
    dy: load(e, dy),
    dx: place(e, dx),
    dscale: place(e, dscale),
    dbias: place(e, dbias),
    epsilon: a.epsilon,
    training: a.training,
  };
  v.batchNormGrad(call);
  store(e, call.dx, dx);
  store(e, call.dscale, dscale);
  store(e, call.dbias, dbias);
}

/** inputs x, scale, optional bias; outputs y, mean, invStd (rows of core's layerNormDims). */
export function layerNormForward(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: LayerNormAttrs): void {
  const [x, scale, bias] = inputs as [CpuTensor, CpuTensor, CpuTensor | undefined];
  const [y, mean, invStd] = outputs as [CpuTensor, CpuTensor, CpuTensor];
  const { rows, d } = layerNormDims(x.shape, a.axis);
  e.reset();
  const call = {
    rows, d,
    x: load(e, x),
    scale: load(e, scale),
    bias: bias ? load(e, bias) : -1,
    y: place(e, y),
    mean: place(e, mean),
    invStd: place(e, invStd),
    epsilon: a.epsilon,
  };
  v.layerNorm(call);
  store(e, call.y, y);
  store(e, call.mean, mean);
  store(e, call.invStd, invStd);
}

/** inputs x, scale, mean, invStd (the forward's), dy; outputs dx, dscale, dbias. */
export function layerNormGrad(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: LayerNormAttrs): void {
  const [x, scale, mean, invStd, dy] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor];
  const [dx, dscale, dbias] = outputs as [CpuTensor, CpuTensor, CpuTensor];
  const { rows, d } = layerNormDims(x.shape, a.axis);
  e.reset();
  const call = {
    rows, d,
    x: load(e, x),
    scale: load(e, scale),
    mean: load(e, mean),
    invStd: load(e, invStd),
    dy: load(e, dy),
    dx: place(e, dx),
    dscale: place(e, dscale),
    dbias: place(e, dbias),
    scratch: e.alloc(layerNormGradScratch(e.threads, d)),
  };
  v.layerNormGrad(call);
  store(e, call.dx, dx);
  store(e, call.dscale, dscale);
  store(e, call.dbias, dbias);
}

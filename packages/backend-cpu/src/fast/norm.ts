/**
 * Fast float32 batch_norm and batch_norm_grad on the engine's vector primitives (wasm-norm.ts),
 * over core's batchNormDims layout: operands are copied into the heap, normalized there and
 * copied out, as the conv kernels do. Formulas: core/ops/norm.ts and the reference kernels.
 */
import { batchNormDims, type BatchNormAttrs } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { get, put, type Engine, type VectorOps } from './engine.js';

/** inputs x, scale, bias, runMean, runVar; outputs y, and in training mode the batch mean and biased variance. */
export function batchNormForward(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: BatchNormAttrs): void {
  const [x, scale, bias, runMean, runVar] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor];
  const d = batchNormDims(x.shape);
  e.reset();
  const xp = put(e, x.data);
  const sp = put(e, scale.data);
  const bp = put(e, bias.data);
  const mp = a.training ? e.alloc(d.channels) : put(e, runMean.data);
  const vp = a.training ? e.alloc(d.channels) : put(e, runVar.data);
  const yp = e.alloc(x.data.length);
  v.batchNorm({ ...d, x: xp, y: yp, scale: sp, bias: bp, mean: mp, variance: vp, epsilon: a.epsilon, training: a.training, activation: a.activation ?? 'none' });
  get(e, yp, outputs[0]!.data as Float32Array);
  if (a.training) {
    get(e, mp, outputs[1]!.data as Float32Array);
    get(e, vp, outputs[2]!.data as Float32Array);
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
    x: put(e, x.data),
    scale: put(e, scale.data),
    mean: put(e, mean.data),
    variance: put(e, variance.data),
    dy: put(e, dy.data),
    dx: e.alloc(dx.data.length),
    dscale: e.alloc(d.channels),
    dbias: e.alloc(d.channels),
    epsilon: a.epsilon,
    training: a.training,
  };
  v.batchNormGrad(call);
  get(e, call.dx, dx.data as Float32Array);
  get(e, call.dscale, dscale.data as Float32Array);
  get(e, call.dbias, dbias.data as Float32Array);
}

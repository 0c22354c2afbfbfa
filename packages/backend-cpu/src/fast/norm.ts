/**
 * Fast float32 batch_norm, layer_norm and their backward ops on the engine's vector primitives
 * (wasm-norm.ts), over core's batchNormDims / layerNormDims layouts: operands are used in the
 * heap (copied in and out unless they live there), as the conv kernels do. Formulas:
 * core/ops/norm.ts and the reference kernels.
 */
import { batchNormDims, layerNormDims, type BatchNormAttrs, type LayerNormAttrs } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { layerNormGradScratch, load, place, store, type Engine, type VectorOps } from './engine.js';

/**
 * Heap offsets of the named inputs (loaded) and results (placed), after e.reset(), and a
 * function that delivers the results into their tensors once the kernel has run.
 */
function onHeap<I extends string, O extends string>(e: Engine, inputs: Record<I, CpuTensor>, results: Record<O, CpuTensor>): [Record<I | O, number>, () => void] {
  e.reset();
  const at = {} as Record<I | O, number>;
  for (const k in inputs) at[k] = load(e, inputs[k]);
  for (const k in results) at[k] = place(e, results[k]);
  return [at, () => Object.keys(results).forEach((k) => store(e, at[k as O], results[k as O]))];
}

/** inputs x, scale, bias, runMean, runVar; outputs y, and in training mode the batch mean and biased variance. */
export function batchNormForward(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: BatchNormAttrs): void {
  const [x, scale, bias, runMean, runVar] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor];
  const [y, mean, variance] = outputs as [CpuTensor, CpuTensor | undefined, CpuTensor | undefined];
  // training mode writes the batch statistics; eval mode reads the running ones
  const [at, deliver] = a.training
    ? onHeap(e, { x, scale, bias }, { y, mean: mean!, variance: variance! })
    : onHeap(e, { x, scale, bias, mean: runMean, variance: runVar }, { y });
  v.batchNorm({ ...batchNormDims(x.shape), ...at, epsilon: a.epsilon, training: a.training, activation: a.activation ?? 'none' });
  deliver();
}

/** inputs x, scale, mean, variance (the statistics the forward used), dy; outputs dx, dscale, dbias. */
export function batchNormGrad(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: BatchNormAttrs): void {
  const [x, scale, mean, variance, dy] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor];
  const [dx, dscale, dbias] = outputs as [CpuTensor, CpuTensor, CpuTensor];
  const [at, deliver] = onHeap(e, { x, scale, mean, variance, dy }, { dx, dscale, dbias });
  v.batchNormGrad({ ...batchNormDims(x.shape), ...at, epsilon: a.epsilon, training: a.training });
  deliver();
}

/** inputs x, scale, optional bias; outputs y, mean, invStd (rows of core's layerNormDims). */
export function layerNormForward(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: LayerNormAttrs): void {
  const [x, scale, bias] = inputs as [CpuTensor, CpuTensor, CpuTensor | undefined];
  const [y, mean, invStd] = outputs as [CpuTensor, CpuTensor, CpuTensor];
  const [at, deliver] = onHeap(e, { x, scale }, { y, mean, invStd });
  v.layerNorm({ ...layerNormDims(x.shape, a.axis), ...at, bias: bias ? load(e, bias) : -1, epsilon: a.epsilon });
  deliver();
}

/** inputs x, scale, mean, invStd (the forward's), dy; outputs dx, dscale, dbias. */
export function layerNormGrad(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: LayerNormAttrs): void {
  const [x, scale, mean, invStd, dy] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor];
  const [dx, dscale, dbias] = outputs as [CpuTensor, CpuTensor, CpuTensor];
  const dims = layerNormDims(x.shape, a.axis);
  const [at, deliver] = onHeap(e, { x, scale, mean, invStd, dy }, { dx, dscale, dbias });
  v.layerNormGrad({ ...dims, ...at, scratch: e.alloc(layerNormGradScratch(e.threads, dims.d)) });
  deliver();
}

/**
 * Normalization gradient cases. batch_norm in eval mode (given statistics, variance kept positive)
 * and in training mode (batch statistics; batch > 1 and non-degenerate variance), over rank 2, 3
 * and 4 inputs; layer_norm over the last 1, last 2 and all-but-first axes, with and without bias.
 * The harness weights every float output, so the cotangents of batch_norm's batch statistics and
 * of layer_norm's mean / invStd outputs are non-null here and their vjp terms are checked too.
 * batch_norm's mean/var inputs are not differentiable (wrt excludes them).
 */
import type { ForwardCases, GradCase, GradCases } from '../harness.js';

/** x, then scale and bias near 1 and 0, then running mean and a positive running variance. */
const bnInputs = (x: number[]) => {
  const c = [x[1]!];
  return [{ shape: x, low: -2, high: 2 }, { shape: c, low: 0.5, high: 1.5 }, { shape: c }, { shape: c, low: -0.5, high: 0.5 }, { shape: c, low: 0.5, high: 1.5 }];
};

const batchNormCases: GradCase<'batch_norm'>[] = [
  { label: 'eval NCHW', inputs: bnInputs([2, 3, 2, 2]), attrs: { epsilon: 1e-5, training: false }, wrt: [0, 1, 2] },
  { label: 'eval rank 2', inputs: bnInputs([4, 3]), attrs: { epsilon: 1e-3, training: false }, wrt: [0, 1, 2] },
  { label: 'training NCHW', inputs: bnInputs([3, 2, 2, 2]), attrs: { epsilon: 1e-5, training: true }, wrt: [0, 1, 2] },
  { label: 'training rank 2', inputs: bnInputs([5, 3]), attrs: { epsilon: 1e-3, training: true }, wrt: [0, 1, 2] },
  { label: 'training rank 3', inputs: bnInputs([2, 2, 3]), attrs: { epsilon: 1e-5, training: true }, wrt: [0, 1, 2] },
];

const layerNormCases: GradCase<'layer_norm'>[] = [
  { label: 'last axis', inputs: [{ shape: [3, 4], low: -2, high: 2 }, { shape: [4], low: 0.5, high: 1.5 }, { shape: [4] }], attrs: { axis: -1, epsilon: 1e-5 } },
  { label: 'last 2 axes', inputs: [{ shape: [2, 3, 4], low: -2, high: 2 }, { shape: [3, 4], low: 0.5, high: 1.5 }, { shape: [3, 4] }], attrs: { axis: -2, epsilon: 1e-5 } },
  { label: 'axis 1 of rank 3, no bias', inputs: [{ shape: [2, 3, 2], low: -2, high: 2 }, { shape: [3, 2], low: 0.5, high: 1.5 }], attrs: { axis: 1, epsilon: 1e-3 } },
  { label: 'only x', inputs: [{ shape: [2, 5], low: -2, high: 2 }, { shape: [5], low: 0.5, high: 1.5 }, { shape: [5] }], attrs: { axis: 1, epsilon: 1e-5 }, wrt: [0] },
];

export const normGrad: GradCases = { batch_norm: batchNormCases, layer_norm: layerNormCases };
export const normForward: ForwardCases = {};

/** Gradient checks of softmax cross-entropy; labels are fixed integer inputs. */
import type { ForwardCases, GradCases } from '../harness.js';

export const lossGrad: GradCases = {
  softmax_cross_entropy: [
    {
      label: '[4,5] mean int64',
      inputs: [{ shape: [4, 5], low: -2, high: 2 }, { shape: [4], dtype: 'int64', values: [0, 3, 4, 1] }],
      attrs: { reduction: 'mean', ignoreIndex: null },
    },
    {
      label: '[2,3,5] mean',
      inputs: [{ shape: [2, 3, 5], low: -3, high: 3 }, { shape: [2, 3], dtype: 'int64', values: [4, 0, 2, 1, 1, 3] }],
      attrs: { reduction: 'mean', ignoreIndex: null },
    },
    {
      label: '[3,4] sum int32',
      inputs: [{ shape: [3, 4], low: -2, high: 2 }, { shape: [3], dtype: 'int32', values: [2, 0, 3] }],
      attrs: { reduction: 'sum', ignoreIndex: null },
    },
    {
      label: '[2,3,5] ignoreIndex -100 mean',
      inputs: [{ shape: [2, 3, 5], low: -2, high: 2 }, { shape: [2, 3], dtype: 'int64', values: [1, -100, 4, -100, 0, 2] }],
      attrs: { reduction: 'mean', ignoreIndex: -100 },
    },
    {
      label: 'ignoreIndex inside [0,C) sum',
      inputs: [{ shape: [4, 3], low: -2, high: 2 }, { shape: [4], dtype: 'int64', values: [0, 2, 0, 1] }],
      attrs: { reduction: 'sum', ignoreIndex: 0 },
    },
    {
      label: 'large logits',
      inputs: [{ shape: [2, 4], values: [500, 501, 499, 502, -800, -801, -799, -800.5] }, { shape: [2], dtype: 'int64', values: [1, 2] }],
      attrs: { reduction: 'mean', ignoreIndex: null },
    },
  ],
};

export const lossForward: ForwardCases = {};

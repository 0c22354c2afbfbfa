/**
 * Reduction and softmax gradient cases: keepdims on and off, negative and repeated-free axis
 * lists, all axes; reduce_max on distinct random values (no ties); argmax forward values.
 */
import type { ForwardCases, GradCase, GradCases } from '../harness.js';

const reduceCases = <K extends 'reduce_sum' | 'reduce_mean' | 'reduce_max'>(): GradCase<K>[] => [
  { label: 'axis 1', inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [1], keepdims: false } },
  { label: 'axis 1 keepdims', inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [1], keepdims: true } },
  { label: 'axes [-1, 0]', inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [-1, 0], keepdims: false } },
  { label: 'axes [0, -1] keepdims', inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [0, -1], keepdims: true } },
  { label: 'all axes to a scalar', inputs: [{ shape: [3, 4] }], attrs: { axes: [0, 1], keepdims: false } },
  { label: 'no axes (identity)', inputs: [{ shape: [3, 4] }], attrs: { axes: [], keepdims: false } },
];

const softmaxCases = <K extends 'softmax' | 'log_softmax'>(): GradCase<K>[] => [
  { label: 'axis -1', inputs: [{ shape: [3, 5], low: -2, high: 2 }], attrs: { axis: -1 } },
  { label: 'axis 0', inputs: [{ shape: [4, 3], low: -2, high: 2 }], attrs: { axis: 0 } },
  { label: 'middle axis of rank 3', inputs: [{ shape: [2, 4, 3], low: -2, high: 2 }], attrs: { axis: 1 } },
];

export const reduceGrad: GradCases = {
  reduce_sum: reduceCases(),
  reduce_mean: reduceCases(),
  // uniform random values: ties have probability 0, so the max is unique in each group
  reduce_max: reduceCases(),
  softmax: softmaxCases(),
  log_softmax: softmaxCases(),
};

export const reduceForward: ForwardCases = {
  argmax: [
    {
      label: 'axis -1, first of tied maxima',
      inputs: [{ shape: [2, 4], values: [1, 7, 7, 3, -5, -1, -2, -9] }],
      attrs: { axis: -1, keepdims: false },
      expected: [[1, 1]],
    },
    {
      label: 'axis 0 keepdims',
      inputs: [{ shape: [3, 2], values: [0, 5, 4, 1, 2, 6] }],
      attrs: { axis: 0, keepdims: true },
      expected: [[1, 2]],
    },
    {
      label: 'middle axis of rank 3',
      inputs: [{ shape: [2, 3, 2], values: [1, 9, 8, 2, 3, 4, 5, 0, 1, 6, 7, 2] }],
      attrs: { axis: 1, keepdims: false },
      expected: [[1, 0, 2, 1]],
    },
  ],
};

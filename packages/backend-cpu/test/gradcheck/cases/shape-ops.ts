/**
 * Data-movement gradient cases: reshape with -1, transposes, concat of 3 inputs, split, slices
 * with steps 2 and -1 and clamped bounds, slice_grad on its own, pad, expand, gather along two
 * axes with fixed int64 indices (negative and repeated), scatter_add with repeated indices.
 */
import { sliceParams, type SliceAttrs } from '@pockengine/core';
import type { ForwardCases, GradCase, GradCases } from '../harness.js';

const sliceCase = (label: string, shape: number[], attrs: SliceAttrs): GradCase<'slice'> => ({ label, inputs: [{ shape }], attrs });

const slices: GradCase<'slice'>[] = [
  sliceCase('steps 2 on two axes', [5, 6], { starts: [0, 1], ends: [5, 6], axes: [0, 1], steps: [2, 2] }),
  sliceCase('step -1 reverses, ends clamp', [3, 4], { starts: [-1], ends: [-100], axes: [1], steps: [-1] }),
  sliceCase('step -2 from the end, negative axis', [2, 7], { starts: [5], ends: [0], axes: [-1], steps: [-2] }),
  sliceCase('plain range, ends past the size', [4, 3, 2], { starts: [1, 1], ends: [1000, 3], axes: [0, 1], steps: [1, 1] }),
];

/** slice_grad checked directly: its input is a slice-shaped gradient. */
const sliceGrads: GradCase<'slice_grad'>[] = [
  { shape: [5, 6], attrs: slices[0]!.attrs },
  { shape: [3, 4], attrs: slices[1]!.attrs },
  { shape: [2, 7], attrs: slices[2]!.attrs },
].map(({ shape, attrs }, k) => ({
  label: slices[k]!.label,
  inputs: [{ shape: sliceParams(shape, attrs).shape }],
  attrs: { ...attrs, inputShape: shape },
}));

export const shapeOpsGrad: GradCases = {
  reshape: [
    { label: '-1 last', inputs: [{ shape: [2, 3, 4] }], attrs: { shape: [4, -1] } },
    { label: '-1 middle, new unit axis', inputs: [{ shape: [6, 2] }], attrs: { shape: [3, -1, 1] } },
  ],
  transpose: [
    { label: '2-D', inputs: [{ shape: [3, 4] }], attrs: { perm: [1, 0] } },
    { label: 'rank 3 rotation', inputs: [{ shape: [2, 3, 4] }], attrs: { perm: [2, 0, 1] } },
    { label: 'rank 4 NCHW -> NHWC', inputs: [{ shape: [2, 3, 2, 2] }], attrs: { perm: [0, 2, 3, 1] } },
  ],
  concat: [
    { label: '3 inputs, axis 1', inputs: [{ shape: [2, 1, 3] }, { shape: [2, 2, 3] }, { shape: [2, 3, 3] }], attrs: { axis: 1 } },
    { label: '3 inputs, axis -1', inputs: [{ shape: [3, 2] }, { shape: [3, 1] }, { shape: [3, 4] }], attrs: { axis: -1 } },
    { label: 'axis 0', inputs: [{ shape: [1, 4] }, { shape: [2, 4] }, { shape: [3, 4] }], attrs: { axis: 0 } },
  ],
  split: [
    { label: 'axis 1 into 3', inputs: [{ shape: [2, 4, 3] }], attrs: { axis: 1, sizes: [1, 2, 1] } },
    { label: 'axis -1 into 2', inputs: [{ shape: [3, 5] }], attrs: { axis: -1, sizes: [3, 2] } },
  ],
  slice: slices,
  slice_grad: sliceGrads,
  pad: [
    { label: '2-D, uneven', inputs: [{ shape: [2, 3] }], attrs: { pads: [1, 0, 2, 1], value: 0.5 } },
    { label: 'NCHW spatial', inputs: [{ shape: [1, 2, 3, 3] }], attrs: { pads: [0, 0, 1, 2, 0, 0, 1, 0], value: 0 } },
  ],
  expand: [
    { label: 'size-1 axis and new leading axis', inputs: [{ shape: [3, 1] }], attrs: { shape: [2, 3, 4] } },
    { label: 'target of lower rank', inputs: [{ shape: [2, 1, 4] }], attrs: { shape: [3, 1] } },
    { label: 'vector to matrix', inputs: [{ shape: [4] }], attrs: { shape: [3, 4] } },
  ],
  gather: [
    {
      label: 'axis 0, negative and repeated indices',
      inputs: [{ shape: [5, 3] }, { shape: [4], dtype: 'int64', values: [0, -1, 2, 0] }],
      attrs: { axis: 0 },
    },
    {
      label: 'axis 1, 2-D indices',
      inputs: [{ shape: [2, 4, 3] }, { shape: [2, 2], dtype: 'int64', values: [3, -4, 1, 1] }],
      attrs: { axis: 1 },
    },
    {
      label: 'axis -1, int32 indices',
      inputs: [{ shape: [3, 4] }, { shape: [3], dtype: 'int32', values: [2, 2, -3] }],
      attrs: { axis: -1 },
    },
  ],
  scatter_add: [
    {
      label: 'axis 0, repeated indices',
      inputs: [{ shape: [4], dtype: 'int64', values: [1, 3, 1, -1] }, { shape: [4, 3] }],
      attrs: { axis: 0, shape: [5, 3] },
    },
    {
      label: 'axis 1',
      inputs: [{ shape: [3], dtype: 'int64', values: [0, 2, 0] }, { shape: [2, 3, 2] }],
      attrs: { axis: 1, shape: [2, 4, 2] },
    },
  ],
};

export const shapeOpsForward: ForwardCases = {};

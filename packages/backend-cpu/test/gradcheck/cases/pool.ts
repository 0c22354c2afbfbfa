/**
 * Pooling gradient cases: non-overlapping and overlapping windows, symmetric and asymmetric pads,
 * dilation, ceil mode (including windows that overhang the end padding), and count_include_pad on
 * and off. Inputs are uniform random, so the maximum of each window is unique (no ties).
 */
import type { AvgPoolAttrs, MaxPoolAttrs } from '@pockengine/core';
import type { ForwardCases, GradCase, GradCases } from '../harness.js';

const maxAttrs = (a: Partial<MaxPoolAttrs>): MaxPoolAttrs => ({
  kernel: [2, 2],
  strides: [2, 2],
  pads: [0, 0, 0, 0],
  dilations: [1, 1],
  ceilMode: false,
  ...a,
});
const avgAttrs = (a: Partial<AvgPoolAttrs>): AvgPoolAttrs => ({
  kernel: [2, 2],
  strides: [2, 2],
  pads: [0, 0, 0, 0],
  ceilMode: false,
  countIncludePad: false,
  ...a,
});

const maxCases: GradCase<'max_pool2d'>[] = [
  { label: '2x2 stride 2', inputs: [{ shape: [1, 2, 4, 4] }], attrs: maxAttrs({}) },
  { label: '3x3 stride 1 (overlapping)', inputs: [{ shape: [2, 1, 4, 5] }], attrs: maxAttrs({ kernel: [3, 3], strides: [1, 1] }) },
  { label: '3x3 stride 2 pads 1', inputs: [{ shape: [1, 2, 5, 5] }], attrs: maxAttrs({ kernel: [3, 3], pads: [1, 1, 1, 1] }) },
  { label: 'asymmetric pads', inputs: [{ shape: [1, 2, 5, 4] }], attrs: maxAttrs({ kernel: [3, 2], strides: [2, 1], pads: [0, 1, 2, 0] }) },
  { label: 'dilation 2', inputs: [{ shape: [1, 2, 5, 6] }], attrs: maxAttrs({ strides: [1, 2], dilations: [2, 2] }) },
  { label: 'ceil mode', inputs: [{ shape: [1, 2, 5, 5] }], attrs: maxAttrs({ ceilMode: true }) },
  { label: 'ceil mode, 3x3 stride 2 pads 1', inputs: [{ shape: [1, 1, 6, 7] }], attrs: maxAttrs({ kernel: [3, 3], pads: [1, 1, 1, 1], ceilMode: true }) },
];

const avgCases: GradCase<'avg_pool2d'>[] = [
  { label: '2x2 stride 2', inputs: [{ shape: [1, 2, 4, 4] }], attrs: avgAttrs({}) },
  { label: '3x3 stride 1 (overlapping)', inputs: [{ shape: [2, 1, 4, 5] }], attrs: avgAttrs({ kernel: [3, 3], strides: [1, 1] }) },
  { label: '3x3 stride 2 pads 1, countIncludePad', inputs: [{ shape: [1, 2, 5, 5] }], attrs: avgAttrs({ kernel: [3, 3], pads: [1, 1, 1, 1], countIncludePad: true }) },
  { label: '3x3 stride 2 pads 1, exclude pad', inputs: [{ shape: [1, 2, 5, 5] }], attrs: avgAttrs({ kernel: [3, 3], pads: [1, 1, 1, 1] }) },
  { label: 'asymmetric pads, countIncludePad', inputs: [{ shape: [1, 2, 5, 4] }], attrs: avgAttrs({ kernel: [3, 2], strides: [2, 1], pads: [0, 1, 2, 0], countIncludePad: true }) },
  { label: 'ceil mode, exclude pad', inputs: [{ shape: [1, 2, 5, 5] }], attrs: avgAttrs({ ceilMode: true }) },
  { label: 'ceil mode overhang, countIncludePad', inputs: [{ shape: [1, 1, 6, 7] }], attrs: avgAttrs({ kernel: [3, 3], pads: [1, 1, 1, 1], ceilMode: true, countIncludePad: true }) },
  { label: 'ceil mode overhang, exclude pad', inputs: [{ shape: [1, 1, 6, 7] }], attrs: avgAttrs({ kernel: [3, 3], pads: [1, 1, 1, 1], ceilMode: true }) },
];

export const poolGrad: GradCases = { max_pool2d: maxCases, avg_pool2d: avgCases };
export const poolForward: ForwardCases = {};

/**
 * conv2d gradient cases: plain, stride 2, asymmetric pads, groups=2, depthwise (groups = C, channel
 * multiplier 2), dilation 2 and 1x1, with and without bias. conv2d is linear in x and in w, so
 * central differences are exact up to rounding. The two backward ops are exercised here, and
 * conv2d_grad_input's own rule (it is also the transposed convolution's forward op).
 */
import type { ConvAttrs, ConvGradInputAttrs } from '@pockengine/core';
import type { ForwardCases, GradCase, GradCases } from '../harness.js';

const attrs = (a: Partial<ConvAttrs> = {}): ConvAttrs => ({
  strides: [1, 1],
  pads: [0, 0, 0, 0],
  dilations: [1, 1],
  groups: 1,
  ...a,
});

/** x, w and an optional bias of M channels. */
const shapes = (x: number[], w: number[], bias: boolean) => [{ shape: x }, { shape: w }, ...(bias ? [{ shape: [w[0]!] }] : [])];

const convCases: GradCase<'conv2d'>[] = [
  { label: '3x3 with bias', inputs: shapes([1, 2, 5, 5], [3, 2, 3, 3], true), attrs: attrs() },
  { label: 'stride 2, pads 1, batch 2', inputs: shapes([2, 2, 5, 5], [2, 2, 3, 3], true), attrs: attrs({ strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { label: 'asymmetric pads, no bias', inputs: shapes([1, 2, 4, 5], [2, 2, 3, 2], false), attrs: attrs({ pads: [1, 0, 2, 1] }) },
  { label: 'groups=2', inputs: shapes([1, 4, 4, 4], [4, 2, 3, 3], true), attrs: attrs({ groups: 2, pads: [1, 1, 1, 1] }) },
  { label: 'depthwise (groups=C, multiplier 2)', inputs: shapes([1, 3, 5, 5], [6, 1, 3, 3], true), attrs: attrs({ groups: 3, pads: [1, 1, 1, 1] }) },
  { label: 'depthwise stride 2, no bias', inputs: shapes([1, 3, 5, 5], [3, 1, 3, 3], false), attrs: attrs({ groups: 3, strides: [2, 2], pads: [0, 1, 1, 0] }) },
  { label: 'dilation 2, stride [1,2]', inputs: shapes([1, 2, 6, 6], [2, 2, 3, 3], true), attrs: attrs({ dilations: [2, 2], strides: [1, 2], pads: [1, 1, 1, 1] }) },
  { label: '1x1 stride 2', inputs: shapes([2, 3, 4, 4], [4, 3, 1, 1], true), attrs: attrs({ strides: [2, 2] }) },
  { label: 'only the weight and bias (x constant)', inputs: shapes([1, 2, 4, 4], [2, 2, 2, 2], true), attrs: attrs({ strides: [2, 1] }), wrt: [1, 2] },
];

/**
 * conv2d_grad_input as a forward op (a transposed convolution: ConvTranspose, Conv2DTranspose):
 * inputs [x (the conv's dy shape), w], output inputShape. Output padding is an inputShape one row
 * or column larger than the smallest that fits (the extra row only receives nothing).
 */
const tAttrs = (inputShape: number[], a: Partial<ConvAttrs> = {}): ConvGradInputAttrs => ({ ...attrs(a), inputShape });
const transposedCases: GradCase<'conv2d_grad_input'>[] = [
  { label: 'transposed 3x3', inputs: [{ shape: [1, 3, 3, 3] }, { shape: [3, 2, 3, 3] }], attrs: tAttrs([1, 2, 5, 5]) },
  { label: 'transposed stride 2, pads 1, output padding 1, batch 2', inputs: [{ shape: [2, 3, 3, 3] }, { shape: [3, 2, 3, 3] }], attrs: tAttrs([2, 2, 6, 6], { strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { label: 'transposed groups=2', inputs: [{ shape: [1, 4, 5, 5] }, { shape: [4, 1, 3, 3] }], attrs: tAttrs([1, 2, 5, 5], { groups: 2, pads: [1, 1, 1, 1] }) },
  { label: 'transposed dilation 2, stride [2,1], asymmetric pads', inputs: [{ shape: [1, 2, 3, 3] }, { shape: [2, 2, 2, 3] }], attrs: tAttrs([1, 2, 7, 6], { dilations: [2, 2], strides: [2, 1], pads: [1, 0, 0, 1] }) },
  { label: 'transposed, only the weight', inputs: [{ shape: [1, 2, 2, 2] }, { shape: [2, 3, 2, 2] }], attrs: tAttrs([1, 3, 4, 4], { strides: [2, 2] }), wrt: [1] },
];

export const convGrad: GradCases = { conv2d: convCases, conv2d_grad_input: transposedCases };
export const convForward: ForwardCases = {};

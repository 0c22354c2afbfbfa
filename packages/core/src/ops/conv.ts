/**
 * 2-D convolution (NCHW, weights MCkHkW) with strides, asymmetric pads, dilation and groups,
 * and its two backward ops. Semantics follow ONNX Conv
 * (https://onnx.ai/onnx/operators/onnx__Conv.html) and torch.nn.functional.conv2d.
 * All geometry lives in `convGeometry`, which backends reuse instead of redoing the arithmetic.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import { fmtShape, type Shape } from '../shape.js';
import { requireFloat, requireRank, requireShape, sameDtype } from './checks.js';
import { movedBytes } from './cost.js';
import { defineOp, type OpDef } from './op-def.js';

export type ConvAttrs = {
  /** [sh, sw] */
  strides: readonly number[];
  /** [top, left, bottom, right] (ONNX order: all begins, then all ends). */
  pads: readonly number[];
  /** [dh, dw] */
  dilations: readonly number[];
  groups: number;
  /**
   * Fused activation on the output (set only by the fusion pass, after autodiff, where nothing
   * in the backward pass reads the pre-activation output): backends with a fused epilogue apply
   * it while writing the result.
   */
  activation?: 'relu' | 'relu6' | null;
};
export type ConvGradInputAttrs = ConvAttrs & { inputShape: readonly number[] };
export type ConvGradWeightAttrs = ConvAttrs & { weightShape: readonly number[] };

/** Everything a kernel needs to index a conv2d: sizes of x, w, y and the window parameters. */
export interface ConvGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  m: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  dh: number;
  dw: number;
  groups: number;
  /** Input channels per group (= weight dim 1). */
  cPerGroup: number;
  /** Output channels per group. */
  mPerGroup: number;
}

const isPosInt = (v: number) => Number.isInteger(v) && v > 0;

/** Checks the shared window attributes (strides, pads, dilations) of conv and pool ops. */
export function checkWindowAttrs(a: { strides: readonly number[]; pads: readonly number[]; dilations?: readonly number[] }, where: ErrorLocation): void {
  if (a.strides.length !== 2 || !a.strides.every(isPosInt))
    throw new PockError('attr', `strides must be two positive integers, got ${fmtShape(a.strides)}`, where);
  if (a.pads.length !== 4 || !a.pads.every((p) => Number.isInteger(p) && p >= 0))
    throw new PockError('attr', `pads must be four non-negative integers [top,left,bottom,right], got ${fmtShape(a.pads)}`, where);
  if (a.dilations && (a.dilations.length !== 2 || !a.dilations.every(isPosInt)))
    throw new PockError('attr', `dilations must be two positive integers, got ${fmtShape(a.dilations)}`, where);
}

/**
 * Output length of a sliding window along one axis (floor mode):
 * floor((in + padBegin + padEnd - dilation*(k-1) - 1) / stride) + 1 (ONNX Conv, PyTorch Conv2d).
 */
export function convOutSize(inSize: number, k: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  return Math.floor((inSize + padBegin + padEnd - dilation * (k - 1) - 1) / stride) + 1;
}

/** Validates a conv2d's input and weight shapes against its attributes and returns its geometry. */
export function convGeometry(x: Shape, wt: Shape, a: ConvAttrs, where: ErrorLocation = {}): ConvGeometry {
  checkWindowAttrs({ strides: a.strides, pads: a.pads, dilations: a.dilations ?? [] }, where);
  if (x.length !== 4) throw new PockError('shape', `input must be NCHW (rank 4), got shape ${fmtShape(x)}`, where);
  if (wt.length !== 4) throw new PockError('shape', `weight must be [M, C/groups, kH, kW] (rank 4), got shape ${fmtShape(wt)}`, where);
  const [n, c, h, w] = x as [number, number, number, number];
  const [m, cPerGroup, kh, kw] = wt as [number, number, number, number];
  const g = a.groups;
  if (!isPosInt(g)) throw new PockError('attr', `groups must be a positive integer, got ${g}`, where);
  if (c % g !== 0) throw new PockError('attr', `group=${g} does not divide input channels ${c}`, where);
  if (m % g !== 0) throw new PockError('attr', `group=${g} does not divide output channels ${m} (weight ${fmtShape(wt)})`, where);
  if (cPerGroup * g !== c)
    throw new PockError('shape', `weight ${fmtShape(wt)} expects ${cPerGroup * g} input channels (${cPerGroup} per group x ${g} groups), input ${fmtShape(x)} has ${c}`, where);
  const [sh, sw] = a.strides as [number, number];
  const [padTop, padLeft, padBottom, padRight] = a.pads as [number, number, number, number];
  const [dh, dw] = a.dilations as [number, number];
  const oh = convOutSize(h, kh, sh, padTop, padBottom, dh);
  const ow = convOutSize(w, kw, sw, padLeft, padRight, dw);
  if (oh < 1 || ow < 1)
    throw new PockError('shape', `kernel ${kh}x${kw} (dilation ${dh}x${dw}) does not fit input ${h}x${w} padded by ${fmtShape(a.pads)}: output would be ${oh}x${ow}`, where);
  return { n, c, h, w, m, kh, kw, oh, ow, sh, sw, padTop, padLeft, dh, dw, groups: g, cPerGroup, mPerGroup: m / g };
}

/** Output shape [N, M, OH, OW] of conv2d. */
export function convOutShape(x: Shape, wt: Shape, a: ConvAttrs, where: ErrorLocation = {}): number[] {
  const g = convGeometry(x, wt, a, where);
  return [g.n, g.m, g.oh, g.ow];
}

/** Only the conv attributes (grad ops carry one extra shape attribute). */
function convAttrsOf(a: ConvAttrs): ConvAttrs {
  return { strides: a.strides, pads: a.pads, dilations: a.dilations, groups: a.groups };
}


/** 2 * multiply-adds of one conv2d (the grad ops do the same multiply-adds, rearranged). */
function convFlops(g: ConvGeometry): number {
  return 2 * g.n * g.m * g.oh * g.ow * g.cPerGroup * g.kh * g.kw;
}

export interface ConvOpsAttrs {
  conv2d: ConvAttrs;
  conv2d_grad_input: ConvGradInputAttrs;
  conv2d_grad_weight: ConvGradWeightAttrs;
}

export const convOps: { [K in keyof ConvOpsAttrs]: OpDef<ConvOpsAttrs[K]> } = {
  /** y = conv(x, w) + b: inputs [x (N,C,H,W), w (M,C/groups,kH,kW), b? (M)] -> [y (N,M,OH,OW)]. */
  conv2d: defineOp<ConvAttrs>({
    name: 'conv2d',
    arity: [2, 3],
    infer: (inputs, a, where) => {
      const dtype = sameDtype(inputs, where);
      requireFloat(inputs[0]!, 'input', where);
      const shape = convOutShape(inputs[0]!.shape, inputs[1]!.shape, a, where);
      if (inputs[2]) requireShape(inputs[2], [shape[1]!], 'bias', where);
      return [{ dtype, shape }];
    },
    // dx and dw are the transposed convolutions of dy; db sums dy over batch and space.
    vjp: (b, { inputs: [x, w, bias], attrs, needs, name }, [g]) => {
      if (attrs.activation) throw new PockError('internal', 'a conv2d with a fused activation has no gradient rule: fusion runs after autodiff', { op: 'conv2d', node: name });
      const a = convAttrsOf(attrs);
      return [
        needs[0] ? b.op1('conv2d_grad_input', [g!, w!], { ...a, inputShape: [...b.shape(x!)] }) : null,
        needs[1] ? b.op1('conv2d_grad_weight', [x!, g!], { ...a, weightShape: [...b.shape(w!)] }) : null,
        bias !== undefined && needs[2] ? b.reduceSum(g!, [0, 2, 3]) : null,
      ];
    },
    cost: (inputs, outputs, a) => {
      const g = convGeometry(inputs[0]!.shape, inputs[1]!.shape, a);
      const biasFlops = inputs[2] ? g.n * g.m * g.oh * g.ow : 0;
      return { flops: convFlops(g) + biasFlops, bytes: movedBytes(inputs, outputs) };
    },
  }),

  /**
   * dx of conv2d: inputs [dy (N,M,OH,OW), w] -> [dx (inputShape)]. Also the forward op of a
   * transposed convolution (ONNX ConvTranspose, Keras Conv2DTranspose: x plays dy, and the
   * weight layout [C_in, C_out/groups, kH, kW] is conv2d's), hence its own gradient rule:
   * d dy = conv2d(g, w), d w = conv2d_grad_weight(g, dy) (the conv whose adjoint it is, read
   * with g as its input and dy as its output gradient).
   */
  conv2d_grad_input: defineOp<ConvGradInputAttrs>({
    name: 'conv2d_grad_input',
    arity: [2, 2],
    infer: (inputs, a, where) => {
      const dtype = sameDtype(inputs, where);
      requireFloat(inputs[0]!, 'dy', where);
      requireRank(inputs[0]!, 4, 'dy', where);
      requireShape(inputs[0]!, convOutShape(a.inputShape, inputs[1]!.shape, a, where), 'dy', where);
      return [{ dtype, shape: [...a.inputShape] }];
    },
    vjp: (b, { inputs: [dy, w], attrs, needs }, [g]) => {
      const a = convAttrsOf(attrs);
      return [
        needs[0] ? b.op1('conv2d', [g!, w!], a) : null,
        needs[1] ? b.op1('conv2d_grad_weight', [g!, dy!], { ...a, weightShape: [...b.shape(w!)] }) : null,
      ];
    },
    cost: (inputs, outputs, a) => ({
      flops: convFlops(convGeometry(a.inputShape, inputs[1]!.shape, a)),
      bytes: movedBytes(inputs, outputs),
    }),
  }),

  /** dw of conv2d: inputs [x, dy (N,M,OH,OW)] -> [dw (weightShape)]. */
  conv2d_grad_weight: defineOp<ConvGradWeightAttrs>({
    name: 'conv2d_grad_weight',
    arity: [2, 2],
    infer: (inputs, a, where) => {
      const dtype = sameDtype(inputs, where);
      requireFloat(inputs[0]!, 'input', where);
      requireRank(inputs[1]!, 4, 'dy', where);
      requireShape(inputs[1]!, convOutShape(inputs[0]!.shape, a.weightShape, a, where), 'dy', where);
      return [{ dtype, shape: [...a.weightShape] }];
    },
    nondiff: 'backward',
    cost: (inputs, outputs, a) => ({
      flops: convFlops(convGeometry(inputs[0]!.shape, a.weightShape, a)),
      bytes: movedBytes(inputs, outputs),
    }),
  }),
};

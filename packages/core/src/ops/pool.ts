/**
 * 2-D max and average pooling (NCHW) with strides, asymmetric pads, dilation (max only) and
 * ceil mode, and their backward ops. Output sizes follow PyTorch's pooling_output_shape, which
 * ONNX MaxPool / AveragePool match since opset 19 (https://onnx.ai/onnx/operators/onnx__MaxPool.html).
 * Global average pooling is reduce_mean over axes [2, 3], not an op of this family.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { TypeInfo } from '../ir/graph.js';
import { fmtShape, shapeEq, type Shape } from '../shape.js';
import { requireFloat } from './checks.js';
import { checkWindowAttrs } from './conv.js';
import { movedBytes } from './cost.js';
import { defineOp, type Cost, type OpDef } from './op-def.js';

export type MaxPoolAttrs = {
  /** [kh, kw] */
  kernel: readonly number[];
  strides: readonly number[];
  /** [top, left, bottom, right]; padding never wins the max (it behaves as -inf). */
  pads: readonly number[];
  dilations: readonly number[];
  ceilMode: boolean;
};
export type AvgPoolAttrs = {
  kernel: readonly number[];
  strides: readonly number[];
  pads: readonly number[];
  ceilMode: boolean;
  /** Whether padded zeros count in the divisor (PyTorch count_include_pad, ONNX count_include_pad). */
  countIncludePad: boolean;
};
export type AvgPoolGradAttrs = AvgPoolAttrs & { inputShape: readonly number[] };

/** Sizes and window parameters of a pooling op, shared with kernels. */
export interface PoolGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dh: number;
  dw: number;
}

/**
 * Output length of a pooling window along one axis, as PyTorch's pooling_output_shape_pad_lr:
 * floor or ceil of (in + padBegin + padEnd - dilation*(k-1) - 1) / stride, plus 1; in ceil mode
 * a last window that would start in the end padding is dropped.
 */
export function poolOutSize(inSize: number, k: number, stride: number, padBegin: number, padEnd: number, dilation: number, ceilMode: boolean): number {
  const span = inSize + padBegin + padEnd - dilation * (k - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + padBegin) out--;
  return out;
}

/** Validates a pooling op's input shape and attributes and returns its geometry. */
export function poolGeometry(
  x: Shape,
  a: { kernel: readonly number[]; strides: readonly number[]; pads: readonly number[]; dilations?: readonly number[]; ceilMode: boolean },
  where: ErrorLocation = {},
): PoolGeometry {
  const dilations = a.dilations ?? [1, 1];
  checkWindowAttrs({ strides: a.strides, pads: a.pads, dilations }, where);
  if (a.kernel.length !== 2 || !a.kernel.every((k) => Number.isInteger(k) && k > 0))
    throw new PockError('attr', `kernel must be two positive integers [kh,kw], got ${fmtShape(a.kernel)}`, where);
  if (x.length !== 4) throw new PockError('shape', `input must be NCHW (rank 4), got shape ${fmtShape(x)}`, where);
  const [n, c, h, w] = x as [number, number, number, number];
  const [kh, kw] = a.kernel as [number, number];
  const [sh, sw] = a.strides as [number, number];
  const [dh, dw] = dilations as [number, number];
  const [padTop, padLeft, padBottom, padRight] = a.pads as [number, number, number, number];
  // a window lying entirely in padding has no element to pool (ONNX Runtime: "Pad should be smaller than kernel")
  const extH = dh * (kh - 1) + 1;
  const extW = dw * (kw - 1) + 1;
  if (Math.max(padTop, padBottom) >= extH || Math.max(padLeft, padRight) >= extW)
    throw new PockError('attr', `pads ${fmtShape(a.pads)} must be smaller than the window extent ${extH}x${extW}; reduce the padding`, where);
  const oh = poolOutSize(h, kh, sh, padTop, padBottom, dh, a.ceilMode);
  const ow = poolOutSize(w, kw, sw, padLeft, padRight, dw, a.ceilMode);
  if (oh < 1 || ow < 1)
    throw new PockError('shape', `window ${extH}x${extW} does not fit input ${h}x${w} padded by ${fmtShape(a.pads)}: output would be ${oh}x${ow}`, where);
  return { n, c, h, w, kh, kw, oh, ow, sh, sw, padTop, padLeft, padBottom, padRight, dh, dw };
}

function poolOutShape(x: Shape, a: Parameters<typeof poolGeometry>[1], where: ErrorLocation): number[] {
  const g = poolGeometry(x, a, where);
  return [g.n, g.c, g.oh, g.ow];
}

function requireDy(dy: TypeInfo, x: TypeInfo | undefined, expected: Shape, where: ErrorLocation): void {
  if (x && dy.dtype !== x.dtype) throw new PockError('dtype', `dy is ${dy.dtype} but the input is ${x.dtype}`, where);
  if (!shapeEq(dy.shape, expected))
    throw new PockError('shape', `dy must have the pooled shape ${fmtShape(expected)}, got ${fmtShape(dy.shape)}`, where);
}

/** One comparison or addition per window element of each output. */
function windowCost(g: PoolGeometry, inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]): Cost {
  return { flops: g.n * g.c * g.oh * g.ow * g.kh * g.kw, bytes: movedBytes(inputs, outputs) };
}

const maxAttrsOf = (a: MaxPoolAttrs): MaxPoolAttrs => ({
  kernel: a.kernel, strides: a.strides, pads: a.pads, dilations: a.dilations, ceilMode: a.ceilMode,
});
const avgAttrsOf = (a: AvgPoolAttrs): AvgPoolAttrs => ({
  kernel: a.kernel, strides: a.strides, pads: a.pads, ceilMode: a.ceilMode, countIncludePad: a.countIncludePad,
});

export interface PoolOpsAttrs {
  max_pool2d: MaxPoolAttrs;
  max_pool2d_grad: MaxPoolAttrs;
  avg_pool2d: AvgPoolAttrs;
  avg_pool2d_grad: AvgPoolGradAttrs;
}

export const poolOps: { [K in keyof PoolOpsAttrs]: OpDef<PoolOpsAttrs[K]> } = {
  /** inputs [x (N,C,H,W)] -> [y (N,C,OH,OW)]. */
  max_pool2d: defineOp<MaxPoolAttrs>({
    name: 'max_pool2d',
    arity: [1, 1],
    infer: ([x], a, where) => {
      requireFloat(x!, 'input', where);
      return [{ dtype: x!.dtype, shape: poolOutShape(x!.shape, a, where) }];
    },
    // the window's maximum is recomputed from x in the grad op (no index tensor to keep alive)
    vjp: (b, { inputs: [x], attrs }, [g]) => [b.op1('max_pool2d_grad', [x!, g!], maxAttrsOf(attrs))],
    cost: (inputs, outputs, a) => windowCost(poolGeometry(inputs[0]!.shape, a), inputs, outputs),
  }),

  /** inputs [x, dy] -> [dx]: dy goes to the first maximum of each window (row-major), as PyTorch. */
  max_pool2d_grad: defineOp<MaxPoolAttrs>({
    name: 'max_pool2d_grad',
    arity: [2, 2],
    infer: ([x, dy], a, where) => {
      requireFloat(x!, 'input', where);
      requireDy(dy!, x, poolOutShape(x!.shape, a, where), where);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    nondiff: 'backward',
    cost: (inputs, outputs, a) => windowCost(poolGeometry(inputs[0]!.shape, a), inputs, outputs),
  }),

  /** inputs [x (N,C,H,W)] -> [y (N,C,OH,OW)]. */
  avg_pool2d: defineOp<AvgPoolAttrs>({
    name: 'avg_pool2d',
    arity: [1, 1],
    infer: ([x], a, where) => {
      requireFloat(x!, 'input', where);
      return [{ dtype: x!.dtype, shape: poolOutShape(x!.shape, a, where) }];
    },
    vjp: (b, { inputs: [x], attrs }, [g]) => [
      b.op1('avg_pool2d_grad', [g!], { ...avgAttrsOf(attrs), inputShape: [...b.shape(x!)] }),
    ],
    cost: (inputs, outputs, a) => windowCost(poolGeometry(inputs[0]!.shape, a), inputs, outputs),
  }),

  /** inputs [dy (N,C,OH,OW)] -> [dx (inputShape)]: each output spreads dy / divisor over its window. */
  avg_pool2d_grad: defineOp<AvgPoolGradAttrs>({
    name: 'avg_pool2d_grad',
    arity: [1, 1],
    infer: ([dy], a, where) => {
      requireFloat(dy!, 'dy', where);
      requireDy(dy!, undefined, poolOutShape(a.inputShape, a, where), where);
      return [{ dtype: dy!.dtype, shape: [...a.inputShape] }];
    },
    nondiff: 'backward',
    cost: (inputs, outputs, a) => windowCost(poolGeometry(a.inputShape, a), inputs, outputs),
  }),
};

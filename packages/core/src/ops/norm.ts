/**
 * Batch normalization (NC..., statistics per channel) and layer normalization (statistics over
 * the trailing axes), each with one backward op computing [dx, dscale, dbias] together.
 * Semantics: ONNX BatchNormalization (opset 15, https://onnx.ai/onnx/operators/onnx__BatchNormalization.html)
 * and LayerNormalization (opset 17); the backward formulas are the standard ones of
 * Ioffe & Szegedy 2015, section 3 (as PyTorch's native_batch_norm_backward / native_layer_norm_backward).
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { GraphBuilder } from '../ir/builder.js';
import type { TypeInfo, ValueId } from '../ir/graph.js';
import { fmtShape, normAxis, size, type Shape } from '../shape.js';
import { requireFloat, requireShape, sameDtype } from './checks.js';
import { movedBytes } from './cost.js';
import { defineOp, type Cost, type OpDef } from './op-def.js';

export type BatchNormAttrs = {
  epsilon: number;
  /** true: normalize with the batch statistics (and output them); false: with the given mean/var. */
  training: boolean;
  /**
   * Fused activation on the output (inference-mode only; set by the fusion pass after autodiff,
   * where the backward pass reads the activation's output, not the normalized value).
   */
  activation?: 'relu' | 'relu6' | null;
};
export type LayerNormAttrs = {
  /** First normalized axis (may be negative); normalization runs over axes axis..rank-1. */
  axis: number;
  epsilon: number;
};

/** Layout of a batch_norm input seen as [outer, channels, inner] (inner = product of spatial dims). */
export function batchNormDims(x: Shape): { outer: number; channels: number; inner: number } {
  return { outer: x[0]!, channels: x[1]!, inner: size(x.slice(2)) };
}

/** Layout of a layer_norm input seen as [rows, d]: `rows` independent rows of `d` normalized elements. */
export function layerNormDims(x: Shape, axis: number, where: ErrorLocation = {}): { axis: number; rows: number; d: number } {
  const ax = normAxis(axis, x.length, where);
  return { axis: ax, rows: size(x.slice(0, ax)), d: size(x.slice(ax)) };
}

/** Shape of layer_norm's mean / invStd outputs: x.shape[:axis] followed by 1s (ONNX keeps the rank). */
export function layerNormStatShape(x: Shape, axis: number): number[] {
  return x.map((d, i) => (i < axis ? d : 1));
}

function requireEpsilon(eps: number, where: ErrorLocation): void {
  if (!(Number.isFinite(eps) && eps >= 0)) throw new PockError('attr', `epsilon must be a finite number >= 0, got ${eps}`, where);
}


/** Checks x (rank >= 2, float) and per-channel operands of shape [C]; returns x's type. */
function checkBatchNorm(inputs: readonly TypeInfo[], names: readonly string[], where: ErrorLocation): TypeInfo {
  const x = inputs[0]!;
  sameDtype(inputs, where);
  requireFloat(x, 'input', where);
  if (x.shape.length < 2) throw new PockError('shape', `input must be [N, C, ...] (rank >= 2), got shape ${fmtShape(x.shape)}`, where);
  names.forEach((what, i) => requireShape(inputs[i + 1]!, [x.shape[1]!], what, where));
  return x;
}

/** `perElement` operations per element of x (inputs[0]); bytes of every operand and result. */
function normCost(perElement: number, inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]): Cost {
  return { flops: perElement * size(inputs[0]!.shape), bytes: movedBytes(inputs, outputs) };
}

/** Adds `term` to an optional gradient, broadcasting to `shape` when there is nothing to add it to. */
function accumulate(b: GraphBuilder, acc: ValueId | null, term: ValueId, shape: Shape): ValueId {
  return acc === null ? b.expand(term, shape) : b.add(acc, term);
}

export interface NormOpsAttrs {
  batch_norm: BatchNormAttrs;
  batch_norm_grad: BatchNormAttrs;
  layer_norm: LayerNormAttrs;
  layer_norm_grad: LayerNormAttrs;
}

export const normOps: { [K in keyof NormOpsAttrs]: OpDef<NormOpsAttrs[K]> } = {
  /**
   * inputs [x (N,C,...), scale, bias, mean, var (each C)]; y = (x - mu) / sqrt(v + eps) * scale + bias.
   * training: mu, v are the batch mean and biased variance over all axes but 1, outputs [y, mu, v];
   * eval: mu, v are the given (running) statistics, outputs [y].
   */
  batch_norm: defineOp<BatchNormAttrs>({
    name: 'batch_norm',
    arity: [5, 5],
    outputs: (a) => (a.training ? 3 : 1),
    infer: (inputs, a, where) => {
      requireEpsilon(a.epsilon, where);
      const x = checkBatchNorm(inputs, ['scale', 'bias', 'mean', 'var'], where);
      const stat = { dtype: x.dtype, shape: [x.shape[1]!] };
      return a.training ? [{ dtype: x.dtype, shape: x.shape }, stat, { ...stat }] : [{ dtype: x.dtype, shape: x.shape }];
    },
    nondiffInputs: [3, 4],
    // One batch_norm_grad gives dx, dscale, dbias in both modes. In training mode the batch
    // statistics are outputs too; their cotangents (usually null) add d mu/dx = 1/n and
    // d v/dx = 2 (x - mu) / n, n being the number of elements per channel.
    vjp: (b, { inputs: [x, scale, , runMean, runVar], outputs, attrs, needs, name }, [gy, gMean, gVar]) => {
      if (attrs.activation) throw new PockError('internal', 'a batch_norm with a fused activation has no gradient rule: fusion runs after autodiff', { op: 'batch_norm', node: name });
      const { epsilon, training } = attrs;
      const mean = training ? outputs[1]! : runMean!;
      const variance = training ? outputs[2]! : runVar!;
      const xs = b.shape(x!);
      let dx: ValueId | null = null;
      let dscale: ValueId | null = null;
      let dbias: ValueId | null = null;
      if (gy && (needs[0] || needs[1] || needs[2]))
        [dx, dscale, dbias] = b.op('batch_norm_grad', [x!, scale!, mean, variance, gy], { epsilon, training }) as [ValueId, ValueId, ValueId];
      if (training && needs[0] && (gMean || gVar)) {
        const c = xs[1]!;
        const n = size(xs) / c;
        const perChannel = xs.map((d, i) => (i === 1 ? d : 1));
        const bcast = (v: ValueId) => b.reshape(v, perChannel);
        if (gMean) dx = accumulate(b, dx, b.mulScalar(bcast(gMean), 1 / n), xs);
        if (gVar) {
          const centered = b.sub(x!, bcast(mean));
          dx = accumulate(b, dx, b.mul(centered, b.mulScalar(bcast(gVar), 2 / n)), xs);
        }
      }
      return [needs[0] ? dx : null, needs[1] ? dscale : null, needs[2] ? dbias : null, null, null];
    },
    cost: (inputs, outputs, a) => normCost(a.training ? 10 : 4, inputs, outputs),
  }),

  /**
   * inputs [x, scale, mean, var, dy] -> [dx, dscale, dbias]. With xhat = (x - mean) * invStd:
   * dbias = sum(dy), dscale = sum(dy * xhat) (over all axes but 1); dx is
   * scale * invStd * (dy - dbias/n - xhat * dscale/n) in training mode (mean/var are the batch
   * statistics, so x reaches y through them too) and scale * invStd * dy in eval mode.
   */
  batch_norm_grad: defineOp<BatchNormAttrs>({
    name: 'batch_norm_grad',
    arity: [5, 5],
    infer: (inputs, a, where) => {
      requireEpsilon(a.epsilon, where);
      const x = checkBatchNorm(inputs.slice(0, 4), ['scale', 'mean', 'var'], where);
      sameDtype(inputs, where);
      requireShape(inputs[4]!, x.shape, 'dy', where);
      const stat = { dtype: x.dtype, shape: [x.shape[1]!] };
      return [{ dtype: x.dtype, shape: x.shape }, stat, { ...stat }];
    },
    nondiff: 'backward',
    cost: (inputs, outputs) => normCost(10, inputs, outputs),
  }),

  /**
   * inputs [x, scale, bias?] (scale, bias of shape x.shape[axis:]) -> [y, mean, invStd]:
   * y = (x - mean) * invStd * scale + bias, statistics over axes axis..rank-1, invStd = 1/sqrt(var + eps)
   * with the biased variance; mean and invStd keep x's rank (size-1 normalized axes), as ONNX.
   */
  layer_norm: defineOp<LayerNormAttrs>({
    name: 'layer_norm',
    arity: [2, 3],
    infer: (inputs, a, where) => {
      requireEpsilon(a.epsilon, where);
      const x = inputs[0]!;
      sameDtype(inputs, where);
      requireFloat(x, 'input', where);
      const { axis } = layerNormDims(x.shape, a.axis, where);
      const normShape = x.shape.slice(axis);
      requireShape(inputs[1]!, normShape, 'scale', where);
      if (inputs[2]) requireShape(inputs[2], normShape, 'bias', where);
      const stat = { dtype: x.dtype, shape: layerNormStatShape(x.shape, axis) };
      return [{ dtype: x.dtype, shape: x.shape }, stat, { ...stat }];
    },
    // The mean / invStd outputs may carry cotangents too (the gradient check weights every
    // output): d mean/dx = 1/D and d invStd/dx = -invStd^3 (x - mean) / D over the row's D elements.
    vjp: (b, { inputs: [x, scale, bias], outputs: [, mean, invStd], attrs, needs }, [gy, gMean, gInvStd]) => {
      const xs = b.shape(x!);
      let dx: ValueId | null = null;
      let dscale: ValueId | null = null;
      let dbias: ValueId | null = null;
      if (gy && (needs[0] || needs[1] || needs[2]))
        [dx, dscale, dbias] = b.op('layer_norm_grad', [x!, scale!, mean!, invStd!, gy], { axis: attrs.axis, epsilon: attrs.epsilon }) as [ValueId, ValueId, ValueId];
      if (needs[0] && (gMean || gInvStd)) {
        const { d } = layerNormDims(xs, attrs.axis);
        if (gMean) dx = accumulate(b, dx, b.mulScalar(gMean, 1 / d), xs);
        if (gInvStd) {
          const cube = b.mul(invStd!, b.mul(invStd!, invStd!));
          const term = b.mul(b.sub(x!, mean!), b.mulScalar(b.mul(gInvStd, cube), -1 / d));
          dx = accumulate(b, dx, term, xs);
        }
      }
      return [needs[0] ? dx : null, needs[1] ? dscale : null, bias !== undefined && needs[2] ? dbias : null];
    },
    cost: (inputs, outputs) => normCost(8, inputs, outputs),
  }),

  /**
   * inputs [x, scale, mean, invStd, dy] -> [dx, dscale, dbias] (dscale, dbias of scale's shape).
   * Per row with g = dy * scale and xhat = (x - mean) * invStd:
   * dx = invStd * (g - mean(g) - xhat * mean(g * xhat)); dscale = sum_rows(dy * xhat), dbias = sum_rows(dy).
   */
  layer_norm_grad: defineOp<LayerNormAttrs>({
    name: 'layer_norm_grad',
    arity: [5, 5],
    infer: (inputs, a, where) => {
      const [x, scale, mean, invStd, dy] = inputs as [TypeInfo, TypeInfo, TypeInfo, TypeInfo, TypeInfo];
      sameDtype(inputs, where);
      requireFloat(x, 'input', where);
      const { axis } = layerNormDims(x.shape, a.axis, where);
      requireShape(scale, x.shape.slice(axis), 'scale', where);
      const statShape = layerNormStatShape(x.shape, axis);
      requireShape(mean, statShape, 'mean', where);
      requireShape(invStd, statShape, 'invStd', where);
      requireShape(dy, x.shape, 'dy', where);
      return [{ dtype: x.dtype, shape: x.shape }, { dtype: x.dtype, shape: scale.shape }, { dtype: x.dtype, shape: scale.shape }];
    },
    nondiff: 'backward',
    cost: (inputs, outputs) => normCost(10, inputs, outputs),
  }),
};

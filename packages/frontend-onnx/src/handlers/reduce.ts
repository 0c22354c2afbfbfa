/** Reductions, ArgMax, Softmax and LogSoftmax (https://onnx.ai/onnx/operators/). */
import { size, type ValueId } from '@pockengine/core';
import type { NodeContext } from '../context.js';
import type { HandlerTable } from './types.js';

/**
 * Axes of a Reduce* node: an attribute before the opset where they became an input (13 for
 * ReduceSum, 18 for the others). No axes means all of them, unless noop_with_empty_axes=1,
 * which makes the op the identity.
 */
function reduceAxes(ctx: NodeContext, rank: number): number[] | null {
  const inputFrom = ctx.node.opType === 'ReduceSum' ? 13 : 18;
  const axes = ctx.axes(1, inputFrom);
  if (axes && axes.length) return axes;
  if (ctx.int('noop_with_empty_axes', 0) === 1) return null;
  return Array.from({ length: rank }, (_, i) => i);
}

function reduce(emit: (ctx: NodeContext, x: ValueId, axes: number[], keepdims: boolean) => ValueId) {
  return (ctx: NodeContext) => {
    const x = ctx.value(0);
    const axes = reduceAxes(ctx, ctx.b.rank(x));
    if (axes === null) return [x];
    return [emit(ctx, x, axes, ctx.int('keepdims', 1) === 1)];
  };
}

/**
 * Softmax / LogSoftmax. From opset 13 the op runs along one axis (default -1). Before 13 the
 * input is coerced to 2-D [prod(dims before axis), prod(dims from axis)] (default axis 1) and
 * normalized along the second dim.
 */
function softmax(op: 'softmax' | 'log_softmax') {
  return (ctx: NodeContext) => {
    const b = ctx.b;
    const x = ctx.value(0);
    const s = b.shape(x);
    if (ctx.opset >= 13) return [b.op1(op, [x], { axis: ctx.int('axis', -1) })];
    let axis = ctx.int('axis', 1);
    if (axis < 0) axis += s.length;
    const flat = b.reshape(x, [size(s.slice(0, axis)), size(s.slice(axis))]);
    return [b.reshape(b.op1(op, [flat], { axis: 1 }), s)];
  };
}

export const reduceHandlers: HandlerTable = {
  ReduceSum: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_sum', [x], { axes, keepdims })),
  ReduceMean: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_mean', [x], { axes, keepdims })),
  ReduceMax: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_max', [x], { axes, keepdims })),
  // min(x) = -max(-x)
  ReduceMin: reduce((ctx, x, axes, keepdims) => ctx.b.neg(ctx.b.op1('reduce_max', [ctx.b.neg(x)], { axes, keepdims }))),
  ReduceSumSquare: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_sum', [ctx.b.mul(x, x)], { axes, keepdims })),
  ReduceL2: reduce((ctx, x, axes, keepdims) => ctx.b.op1('sqrt', [ctx.b.op1('reduce_sum', [ctx.b.mul(x, x)], { axes, keepdims })], {})),
  ArgMax: (ctx) => {
    ctx.requireAttrValue('select_last_index', [0], 'only the first maximal index is supported');
    return [ctx.b.op1('argmax', [ctx.value(0)], { axis: ctx.int('axis', 0), keepdims: ctx.int('keepdims', 1) === 1 })];
  },
  Softmax: softmax('softmax'),
  LogSoftmax: softmax('log_softmax'),
};

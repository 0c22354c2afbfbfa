/** Reductions, CumSum, ArgMax, Softmax and LogSoftmax (https://onnx.ai/onnx/operators/). */
import { cumsum, cumsumContributes, fmtShape, isFloat, oneHot, size, type ValueId } from '@pockengine/core';
import { constScalar, isConst, makeConst, type ConstTensor } from '../const.js';
import type { NodeContext, Sym } from '../context.js';
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

/** CumSum of a constant, in JS (integer position ids of a constant mask fold this way). */
function cumsumConst(c: ConstTensor, axis: number, exclusive: boolean, reverse: boolean): ConstTensor {
  const n = c.shape[axis]!;
  const post = size(c.shape.slice(axis + 1));
  const pre = size(c.shape.slice(0, axis));
  const out = new Float64Array(c.data.length);
  for (let p = 0; p < pre; p++)
    for (let q = 0; q < post; q++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let i = 0; i < n; i++) if (cumsumContributes(i, j, exclusive, reverse)) acc += c.data[(p * n + i) * post + q]!;
        out[(p * n + j) * post + q] = acc;
      }
  return makeConst(c.dtype, c.shape, out);
}

/**
 * CumSum (https://onnx.ai/onnx/operators/onnx__CumSum.html): axis is a constant input (a scalar,
 * or one element), exclusive and reverse attributes 0 / 1. A computed float x is core's cumsum
 * (one matmul with a constant triangular matrix). A constant x (any dtype) is folded at import; a
 * computed integer x is not supported (matmul is float-only).
 */
function CumSum(ctx: NodeContext): Sym[] {
  const b = ctx.b;
  const xs = ctx.shape(0);
  const axisC = ctx.const(1, 'axis');
  if (axisC.dtype !== 'int32' && axisC.dtype !== 'int64') ctx.fail(`axis must be an int32 or int64 tensor, got ${axisC.dtype}`, 'dtype');
  const given = constScalar(axisC, 'axis', ctx.where);
  const rank = xs.length;
  if (rank === 0) ctx.fail('input x must have rank >= 1, got a scalar', 'shape');
  const axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank) ctx.fail(`axis ${given} out of range for rank ${rank} (shape ${fmtShape(xs)})`, 'shape');
  const flag = (name: string) => {
    const v = ctx.int(name, 0);
    if (v !== 0 && v !== 1) ctx.fail(`${name} must be 0 or 1, got ${v}`);
    return v === 1;
  };
  const exclusive = flag('exclusive');
  const reverse = flag('reverse');
  const s = ctx.sym(0);
  if (isConst(s)) return [cumsumConst(s, axis, exclusive, reverse)];
  const dtype = ctx.type(0).dtype;
  if (!isFloat(dtype)) ctx.fail(`input x is ${dtype}: only float inputs are supported when x is computed (integer x is supported only as a constant)`, 'dtype');
  return [cumsum(b, ctx.value(0), axis, exclusive, reverse, ctx.name, ctx.where)];
}

/**
 * log(sum(exp(x))) over axes, shifted by the (finite) maximum so exp cannot overflow; the shift
 * carries no gradient (its contributions cancel exactly).
 */
function logSumExp(ctx: NodeContext, x: ValueId, axes: number[], keepdims: boolean): ValueId {
  const b = ctx.b;
  const m = b.op1('stop_gradient', [b.op1('reduce_max', [x], { axes, keepdims: true })], {});
  const shift = b.where(b.op1('equal', [b.op1('abs', [m], {}), b.scalarLike(Infinity, m)], {}), b.scalarLike(0, m), m);
  const lse = b.add(b.op1('log', [b.op1('reduce_sum', [b.op1('exp', [b.sub(x, shift)], {})], { axes, keepdims: true })], {}), shift);
  return keepdims ? lse : b.reshape(lse, b.shape(x).filter((_, d) => !axes.some((a) => (a < 0 ? a + b.shape(x).length : a) === d)));
}

/**
 * Hardmax: 1 at the first maximum along the axis, 0 elsewhere (no gradient). Opset 13 runs
 * along one axis (default -1); before, the input is coerced to 2-D around axis (default 1).
 */
function Hardmax(ctx: NodeContext): Sym[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const s = b.shape(x);
  const hard = (v: ValueId, axis: number) =>
    oneHot(b, b.op1('argmax', [v], { axis, keepdims: false }), b.shape(v).at(axis)!, b.scalarLike(0, v), b.scalarLike(1, v), axis, ctx.where);
  if (ctx.opset >= 13) return [hard(x, ctx.int('axis', -1))];
  let axis = ctx.int('axis', 1);
  if (axis < 0) axis += s.length;
  return [b.reshape(hard(b.reshape(x, [size(s.slice(0, axis)), size(s.slice(axis))]), 1), s)];
}

export const reduceHandlers: HandlerTable = {
  ReduceSum: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_sum', [x], { axes, keepdims })),
  ReduceMean: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_mean', [x], { axes, keepdims })),
  ReduceMax: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_max', [x], { axes, keepdims })),
  // min(x) = -max(-x)
  ReduceMin: reduce((ctx, x, axes, keepdims) => ctx.b.neg(ctx.b.op1('reduce_max', [ctx.b.neg(x)], { axes, keepdims }))),
  ReduceSumSquare: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_sum', [ctx.b.mul(x, x)], { axes, keepdims })),
  CumSum,
  ReduceL2: reduce((ctx, x, axes, keepdims) => ctx.b.op1('sqrt', [ctx.b.op1('reduce_sum', [ctx.b.mul(x, x)], { axes, keepdims })], {})),
  ArgMax: (ctx) => {
    ctx.requireAttrValue('select_last_index', [0], 'only the first maximal index is supported');
    return [ctx.b.op1('argmax', [ctx.value(0)], { axis: ctx.int('axis', 0), keepdims: ctx.int('keepdims', 1) === 1 })];
  },
  // the first minimum is the first maximum of -x
  ArgMin: (ctx) => {
    ctx.requireAttrValue('select_last_index', [0], 'only the first minimal index is supported');
    return [ctx.b.op1('argmax', [ctx.b.neg(ctx.value(0))], { axis: ctx.int('axis', 0), keepdims: ctx.int('keepdims', 1) === 1 })];
  },
  ReduceL1: reduce((ctx, x, axes, keepdims) => ctx.b.op1('reduce_sum', [ctx.b.op1('abs', [x], {})], { axes, keepdims })),
  ReduceLogSum: reduce((ctx, x, axes, keepdims) => ctx.b.op1('log', [ctx.b.op1('reduce_sum', [x], { axes, keepdims })], {})),
  ReduceLogSumExp: reduce(logSumExp),
  Hardmax,
  Softmax: softmax('softmax'),
  LogSoftmax: softmax('log_softmax'),
};

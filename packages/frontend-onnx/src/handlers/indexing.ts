/**
 * Index-driven ONNX ops on core's lowerings (core/src/nn/indexing.ts): GatherElements,
 * ScatterElements (and its opset-9 name Scatter), GatherND, ScatterND, TopK and OneHot
 * (https://onnx.ai/onnx/operators/). Indices may be computed; k and depth must be constants.
 */
import { gatherElements, gatherNd, oneHot, scatterElements, scatterNd, topK } from '@pockengine/core';
import { constScalar } from '../const.js';
import type { NodeContext, Sym } from '../context.js';
import type { HandlerTable } from './types.js';

/** The scatter reduction attribute (opset 16+; 'none' before). */
function reduction(ctx: NodeContext): string {
  const r = ctx.string('reduction', 'none');
  if (r !== 'none' && r !== 'add') ctx.fail(`reduction '${r}' is not supported (none, add)`);
  return r;
}

function ScatterElements(ctx: NodeContext): Sym[] {
  const data = ctx.value(0);
  return [scatterElements(ctx.b, data, ctx.value(1), ctx.valueAs(2, ctx.b.dtype(data)), ctx.int('axis', 0), reduction(ctx), ctx.where)];
}

/**
 * TopK: k is input 1 (a one-element int64 constant) from opset 10, the attribute k before. The
 * output is always sorted (with sorted = 0 ONNX allows any order, so sorted is one valid answer).
 */
function TopK(ctx: NodeContext): Sym[] {
  const k = ctx.opset >= 10 ? constScalar(ctx.const(1, 'K'), 'K', ctx.where) : ctx.int('k');
  if (k === undefined) ctx.fail('attribute k is missing');
  return topK(ctx.b, ctx.value(0), k, ctx.int('axis', -1), ctx.int('largest', 1) === 1, ctx.where);
}

/** OneHot(indices, depth, values = [off, on]) along a new axis (default -1, the last). */
function OneHot(ctx: NodeContext): Sym[] {
  const b = ctx.b;
  const depth = constScalar(ctx.const(1, 'depth'), 'depth', ctx.where);
  const values = ctx.value(2);
  if (b.shape(values).length !== 1 || b.shape(values)[0] !== 2) ctx.fail(`values must hold two elements [off, on], got shape [${b.shape(values)}]`, 'shape');
  const pick = (i: number) => b.reshape(b.op1('slice', [values], { starts: [i], ends: [i + 1], axes: [0], steps: [1] }), []);
  return [oneHot(b, ctx.value(0), Math.trunc(depth), pick(0), pick(1), ctx.int('axis', -1), ctx.where)];
}

export const indexingHandlers: HandlerTable = {
  GatherElements: (ctx) => [gatherElements(ctx.b, ctx.value(0), ctx.value(1), ctx.int('axis', 0), ctx.where)],
  ScatterElements,
  Scatter: ScatterElements,
  GatherND: (ctx) => [gatherNd(ctx.b, ctx.value(0), ctx.value(1), ctx.int('batch_dims', 0), ctx.where)],
  ScatterND: (ctx) => [scatterNd(ctx.b, ctx.value(0), ctx.value(1), ctx.valueAs(2, ctx.b.dtype(ctx.value(0))), reduction(ctx), ctx.where)],
  TopK,
  OneHot,
};

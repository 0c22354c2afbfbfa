/**
 * Index-driven ops of a GraphDef (https://www.tensorflow.org/api_docs/python/tf/raw_ops):
 * GatherNd, ScatterNd, TensorScatterUpdate, TopKV2, OneHot, ArgMax and ArgMin, on core's
 * lowerings (nn/indexing.ts: gathers and scatter_adds at flat indices computed at run time, so
 * the indices may be computed tensors). Integer outputs are int32, as TF.js computes every TF
 * integer type (the importer maps int64 to int32).
 */
import { gatherNd, oneHot, scatterNd, size, tensor, topK, type ValueId } from '@pockengine/core';
import { act, nhwc } from '../../layout.js';
import type { OpContext, Sym } from '../context.js';
import type { OpHandlerTable } from './types.js';

/** Input i in TF.js layout. */
const input = (ctx: OpContext, i: number): ValueId => nhwc(ctx.b, ctx.value(i));

/**
 * GatherNd(params, indices): the slices of params at the index tuples in the last axis of
 * indices. Out-of-range tuples are rejected at run time; negative indices count from the end
 * (TF rejects them on CPU).
 */
function GatherNd(ctx: OpContext): Sym[] {
  return [act(gatherNd(ctx.b, input(ctx, 0), input(ctx, 1), 0, ctx.where))];
}

/**
 * ScatterNd(indices, updates, shape): zeros of the constant `shape` with the updates added at
 * the index tuples (duplicates sum, as TF).
 */
function ScatterNd(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const shape = ctx.ints(2, 'shape');
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) ctx.fail(`shape [${shape}] must have non-negative sizes`, 'shape');
  const updates = input(ctx, 1);
  const zeros = b.constant(tensor(b.dtype(updates), shape, new Array<number>(size(shape)).fill(0)));
  return [act(scatterNd(b, zeros, input(ctx, 0), updates, 'add', ctx.where))];
}

/**
 * TensorScatterUpdate(tensor, indices, updates): tensor with the updates written over the slices
 * at the index tuples. A tuple given more than once receives the sum of its updates (TF leaves
 * the order undefined and TF.js keeps the last).
 */
function TensorScatterUpdate(ctx: OpContext): Sym[] {
  return [act(scatterNd(ctx.b, input(ctx, 0), input(ctx, 1), input(ctx, 2), 'none', ctx.where))];
}

/**
 * TopKV2(input, k): the k largest entries of the last axis, largest first (ties: the lower index
 * first, as TF), and their int32 indices. sorted = false leaves the order to the op: they are
 * sorted too.
 */
function TopKV2(ctx: OpContext): Sym[] {
  const k = ctx.ints(1, 'k');
  if (k.length !== 1) ctx.fail(`k must be a scalar, got ${k.length} values`, 'shape');
  const [values, indices] = topK(ctx.b, input(ctx, 0), k[0]!, -1, true, ctx.where);
  return [act(values), act(ctx.b.cast(indices, 'int32'))];
}

/**
 * OneHot(indices, depth, on_value, off_value) along the new axis `axis` (default -1, the last):
 * on_value where the index matches, off_value elsewhere; indices outside [0, depth), negative
 * ones included, give all off_value (as TF).
 */
function OneHot(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const depth = ctx.ints(1, 'depth');
  if (depth.length !== 1) ctx.fail(`depth must be a scalar, got ${depth.length} values`, 'shape');
  const d = depth[0]!;
  const idx = input(ctx, 0);
  if (b.dtype(idx) !== 'int32' && b.dtype(idx) !== 'int64') ctx.fail(`indices must be integer, got ${b.dtype(idx)}`, 'dtype');
  // core's oneHot wraps negative indices (ONNX): move them past the end instead
  const nonNeg = b.where(b.op1('less', [idx, b.scalarLike(0, idx)], {}), b.scalarLike(d, idx), idx);
  return [act(oneHot(b, nonNeg, d, input(ctx, 3), input(ctx, 2), ctx.attrs.int('axis', -1), ctx.where))];
}

/** ArgMax / ArgMin(input, dimension): int32 index of the first maximum (minimum: of -x) along an axis. */
function argExtreme(min: boolean) {
  return (ctx: OpContext): Sym[] => {
    const b = ctx.b;
    const x = input(ctx, 0);
    const axis = ctx.ints(1, 'dimension');
    if (axis.length !== 1) ctx.fail(`dimension must be a scalar, got ${axis.length} values`, 'shape');
    const ax = axis[0]! < 0 ? axis[0]! + b.rank(x) : axis[0]!;
    return [act(b.cast(b.op1('argmax', [min ? b.neg(x) : x], { axis: ax, keepdims: false }), 'int32'))];
  };
}

export const indexingHandlers: OpHandlerTable = {
  GatherNd,
  ScatterNd,
  TensorScatterUpdate,
  TopKV2,
  OneHot,
  ArgMax: argExtreme(false),
  ArgMin: argExtreme(true),
};

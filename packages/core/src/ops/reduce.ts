/** Reductions over axes, argmax, softmax and log-softmax. */
import type { ErrorLocation } from '../errors.js';
import type { GraphBuilder } from '../ir/builder.js';
import type { TypeInfo, ValueId } from '../ir/graph.js';
import { normAxis, size, type Shape } from '../shape.js';
import { requireFloat } from './checks.js';
import { elementwiseCost, movedBytes } from './cost.js';
import { defineOp, type OpDef } from './op-def.js';

export interface ReduceAttrs extends Record<string, readonly number[] | boolean> {
  /** Axes to reduce (explicit; an empty list reduces nothing). */
  axes: readonly number[];
  keepdims: boolean;
}

export function normAxes(axes: readonly number[], rank: number, where: ErrorLocation = {}): number[] {
  return [...new Set(axes.map((a) => normAxis(a, rank, where)))].sort((a, b) => a - b);
}

export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const set = new Set(axes);
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function inferReduce([x]: readonly TypeInfo[], a: ReduceAttrs, where: ErrorLocation): TypeInfo[] {
  const axes = normAxes(a.axes, x!.shape.length, where);
  return [{ dtype: x!.dtype, shape: reducedShape(x!.shape, axes, a.keepdims) }];
}

const reduceCost = (inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]) => ({
  flops: size(inputs[0]!.shape),
  bytes: movedBytes(inputs, outputs),
});

/** Reshapes a reduced gradient to keepdims form and broadcasts it back over x's shape. */
function expandBack(b: GraphBuilder, g: ValueId, x: ValueId, axes: readonly number[]): ValueId {
  const xs = b.shape(x);
  const keep = reducedShape(xs, normAxes(axes, xs.length), true);
  return b.expand(b.reshape(g, keep), xs);
}

/** Sums along one axis keeping it (for softmax-style rules). */
function sumKeep(b: GraphBuilder, v: ValueId, axis: number): ValueId {
  return b.op1('reduce_sum', [v], { axes: [axis], keepdims: true });
}

export interface ReduceOpsAttrs {
  reduce_sum: ReduceAttrs;
  reduce_mean: ReduceAttrs;
  reduce_max: ReduceAttrs;
  argmax: { axis: number; keepdims: boolean };
  softmax: { axis: number };
  log_softmax: { axis: number };
}

export const reduceOps: { [K in keyof ReduceOpsAttrs]: OpDef<ReduceOpsAttrs[K]> } = {
  reduce_sum: defineOp<ReduceAttrs>({
    name: 'reduce_sum',
    arity: [1, 1],
    infer: inferReduce,
    vjp: (b, { inputs: [x], attrs }, [g]) => [expandBack(b, g!, x!, attrs.axes)],
    cost: reduceCost,
  }),
  reduce_mean: defineOp<ReduceAttrs>({
    name: 'reduce_mean',
    arity: [1, 1],
    infer: (inputs, a, where) => {
      requireFloat(inputs[0]!, 'input', where);
      return inferReduce(inputs, a, where);
    },
    vjp: (b, { inputs: [x], outputs: [y], attrs }, [g]) => {
      const count = size(b.shape(x!)) / size(b.shape(y!));
      return [expandBack(b, b.mulScalar(g!, 1 / count), x!, attrs.axes)];
    },
    cost: reduceCost,
  }),
  /** Max over axes; the gradient is shared evenly among tied maxima (as torch.amax). */
  reduce_max: defineOp<ReduceAttrs>({
    name: 'reduce_max',
    arity: [1, 1],
    infer: inferReduce,
    vjp: (b, { inputs: [x], outputs: [y], attrs }, [g]) => {
      const yb = expandBack(b, y!, x!, attrs.axes);
      const mask = b.op1('equal', [x!, yb], {});
      const maskF = b.cast(mask, b.dtype(x!));
      const count = b.op1('reduce_sum', [maskF], { axes: attrs.axes, keepdims: attrs.keepdims });
      const share = expandBack(b, b.div(g!, count), x!, attrs.axes);
      return [b.mul(share, maskF)];
    },
    cost: reduceCost,
  }),
  argmax: defineOp<{ axis: number; keepdims: boolean }>({
    name: 'argmax',
    arity: [1, 1],
    infer: ([x], a, where) => {
      const ax = normAxis(a.axis, x!.shape.length, where);
      return [{ dtype: 'int64', shape: reducedShape(x!.shape, [ax], a.keepdims) }];
    },
    nondiff: 'integer',
    cost: reduceCost,
  }),
  softmax: defineOp<{ axis: number }>({
    name: 'softmax',
    arity: [1, 1],
    infer: ([x], a, where) => {
      requireFloat(x!, 'input', where);
      normAxis(a.axis, x!.shape.length, where);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    // dx = y * (g - sum(g * y))
    vjp: (b, { outputs: [y], attrs }, [g]) => {
      const ax = normAxis(attrs.axis, b.rank(y!));
      const gy = b.mul(g!, y!);
      return [b.sub(gy, b.mul(y!, sumKeep(b, gy, ax)))];
    },
    cost: elementwiseCost(5),
  }),
  log_softmax: defineOp<{ axis: number }>({
    name: 'log_softmax',
    arity: [1, 1],
    infer: ([x], a, where) => {
      requireFloat(x!, 'input', where);
      normAxis(a.axis, x!.shape.length, where);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    // dx = g - softmax(x) * sum(g)
    vjp: (b, { outputs: [y], attrs }, [g]) => {
      const ax = normAxis(attrs.axis, b.rank(y!));
      const p = b.op1('exp', [y!], {});
      return [b.sub(g!, b.mul(p, sumKeep(b, g!, ax)))];
    },
    cost: elementwiseCost(5),
  }),
};

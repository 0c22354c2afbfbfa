/**
 * Merge layers (tfjs-layers src/layers/merge.ts): Add, Subtract, Multiply, Average, Maximum,
 * Minimum, Concatenate, Dot. Elementwise merges run in the layout their inputs share (NCHW
 * after a conv), so a residual Add between convolutions costs no transpose.
 */
import type { GraphBuilder, ValueId } from '@pockengine/core';
import { act, aligned, nhwc, physicalAxis, type Act } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

function fold(f: (b: GraphBuilder, x: ValueId, y: ValueId) => ValueId, post?: (b: GraphBuilder, y: ValueId, n: number) => ValueId) {
  return (ctx: LayerContext): Act[] => {
    if (ctx.inputs.length < 2) ctx.fail(`needs at least 2 inputs, got ${ctx.inputs.length}`, 'import');
    const { vals, nchw } = aligned(ctx.b, ctx.inputs);
    let y = vals.slice(1).reduce((acc, v) => f(ctx.b, acc, v), vals[0]!);
    if (post) y = post(ctx.b, y, vals.length);
    return [act(y, nchw)];
  };
}

function Subtract(ctx: LayerContext): Act[] {
  if (ctx.inputs.length !== 2) ctx.fail(`needs exactly 2 inputs, got ${ctx.inputs.length}`, 'import');
  const { vals, nchw } = aligned(ctx.b, ctx.inputs);
  return [act(ctx.b.sub(vals[0]!, vals[1]!), nchw)];
}

function Concatenate(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const axis = ctx.cfg('axis', -1);
  const rank = b.rank(ctx.input().v);
  const allNchw = rank === 4 && ctx.inputs.some((t) => t.nchw);
  if (allNchw) {
    const { vals } = aligned(b, ctx.inputs);
    const ax = physicalAxis(b, { v: vals[0]!, nchw: true }, axis);
    return [act(b.op1('concat', vals, { axis: ax }), true)];
  }
  return [act(b.op1('concat', ctx.inputs.map((t) => nhwc(b, t)), { axis: axis < 0 ? axis + rank : axis }))];
}

/**
 * Dot(axes): batched dot product over one axis of each input (keras.backend.batch_dot) for
 * rank 2 and rank 3 inputs. Rank 3 with axes (2, 2) is Q Kᵀ, (2, 1) is A V, (1, 1) is Aᵀ B.
 */
function Dot(ctx: LayerContext): Act[] {
  const b = ctx.b;
  if (ctx.cfg('normalize', false)) ctx.unsupported('normalize = true is not supported');
  const [x, y] = [nhwc(b, ctx.input(0)), nhwc(b, ctx.input(1))];
  const r = b.rank(x);
  if (r !== b.rank(y) || (r !== 2 && r !== 3)) ctx.unsupported(`Dot of ranks ${r} and ${b.rank(y)} is not supported (rank 2 or 3, equal ranks)`);
  const ax = ctx.cfg<number | number[]>('axes', -1);
  const [a0, a1] = (Array.isArray(ax) ? ax : [ax, ax]).map((a) => (a < 0 ? a + r : a)) as [number, number];
  if (r === 2) {
    // [B, D] . [B, D] -> [B, 1]
    return [act(b.op1('reduce_sum', [b.mul(x, y)], { axes: [1], keepdims: true }))];
  }
  if (a0 === 0 || a1 === 0) ctx.unsupported('Dot over the batch axis is not supported');
  // batched matmul over [B, ...]: contract x's axis a0 with y's axis a1
  return [act(b.matmul(x, y, a0 === 1, a1 === 2))];
}

export const mergeHandlers: LayerHandlerTable = {
  Add: fold((b, x, y) => b.add(x, y)),
  Subtract,
  Multiply: fold((b, x, y) => b.mul(x, y)),
  Average: fold((b, x, y) => b.add(x, y), (b, y, n) => b.mulScalar(y, 1 / n)),
  Maximum: fold((b, x, y) => b.op1('maximum', [x, y], {})),
  Minimum: fold((b, x, y) => b.op1('minimum', [x, y], {})),
  Concatenate,
  Dot,
};

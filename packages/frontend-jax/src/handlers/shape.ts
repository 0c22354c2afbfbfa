/**
 * Data-movement primitives: reshape, transpose, broadcast, shrink (slice), pad, flip,
 * concatenate, split, gather and scatter. jax-js's gather takes one index array per indexed
 * axis and puts the broadcast index dims at `outDim` of the remaining axes (NumPy advanced
 * indexing, jax.lax.gather specialised); the IR gathers along one axis, so several indexed axes
 * are linearised into one and the result is transposed into jax-js's axis order.
 */
import { broadcastShapes, size, type ValueId } from '@pockengine/core';
import type { HandlerTable, Importer } from '../context.js';

type Table = Partial<HandlerTable>;

/** A permutation taking axes labelled `from` into the order `to` (labels are unique strings). */
function permFor(from: readonly string[], to: readonly string[]): number[] {
  return to.map((l) => from.indexOf(l));
}

/** Applies jax-js pad widths [lo, hi] per axis: negative parts slice, positive parts pad with 0. */
function padWidths(imp: Importer, x: ValueId, width: readonly (readonly [number, number])[]): ValueId {
  const shape = imp.shape(x);
  const cut = width.map(([lo, hi], a) => ({ a, s: Math.max(0, -lo), e: shape[a]! - Math.max(0, -hi) })).filter((c) => c.s > 0 || c.e < shape[c.a]!);
  let v = imp.slice(x, cut.map((c) => c.a), cut.map((c) => c.s), cut.map((c) => c.e));
  const lo = width.map(([l]) => Math.max(0, l));
  const hi = width.map(([, h]) => Math.max(0, h));
  if ([...lo, ...hi].some((p) => p > 0)) v = imp.op('pad', [v], { pads: [...lo, ...hi], value: 0 });
  return v;
}

export const shapeHandlers = {
  reshape: (ctx) => [ctx.imp.reshape(ctx.input(0), ctx.params.shape)],
  transpose: (ctx) => [ctx.imp.transpose(ctx.input(0), ctx.params.perm)],
  /** `axis` lists the output axes x does not have; x's own axes broadcast NumPy-style. */
  broadcast: (ctx) => {
    const { shape, axis } = ctx.params;
    const x = ctx.input(0);
    const xs = [...ctx.imp.shape(x)];
    const newAxes = new Set(axis);
    const withOnes = shape.map((_, i) => (newAxes.has(i) ? 1 : xs.shift()!));
    return [ctx.imp.expand(ctx.imp.reshape(x, withOnes), shape)];
  },
  shrink: (ctx) => {
    const x = ctx.input(0);
    const shape = ctx.imp.shape(x);
    const cut = ctx.params.slice.map(([s, e], a) => ({ a, s, e })).filter((c) => c.s !== 0 || c.e !== shape[c.a]);
    return [ctx.imp.slice(x, cut.map((c) => c.a), cut.map((c) => c.s), cut.map((c) => c.e))];
  },
  pad: (ctx) => [padWidths(ctx.imp, ctx.input(0), ctx.params.width)],
  /** Reversal is a step -1 slice from the last element past the first (ONNX Slice clamping). */
  flip: (ctx) => {
    const axes = ctx.params.axis;
    const big = Number.MIN_SAFE_INTEGER;
    return [ctx.imp.slice(ctx.input(0), axes, axes.map(() => -1), axes.map(() => big), axes.map(() => -1))];
  },
  concatenate: (ctx) => {
    const ins = ctx.inputs().map((v) => ctx.imp.cast(v, ctx.outDtype()));
    return [ins.length === 1 ? ins[0]! : ctx.imp.op('concat', ins, { axis: ctx.params.axis })];
  },
  split: (ctx) => {
    const { axis, sizes } = ctx.params;
    if (sizes.length === 1) return [ctx.input(0)];
    return ctx.imp.opN('split', [ctx.input(0)], { axis, sizes: [...sizes] });
  },

  gather: (ctx) => {
    const imp = ctx.imp;
    const { axis, outDim } = ctx.params;
    const x = ctx.input(0);
    const xs = imp.shape(x);
    const idx = ctx.inputs().slice(1);
    const idxShape = idx.map((i) => imp.shape(i)).reduce((a, s) => broadcastShapes(a, s), [] as number[]);
    const idxLabels = idxShape.map((_, i) => `i${i}`);
    const rest = xs.map((_, a) => a).filter((a) => !axis.includes(a));
    const restLabels = rest.map((a) => `x${a}`);
    let g: ValueId;
    let labels: string[];
    if (axis.length === 1) {
      const a = axis[0]!;
      g = imp.op('gather', [x, idx[0]!], { axis: a });
      labels = [...restLabels.slice(0, a), ...idxLabels, ...restLabels.slice(a)];
    } else {
      // x[i0, i1, ...] over axes A = x' [sum_j i_j * stride_j] with x' = x moved to [A..., rest] and flattened.
      const moved = imp.transpose(x, [...axis, ...rest]);
      const flat = imp.reshape(moved, [size(axis.map((a) => xs[a]!)), ...rest.map((a) => xs[a]!)]);
      let lin: ValueId | undefined;
      let stride = 1;
      for (let j = axis.length - 1; j >= 0; j--) {
        const ij = imp.cast(idx[j]!, 'int32');
        const term = stride === 1 ? ij : imp.op('mul', [ij, imp.literal(stride, 'int32')], {});
        lin = lin === undefined ? term : imp.op('add', [term, lin], {});
        stride *= xs[axis[j]!]!;
      }
      lin = imp.expand(lin!, idxShape);
      g = imp.op('gather', [flat, lin], { axis: 0 });
      labels = [...idxLabels, ...restLabels];
    }
    const want = [...restLabels.slice(0, outDim), ...idxLabels, ...restLabels.slice(outDim)];
    return [imp.transpose(g, permFor(labels, want))];
  },

  /**
   * The transpose of gather: zeros of `shape` with the updates added at the indices. Maps to
   * scatter_add for one indexed axis; 'update' (x.at[i].set) has no IR op.
   */
  scatter: (ctx) => {
    const imp = ctx.imp;
    const { op, shape, axis, outDim } = ctx.params;
    if (op !== 'add') ctx.unsupported(`scatter '${op}' (only scatter-add maps to the IR)`);
    if (axis.length !== 1 || ctx.arity !== 2) ctx.unsupported('scatter over several indexed axes');
    const a = axis[0]!;
    const [u, i] = ctx.inputs() as [ValueId, ValueId];
    const k = imp.shape(i).length;
    const restLabels = shape.map((_, d) => d).filter((d) => d !== a).map((d) => `x${d}`);
    const idxLabels = Array.from({ length: k }, (_, j) => `i${j}`);
    const have = [...restLabels.slice(0, outDim), ...idxLabels, ...restLabels.slice(outDim)];
    const want = [...restLabels.slice(0, a), ...idxLabels, ...restLabels.slice(a)];
    const ut = imp.transpose(u, permFor(have, want));
    return [imp.op('scatter_add', [i, ut], { axis: a, shape: [...shape] })];
  },
} satisfies Table;

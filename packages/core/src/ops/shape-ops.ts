/**
 * Data-movement ops: reshape, transpose, concat, split, slice, pad, expand, gather.
 * Shape logic (slice clamping, reshape -1) lives here and is shared with kernels via the
 * exported helpers, never repeated in backends.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { TypeInfo } from '../ir/graph.js';
import { broadcastShapes, fmtShape, normAxis, size, type Shape } from '../shape.js';
import { requireAttr, requireInteger, sameDtype } from './checks.js';
import { movementCost } from './cost.js';
import { defineOp, type OpDef } from './op-def.js';

/** Resolves one -1 in a reshape target; 0 is not special (frontends resolve ONNX's 0). */
export function resolveReshape(from: Shape, to: readonly number[], where: ErrorLocation): number[] {
  const n = size(from);
  const out = [...to];
  const neg = out.indexOf(-1);
  if (neg >= 0) {
    const known = out.reduce((p, d, i) => (i === neg ? p : p * d), 1);
    if (known === 0 || n % known !== 0)
      throw new PockError('shape', `cannot reshape ${fmtShape(from)} to ${fmtShape(to)}`, where);
    out[neg] = n / known;
  }
  if (size(out) !== n || out.some((d) => d < 0))
    throw new PockError('shape', `cannot reshape ${fmtShape(from)} (${n} elements) to ${fmtShape(to)}`, where);
  return out;
}

export interface SliceAttrs extends Record<string, readonly number[]> {
  starts: readonly number[];
  ends: readonly number[];
  axes: readonly number[];
  steps: readonly number[];
}

/**
 * Effective per-axis start, step and output length of a slice, with ONNX Slice clamping
 * (https://onnx.ai/onnx/operators/onnx__Slice.html): negative indices count from the end and
 * out-of-range bounds clamp (to [0, d] for positive steps, [-1, d-1] for negative ones).
 */
export function sliceParams(shape: Shape, a: SliceAttrs, where: ErrorLocation = {}) {
  const rank = shape.length;
  const start = new Array<number>(rank).fill(0);
  const step = new Array<number>(rank).fill(1);
  const out = [...shape];
  a.axes.forEach((ax0, i) => {
    const ax = normAxis(ax0, rank, where);
    const d = shape[ax]!;
    const st = a.steps[i] ?? 1;
    if (st === 0) throw new PockError('attr', 'slice step must not be 0', where);
    let s = a.starts[i]!;
    let e = a.ends[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      out[ax] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      out[ax] = Math.max(0, Math.ceil((s - e) / -st));
    }
    start[ax] = s;
    step[ax] = st;
  });
  return { start, step, shape: out };
}

/** Output shape of gather along `axis`: data[:axis] + indices + data[axis+1:]. */
export function gatherShape(data: Shape, indices: Shape, axis: number): number[] {
  return [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];
}

export interface ShapeOpsAttrs {
  reshape: { shape: readonly number[] };
  transpose: { perm: readonly number[] };
  concat: { axis: number };
  split: { axis: number; sizes: readonly number[] };
  slice: SliceAttrs;
  slice_grad: SliceAttrs & { inputShape: readonly number[] };
  pad: { pads: readonly number[]; value: number };
  expand: { shape: readonly number[] };
  gather: { axis: number };
  scatter_add: { axis: number; shape: readonly number[] };
}

export const shapeOps: { [K in keyof ShapeOpsAttrs]: OpDef<ShapeOpsAttrs[K]> } = {
  reshape: defineOp<{ shape: readonly number[] }>({
    name: 'reshape',
    arity: [1, 1],
    infer: ([x], a, where) => [{ dtype: x!.dtype, shape: resolveReshape(x!.shape, a.shape, where) }],
    vjp: (b, { inputs: [x] }, [g]) => [b.reshape(g!, b.shape(x!))],
    cost: () => ({ flops: 0, bytes: 0 }),
  }),

  transpose: defineOp<{ perm: readonly number[] }>({
    name: 'transpose',
    arity: [1, 1],
    infer: ([x], a, where) => {
      const r = x!.shape.length;
      const seen = new Set(a.perm);
      requireAttr(a.perm.length === r && seen.size === r && a.perm.every((p) => p >= 0 && p < r), `perm ${fmtShape(a.perm)} is not a permutation of rank ${r}`, where);
      return [{ dtype: x!.dtype, shape: a.perm.map((p) => x!.shape[p]!) }];
    },
    vjp: (b, { attrs }, [g]) => {
      const inv = new Array<number>(attrs.perm.length);
      attrs.perm.forEach((p, i) => (inv[p] = i));
      return [b.transpose(g!, inv)];
    },
    cost: movementCost,
  }),

  concat: defineOp<{ axis: number }>({
    name: 'concat',
    arity: [1, Infinity],
    infer: (inputs, a, where) => {
      const dtype = sameDtype(inputs, where);
      const first = inputs[0]!.shape;
      const ax = normAxis(a.axis, first.length, where);
      const out = [...first];
      out[ax] = 0;
      for (const t of inputs) {
        if (t.shape.length !== first.length || t.shape.some((d, i) => i !== ax && d !== first[i]))
          throw new PockError('shape', `cannot concat ${inputs.map((i) => fmtShape(i.shape)).join(', ')} on axis ${a.axis}`, where);
        out[ax] += t.shape[ax]!;
      }
      return [{ dtype, shape: out }];
    },
    vjp: (b, { inputs, attrs, needs }, [g]) => {
      const ax = normAxis(attrs.axis, b.rank(g!));
      const sizes = inputs.map((i) => b.shape(i)[ax]!);
      const parts = b.op('split', [g!], { axis: ax, sizes });
      return parts.map((p, i) => (needs[i] ? p : null));
    },
    cost: movementCost,
  }),

  split: defineOp<{ axis: number; sizes: readonly number[] }>({
    name: 'split',
    arity: [1, 1],
    outputs: (a) => a.sizes.length,
    infer: ([x], a, where) => {
      const ax = normAxis(a.axis, x!.shape.length, where);
      const total = a.sizes.reduce((p, s) => p + s, 0);
      requireAttr(total === x!.shape[ax], `split sizes ${fmtShape(a.sizes)} do not sum to ${x!.shape[ax]}`, where);
      return a.sizes.map((s) => {
        const shape = [...x!.shape];
        shape[ax] = s;
        return { dtype: x!.dtype, shape };
      });
    },
    vjp: (b, { outputs, attrs }, cts) => {
      // missing cotangents are zeros of the piece's shape
      const parts = outputs.map((o, i) => cts[i] ?? b.expand(b.scalarLike(0, o), b.shape(o)));
      return [b.op1('concat', parts, { axis: attrs.axis })];
    },
    cost: movementCost,
  }),

  slice: defineOp<SliceAttrs>({
    name: 'slice',
    arity: [1, 1],
    infer: ([x], a, where) => {
      requireAttr(a.starts.length === a.axes.length && a.ends.length === a.axes.length, 'starts, ends and axes must have equal length', where);
      return [{ dtype: x!.dtype, shape: sliceParams(x!.shape, a, where).shape }];
    },
    vjp: (b, { inputs: [x], attrs }, [g]) => [b.op1('slice_grad', [g!], { ...attrs, inputShape: [...b.shape(x!)] })],
    cost: movementCost,
  }),

  /** Scatters the gradient of a slice back into zeros of the sliced input's shape. */
  slice_grad: defineOp<SliceAttrs & { inputShape: readonly number[] }>({
    name: 'slice_grad',
    arity: [1, 1],
    infer: ([g], a, where) => {
      const p = sliceParams(a.inputShape, a, where);
      if (fmtShape(p.shape) !== fmtShape(g!.shape))
        throw new PockError('shape', `slice_grad: gradient ${fmtShape(g!.shape)} does not match slice ${fmtShape(p.shape)}`, where);
      return [{ dtype: g!.dtype, shape: [...a.inputShape] }];
    },
    vjp: (b, { attrs }, [g]) => {
      const { inputShape: _s, ...sl } = attrs;
      return [b.op1('slice', [g!], sl)];
    },
    cost: movementCost,
  }),

  /** Constant padding; pads = [begin_0..begin_{r-1}, end_0..end_{r-1}] as ONNX Pad (non-negative). */
  pad: defineOp<{ pads: readonly number[]; value: number }>({
    name: 'pad',
    arity: [1, 1],
    infer: ([x], a, where) => {
      const r = x!.shape.length;
      requireAttr(a.pads.length === 2 * r, `pads must have ${2 * r} entries for rank ${r}`, where);
      requireAttr(a.pads.every((p) => p >= 0), 'negative pads are not supported; use slice', where);
      return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => d + a.pads[i]! + a.pads[i + r]!) }];
    },
    vjp: (b, { inputs: [x], attrs }, [g]) => {
      const s = b.shape(x!);
      const axes = s.map((_, i) => i);
      return [b.op1('slice', [g!], { starts: axes.map((i) => attrs.pads[i]!), ends: axes.map((i) => attrs.pads[i]! + s[i]!), axes, steps: axes.map(() => 1) })];
    },
    cost: movementCost,
  }),

  /** Broadcast to `shape` (numpy rules, as ONNX Expand: the result is broadcast(x.shape, shape)). */
  expand: defineOp<{ shape: readonly number[] }>({
    name: 'expand',
    arity: [1, 1],
    infer: ([x], a, where) => [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, a.shape, where) }],
    vjp: (b, { inputs: [x] }, [g]) => [b.sumToShape(g!, b.shape(x!))],
    cost: movementCost,
  }),

  /** out = data.take(indices, axis); negative indices count from the end. */
  gather: defineOp<{ axis: number }>({
    name: 'gather',
    arity: [2, 2],
    infer: ([d, i], a, where) => {
      requireInteger(i!, 'indices', where);
      const ax = normAxis(a.axis, d!.shape.length, where);
      return [{ dtype: d!.dtype, shape: gatherShape(d!.shape, i!.shape, ax) }];
    },
    nondiffInputs: [1],
    vjp: (b, { inputs: [d, i], attrs }, [g]) => {
      const ax = normAxis(attrs.axis, b.rank(d!));
      return [b.op1('scatter_add', [i!, g!], { axis: ax, shape: [...b.shape(d!)] }), null];
    },
    cost: movementCost,
  }),

  /** zeros(shape) with updates added at `indices` along `axis`: the gradient of gather. */
  scatter_add: defineOp<{ axis: number; shape: readonly number[] }>({
    name: 'scatter_add',
    arity: [2, 2],
    infer: ([i, u], a, where) => {
      requireInteger(i!, 'indices', where);
      const ax = normAxis(a.axis, a.shape.length, where);
      const want = gatherShape(a.shape, i!.shape, ax);
      if (fmtShape(want) !== fmtShape(u!.shape))
        throw new PockError('shape', `updates ${fmtShape(u!.shape)} do not match ${fmtShape(want)}`, where);
      return [{ dtype: u!.dtype, shape: [...a.shape] }];
    },
    nondiffInputs: [0],
    vjp: (b, { inputs: [i], attrs }, [g]) => [null, b.op1('gather', [g!, i!], { axis: attrs.axis })],
    cost: (inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]) => ({ flops: size(inputs[1]!.shape), bytes: movementCost(inputs, outputs).bytes }),
  }),
};

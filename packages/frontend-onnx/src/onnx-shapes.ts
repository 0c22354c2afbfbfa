/**
 * Shape arithmetic of ONNX ops, shared by the handlers (which emit IR) and the constant
 * evaluator (which computes in JS), so both read the operators' inputs and attributes the same way.
 */
import { fmtShape, normAxis, size, type SliceAttrs } from '@pockengine/core';
import type { NodeContext } from './context.js';

/**
 * Target shape of ONNX Reshape (https://onnx.ai/onnx/operators/onnx__Reshape.html): 0 copies the
 * input's dim at that position unless allowzero=1, and one -1 is inferred.
 */
export function reshapeTarget(ctx: NodeContext, from: readonly number[], target: readonly number[]): number[] {
  const allowzero = ctx.opset >= 14 && ctx.int('allowzero', 0) === 1;
  const out = target.map((d, i) => {
    if (d === 0 && !allowzero) {
      if (i >= from.length) ctx.fail(`shape ${fmtShape(target)} copies dim ${i} (0), but the input ${fmtShape(from)} has rank ${from.length}`, 'shape');
      return from[i]!;
    }
    return d;
  });
  if (out.filter((d) => d === -1).length > 1) ctx.fail(`shape ${fmtShape(target)} has more than one -1`, 'shape');
  const neg = out.indexOf(-1);
  const n = size(from);
  if (neg >= 0) {
    const known = out.reduce((p, d, i) => (i === neg ? p : p * d), 1);
    if (known === 0 || n % known !== 0) ctx.fail(`cannot reshape ${fmtShape(from)} to ${fmtShape(target)}`, 'shape');
    out[neg] = n / known;
  }
  if (size(out) !== n || out.some((d) => d < 0)) ctx.fail(`cannot reshape ${fmtShape(from)} (${n} elements) to ${fmtShape(target)}`, 'shape');
  return out;
}

/** ONNX Unsqueeze: axes index the output (negative ones count from its end). */
export function unsqueezeShape(ctx: NodeContext, shape: readonly number[], axes: readonly number[]): number[] {
  const rank = shape.length + axes.length;
  const norm = new Set(axes.map((a) => normAxis(a, rank, ctx.where)));
  if (norm.size !== axes.length) ctx.fail(`axes ${fmtShape(axes)} repeat an axis`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.has(i) ? 1 : shape[k++]!);
  return out;
}

/** ONNX Squeeze: removes the given size-1 axes, or every size-1 axis when none are given. */
export function squeezeShape(ctx: NodeContext, shape: readonly number[], axes: readonly number[] | undefined): number[] {
  if (!axes || axes.length === 0) return shape.filter((d) => d !== 1);
  const norm = new Set(axes.map((a) => normAxis(a, shape.length, ctx.where)));
  for (const a of norm) if (shape[a] !== 1) ctx.fail(`cannot squeeze axis ${a} of ${fmtShape(shape)}: its size is not 1`, 'shape');
  return shape.filter((_, i) => !norm.has(i));
}

/** ONNX Flatten: [prod(dims before axis), prod(dims from axis)]. */
export function flattenShape(ctx: NodeContext, shape: readonly number[]): number[] {
  let axis = ctx.int('axis', 1);
  if (axis < 0) axis += shape.length;
  if (axis < 0 || axis > shape.length) ctx.fail(`axis ${ctx.int('axis', 1)} out of range for rank ${shape.length}`);
  return [size(shape.slice(0, axis)), size(shape.slice(axis))];
}

/** Squeeze / Unsqueeze axes: an attribute before opset 13, the second input from 13. */
export function squeezeAxes(ctx: NodeContext): number[] | undefined {
  return ctx.axes(1, 13);
}

/**
 * Slice parameters (https://onnx.ai/onnx/operators/onnx__Slice.html): attributes before opset 10,
 * inputs [data, starts, ends, axes?, steps?] from 10. Clamping happens in core's sliceParams.
 */
export function sliceAttrs(ctx: NodeContext, rank: number): SliceAttrs {
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = ctx.intList('starts') ?? ctx.fail('attribute starts is required');
    ends = ctx.intList('ends') ?? ctx.fail('attribute ends is required');
    axes = ctx.intList('axes');
  } else {
    starts = ctx.ints(1, 'starts') ?? ctx.fail('input starts is required');
    ends = ctx.ints(2, 'ends') ?? ctx.fail('input ends is required');
    axes = ctx.ints(3, 'axes');
    steps = ctx.ints(4, 'steps');
  }
  axes ??= starts.map((_, i) => i);
  steps ??= starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length)
    ctx.fail(`starts, ends, axes and steps must have the same length (${starts.length}, ${ends.length}, ${axes.length}, ${steps.length})`);
  return { starts, ends, axes: axes.map((a) => normAxis(a, rank, ctx.where)), steps };
}

/** Split sizes: `split` attribute (< 13) or input 1 (>= 13), else num_outputs (>= 18) / the output count. */
export function splitSizes(ctx: NodeContext, dim: number): number[] {
  const given = ctx.opset < 13 ? ctx.intList('split') : ctx.ints(1, 'split');
  if (given && given.length) {
    if (given.reduce((a, b) => a + b, 0) !== dim) ctx.fail(`split sizes ${fmtShape(given)} do not sum to ${dim}`, 'shape');
    return given;
  }
  const n = ctx.opset >= 18 ? (ctx.int('num_outputs') ?? ctx.node.outputs.length) : ctx.node.outputs.length;
  // ONNX 18: the last chunk is smaller when dim does not divide evenly (ceil(dim / n) each)
  const chunk = Math.ceil(dim / n);
  const sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  if (ctx.opset < 18 && dim % n !== 0) ctx.fail(`cannot split ${dim} into ${n} equal parts`, 'shape');
  return sizes;
}

/** Output shape of ONNX Expand: numpy broadcast of the input shape and the target. */
export function expandShape(ctx: NodeContext, from: readonly number[], target: readonly number[]): number[] {
  const rank = Math.max(from.length, target.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const a = from[from.length - rank + i] ?? 1;
    const b = target[target.length - rank + i] ?? 1;
    if (a !== b && a !== 1 && b !== 1) ctx.fail(`cannot expand ${fmtShape(from)} to ${fmtShape(target)}`, 'shape');
    out.push(a === 1 ? b : a);
  }
  return out;
}

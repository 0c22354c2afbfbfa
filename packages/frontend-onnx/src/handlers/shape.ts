/**
 * Data-movement and shape ONNX ops. Shape arguments (targets, axes, starts, pads) must be known
 * at import time; after constant folding with fixed input shapes they always are for exported
 * PyTorch graphs. Ops whose output is fully determined by static shapes (Shape, Size) produce
 * constants even when their input is computed.
 */
import { fmtShape, size, type ValueId } from '@pockengine/core';
import { constInts, constScalar, makeConst } from '../const.js';
import type { NodeContext } from '../context.js';
import { shapeOf } from '../fold.js';
import { expandShape, flattenShape, reshapeTarget, sliceAttrs, splitSizes, squeezeAxes, squeezeShape, unsqueezeShape } from '../onnx-shapes.js';
import type { HandlerTable } from './types.js';

function normAxisOf(ctx: NodeContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.fail(`axis ${axis} out of range for rank ${rank}`, 'shape');
  return a;
}

/**
 * Pad (https://onnx.ai/onnx/operators/onnx__Pad.html), constant mode: pads are attributes before
 * opset 11, inputs [data, pads, constant_value?, axes?] from 11. Negative pads crop (a slice).
 */
function Pad(ctx: NodeContext): ValueId[] {
  const b = ctx.b;
  const mode = ctx.string('mode', 'constant');
  if (mode !== 'constant') ctx.fail(`mode='${mode}' is not supported (only constant)`);
  let x = ctx.value(0);
  const rank = b.rank(x);
  let pads: number[];
  let value = 0;
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (ctx.opset < 11) {
    pads = ctx.intList('pads') ?? ctx.fail('attribute pads is required');
    value = ctx.float('value', 0);
  } else {
    pads = ctx.ints(1, 'pads') ?? ctx.fail('input pads is required');
    if (ctx.has(2)) value = constScalar(ctx.const(2, 'constant_value'), 'constant_value', ctx.where);
    const given = ctx.ints(3, 'axes');
    if (given) axes = given.map((a) => normAxisOf(ctx, a, rank));
  }
  if (pads.length !== 2 * axes.length) ctx.fail(`pads has ${pads.length} entries, expected ${2 * axes.length}`);
  const full = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => {
    full[a] = pads[i]!;
    full[a + rank] = pads[i + axes.length]!;
  });
  if (full.some((p) => p < 0)) {
    const s = b.shape(x);
    const all = s.map((_, i) => i);
    const starts = all.map((i) => Math.max(0, -full[i]!));
    const ends = all.map((i) => s[i]! - Math.max(0, -full[i + rank]!));
    x = b.op1('slice', [x], { starts, ends, axes: all, steps: all.map(() => 1) });
  }
  const pos = full.map((p) => Math.max(0, p));
  return [pos.some((p) => p > 0) ? b.op1('pad', [x], { pads: pos, value }) : x];
}

/** Tile with a computed input: reshape to [1, d0, 1, d1, ...], broadcast to [r0, d0, r1, d1, ...], merge pairs. */
function Tile(ctx: NodeContext): ValueId[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const s = b.shape(x);
  const reps = constInts(ctx.const(1, 'repeats'));
  if (reps.length !== s.length) ctx.fail(`repeats has ${reps.length} entries for rank ${s.length}`, 'shape');
  const inter = s.flatMap((d) => [1, d]);
  const big = s.flatMap((d, i) => [reps[i]!, d]);
  return [b.reshape(b.expand(b.reshape(x, inter), big), s.map((d, i) => d * reps[i]!))];
}

/** Trilu with a computed input: the triangle mask is a constant, the op a where. */
function Trilu(ctx: NodeContext): ValueId[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const s = b.shape(x);
  if (s.length < 2) ctx.fail('input must have rank >= 2', 'shape');
  const k = ctx.has(1) ? constScalar(ctx.const(1, 'k'), 'k', ctx.where) : 0;
  const upper = ctx.int('upper', 1) === 1;
  const [rows, cols] = [s[s.length - 2]!, s[s.length - 1]!];
  const mask = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mask[i * cols + j] = (upper ? j - i >= k : j - i <= k) ? 1 : 0;
  const m = ctx.importState.materialize(makeConst('bool', [rows, cols], mask), `${ctx.name}:mask`);
  return [b.where(m, x, b.scalarLike(0, x))];
}

/** The blocksize attribute of DepthToSpace / SpaceToDepth (required, >= 1). */
function blocksizeAttr(ctx: NodeContext): number {
  const bs = ctx.int('blocksize');
  if (bs === undefined) return ctx.fail("attribute 'blocksize' is required");
  if (bs < 1) ctx.fail(`blocksize must be a positive integer, got ${bs}`);
  return bs;
}

/** Input 0 as an IR value of rank 4 (N, C, H, W). */
function nchwInput(ctx: NodeContext): { x: ValueId; dims: [number, number, number, number] } {
  const x = ctx.value(0);
  const s = ctx.b.shape(x);
  if (s.length !== 4) ctx.fail(`input must be [N, C, H, W] (rank 4), got shape ${fmtShape(s)}`, 'shape');
  return { x, dims: s as unknown as [number, number, number, number] };
}

/**
 * DepthToSpace (https://onnx.ai/onnx/operators/onnx__DepthToSpace.html): the spec's own recipe,
 * reshape -> transpose -> reshape. DCR (default) takes the block offsets from the leading
 * channel dims: [N, bs, bs, C/bs^2, H, W] permuted (0, 3, 4, 1, 5, 2); CRD (PyTorch's
 * PixelShuffle) from the trailing ones: [N, C/bs^2, bs, bs, H, W] permuted (0, 1, 4, 2, 5, 3).
 */
function DepthToSpace(ctx: NodeContext): ValueId[] {
  const b = ctx.b;
  const bs = blocksizeAttr(ctx);
  const mode = ctx.string('mode', 'DCR');
  if (mode !== 'DCR' && mode !== 'CRD') ctx.fail(`mode='${mode}' is not one of 'DCR', 'CRD'`);
  const { x, dims } = nchwInput(ctx);
  const [n, c, h, w] = dims;
  if (c % (bs * bs) !== 0) ctx.fail(`the ${c} input channels (axis 1 of shape ${fmtShape(dims)}) are not a multiple of blocksize^2 = ${bs * bs}`, 'shape');
  if (bs === 1) return [x];
  const oc = c / (bs * bs);
  const tmp =
    mode === 'DCR'
      ? b.transpose(b.reshape(x, [n, bs, bs, oc, h, w]), [0, 3, 4, 1, 5, 2])
      : b.transpose(b.reshape(x, [n, oc, bs, bs, h, w]), [0, 1, 4, 2, 5, 3]);
  return [b.reshape(tmp, [n, oc, h * bs, w * bs])];
}

/**
 * SpaceToDepth (https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html), the inverse of
 * DepthToSpace in DCR mode: [N, C, H/bs, bs, W/bs, bs] permuted (0, 3, 5, 1, 2, 4), then
 * [N, C*bs^2, H/bs, W/bs].
 */
function SpaceToDepth(ctx: NodeContext): ValueId[] {
  const b = ctx.b;
  const bs = blocksizeAttr(ctx);
  const { x, dims } = nchwInput(ctx);
  const [n, c, h, w] = dims;
  if (h % bs !== 0 || w % bs !== 0) ctx.fail(`the spatial dims ${h}x${w} (shape ${fmtShape(dims)}) are not multiples of blocksize ${bs}`, 'shape');
  if (bs === 1) return [x];
  const tmp = b.transpose(b.reshape(x, [n, c, h / bs, bs, w / bs, bs]), [0, 3, 5, 1, 2, 4]);
  return [b.reshape(tmp, [n, c * bs * bs, h / bs, w / bs])];
}

/** Ops computable only from constants (the constant evaluator handles them). */
function constantOnly(ctx: NodeContext): never {
  return ctx.fail(`is supported only when all its inputs are constants after folding, and input(s) here are computed; fix dynamic dims with inputShapes`, 'unsupported-op');
}

export const shapeHandlers: HandlerTable = {
  Reshape: (ctx) => {
    const x = ctx.value(0);
    return [ctx.b.reshape(x, reshapeTarget(ctx, ctx.b.shape(x), constInts(ctx.const(1, 'shape'))))];
  },
  Flatten: (ctx) => {
    const x = ctx.value(0);
    return [ctx.b.reshape(x, flattenShape(ctx, ctx.b.shape(x)))];
  },
  Squeeze: (ctx) => {
    const x = ctx.value(0);
    return [ctx.b.reshape(x, squeezeShape(ctx, ctx.b.shape(x), squeezeAxes(ctx)))];
  },
  Unsqueeze: (ctx) => {
    const x = ctx.value(0);
    return [ctx.b.reshape(x, unsqueezeShape(ctx, ctx.b.shape(x), squeezeAxes(ctx) ?? ctx.fail('axes are required')))];
  },
  Transpose: (ctx) => {
    const x = ctx.value(0);
    const r = ctx.b.rank(x);
    const perm = ctx.intList('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    return [perm.every((p, i) => p === i) ? x : ctx.b.transpose(x, perm)];
  },
  Concat: (ctx) => {
    const axis = ctx.int('axis') ?? ctx.fail('attribute axis is required');
    const dtype = ctx.type(0).dtype;
    const xs = ctx.node.inputs.map((_, i) => i).filter((i) => size(ctx.shape(i)) > 0);
    if (xs.length === 0) return [ctx.sym(0)];
    if (xs.length === 1) return [ctx.sym(xs[0]!)];
    return [ctx.b.op1('concat', xs.map((i) => ctx.valueAs(i, dtype)), { axis })];
  },
  Split: (ctx) => {
    const x = ctx.value(0);
    const s = ctx.b.shape(x);
    const axis = normAxisOf(ctx, ctx.int('axis', 0), s.length);
    const sizes = splitSizes(ctx, s[axis]!);
    if (sizes.length !== ctx.node.outputs.length) ctx.fail(`${sizes.length} split sizes for ${ctx.node.outputs.length} outputs`);
    return ctx.b.op('split', [x], { axis, sizes });
  },
  Slice: (ctx) => {
    const x = ctx.value(0);
    const a = sliceAttrs(ctx, ctx.b.rank(x));
    return [ctx.b.op1('slice', [x], a)];
  },
  Pad,
  Expand: (ctx) => {
    const x = ctx.value(0);
    return [ctx.b.expand(x, expandShape(ctx, ctx.b.shape(x), constInts(ctx.const(1, 'shape'))))];
  },
  /** Gather along `axis`; constant indices become an int64 IR constant (negative ones count from the end). */
  Gather: (ctx) => {
    const data = ctx.value(0);
    const ind = ctx.type(1).dtype === 'int32' ? ctx.value(1) : ctx.valueAs(1, 'int64');
    return [ctx.b.op1('gather', [data, ind], { axis: ctx.int('axis', 0) })];
  },
  Tile,
  Trilu,
  DepthToSpace,
  SpaceToDepth,
  Shape: (ctx) => [shapeOf(ctx, ctx.shape(0))],
  Size: (ctx) => [makeConst('int64', [], [size(ctx.shape(0))])],
  Constant: constantOnly,
  ConstantOfShape: constantOnly,
  Range: constantOnly,
};

/** Ops the constant evaluator handles that have no IR mapping (only folded). */
export const constantOnlyHandler = constantOnly;

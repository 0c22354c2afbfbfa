/**
 * Data movement and shape ops of a GraphDef. All shapes are static, so Shape is a constant and
 * the shape arithmetic around Reshape folds on the host; on run-time tensors these ops work in
 * the TF.js (NHWC) layout, except Pad and ConcatV2 which follow an NCHW operand.
 */
import { size, type ValueId } from '@pockengine/core';
import { act, aligned, nhwc, physicalAxis, sourceShape, type Act } from '../../layout.js';
import { isConst, type OpContext, type Sym } from '../context.js';
import { tfDtype } from '../graphdef.js';
import {
  hostConcat, hostConst, hostGather, hostPack, hostReshape, hostStridedSlice, hostTranspose, isWeight,
  stridedSliceSpec, type HostConst, type SliceAxis,
} from '../host.js';
import type { OpHandlerTable } from './types.js';

/** A constant that may be folded (shape arithmetic), as opposed to a weight or a run-time tensor. */
const foldable = (s: Sym): s is HostConst => isConst(s) && !isWeight(s);

const shapeOfSym = (ctx: OpContext, s: Sym) => (isConst(s) ? [...s.shape] : sourceShape(ctx.b, s));

/** Input 0 in TF.js layout. */
const src = (ctx: OpContext): ValueId => nhwc(ctx.b, ctx.value(0));

function Shape(ctx: OpContext): Sym[] {
  const s = shapeOfSym(ctx, ctx.sym(0));
  return [hostConst('int32', [s.length], s, ctx.node.name)];
}

function reshapeTo(ctx: OpContext, shape: number[]): Sym[] {
  const s = ctx.sym(0);
  if (foldable(s)) return [hostReshape(s, shape, ctx.where)];
  return [act(ctx.b.reshape(src(ctx), shape))];
}

function Reshape(ctx: OpContext): Sym[] {
  return reshapeTo(ctx, ctx.ints(1, 'shape'));
}

function Squeeze(ctx: OpContext): Sym[] {
  const s = shapeOfSym(ctx, ctx.sym(0));
  const dims = ctx.attrs.ints('squeeze_dims', ctx.attrs.ints('axis', [])).map((a) => (a < 0 ? a + s.length : a));
  const out = s.filter((d, i) => (dims.length ? !dims.includes(i) : d !== 1));
  return reshapeTo(ctx, out);
}

function ExpandDims(ctx: OpContext): Sym[] {
  const s = shapeOfSym(ctx, ctx.sym(0));
  let ax = ctx.ints(1, 'axis')[0]!;
  if (ax < 0) ax += s.length + 1;
  return reshapeTo(ctx, [...s.slice(0, ax), 1, ...s.slice(ax)]);
}

function Transpose(ctx: OpContext): Sym[] {
  const perm = ctx.ints(1, 'perm');
  const s = ctx.sym(0);
  if (foldable(s)) return [hostTranspose(s, perm)];
  return [act(ctx.b.transpose(src(ctx), perm))];
}

function concat(ctx: OpContext, parts: readonly Sym[], axis: number): Sym[] {
  if (parts.every(foldable)) return [hostConcat(parts, axis)];
  const b = ctx.b;
  const vals = parts.map((_, i) => ctx.value(i));
  const rank = b.rank(vals[0]!.v);
  if (rank === 4 && vals.some((v) => v.nchw)) {
    const al = aligned(b, vals);
    return [act(b.op1('concat', al.vals, { axis: physicalAxis(b, { v: al.vals[0]!, nchw: true }, axis) }), true)];
  }
  return [act(b.op1('concat', vals.map((v) => nhwc(b, v)), { axis: axis < 0 ? axis + rank : axis }))];
}

function ConcatV2(ctx: OpContext): Sym[] {
  const n = ctx.inputs.length - 1;
  return concat(ctx, ctx.inputs.slice(0, n), ctx.ints(n, 'axis')[0]!);
}

function Pack(ctx: OpContext): Sym[] {
  const axis = ctx.attrs.int('axis', 0);
  if (ctx.inputs.every(foldable)) return [hostPack(ctx.inputs, axis)];
  const b = ctx.b;
  const vals = ctx.inputs.map((_, i) => nhwc(b, ctx.value(i)));
  const s = b.shape(vals[0]!);
  const ax = axis < 0 ? axis + s.length + 1 : axis;
  const expanded = vals.map((v) => b.reshape(v, [...s.slice(0, ax), 1, ...s.slice(ax)]));
  return [act(b.op1('concat', expanded, { axis: ax }))];
}

/** An IR slice over the given per-axis selection (skipped when it selects everything). */
function sliceIr(ctx: OpContext, x: ValueId, axes: readonly SliceAxis[]): ValueId {
  const shape = ctx.b.shape(x);
  const sel = axes.map((a, i) => ({ ...a, i, d: shape[i]! })).filter((a) => !(a.start === 0 && a.step === 1 && a.len === a.d));
  if (sel.length === 0) return x;
  // a negative-step slice ending before index 0 needs an end below -d (clamped to -1, as ONNX Slice)
  const ends = sel.map((a) => {
    const e = a.start + a.len * a.step;
    return a.step < 0 && e < 0 ? -a.d - 1 : e;
  });
  return ctx.b.op1('slice', [x], { starts: sel.map((a) => a.start), ends, axes: sel.map((a) => a.i), steps: sel.map((a) => a.step) });
}

function StridedSlice(ctx: OpContext): Sym[] {
  const s = ctx.sym(0);
  const a = ctx.attrs;
  const masks = {
    begin: a.int('begin_mask', 0), end: a.int('end_mask', 0), ellipsis: a.int('ellipsis_mask', 0),
    newAxis: a.int('new_axis_mask', 0), shrink: a.int('shrink_axis_mask', 0),
  };
  const spec = stridedSliceSpec(shapeOfSym(ctx, s), ctx.ints(1, 'begin'), ctx.ints(2, 'end'), ctx.ints(3, 'strides'), masks, ctx.where);
  if (foldable(s)) return [hostStridedSlice(s, spec.axes, spec.finalShape)];
  return [act(ctx.b.reshape(sliceIr(ctx, src(ctx), spec.axes), spec.finalShape))];
}

/** Slice(x, begin, size): size -1 takes the rest of the axis. */
function Slice(ctx: OpContext): Sym[] {
  const s = ctx.sym(0);
  const shape = shapeOfSym(ctx, s);
  const begin = ctx.ints(1, 'begin');
  const sz = ctx.ints(2, 'size');
  const axes = shape.map((d, i) => ({ start: begin[i]!, step: 1, len: sz[i] === -1 ? d - begin[i]! : sz[i]! }));
  const out = axes.map((x) => x.len);
  if (foldable(s)) return [hostStridedSlice(s, axes, out)];
  return [act(sliceIr(ctx, src(ctx), axes))];
}

function GatherV2(ctx: OpContext): Sym[] {
  if (ctx.attrs.int('batch_dims', 0) !== 0) ctx.unsupported('batch_dims != 0 is not supported');
  const axis = ctx.ints(2, 'axis')[0]!;
  const [p, i] = [ctx.sym(0), ctx.sym(1)];
  if (foldable(p) && foldable(i)) return [hostGather(p, i, axis)];
  const b = ctx.b;
  const data = src(ctx);
  const idx = b.cast(nhwc(b, ctx.value(1)), 'int32');
  return [act(b.op1('gather', [data, idx], { axis: axis < 0 ? axis + b.rank(data) : axis }))];
}

function Cast(ctx: OpContext): Sym[] {
  const to = tfDtype(ctx.node.attr?.DstT?.type);
  if (to === 'unsupported') ctx.unsupported('cast to this dtype is not supported');
  const s = ctx.sym(0);
  if (foldable(s)) return [hostConst(to, s.shape, s.data)];
  const x = ctx.value(0);
  return [act(ctx.b.cast(x.v, to), x.nchw)];
}

/** Pad / PadV2 with paddings [rank, 2] (begin, end per axis); an NCHW operand is padded in place. */
function Pad(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const x: Act = ctx.value(0);
  const p = ctx.ints(1, 'paddings');
  const r = b.rank(x.v);
  const value = ctx.inputs.length > 2 ? ctx.ints(2, 'constant_values')[0]! : 0;
  const begins = new Array<number>(r);
  const ends = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const ax = physicalAxis(b, x, i);
    begins[ax] = p[2 * i]!;
    ends[ax] = p[2 * i + 1]!;
  }
  return [act(b.op1('pad', [x.v], { pads: [...begins, ...ends], value }), x.nchw)];
}

/** Split(axis, x) into num_split equal parts; SplitV(x, size_splits, axis) with one -1 size allowed. */
function splitInto(ctx: OpContext, xi: number, axis0: number, sizes0: readonly number[] | null): Sym[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.value(xi));
  const shape = b.shape(x);
  const axis = axis0 < 0 ? axis0 + shape.length : axis0;
  const d = shape[axis]!;
  let sizes: number[];
  if (sizes0 === null) {
    const n = ctx.attrs.int('num_split', 1);
    if (d % n !== 0) ctx.fail(`cannot split an axis of ${d} into ${n} equal parts`, 'shape');
    sizes = new Array<number>(n).fill(d / n);
  } else {
    const known = sizes0.filter((v) => v !== -1).reduce((a, v) => a + v, 0);
    sizes = sizes0.map((v) => (v === -1 ? d - known : v));
  }
  if (sizes.reduce((a, v) => a + v, 0) !== d || sizes.some((v) => v < 0)) ctx.fail(`split sizes [${sizes}] do not add up to the axis size ${d}`, 'shape');
  if (sizes.length === 1) return [act(x)];
  return b.op('split', [x], { axis, sizes }).map((v) => act(v));
}

const Split = (ctx: OpContext): Sym[] => splitInto(ctx, 1, ctx.ints(0, 'axis')[0]!, null);
const SplitV = (ctx: OpContext): Sym[] => splitInto(ctx, 0, ctx.ints(2, 'axis')[0]!, ctx.ints(1, 'size_splits'));

/** Unpack (tf.unstack): num slices of `axis`, the axis removed. */
function Unpack(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.value(0));
  const shape = b.shape(x);
  let axis = ctx.attrs.int('axis', 0);
  if (axis < 0) axis += shape.length;
  const n = shape[axis]!;
  const out = shape.filter((_, i) => i !== axis);
  const parts = n === 1 ? [x] : b.op('split', [x], { axis, sizes: new Array<number>(n).fill(1) });
  return parts.map((v) => act(b.reshape(v, out)));
}

/** Tile(x, multiples): each axis repeated (a broadcast over an inserted axis in front of it). */
function Tile(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.value(0));
  const shape = b.shape(x);
  const reps = ctx.ints(1, 'multiples');
  if (reps.length !== shape.length) ctx.fail(`multiples [${reps}] do not match the input rank ${shape.length}`, 'shape');
  if (reps.every((r) => r === 1)) return [act(x)];
  const inter = shape.flatMap((d) => [1, d]);
  const full = shape.flatMap((d, i) => [reps[i]!, d]);
  return [act(b.reshape(b.expand(b.reshape(x, inter), full), shape.map((d, i) => d * reps[i]!)))];
}

/** BroadcastTo(x, shape) (numpy broadcasting). */
function BroadcastTo(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.value(0));
  const target = ctx.ints(1, 'shape');
  const s = b.shape(x);
  const padded = [...new Array<number>(Math.max(0, target.length - s.length)).fill(1), ...s];
  const bad = padded.some((d, i) => d !== 1 && d !== target[i]);
  if (bad || s.length > target.length) ctx.fail(`cannot broadcast [${s}] to [${target}]`, 'shape');
  return [act(b.expand(b.reshape(x, padded), target))];
}

/** ZerosLike / OnesLike: a constant of the input's shape and dtype. */
function filledLike(v: number) {
  return (ctx: OpContext): Sym[] => {
    const s = ctx.sym(0);
    const shape = shapeOfSym(ctx, s);
    const dtype = isConst(s) ? s.dtype : ctx.b.dtype(nhwc(ctx.b, ctx.value(0)));
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') return ctx.unsupported(`${ctx.node.op} of a ${dtype} tensor is not supported`);
    return [hostConst(dtype, shape, new Array<number>(size(shape)).fill(v))];
  };
}

/**
 * MirrorPad(x, paddings [rank, 2]) mode REFLECT (edge not repeated) or SYMMETRIC (edge repeated):
 * per padded axis, the mirrored strips are reversed slices concatenated around x. An NCHW operand
 * is padded in place.
 */
function MirrorPad(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const x: Act = ctx.value(0);
  const p = ctx.ints(1, 'paddings');
  const mode = ctx.attrs.str('mode', 'REFLECT').toUpperCase();
  if (mode !== 'REFLECT' && mode !== 'SYMMETRIC') ctx.unsupported(`mode '${mode}' is not supported (REFLECT, SYMMETRIC)`);
  const skip = mode === 'REFLECT' ? 1 : 0;
  let y = x.v;
  for (let i = 0; i < b.rank(x.v); i++) {
    const [before, after] = [p[2 * i]!, p[2 * i + 1]!];
    if (!before && !after) continue;
    const ax = physicalAxis(b, x, i);
    const d = b.shape(y)[ax]!;
    if (before + skip > d || after + skip > d) ctx.fail(`padding ${before}, ${after} of an axis of ${d} is more than ${mode} allows`, 'shape');
    // elements skip .. skip + before - 1 reversed, and the same from the far end
    const strip = (from: number, to: number) =>
      b.op1('slice', [y], { starts: [to - 1], ends: [from - 1 < 0 ? -d - 1 : from - 1], axes: [ax], steps: [-1] });
    const parts = [
      ...(before ? [strip(skip, skip + before)] : []),
      y,
      ...(after ? [strip(d - skip - after, d - skip)] : []),
    ];
    y = b.op1('concat', parts, { axis: ax });
  }
  return [act(y, x.nchw)];
}

function Fill(ctx: OpContext): Sym[] {
  const dims = ctx.ints(0, 'dims');
  const v = ctx.const(1, 'value');
  return [hostConst(v.dtype, dims, new Array<number>(size(dims)).fill(v.data[0]!))];
}

function Range(ctx: OpContext): Sym[] {
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.ints(i, 'range bound')[0]!) as [number, number, number];
  const n = Math.max(0, Math.ceil((limit - start) / delta));
  return [hostConst(ctx.const(0, 'start').dtype, [n], Array.from({ length: n }, (_, k) => start + k * delta))];
}

export const shapeHandlers: OpHandlerTable = {
  Identity: (ctx) => [ctx.sym(0)],
  // never fed by an imported graph: its default value (input 0) flows through
  PlaceholderWithDefault: (ctx) => [ctx.sym(0)],
  IdentityN: (ctx) => [...ctx.inputs],
  Shape,
  Reshape,
  Squeeze,
  ExpandDims,
  Transpose,
  ConcatV2,
  Pack,
  StridedSlice,
  Slice,
  GatherV2,
  Cast,
  Pad,
  PadV2: Pad,
  MirrorPad,
  Fill,
  Range,
  Split,
  SplitV,
  Unpack,
  Tile,
  BroadcastTo,
  ZerosLike: filledLike(0),
  OnesLike: filledLike(1),
  // value-preserving markers of the TF runtime
  Snapshot: (ctx) => [ctx.sym(0)],
  EnsureShape: (ctx) => [ctx.sym(0)],
};

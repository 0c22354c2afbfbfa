/**
 * The constant evaluator: plain-JS semantics of ONNX ops over host constants, keyed by ONNX op
 * type. The importer runs a node through it when every input is known at import time, so the
 * shape arithmetic of exported graphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Range,
 * masks built with Trilu / Where...) folds away and the IR keeps only real compute. Semantics
 * follow the ONNX operator pages (https://onnx.ai/onnx/operators/).
 */
import { fmtShape, normAxis, size, sliceParams, stridesOf, type DType } from '@pockengine/core';
import {
  broadcastMap, checkConstSize, constFromTensor, constInts, makeConst, remap, reshapeConst, scalarConst, type ConstTensor,
} from './const.js';
import type { NodeContext } from './context.js';
import {
  expandShape, flattenShape, reshapeTarget, sliceAttrs, splitSizes, squeezeAxes, squeezeShape, unsqueezeShape,
} from './onnx-shapes.js';

export type ConstEval = (ctx: NodeContext) => ConstTensor[];

const inputs = (ctx: NodeContext) => ctx.node.inputs.map((_, i) => ctx.const(i));

function binary(f: (a: number, b: number) => number, out?: DType): ConstEval {
  return (ctx) => {
    const [a, b] = [ctx.const(0), ctx.const(1)];
    if (a.dtype !== b.dtype) ctx.fail(`operands have different dtypes (${a.dtype}, ${b.dtype})`, 'dtype');
    return [broadcastMap([a, b], out ?? a.dtype, f, ctx.where)];
  };
}

/** Integer division truncates (C semantics, as onnxruntime); float division is exact IEEE. */
const divide = (dtype: DType) => (a: number, b: number) => (dtype === 'float32' || dtype === 'float64' ? a / b : b === 0 ? 0 : Math.trunc(a / b));

function variadic(f: (a: number, b: number) => number): ConstEval {
  return (ctx) => {
    const xs = inputs(ctx);
    let acc = xs[0]!;
    for (const x of xs.slice(1)) acc = broadcastMap([acc, x], acc.dtype, f, ctx.where);
    return [acc];
  };
}

function unary(f: (a: number) => number): ConstEval {
  return (ctx) => {
    const x = ctx.const(0);
    return [broadcastMap([x], x.dtype, f, ctx.where)];
  };
}

function transpose(c: ConstTensor, perm: readonly number[]): ConstTensor {
  const st = stridesOf(c.shape);
  const shape = perm.map((p) => c.shape[p]!);
  return remap(c, shape, (idx) => idx.reduce((o, v, k) => o + v * st[perm[k]!]!, 0));
}

function sliceConst(c: ConstTensor, a: ReturnType<typeof sliceAttrs>, ctx: NodeContext): ConstTensor {
  const p = sliceParams(c.shape, a, ctx.where);
  const st = stridesOf(c.shape);
  return remap(c, p.shape, (idx) => idx.reduce((o, v, k) => o + (p.start[k]! + v * p.step[k]!) * st[k]!, 0));
}

function reduce(init: number, f: (acc: number, v: number) => number, mean = false): ConstEval {
  return (ctx) => {
    const x = ctx.const(0);
    const fromInput = ctx.node.opType === 'ReduceSum' ? 13 : 18;
    let axes = ctx.axes(1, fromInput);
    if (!axes || axes.length === 0) {
      if (ctx.int('noop_with_empty_axes', 0) === 1) return [x];
      axes = x.shape.map((_, i) => i);
    }
    const ax = new Set(axes.map((a) => normAxis(a, x.shape.length, ctx.where)));
    const keep = ctx.int('keepdims', 1) === 1;
    const outKeep = x.shape.map((d, i) => (ax.has(i) ? 1 : d));
    const acc = new Float64Array(size(outKeep)).fill(init);
    const ost = stridesOf(outKeep);
    const idx = new Array<number>(x.shape.length).fill(0);
    for (let e = 0; e < x.data.length; e++) {
      let o = 0;
      for (let k = 0; k < idx.length; k++) if (!ax.has(k)) o += idx[k]! * ost[k]!;
      acc[o] = f(acc[o]!, x.data[e]!);
      for (let k = idx.length - 1; k >= 0; k--) {
        if (++idx[k]! < x.shape[k]!) break;
        idx[k] = 0;
      }
    }
    const count = size(x.shape) / Math.max(1, size(outKeep));
    const shape = keep ? outKeep : x.shape.filter((_, i) => !ax.has(i));
    return [makeConst(x.dtype, shape, mean ? acc.map((v) => v / count) : acc)];
  };
}

export const CONST_EVAL: Record<string, ConstEval> = {
  Constant: (ctx) => {
    const t = ctx.tensorAttr('value');
    if (t) return [constFromTensor(t)];
    const f = ctx.float('value_float');
    if (f !== undefined) return [scalarConst(f, ctx.floatType)];
    const fs = ctx.floatList('value_floats');
    if (fs) return [makeConst(ctx.floatType, [fs.length], fs)];
    const i = ctx.int('value_int');
    if (i !== undefined) return [scalarConst(i, 'int64')];
    const is = ctx.intList('value_ints');
    if (is) return [makeConst('int64', [is.length], is)];
    return ctx.fail('only tensor, float(s) and int(s) values are supported (not strings or sparse tensors)', 'import');
  },
  Identity: (ctx) => [ctx.const(0)],
  Shape: (ctx) => [shapeOf(ctx, ctx.const(0).shape)],
  Size: (ctx) => [scalarConst(size(ctx.const(0).shape), 'int64')],
  Cast: (ctx) => {
    const x = ctx.const(0);
    return [makeConst(ctx.dtypeAttr('to'), x.shape, x.data)];
  },
  CastLike: (ctx) => {
    const x = ctx.const(0);
    return [makeConst(ctx.const(1).dtype, x.shape, x.data)];
  },
  Reshape: (ctx) => {
    const x = ctx.const(0);
    return [reshapeConst(x, reshapeTarget(ctx, x.shape, constInts(ctx.const(1))))];
  },
  Flatten: (ctx) => [reshapeConst(ctx.const(0), flattenShape(ctx, ctx.const(0).shape))],
  Unsqueeze: (ctx) => {
    const x = ctx.const(0);
    return [reshapeConst(x, unsqueezeShape(ctx, x.shape, squeezeAxes(ctx) ?? ctx.fail('axes are required')))];
  },
  Squeeze: (ctx) => {
    const x = ctx.const(0);
    return [reshapeConst(x, squeezeShape(ctx, x.shape, squeezeAxes(ctx)))];
  },
  Transpose: (ctx) => {
    const x = ctx.const(0);
    const perm = ctx.intList('perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    return [transpose(x, perm)];
  },
  Gather: (ctx) => {
    const [x, ind] = [ctx.const(0), ctx.const(1)];
    const ax = normAxis(ctx.int('axis', 0), x.shape.length, ctx.where);
    const d = x.shape[ax]!;
    const shape = [...x.shape.slice(0, ax), ...ind.shape, ...x.shape.slice(ax + 1)];
    const st = stridesOf(x.shape);
    const r = ind.shape.length;
    const is = stridesOf(ind.shape);
    return [
      remap(x, shape, (idx) => {
        let flat = 0;
        for (let k = 0; k < r; k++) flat += idx[ax + k]! * is[k]!;
        let j = ind.data[flat]!;
        if (j < 0) j += d;
        if (j < 0 || j >= d) ctx.fail(`index ${ind.data[flat]} out of range for axis ${ax} of size ${d}`, 'shape');
        let o = j * st[ax]!;
        for (let k = 0; k < ax; k++) o += idx[k]! * st[k]!;
        for (let k = ax + 1; k < x.shape.length; k++) o += idx[k - 1 + r]! * st[k]!;
        return o;
      }),
    ];
  },
  Concat: (ctx) => {
    const xs = inputs(ctx);
    const first = xs[0]!;
    const ax = normAxis(ctx.int('axis') ?? ctx.fail('attribute axis is required'), first.shape.length, ctx.where);
    const shape = [...first.shape];
    shape[ax] = xs.reduce((s, c) => s + c.shape[ax]!, 0);
    for (const c of xs)
      if (c.shape.length !== first.shape.length || c.shape.some((d, i) => i !== ax && d !== first.shape[i]))
        ctx.fail(`cannot concat ${xs.map((i) => fmtShape(i.shape)).join(', ')} on axis ${ax}`, 'shape');
    const outer = size(shape.slice(0, ax));
    const data: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const c of xs) {
        const chunk = size(c.shape.slice(ax));
        for (let k = 0; k < chunk; k++) data.push(c.data[o * chunk + k]!);
      }
    return [makeConst(first.dtype, shape, data)];
  },
  Slice: (ctx) => {
    const x = ctx.const(0);
    return [sliceConst(x, sliceAttrs(ctx, x.shape.length), ctx)];
  },
  Split: (ctx) => {
    const x = ctx.const(0);
    const ax = normAxis(ctx.int('axis', 0), x.shape.length, ctx.where);
    let start = 0;
    return splitSizes(ctx, x.shape[ax]!).map((n) => {
      const a = { starts: [start], ends: [start + n], axes: [ax], steps: [1] };
      start += n;
      return sliceConst(x, a, ctx);
    });
  },
  Expand: (ctx) => {
    const x = ctx.const(0);
    const shape = expandShape(ctx, x.shape, constInts(ctx.const(1)));
    return [broadcastMap([x, makeConst(x.dtype, shape, new Float64Array(checkConstSize(shape)))], x.dtype, (a) => a, ctx.where)];
  },
  Tile: (ctx) => {
    const x = ctx.const(0);
    const reps = constInts(ctx.const(1));
    const st = stridesOf(x.shape);
    return [remap(x, x.shape.map((d, i) => d * reps[i]!), (idx) => idx.reduce((o, v, k) => o + (v % x.shape[k]!) * st[k]!, 0))];
  },
  Range: (ctx) => {
    const [s, l, d] = [ctx.const(0), ctx.const(1), ctx.const(2)];
    const [start, limit, delta] = [s.data[0]!, l.data[0]!, d.data[0]!];
    if (delta === 0) ctx.fail('delta must not be 0');
    // number_of_elements = max(ceil((limit - start) / delta), 0)
    const n = checkConstSize([Math.max(Math.ceil((limit - start) / delta), 0)]);
    return [makeConst(s.dtype, [n], Array.from({ length: n }, (_, i) => start + i * delta))];
  },
  ConstantOfShape: (ctx) => {
    const shape = constInts(ctx.const(0));
    checkConstSize(shape);
    const v = ctx.tensorAttr('value');
    const c = v ? constFromTensor(v) : scalarConst(0, ctx.floatType);
    return [makeConst(c.dtype, shape, new Float64Array(size(shape)).fill(c.data[0] ?? 0))];
  },
  Trilu: (ctx) => {
    const x = ctx.const(0);
    const k = ctx.has(1) ? ctx.const(1).data[0]! : 0;
    const upper = ctx.int('upper', 1) === 1;
    const r = x.shape.length;
    // upper keeps j - i >= k; lower keeps j - i <= k (https://onnx.ai/onnx/operators/onnx__Trilu.html)
    const st = stridesOf(x.shape);
    const out = remap(x, x.shape, (idx) => idx.reduce((o, v, i) => o + v * st[i]!, 0));
    const idx = new Array<number>(r).fill(0);
    for (let e = 0; e < out.data.length; e++) {
      const d = idx[r - 1]! - idx[r - 2]!;
      if (upper ? d < k : d > k) out.data[e] = 0;
      for (let q = r - 1; q >= 0; q--) {
        if (++idx[q]! < x.shape[q]!) break;
        idx[q] = 0;
      }
    }
    return [out];
  },
  Where: (ctx) => {
    const [c, a, b] = [ctx.const(0), ctx.const(1), ctx.const(2)];
    return [broadcastMap([c, a, b], a.dtype, (p, x, y) => (p ? x : y), ctx.where)];
  },
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: (ctx) => binary(divide(ctx.const(0).dtype))(ctx),
  Pow: (ctx) => {
    const [a, b] = [ctx.const(0), ctx.const(1)];
    return [broadcastMap([a, b], a.dtype, Math.pow, ctx.where)];
  },
  Mod: (ctx) => {
    const fmod = ctx.int('fmod', 0) === 1;
    // fmod=0: the result takes the divisor's sign (Python %); fmod=1: the dividend's (C fmod)
    return binary((a, b) => (fmod ? a % b : a - b * Math.floor(a / b)))(ctx);
  },
  Max: variadic(Math.max),
  Min: variadic(Math.min),
  Sum: variadic((a, b) => a + b),
  Equal: binary((a, b) => Number(a === b), 'bool'),
  Less: binary((a, b) => Number(a < b), 'bool'),
  LessOrEqual: binary((a, b) => Number(a <= b), 'bool'),
  Greater: binary((a, b) => Number(a > b), 'bool'),
  GreaterOrEqual: binary((a, b) => Number(a >= b), 'bool'),
  And: binary((a, b) => Number(a && b), 'bool'),
  Or: binary((a, b) => Number(a || b), 'bool'),
  Xor: binary((a, b) => Number(!!a !== !!b), 'bool'),
  Not: unary((a) => Number(!a)),
  Neg: unary((a) => -a),
  Abs: unary(Math.abs),
  Sign: unary(Math.sign),
  Sqrt: unary(Math.sqrt),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Sin: unary(Math.sin),
  Cos: unary(Math.cos),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Reciprocal: unary((a) => 1 / a),
  Relu: unary((a) => Math.max(a, 0)),
  ReduceSum: reduce(0, (a, v) => a + v),
  ReduceMean: reduce(0, (a, v) => a + v, true),
  ReduceProd: reduce(1, (a, v) => a * v),
  ReduceMax: reduce(-Infinity, Math.max),
  ReduceMin: reduce(Infinity, Math.min),
};

/** ONNX Shape with the opset-15 start / end attributes (clamped like slice bounds). */
export function shapeOf(ctx: NodeContext, shape: readonly number[]): ConstTensor {
  const r = shape.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clamp(ctx.int('start', 0));
  const end = clamp(ctx.int('end', r));
  const dims = shape.slice(start, Math.max(start, end));
  return makeConst('int64', [dims.length], dims);
}


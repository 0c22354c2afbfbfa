/**
 * Elementwise ONNX ops: arithmetic and comparisons with numpy broadcasting
 * (https://onnx.ai/onnx/repo-docs/Broadcasting.html), logic, Where, unary math and Cast.
 */
import { composite, type DType, type ValueId } from '@pockengine/core';
import { isConst } from '../const.js';
import type { NodeContext } from '../context.js';
import type { HandlerTable, OnnxHandler } from './types.js';

type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'equal' | 'less' | 'less_equal' | 'greater' | 'greater_equal' | 'logical_and' | 'logical_or';
type UnaryOp = 'neg' | 'abs' | 'sign' | 'floor' | 'ceil' | 'round' | 'exp' | 'log' | 'sqrt' | 'reciprocal' | 'sin' | 'cos' | 'asin' | 'acos' | 'atan' | 'erf' | 'logical_not';

/**
 * Both operands of a binary op as IR values of one dtype. ONNX already requires equal types; a
 * mismatch only comes from mixed constants, which are converted at import rather than by a cast op.
 */
export function operands(ctx: NodeContext, i: number, j: number): [ValueId, ValueId] {
  const ta = ctx.type(i).dtype;
  const tb = ctx.type(j).dtype;
  if (ta === tb) return [ctx.value(i), ctx.value(j)];
  const target: DType = isConst(ctx.sym(i)) ? tb : ta;
  return [ctx.valueAs(i, target), ctx.valueAs(j, target)];
}

function binary(op: BinaryOp): OnnxHandler {
  return (ctx) => {
    const [a, b] = operands(ctx, 0, 1);
    return [ctx.b.op1(op, [a, b], {})];
  };
}

/** Max, Min, Sum take one or more inputs: a chain of binary ops. */
function variadic(op: 'add' | 'maximum' | 'minimum'): OnnxHandler {
  return (ctx) => {
    let acc = ctx.value(0);
    for (let i = 1; i < ctx.inputCount; i++) acc = ctx.b.op1(op, [acc, ctx.valueAs(i, ctx.b.dtype(acc))], {});
    return [acc];
  };
}

function unary(op: UnaryOp): OnnxHandler {
  return (ctx) => [ctx.b.op1(op, [ctx.value(0)], {})];
}

/** A unary op composed of core ops on input 0 (core's composite: their gradient rules make its gradient). */
function composed(f: (b: NodeContext['b'], x: ValueId) => ValueId): OnnxHandler {
  return (ctx) => [f(ctx.b, ctx.value(0))];
}

export const elementwiseHandlers: HandlerTable = {
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  /**
   * Pow: the exponent may have another type than the base (T1, T2 in the spec); it is converted
   * to the base's. A constant exponent of 1, 2 or 0.5 becomes x, x*x or sqrt(x).
   */
  Pow: (ctx) => {
    const x = ctx.value(0);
    const e = ctx.maybeConst(1);
    if (e && e.data.length === 1 && ctx.b.shape(x).length >= e.shape.length) {
      const k = e.data[0]!;
      if (k === 1) return [x];
      if (k === 2) return [ctx.b.mul(x, x)];
      if (k === 0.5) return [ctx.b.op1('sqrt', [x], {})];
    }
    return [ctx.b.op1('pow', [x, ctx.valueAs(1, ctx.b.dtype(x))], {})];
  },
  Max: variadic('maximum'),
  Min: variadic('minimum'),
  Sum: variadic('add'),
  Mean: (ctx) => {
    const s = variadic('add')(ctx)[0] as ValueId;
    return [ctx.b.mulScalar(s, 1 / ctx.inputCount)];
  },
  Equal: binary('equal'),
  Less: binary('less'),
  LessOrEqual: binary('less_equal'),
  Greater: binary('greater'),
  GreaterOrEqual: binary('greater_equal'),
  And: binary('logical_and'),
  Or: binary('logical_or'),
  Not: unary('logical_not'),
  Where: (ctx) => {
    const [a, b] = operands(ctx, 1, 2);
    return [ctx.b.where(ctx.valueAs(0, 'bool'), a, b)];
  },
  Neg: unary('neg'),
  Abs: unary('abs'),
  Sign: unary('sign'),
  Floor: unary('floor'),
  Ceil: unary('ceil'),
  // half to even, as ONNX specifies
  Round: unary('round'),
  Exp: unary('exp'),
  Log: unary('log'),
  Sqrt: unary('sqrt'),
  Reciprocal: unary('reciprocal'),
  Sin: unary('sin'),
  Cos: unary('cos'),
  Erf: unary('erf'),
  Asin: unary('asin'),
  Acos: unary('acos'),
  Atan: unary('atan'),
  Tan: composed(composite.tan),
  Sinh: composed(composite.sinh),
  Cosh: composed(composite.cosh),
  Asinh: composed(composite.asinh),
  Acosh: composed(composite.acosh),
  Atanh: composed(composite.atanh),
  IsNaN: composed(composite.isNan),
  IsInf: (ctx) => {
    const b = ctx.b;
    const x = ctx.value(0);
    const at = (v: number) => b.op1('equal', [x, b.scalarLike(v, x)], {});
    const pos = ctx.int('detect_positive', 1) === 1;
    const neg = ctx.int('detect_negative', 1) === 1;
    if (pos && neg) return [b.op1('logical_or', [at(Infinity), at(-Infinity)], {})];
    if (pos || neg) return [at(pos ? Infinity : -Infinity)];
    return [b.op1('logical_and', [at(Infinity), at(-Infinity)], {})]; // all false
  },
  Cast: (ctx) => [ctx.b.cast(ctx.value(0), ctx.dtypeAttr('to'))],
  CastLike: (ctx) => [ctx.b.cast(ctx.value(0), ctx.type(1).dtype)],
  Identity: (ctx) => [ctx.sym(0)],
};

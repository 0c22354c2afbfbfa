/**
 * Elementwise primitives. jax-js broadcasts n-ary operands with NumPy rules, as the IR does, so
 * operands pass through; literals arrive as shared scalar constants. A few local rewrites give
 * the IR op jax-js decomposed: x + (-y) is sub, x * (1/y) is div, max(x, 0) is relu,
 * 1 / (1 + exp(-x)) (jax.nn.sigmoid) is sigmoid, a sum times 1/n is reduce_mean, and the
 * softmax / log_softmax decompositions become one op (patterns.ts).
 */
import type { DType, ValueId } from '@pockengine/core';
import type { EqnContext, HandlerTable, Importer, JaxHandler } from '../context.js';
import type { PrimitiveName } from '../jaxpr.js';
import { matchLogSoftmax, matchSoftmax } from './patterns.js';

type Table = Partial<HandlerTable>;

/** Operands cast to the output dtype (weakly typed literals take the other operand's dtype). */
function operands<P extends PrimitiveName>(ctx: EqnContext<P>, dtype = ctx.outDtype()): ValueId[] {
  return ctx.inputs().map((v) => ctx.imp.cast(v, dtype));
}

/** The dtype two compared operands share: a literal adopts the other side's dtype. */
function compareDtype(ctx: EqnContext<'compare'>): DType {
  const [a, b] = ctx.inputs().map((v) => ctx.imp.dtype(v)) as [DType, DType];
  if (a === b) return a;
  if (ctx.isLiteral(0)) return b;
  if (ctx.isLiteral(1)) return a;
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}

const isConst = (imp: Importer, v: ValueId, c: number) => imp.scalarValue(v) === c;

/** `x + (-y)` -> `x - y` (jax-js has no subtraction primitive); log_softmax is matched here. */
const add: JaxHandler<'add'> = (ctx) => {
  const imp = ctx.imp;
  if (ctx.outDtype() === 'bool') return [imp.op('logical_or', ctx.inputs(), {})];
  const [x, y] = operands(ctx) as [ValueId, ValueId];
  for (const [a, n] of [[x, y], [y, x]] as const) {
    const p = imp.producer(n);
    if (p?.op === 'neg') return [matchLogSoftmax(imp, a, p.inputs[0]!) ?? imp.op('sub', [a, p.inputs[0]!], {})];
  }
  return [imp.op('add', [x, y], {})];
};

/**
 * `x * (1/y)` -> `x / y`; scalar factors fold (`(x * a) * b` -> `x * ab`); `sum(x) * 1/n` over n
 * summed elements -> reduce_mean (jax-js's mean, reshaped or not).
 */
const mul: JaxHandler<'mul'> = (ctx) => {
  const imp = ctx.imp;
  if (ctx.outDtype() === 'bool') return [imp.op('logical_and', ctx.inputs(), {})];
  let [x, y] = operands(ctx) as [ValueId, ValueId];
  if (imp.scalarValue(x) !== undefined) [x, y] = [y, x];
  for (const [a, r] of [[x, y], [y, x]] as const) {
    const p = imp.producer(r);
    if (p?.op === 'reciprocal') return [matchSoftmax(imp, a, p.inputs[0]!) ?? imp.op('div', [a, p.inputs[0]!], {})];
  }
  const c = imp.scalarValue(y);
  if (c !== undefined) {
    if (c === 1) return [x];
    const p = imp.producer(x);
    const c0 = p?.op === 'mul' ? imp.scalarValue(p.inputs[1]!) : undefined;
    if (p && c0 !== undefined) {
      const k = c0 * c;
      return [k === 1 ? p.inputs[0]! : imp.op('mul', [p.inputs[0]!, imp.literal(k, imp.dtype(x))], {})];
    }
    const mean = asMean(imp, x, c);
    if (mean !== undefined) return [mean];
  }
  return [imp.op('mul', [x, y], {})];
};

/** reduce_sum(u) (possibly reshaped) times fround(1/n), n the number of summed elements, is a mean. */
function asMean(imp: Importer, v: ValueId, c: number): ValueId | undefined {
  let p = imp.producer(v);
  let reshaped = false;
  if (p?.op === 'reshape') {
    reshaped = true;
    p = imp.producer(p.inputs[0]!);
  }
  if (p?.op !== 'reduce_sum') return undefined;
  const u = p.inputs[0]!;
  const axes = p.attrs.axes as number[];
  const n = axes.reduce((acc, a) => acc * imp.shape(u)[a]!, 1);
  const dt = imp.dtype(u);
  if (dt !== 'float32' && dt !== 'float64') return undefined;
  if (c !== (dt === 'float32' ? Math.fround(1 / n) : 1 / n)) return undefined;
  const m = imp.op('reduce_mean', [u], { axes, keepdims: false });
  return reshaped ? imp.reshape(m, imp.shape(v)) : m;
}

/** max(x, 0) is relu; bool max is or. */
const max: JaxHandler<'max'> = (ctx) => {
  const imp = ctx.imp;
  if (ctx.outDtype() === 'bool') return [imp.op('logical_or', ctx.inputs(), {})];
  const [x, y] = operands(ctx) as [ValueId, ValueId];
  const float = ctx.outDtype() === 'float32' || ctx.outDtype() === 'float64';
  if (float && isConst(imp, y, 0) && ctx.isLiteral(1)) return [imp.op('relu', [x], {})];
  if (float && isConst(imp, x, 0) && ctx.isLiteral(0)) return [imp.op('relu', [y], {})];
  return [imp.op('maximum', [x, y], {})];
};

const min: JaxHandler<'min'> = (ctx) => {
  if (ctx.outDtype() === 'bool') return [ctx.imp.op('logical_and', ctx.inputs(), {})];
  return [ctx.imp.op('minimum', operands(ctx), {})];
};

/** 1 / (1 + exp(-x)) -> sigmoid(x) (jax.nn.sigmoid); otherwise reciprocal. */
const reciprocal: JaxHandler<'reciprocal'> = (ctx) => {
  const imp = ctx.imp;
  const v = ctx.input(0);
  const p = imp.producer(v);
  if (p?.op === 'add') {
    const [a, b] = p.inputs as [ValueId, ValueId];
    const e = isConst(imp, b, 1) ? a : isConst(imp, a, 1) ? b : undefined;
    const pe = e !== undefined ? imp.producer(e) : undefined;
    const pn = pe?.op === 'exp' ? imp.producer(pe.inputs[0]!) : undefined;
    if (pn?.op === 'neg') return [imp.op('sigmoid', [pn.inputs[0]!], {})];
  }
  return [imp.op('reciprocal', [v], {})];
};

function unary<P extends PrimitiveName>(op: 'neg' | 'sin' | 'cos' | 'asin' | 'atan' | 'exp' | 'log' | 'erf' | 'sqrt'): JaxHandler<P> {
  return (ctx) => [ctx.imp.op(op, [ctx.input(0)], {})];
}

/** floor / ceil: the IR op on floats, the identity on integers. */
function rounding<P extends PrimitiveName>(op: 'floor' | 'ceil'): JaxHandler<P> {
  return (ctx) => {
    const d = ctx.outDtype();
    if (d === 'float32' || d === 'float64') return [ctx.imp.op(op, [ctx.input(0)], {})];
    return [ctx.input(0)];
  };
}

const COMPARE = { less: 'less', equal: 'equal', less_equal: 'less_equal' } as const;

const unsupported =
  <P extends PrimitiveName>(reason: string): JaxHandler<P> =>
  (ctx) =>
    ctx.unsupported(reason);

export const elementwiseHandlers = {
  add,
  mul,
  max,
  min,
  neg: unary('neg'),
  reciprocal,
  sin: unary('sin'),
  cos: unary('cos'),
  exp: unary('exp'),
  log: unary('log'),
  erf: unary('erf'),
  sqrt: unary('sqrt'),
  /** erfc(x) = 1 - erf(x) (the IR has erf only; exact in float64, fine in float32 for |x| < ~4). */
  erfc: (ctx) => {
    const x = ctx.input(0);
    return [ctx.imp.op('sub', [ctx.imp.literal(1, ctx.imp.dtype(x)), ctx.imp.op('erf', [x], {})], {})];
  },
  floor: rounding('floor'),
  ceil: rounding('ceil'),
  /** Integer values carry no gradient anyway; float ones go through the IR's stop_gradient. */
  stop_gradient: (ctx) => {
    const x = ctx.input(0);
    const d = ctx.imp.dtype(x);
    if (d !== 'float32' && d !== 'float64') return [x];
    return [ctx.imp.op('stop_gradient', [x], {})];
  },
  cast: (ctx) => [ctx.imp.cast(ctx.input(0), ctx.outDtype())],
  compare: (ctx) => {
    const dt = compareDtype(ctx);
    const [x, y] = ctx.inputs().map((v) => ctx.imp.cast(v, dt)) as [ValueId, ValueId];
    if (ctx.params.op === 'not_equal') return [ctx.imp.op('logical_not', [ctx.imp.op('equal', [x, y], {})], {})];
    const op = COMPARE[ctx.params.op as keyof typeof COMPARE];
    if (!op) ctx.unsupported(`comparison '${ctx.params.op}'`);
    return [ctx.imp.op(op, [x, y], {})];
  },
  where: (ctx) => {
    const dt = ctx.outDtype();
    const [c, x, y] = ctx.inputs();
    return [ctx.imp.op('where', [ctx.imp.cast(c!, 'bool'), ctx.imp.cast(x!, dt), ctx.imp.cast(y!, dt)], {})];
  },
  idiv: unsupported('the IR has no integer division op'),
  mod: unsupported('the IR has no modulo op'),
  asin: unary('asin'),
  atan: unary('atan'),
  bit_combine: unsupported('the IR has no bitwise ops'),
  bit_shift: unsupported('the IR has no bitwise ops'),
  bit_count: unsupported('the IR has no bitwise ops'),
  bitcast: unsupported('the IR has no bitcast'),
  random_bits: unsupported('random numbers inside the model: generate them outside and pass them as an input'),
} satisfies Table;

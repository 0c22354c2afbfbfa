/**
 * Elementwise math, activations, matrix products and reductions of a GraphDef
 * (https://www.tensorflow.org/api_docs/python/tf/raw_ops). Binary ops broadcast as numpy;
 * constant operands that are not weights are folded on the host.
 */
import { composite, cumsum, einsum, type GraphBuilder, type ValueId } from '@pockengine/core';
import { activation } from '../../activations.js';
import { act, addChannelBias, aligned, nhwc, physicalAxis, type Act } from '../../layout.js';
import { isConst, type OpContext, type Sym } from '../context.js';
import { hostBinary, hostReduce, isWeight } from '../host.js';
import type { OpHandlerTable } from './types.js';

type Bin = (b: GraphBuilder, x: ValueId, y: ValueId) => ValueId;

/** `f` null: the op only folds (its inputs must be constants). */
function binary(f: Bin | null, host?: (x: number, y: number) => number) {
  return (ctx: OpContext): Sym[] => {
    const [a, c] = [ctx.sym(0), ctx.sym(1)];
    if (host && isConst(a) && isConst(c) && !isWeight(a) && !isWeight(c)) return [hostBinary(a, c, host, a.dtype, ctx.where)];
    if (!f) ctx.unsupported(`${ctx.node.op} is only supported on constants (it is folded at import)`);
    const { vals, nchw } = aligned(ctx.b, [ctx.value(0), ctx.value(1)]);
    return [act(f(ctx.b, vals[0]!, vals[1]!), nchw)];
  };
}

function unary(f: (b: GraphBuilder, x: ValueId) => ValueId) {
  return (ctx: OpContext): Sym[] => {
    const x = ctx.value(0);
    return [act(f(ctx.b, x.v), x.nchw)];
  };
}

/** A Keras-named activation (activations.ts) as a TF op. */
const named = (name: string) => (ctx: OpContext): Sym[] => [activation(ctx.b, ctx.value(0), name, ctx.where)];

function LeakyRelu(ctx: OpContext): Sym[] {
  const x = ctx.value(0);
  return [act(ctx.b.op1('leaky_relu', [x.v], { alpha: ctx.attrs.float('alpha', 0.2) }), x.nchw)];
}

/** Softmax over the last axis; an output that is a softmax may be replaced by its logits. */
function Softmax(ctx: OpContext): Sym[] {
  const x = ctx.value(0);
  const y = activation(ctx.b, x, 'softmax', ctx.where);
  ctx.markSoftmax(y, x);
  return [y];
}

/**
 * The epilogue of _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul: fused_ops is
 * [BiasAdd?, activation?] with args [bias, prelu alpha] (tfjs-converter fusedConvAndDepthWiseParams).
 */
export function fusedEpilogue(ctx: OpContext, y: Act, firstArg: number): Act {
  const ops = ctx.attrs.strs('fused_ops', []);
  let arg = firstArg;
  let k = 0;
  if (ops[0] === 'BiasAdd') {
    y = addChannelBias(ctx.b, y, ctx.value(arg++).v);
    k = 1;
  } else if (ops[0] === 'FusedBatchNorm') ctx.unsupported('fused_ops FusedBatchNorm is not supported (TF.js rejects it too)');
  const rest = ops.slice(k);
  if (rest.length > 1) ctx.unsupported(`fused_ops ${JSON.stringify(ops)} is not supported`);
  const f = rest[0];
  if (f === undefined) return y;
  const b = ctx.b;
  if (f === 'LeakyRelu') return act(b.op1('leaky_relu', [y.v], { alpha: ctx.attrs.float('leakyrelu_alpha', 0.2) }), y.nchw);
  if (f === 'Prelu') {
    const { vals, nchw } = aligned(b, [y, ctx.value(arg)]);
    const pos = b.op1('greater', [vals[0]!, b.scalarLike(0, vals[0]!)], {});
    return act(b.where(pos, vals[0]!, b.mul(vals[1]!, vals[0]!)), nchw);
  }
  const names: Record<string, string> = { Relu: 'relu', Relu6: 'relu6', Elu: 'elu', Sigmoid: 'sigmoid', Tanh: 'tanh' };
  if (!names[f]) ctx.unsupported(`fused activation '${f}' is not supported`);
  return activation(b, y, names[f], ctx.where);
}

function matmul(ta: string, tb: string) {
  return (ctx: OpContext): Sym[] => {
    const x = nhwc(ctx.b, ctx.value(0));
    const w = nhwc(ctx.b, ctx.value(1));
    const y = act(ctx.b.matmul(x, w, ctx.attrs.bool(ta, false), ctx.attrs.bool(tb, false)));
    return [ctx.node.op === '_FusedMatMul' ? fusedEpilogue(ctx, y, 2) : y];
  };
}

function BiasAdd(ctx: OpContext): Sym[] {
  ctx.requireNhwc();
  return [addChannelBias(ctx.b, ctx.value(0), ctx.value(1).v)];
}

/**
 * Reductions with constant axes. An NCHW tensor is reduced in place when the kept axes stay in
 * TF.js order (e.g. the spatial mean of global pooling); otherwise it is transposed back first.
 */
function reduce(kind: 'reduce_mean' | 'reduce_sum' | 'reduce_max' | 'min', host: 'mean' | 'sum' | 'max' | 'min') {
  return (ctx: OpContext): Sym[] => {
    const keep = ctx.attrs.bool('keep_dims', false);
    const s = ctx.sym(0);
    const axes0 = ctx.ints(1, 'reduction axes');
    if (isConst(s) && !isWeight(s)) return [hostReduce(s, axes0, keep, host)];
    const b = ctx.b;
    let x = ctx.value(0);
    const r = b.rank(x.v);
    const axes = axes0.map((a) => (a < 0 ? a + r : a));
    if (x.nchw && !keep) {
      const keptPhys = [0, 1, 2, 3].filter((i) => !axes.includes(i)).map((i) => physicalAxis(b, x, i));
      if (keptPhys.some((p, i) => i > 0 && p < keptPhys[i - 1]!)) x = act(nhwc(b, x));
    }
    const phys = axes.map((a) => physicalAxis(b, x, a));
    const nchw = x.nchw && keep;
    if (kind === 'min') return [act(b.neg(b.op1('reduce_max', [b.neg(x.v)], { axes: phys, keepdims: keep })), nchw)];
    return [act(b.op1(kind, [x.v], { axes: phys, keepdims: keep }), nchw)];
  };
}

function Prod(ctx: OpContext): Sym[] {
  return [hostReduce(ctx.const(0, 'Prod input (products are folded at import only)'), ctx.ints(1, 'axes'), ctx.attrs.bool('keep_dims', false), 'prod')];
}

const square = (b: GraphBuilder, x: ValueId): ValueId => b.mul(x, x);

/** A core comparison / logical op on broadcast operands (bool result, no gradient). */
const cmp = (op: 'greater' | 'greater_equal' | 'less' | 'less_equal' | 'equal' | 'logical_and' | 'logical_or') => binary((b, x, y) => b.op1(op, [x, y], {}));

/** Select / SelectV2(cond, a, b): SelectV2 broadcasts all three; Select's rank-1 cond picks rows. */
function Select(ctx: OpContext): Sym[] {
  const b = ctx.b;
  let cond = ctx.value(0);
  const a = ctx.value(1);
  const r = b.rank(nhwc(b, a));
  const cr = b.rank(nhwc(b, cond));
  if (ctx.node.op === 'Select' && cr === 1 && r > 1) cond = act(b.reshape(nhwc(b, cond), [b.shape(nhwc(b, cond))[0]!, ...new Array<number>(r - 1).fill(1)]));
  const { vals, nchw } = aligned(b, [cond, a, ctx.value(2)]);
  return [act(b.where(b.cast(vals[0]!, 'bool'), vals[1]!, vals[2]!), nchw)];
}

/** Einsum(inputs..., equation): core's lowering to transposes, sums and batched matmuls. */
function Einsum(ctx: OpContext): Sym[] {
  const equation = ctx.attrs.str('equation', '');
  if (!equation) ctx.fail('attribute equation is required');
  const vals = ctx.inputs.map((_, i) => nhwc(ctx.b, ctx.value(i)));
  return [act(einsum(ctx.b, equation, vals, ctx.where))];
}

/** Cumsum(x, axis) with exclusive / reverse: core's cumsum (a matmul with a triangular constant). */
function Cumsum(ctx: OpContext): Sym[] {
  const x = nhwc(ctx.b, ctx.value(0));
  const r = ctx.b.rank(x);
  let axis = ctx.ints(1, 'axis')[0]!;
  if (axis < 0) axis += r;
  return [act(cumsum(ctx.b, x, axis, ctx.attrs.bool('exclusive', false), ctx.attrs.bool('reverse', false), ctx.node.name, ctx.where))];
}

/** ClipByValue(x, lo, hi) = min(max(x, lo), hi). */
function ClipByValue(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const { vals, nchw } = aligned(b, [ctx.value(0), ctx.value(1), ctx.value(2)]);
  return [act(b.op1('minimum', [b.op1('maximum', [vals[0]!, vals[1]!], {}), vals[2]!], {}), nchw)];
}

/** Prelu(x, alpha) = x where x > 0, alpha * x elsewhere. */
function Prelu(ctx: OpContext): Sym[] {
  const b = ctx.b;
  const { vals, nchw } = aligned(b, [ctx.value(0), ctx.value(1)]);
  const pos = b.op1('greater', [vals[0]!, b.scalarLike(0, vals[0]!)], {});
  return [act(b.where(pos, vals[0]!, b.mul(vals[1]!, vals[0]!)), nchw)];
}

export const mathHandlers: OpHandlerTable = {
  Add: binary((b, x, y) => b.add(x, y), (x, y) => x + y),
  AddV2: binary((b, x, y) => b.add(x, y), (x, y) => x + y),
  Sub: binary((b, x, y) => b.sub(x, y), (x, y) => x - y),
  Mul: binary((b, x, y) => b.mul(x, y), (x, y) => x * y),
  RealDiv: binary((b, x, y) => b.div(x, y), (x, y) => x / y),
  Div: binary((b, x, y) => b.div(x, y), (x, y) => x / y),
  FloorDiv: binary(null, (x, y) => Math.floor(x / y)),
  Maximum: binary((b, x, y) => b.op1('maximum', [x, y], {}), Math.max),
  Minimum: binary((b, x, y) => b.op1('minimum', [x, y], {}), Math.min),
  Pow: binary((b, x, y) => b.op1('pow', [x, y], {}), (x, y) => x ** y),
  SquaredDifference: binary((b, x, y) => square(b, b.sub(x, y)), (x, y) => (x - y) ** 2),
  Neg: unary((b, x) => b.neg(x)),
  Abs: unary((b, x) => b.op1('abs', [x], {})),
  Exp: unary((b, x) => b.op1('exp', [x], {})),
  Log: unary((b, x) => b.op1('log', [x], {})),
  Sqrt: unary((b, x) => b.op1('sqrt', [x], {})),
  Rsqrt: unary((b, x) => b.op1('rsqrt', [x], {})),
  Reciprocal: unary((b, x) => b.op1('reciprocal', [x], {})),
  Square: unary(square),
  Erf: unary((b, x) => b.op1('erf', [x], {})),
  Relu: named('relu'),
  Relu6: named('relu6'),
  Elu: named('elu'),
  Selu: named('selu'),
  Sigmoid: named('sigmoid'),
  Tanh: named('tanh'),
  Softplus: named('softplus'),
  LeakyRelu,
  Softmax,
  LogSoftmax: (ctx) => [activation(ctx.b, ctx.value(0), 'log_softmax', ctx.where)],
  BiasAdd,
  MatMul: matmul('transpose_a', 'transpose_b'),
  _FusedMatMul: matmul('transpose_a', 'transpose_b'),
  BatchMatMul: matmul('adj_x', 'adj_y'),
  BatchMatMulV2: matmul('adj_x', 'adj_y'),
  Mean: reduce('reduce_mean', 'mean'),
  Sum: reduce('reduce_sum', 'sum'),
  Max: reduce('reduce_max', 'max'),
  Min: reduce('min', 'min'),
  Prod,
  Greater: cmp('greater'),
  GreaterEqual: cmp('greater_equal'),
  Less: cmp('less'),
  LessEqual: cmp('less_equal'),
  Equal: cmp('equal'),
  NotEqual: binary((b, x, y) => b.op1('logical_not', [b.op1('equal', [x, y], {})], {})),
  LogicalAnd: cmp('logical_and'),
  LogicalOr: cmp('logical_or'),
  LogicalNot: unary((b, x) => b.op1('logical_not', [x], {})),
  Select,
  SelectV2: Select,
  ClipByValue,
  Einsum,
  Cumsum,
  Prelu,
  Sign: unary((b, x) => b.op1('sign', [x], {})),
  Sin: unary((b, x) => b.op1('sin', [x], {})),
  Cos: unary((b, x) => b.op1('cos', [x], {})),
  // no core ops of their own: core's composites
  Tan: unary(composite.tan),
  Sinh: unary(composite.sinh),
  Cosh: unary(composite.cosh),
  Asinh: unary(composite.asinh),
  Acosh: unary(composite.acosh),
  Atanh: unary(composite.atanh),
  IsNan: unary(composite.isNan),
  Log1p: unary((b, x) => b.op1('log', [b.add(x, b.scalarLike(1, x))], {})),
  Expm1: unary((b, x) => b.sub(b.op1('exp', [x], {}), b.scalarLike(1, x))),
  StopGradient: unary((b, x) => b.op1('stop_gradient', [x], {})),
};

/** Activation ONNX ops (https://onnx.ai/onnx/operators/): each maps to one IR activation or a short decomposition. */
import { constScalar } from '../const.js';
import type { NodeContext } from '../context.js';
import type { HandlerTable } from './types.js';

/** Clip bounds: attributes before opset 11, optional constant inputs from 11 (null = unbounded). */
function clipBound(ctx: NodeContext, i: number, attr: 'min' | 'max'): number | null {
  if (ctx.opset < 11) {
    const v = ctx.float(attr);
    return v === undefined || !Number.isFinite(v) ? null : v;
  }
  if (!ctx.has(i)) return null;
  const v = constScalar(ctx.const(i, attr), attr, ctx.where);
  return Number.isFinite(v) ? v : null;
}

export const activationHandlers: HandlerTable = {
  Relu: (ctx) => [ctx.b.op1('relu', [ctx.value(0)], {})],
  Sigmoid: (ctx) => [ctx.b.op1('sigmoid', [ctx.value(0)], {})],
  Tanh: (ctx) => [ctx.b.op1('tanh', [ctx.value(0)], {})],
  Softplus: (ctx) => [ctx.b.op1('softplus', [ctx.value(0)], {})],
  HardSwish: (ctx) => [ctx.b.op1('hard_swish', [ctx.value(0)], {})],
  Clip: (ctx) => {
    const min = clipBound(ctx, 1, 'min');
    const max = clipBound(ctx, 2, 'max');
    if (min !== null && max !== null && min > max) ctx.fail(`min ${min} is greater than max ${max}`);
    if (min === null && max === null) return [ctx.sym(0)];
    return [ctx.b.op1('clip', [ctx.value(0)], { min, max })];
  },
  /** Gelu (opset 20): approximate = 'none' (erf form) or 'tanh'. */
  Gelu: (ctx) => {
    const approximate = ctx.string('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') return ctx.fail(`approximate='${approximate}' is not supported (none, tanh)`);
    return [ctx.b.op1('gelu', [ctx.value(0)], { approximate })];
  },
  LeakyRelu: (ctx) => [ctx.b.op1('leaky_relu', [ctx.value(0)], { alpha: ctx.float('alpha', 0.01) })],
  HardSigmoid: (ctx) => [ctx.b.op1('hard_sigmoid', [ctx.value(0)], { alpha: ctx.float('alpha', 0.2), beta: ctx.float('beta', 0.5) })],
  /** PRelu: y = x for x >= 0, slope * x otherwise (slope broadcasts, usually a per-channel param). */
  PRelu: (ctx) => {
    const b = ctx.b;
    const x = ctx.value(0);
    const slope = ctx.valueAs(1, b.dtype(x));
    const neg = b.op1('less', [x, b.scalarLike(0, x)], {});
    return [b.where(neg, b.mul(x, slope), x)];
  },
  /** Elu: y = x for x > 0, alpha * (exp(x) - 1) otherwise. */
  Elu: (ctx) => {
    const b = ctx.b;
    const x = ctx.value(0);
    const alpha = ctx.float('alpha', 1);
    const pos = b.op1('greater', [x, b.scalarLike(0, x)], {});
    const em1 = b.sub(b.op1('exp', [x], {}), b.scalarLike(1, x));
    return [b.where(pos, x, b.mulScalar(em1, alpha))];
  },
};

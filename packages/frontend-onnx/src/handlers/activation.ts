/** Activation ONNX ops (https://onnx.ai/onnx/operators/): each maps to one IR activation or a short decomposition. */
import { isFloat, type ValueId } from '@pockengine/core';
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

/**
 * x where x > 0, else scale * (exp(x * rate) - 1): Celu with scale = alpha, rate = 1 / alpha and
 * Selu before its gamma with scale = alpha, rate = 1. exp reads min(x, 0): for a large positive
 * x the unselected branch would overflow to inf, and where's zero cotangent times inf is NaN in
 * the backward pass.
 */
function expLinear(ctx: NodeContext, x: ValueId, scale: number, rate: number): ValueId {
  const b = ctx.b;
  const neg = b.op1('minimum', [x, b.scalarLike(0, x)], {});
  const em1 = b.sub(b.op1('exp', [rate === 1 ? neg : b.mulScalar(neg, rate)], {}), b.scalarLike(1, x));
  const pos = b.op1('greater', [x, b.scalarLike(0, x)], {});
  return b.where(pos, x, scale === 1 ? em1 : b.mulScalar(em1, scale));
}

/** Input 0, which must be a float tensor (the type constraint of these activations). */
function floatX(ctx: NodeContext): ValueId {
  const x = ctx.value(0);
  const dtype = ctx.b.dtype(x);
  if (!isFloat(dtype)) ctx.fail(`input X must be a float tensor, got ${dtype}`, 'dtype');
  return x;
}

/** A float attribute that must be finite (and, with `nonzero`, not 0). */
function finiteAttr(ctx: NodeContext, name: string, def: number, nonzero = false): number {
  const v = ctx.float(name, def);
  if (!Number.isFinite(v) || (nonzero && v === 0)) ctx.fail(`${name} must be a finite${nonzero ? ' nonzero' : ''} number, got ${v}`);
  return v;
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
  /** ThresholdedRelu: x where x > alpha (default 1), else 0. */
  ThresholdedRelu: (ctx) => {
    const b = ctx.b;
    const x = floatX(ctx);
    return [b.where(b.op1('greater', [x, b.scalarLike(ctx.float('alpha', 1), x)], {}), x, b.scalarLike(0, x))];
  },
  /** Shrink: x + bias where x < -lambd, x - bias where x > lambd, else 0. */
  Shrink: (ctx) => {
    const b = ctx.b;
    const x = floatX(ctx);
    const lambd = ctx.float('lambd', 0.5);
    const bias = ctx.float('bias', 0);
    const zero = b.scalarLike(0, x);
    const above = b.where(b.op1('greater', [x, b.scalarLike(lambd, x)], {}), b.sub(x, b.scalarLike(bias, x)), zero);
    return [b.where(b.op1('less', [x, b.scalarLike(-lambd, x)], {}), b.add(x, b.scalarLike(bias, x)), above)];
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
  Elu: (ctx) => [expLinear(ctx, ctx.value(0), ctx.float('alpha', 1), 1)],
  /**
   * Selu (https://onnx.ai/onnx/operators/onnx__Selu.html): gamma * x for x > 0,
   * gamma * alpha * (exp(x) - 1) otherwise. The defaults are the spec's float32 constants.
   */
  Selu: (ctx) => {
    const alpha = finiteAttr(ctx, 'alpha', 1.67326319217681884765625);
    const gamma = finiteAttr(ctx, 'gamma', 1.05070102214813232421875);
    return [ctx.b.mulScalar(expLinear(ctx, floatX(ctx), alpha, 1), gamma)];
  },
  /** Celu (https://onnx.ai/onnx/operators/onnx__Celu.html): max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). */
  Celu: (ctx) => {
    const alpha = finiteAttr(ctx, 'alpha', 1, true);
    return [expLinear(ctx, floatX(ctx), alpha, 1 / alpha)];
  },
  /** Mish (opset 18, https://onnx.ai/onnx/operators/onnx__Mish.html): x * tanh(softplus(x)). */
  Mish: (ctx) => {
    const b = ctx.b;
    const x = floatX(ctx);
    return [b.mul(x, b.op1('tanh', [b.op1('softplus', [x], {})], {}))];
  },
  /** Softsign (https://onnx.ai/onnx/operators/onnx__Softsign.html): x / (1 + |x|). */
  Softsign: (ctx) => {
    const b = ctx.b;
    const x = floatX(ctx);
    return [b.div(x, b.add(b.op1('abs', [x], {}), b.scalarLike(1, x)))];
  },
};

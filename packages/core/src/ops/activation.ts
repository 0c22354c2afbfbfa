/**
 * Activation functions (elementwise, float32/float64), following PyTorch's torch.nn.functional
 * and the ONNX operator pages. Where the gradient needs a value that a decomposition would
 * recompute awkwardly (gelu, silu) or where the saved value matters (relu keeps only its
 * output), a dedicated `*_grad` op computes it; the rest decompose into elementwise ops.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { GraphBuilder } from '../ir/builder.js';
import type { Attrs, TypeInfo, ValueId } from '../ir/graph.js';
import { fmtShape, shapeEq } from '../shape.js';
import { requireAttr, requireFloat, sameDtype } from './checks.js';
import { elementwiseCost } from './cost.js';
import { defineOp, type OpDef, type VjpRule } from './op-def.js';

type NoAttrs = Record<string, never>;
export type ClipAttrs = { min: number | null; max: number | null };
export type GeluAttrs = { approximate: 'none' | 'tanh' };

/** Attribute types of this family's ops. */
export interface ActivationOpsAttrs {
  relu: NoAttrs;
  relu_grad: NoAttrs;
  clip: ClipAttrs;
  clip_grad: ClipAttrs;
  sigmoid: NoAttrs;
  tanh: NoAttrs;
  gelu: GeluAttrs;
  gelu_grad: GeluAttrs;
  silu: NoAttrs;
  silu_grad: NoAttrs;
  leaky_relu: { alpha: number };
  softplus: NoAttrs;
  hard_sigmoid: { alpha: number; beta: number };
  hard_swish: NoAttrs;
}

function inferUnary([x]: readonly TypeInfo[], _a: unknown, where: ErrorLocation): TypeInfo[] {
  requireFloat(x!, 'input', where);
  return [{ dtype: x!.dtype, shape: x!.shape }];
}

/** Backward ops take (saved value, cotangent) of one shape and dtype: the vjp emits them so. */
function inferGrad(inputs: readonly TypeInfo[], _a: unknown, where: ErrorLocation): TypeInfo[] {
  const [x, dy] = inputs as [TypeInfo, TypeInfo];
  requireFloat(x, 'input', where);
  const dtype = sameDtype(inputs, where);
  if (!shapeEq(x.shape, dy.shape))
    throw new PockError('shape', `gradient shape ${fmtShape(dy.shape)} differs from input shape ${fmtShape(x.shape)}`, where);
  return [{ dtype, shape: x.shape }];
}

function unary<A extends Attrs>(
  name: string,
  vjp: VjpRule<A>,
  flops: number,
  check?: (a: A, where: ErrorLocation) => void,
): OpDef<A> {
  return defineOp<A>({
    name,
    arity: [1, 1],
    infer: (inputs, a, where) => {
      check?.(a, where);
      return inferUnary(inputs, a, where);
    },
    vjp,
    cost: elementwiseCost(flops),
    elementwise: true,
  });
}

function backward<A extends Attrs>(name: string, flops: number, check?: (a: A, where: ErrorLocation) => void): OpDef<A> {
  return defineOp<A>({
    name,
    arity: [2, 2],
    infer: (inputs, a, where) => {
      check?.(a, where);
      return inferGrad(inputs, a, where);
    },
    nondiff: 'backward',
    cost: elementwiseCost(flops),
    elementwise: true,
  });
}

const checkGelu = (a: GeluAttrs, where: ErrorLocation) =>
  requireAttr(a.approximate === 'none' || a.approximate === 'tanh', `approximate must be 'none' or 'tanh', got '${a.approximate}'`, where);

const checkClip = (a: ClipAttrs, where: ErrorLocation) => {
  for (const k of ['min', 'max'] as const) {
    const v = a[k];
    requireAttr(v === null || (typeof v === 'number' && !Number.isNaN(v)), `${k} must be a number or null, got ${v}`, where);
  }
};

const checkFinite = (name: string, v: number, where: ErrorLocation) =>
  requireAttr(typeof v === 'number' && Number.isFinite(v), `${name} must be a finite number, got ${v}`, where);

/** Emits `g * dydx`, single-output rules with a non-null cotangent. */
const scale = (b: GraphBuilder, g: ValueId, d: ValueId) => b.mul(g, d);

export const activationOps: { [K in keyof ActivationOpsAttrs]: OpDef<ActivationOpsAttrs[K]> } = {
  /** max(x, 0). The gradient reads only the output: y > 0 iff x > 0, so x need not be saved. */
  relu: unary<NoAttrs>('relu', (b, { outputs: [y] }, [g]) => [b.op1('relu_grad', [y!, g!], {})], 1),
  /** dx = dy where y > 0, else 0 (PyTorch threshold_backward on the result). */
  relu_grad: backward<NoAttrs>('relu_grad', 1),

  /**
   * min(max(x, min), max) with either bound optional (ONNX Clip, torch.clamp); ReLU6 is
   * clip(0, 6). When min > max every element becomes max, as both define.
   */
  clip: unary<ClipAttrs>(
    'clip',
    (b, { inputs: [x], attrs }, [g]) => [b.op1('clip_grad', [x!, g!], { min: attrs.min, max: attrs.max })],
    2,
    checkClip,
  ),
  /**
   * dx = dy where min <= x <= max (inclusive, torch.clamp backward; ONNX Clip maps to clamp).
   * Note torch.nn.functional.hardtanh / relu6 use strict bounds instead; the two differ only at
   * the bounds themselves.
   */
  clip_grad: backward<ClipAttrs>('clip_grad', 2, checkClip),

  /** 1 / (1 + exp(-x)); dx = g * y * (1 - y). */
  sigmoid: unary<NoAttrs>('sigmoid', (b, { outputs: [y] }, [g]) => [scale(b, g!, b.mul(y!, b.sub(b.scalarLike(1, y!), y!)))], 4),
  /** dx = g * (1 - y^2). */
  tanh: unary<NoAttrs>('tanh', (b, { outputs: [y] }, [g]) => [scale(b, g!, b.sub(b.scalarLike(1, y!), b.mul(y!, y!)))], 4),

  /**
   * torch.nn.functional.gelu: 'none' is x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); 'tanh' is
   * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Hendrycks & Gimpel, 2016, section 2).
   */
  gelu: unary<GeluAttrs>(
    'gelu',
    (b, { inputs: [x], attrs }, [g]) => [b.op1('gelu_grad', [x!, g!], { approximate: attrs.approximate })],
    10,
    checkGelu,
  ),
  gelu_grad: backward<GeluAttrs>('gelu_grad', 14, checkGelu),

  /** x * sigmoid(x) (torch.nn.functional.silu, "swish"). */
  silu: unary<NoAttrs>('silu', (b, { inputs: [x] }, [g]) => [b.op1('silu_grad', [x!, g!], {})], 5),
  /** dx = dy * s * (1 + x (1 - s)) with s = sigmoid(x). */
  silu_grad: backward<NoAttrs>('silu_grad', 8),

  /** x if x >= 0 else alpha * x (ONNX LeakyRelu); dx = g where x > 0 else alpha * g (PyTorch). */
  leaky_relu: unary<{ alpha: number }>(
    'leaky_relu',
    (b, { inputs: [x], attrs }, [g]) => {
      const pos = b.op1('greater', [x!, b.scalarLike(0, x!)], {});
      return [b.where(pos, g!, b.mulScalar(g!, attrs.alpha))];
    },
    2,
    (a, where) => checkFinite('alpha', a.alpha, where),
  ),

  /**
   * log(1 + exp(x)) (ONNX Softplus, torch softplus with beta 1), computed stably as
   * max(x, 0) + log1p(exp(-|x|)) (PyTorch instead returns x above threshold 20; the two agree
   * to float64 rounding there). dx = g * sigmoid(x).
   */
  softplus: unary<NoAttrs>('softplus', (b, { inputs: [x] }, [g]) => [scale(b, g!, b.op1('sigmoid', [x!], {}))], 5),

  /**
   * max(0, min(1, alpha x + beta)) (ONNX HardSigmoid; torch hardsigmoid is alpha 1/6, beta 1/2).
   * dx = alpha * g where 0 < alpha x + beta < 1, i.e. where 0 < y < 1 (strict, as PyTorch).
   */
  hard_sigmoid: unary<{ alpha: number; beta: number }>(
    'hard_sigmoid',
    (b, { outputs: [y], attrs }, [g]) => {
      const inside = b.op1('logical_and', [
        b.op1('greater', [y!, b.scalarLike(0, y!)], {}),
        b.op1('less', [y!, b.scalarLike(1, y!)], {}),
      ], {});
      return [b.where(inside, b.mulScalar(g!, attrs.alpha), b.scalarLike(0, g!))];
    },
    3,
    (a, where) => {
      checkFinite('alpha', a.alpha, where);
      checkFinite('beta', a.beta, where);
    },
  ),

  /**
   * x * relu6(x + 3) / 6 (ONNX HardSwish, torch hardswish). Gradient as PyTorch
   * hardswish_backward: 0 for x < -3, g * (x / 3 + 1/2) for -3 <= x <= 3, g above.
   */
  hard_swish: unary<NoAttrs>(
    'hard_swish',
    (b, { inputs: [x] }, [g]) => {
      const zero = b.scalarLike(0, g!);
      const low = b.op1('less', [x!, b.scalarLike(-3, x!)], {});
      const mid = b.op1('less_equal', [x!, b.scalarLike(3, x!)], {});
      const slope = b.add(b.mulScalar(x!, 1 / 3), b.scalarLike(0.5, x!));
      return [b.where(low, zero, b.where(mid, b.mul(g!, slope), g!))];
    },
    4,
  ),
};

/**
 * Elementwise ops with numpy broadcasting: arithmetic, comparisons, logic, select, unary math
 * and cast. Gradients of broadcast operands are summed back to the operand's shape.
 */
import type { DType } from '../dtype.js';
import { PockError } from '../errors.js';
import type { GraphBuilder } from '../ir/builder.js';
import type { TypeInfo, ValueId } from '../ir/graph.js';
import { broadcastShapes } from '../shape.js';
import { requireFloat, sameDtype } from './checks.js';
import { elementwiseCost } from './cost.js';
import { defineOp, type OpDef, type VjpRule } from './op-def.js';

export type NoAttrs = Record<string, never>;

function inferBinary(inputs: readonly TypeInfo[], _a: NoAttrs, where: Parameters<OpDef['infer']>[2]): TypeInfo[] {
  const dtype = sameDtype(inputs, where);
  return [{ dtype, shape: broadcastShapes(inputs[0]!.shape, inputs[1]!.shape, where) }];
}

function binary(name: string, vjp: VjpRule<NoAttrs>, flops = 1): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({ name, arity: [2, 2], infer: inferBinary, vjp, cost: elementwiseCost(flops), elementwise: true });
}

function inferFloatUnary(inputs: readonly TypeInfo[], _a: NoAttrs, where: Parameters<OpDef['infer']>[2]): TypeInfo[] {
  requireFloat(inputs[0]!, 'input', where);
  return [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }];
}

/** A float unary op whose gradient is `g * dydx(b, x, y)`. */
function unary(name: string, dydx: (b: GraphBuilder, x: ValueId, y: ValueId) => ValueId, flops = 1): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    arity: [1, 1],
    infer: inferFloatUnary,
    vjp: (b, { inputs, outputs }, [g]) => [g === null ? null : b.mul(g!, dydx(b, inputs[0]!, outputs[0]!))],
    cost: elementwiseCost(flops),
    elementwise: true,
  });
}

/** A piecewise-constant unary op (sign, floor, ceil, round): same type out, derivative zero almost everywhere. */
function stepOp(name: string): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    arity: [1, 1],
    infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
    vjp: () => [null],
    cost: elementwiseCost(1),
    elementwise: true,
  });
}

function compare(name: string): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    arity: [2, 2],
    infer: (inputs, _a, where) => {
      sameDtype(inputs, where);
      return [{ dtype: 'bool', shape: broadcastShapes(inputs[0]!.shape, inputs[1]!.shape, where) }];
    },
    nondiff: 'integer',
    cost: elementwiseCost(1),
    elementwise: true,
  });
}

function logical(name: string, arity: 1 | 2): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    arity: [arity, arity],
    infer: (inputs, _a, where) => {
      for (const t of inputs)
        if (t.dtype !== 'bool') throw new PockError('dtype', `operands must be bool, got ${t.dtype}`, where);
      const shape = inputs.length === 2 ? broadcastShapes(inputs[0]!.shape, inputs[1]!.shape, where) : inputs[0]!.shape;
      return [{ dtype: 'bool', shape }];
    },
    nondiff: 'integer',
    cost: elementwiseCost(1),
    elementwise: true,
  });
}

const shapeOf = (b: GraphBuilder, v: ValueId) => b.shape(v);

/** Gradient for maximum/minimum: the winner takes the gradient; ties split it evenly (as PyTorch). */
function selectGrad(cmp: 'greater' | 'less'): VjpRule<NoAttrs> {
  return (b, { inputs: [x, y], needs }, [g]) => {
    const zero = b.scalarLike(0, g!);
    const half = b.mulScalar(g!, 0.5);
    const tie = b.op1('equal', [x!, y!], {});
    const xWins = b.op1(cmp, [x!, y!], {});
    const yWins = b.op1(cmp, [y!, x!], {});
    return [
      needs[0] ? b.sumToShape(b.where(xWins, g!, b.where(tie, half, zero)), shapeOf(b, x!)) : null,
      needs[1] ? b.sumToShape(b.where(yWins, g!, b.where(tie, half, zero)), shapeOf(b, y!)) : null,
    ];
  };
}

/** Attribute types of this family's ops (declared, so the op-name union is not inferred circularly). */
export interface ElementwiseAttrs {
  add: NoAttrs; sub: NoAttrs; mul: NoAttrs; div: NoAttrs; pow: NoAttrs; maximum: NoAttrs; minimum: NoAttrs;
  equal: NoAttrs; less: NoAttrs; less_equal: NoAttrs; greater: NoAttrs; greater_equal: NoAttrs;
  logical_and: NoAttrs; logical_or: NoAttrs; logical_not: NoAttrs; where: NoAttrs;
  neg: NoAttrs; abs: NoAttrs; sign: NoAttrs; floor: NoAttrs; ceil: NoAttrs; round: NoAttrs; exp: NoAttrs; log: NoAttrs; sqrt: NoAttrs; rsqrt: NoAttrs;
  reciprocal: NoAttrs; sin: NoAttrs; cos: NoAttrs; erf: NoAttrs; asin: NoAttrs; acos: NoAttrs; atan: NoAttrs;
  cast: { to: DType };
  stop_gradient: NoAttrs;
  in_range: InRangeAttrs;
}

/** x in [min, max] (bounds optional; `strictMin` / `strictMax` exclude them): one pass for activation masks. */
export interface InRangeAttrs extends Record<string, number | boolean | null | undefined> {
  min: number | null;
  max: number | null;
  strictMin: boolean;
  strictMax?: boolean;
}

export const elementwiseOps: { [K in keyof ElementwiseAttrs]: OpDef<ElementwiseAttrs[K]> } = {
  add: binary('add', (b, { inputs: [x, y], needs }, [g]) => [
    needs[0] ? b.sumToShape(g!, shapeOf(b, x!)) : null,
    needs[1] ? b.sumToShape(g!, shapeOf(b, y!)) : null,
  ]),
  sub: binary('sub', (b, { inputs: [x, y], needs }, [g]) => [
    needs[0] ? b.sumToShape(g!, shapeOf(b, x!)) : null,
    needs[1] ? b.sumToShape(b.neg(g!), shapeOf(b, y!)) : null,
  ]),
  mul: binary('mul', (b, { inputs: [x, y], needs }, [g]) => [
    needs[0] ? b.sumToShape(b.mul(g!, y!), shapeOf(b, x!)) : null,
    needs[1] ? b.sumToShape(b.mul(g!, x!), shapeOf(b, y!)) : null,
  ]),
  div: binary('div', (b, { inputs: [x, y], outputs: [z], needs }, [g]) => [
    needs[0] ? b.sumToShape(b.div(g!, y!), shapeOf(b, x!)) : null,
    // d(x/y)/dy = -x/y^2 = -z/y
    needs[1] ? b.sumToShape(b.neg(b.div(b.mul(g!, z!), y!)), shapeOf(b, y!)) : null,
  ]),
  pow: binary(
    'pow',
    (b, { inputs: [x, y], outputs: [z], needs }, [g]) => {
      // d/dx x^y = y * x^(y-1); d/dy x^y = x^y * ln x (defined for x > 0; 0 elsewhere as PyTorch)
      let gx: ValueId | null = null;
      let gy: ValueId | null = null;
      if (needs[0]) {
        const ym1 = b.sub(y!, b.scalarLike(1, y!));
        gx = b.sumToShape(b.mul(g!, b.mul(y!, b.op1('pow', [x!, ym1], {}))), shapeOf(b, x!));
      }
      if (needs[1]) {
        const pos = b.op1('greater', [x!, b.scalarLike(0, x!)], {});
        const safeX = b.where(pos, x!, b.scalarLike(1, x!));
        const lg = b.op1('log', [safeX], {});
        gy = b.sumToShape(b.mul(g!, b.mul(z!, lg)), shapeOf(b, y!));
      }
      return [gx, gy];
    },
    4,
  ),
  maximum: binary('maximum', selectGrad('greater')),
  minimum: binary('minimum', selectGrad('less')),

  equal: compare('equal'),
  less: compare('less'),
  less_equal: compare('less_equal'),
  greater: compare('greater'),
  greater_equal: compare('greater_equal'),
  logical_and: logical('logical_and', 2),
  logical_or: logical('logical_or', 2),
  logical_not: logical('logical_not', 1),

  where: defineOp<NoAttrs>({
    name: 'where',
    arity: [3, 3],
    infer: (inputs, _a, where) => {
      const [c, x, y] = inputs as [TypeInfo, TypeInfo, TypeInfo];
      if (c.dtype !== 'bool') throw new PockError('dtype', `condition must be bool, got ${c.dtype}`, where);
      const dtype = sameDtype([x, y], where);
      return [{ dtype, shape: broadcastShapes(broadcastShapes(c.shape, x.shape, where), y.shape, where) }];
    },
    nondiffInputs: [0],
    vjp: (b, { inputs: [c, x, y], needs }, [g]) => {
      const zero = b.scalarLike(0, g!);
      return [
        null,
        needs[1] ? b.sumToShape(b.where(c!, g!, zero), shapeOf(b, x!)) : null,
        needs[2] ? b.sumToShape(b.where(c!, zero, g!), shapeOf(b, y!)) : null,
      ];
    },
    cost: elementwiseCost(1),
    elementwise: true,
  }),

  neg: defineOp<NoAttrs>({
    name: 'neg',
    arity: [1, 1],
    infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
    vjp: (b, _args, [g]) => [b.neg(g!)],
    cost: elementwiseCost(1),
    elementwise: true,
  }),
  abs: unary('abs', (b, x) => b.op1('sign', [x], {})),
  sign: stepOp('sign'),
  floor: stepOp('floor'),
  ceil: stepOp('ceil'),
  /** Round half to even (IEEE roundTiesToEven: numpy, ONNX Round, TF Round). */
  round: stepOp('round'),
  exp: unary('exp', (_b, _x, y) => y, 4),
  log: unary('log', (b, x) => b.op1('reciprocal', [x], {}), 4),
  sqrt: unary('sqrt', (b, _x, y) => b.div(b.scalarLike(0.5, y), y), 2),
  rsqrt: unary('rsqrt', (b, x, y) => b.mulScalar(b.div(y, x), -0.5), 3),
  reciprocal: unary('reciprocal', (b, _x, y) => b.neg(b.mul(y, y)), 1),
  sin: unary('sin', (b, x) => b.op1('cos', [x], {}), 4),
  cos: unary('cos', (b, x) => b.neg(b.op1('sin', [x], {})), 4),
  // d asin(x)/dx = 1 / sqrt(1 - x^2), d acos(x)/dx = -1 / sqrt(1 - x^2), d atan(x)/dx = 1 / (1 + x^2)
  asin: unary('asin', (b, x) => b.op1('rsqrt', [b.sub(b.scalarLike(1, x), b.mul(x, x))], {}), 8),
  acos: unary('acos', (b, x) => b.neg(b.op1('rsqrt', [b.sub(b.scalarLike(1, x), b.mul(x, x))], {})), 8),
  atan: unary('atan', (b, x) => b.op1('reciprocal', [b.add(b.scalarLike(1, x), b.mul(x, x))], {}), 8),
  // d erf(x)/dx = 2/sqrt(pi) * exp(-x^2)
  erf: unary('erf', (b, x) => b.mulScalar(b.op1('exp', [b.neg(b.mul(x, x))], {}), 2 / Math.sqrt(Math.PI)), 8),

  /** Identity in the forward pass; no gradient flows through it (jax.lax.stop_gradient, detach). */
  stop_gradient: defineOp<NoAttrs>({
    name: 'stop_gradient',
    arity: [1, 1],
    infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
    nondiff: 'stop',
    cost: elementwiseCost(0),
    elementwise: true,
  }),
  in_range: defineOp<InRangeAttrs>({
    name: 'in_range',
    arity: [1, 1],
    infer: (inputs, _a, where) => {
      requireFloat(inputs[0]!, 'input', where);
      return [{ dtype: 'bool', shape: inputs[0]!.shape }];
    },
    nondiff: 'integer',
    cost: elementwiseCost(2),
    elementwise: true,
  }),
  cast: defineOp<{ to: DType }>({
    name: 'cast',
    arity: [1, 1],
    infer: (inputs, attrs) => [{ dtype: attrs.to, shape: inputs[0]!.shape }],
    vjp: (b, { inputs: [x] }, [g]) => {
      const d = b.dtype(x!);
      return [d === 'float32' || d === 'float64' ? b.cast(g!, d) : null];
    },
    cost: elementwiseCost(0),
    elementwise: true,
  }),
};

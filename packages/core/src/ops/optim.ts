/**
 * Optimizer update ops. They live in the graph so that the whole training step is one static
 * program; their outputs replace the parameter and its state in place at the end of the step.
 * Semantics follow torch.optim.SGD / Adam / AdamW exactly (including SGD's first-step momentum
 * buffer = gradient), so updates can be checked against PyTorch by hand.
 */
import { PockError } from '../errors.js';
import type { TypeInfo } from '../ir/graph.js';
import { fmtShape, shapeEq } from '../shape.js';
import { requireFloat } from './checks.js';
import { elementwiseCost, movedBytes } from './cost.js';
import { matmulDims, type MatmulAttrs } from './matmul.js';
import { defineOp, type OpDef } from './op-def.js';

/**
 * Channel-sparse updates: when `rows` is set, the gradient (and the optimizer state) hold only
 * those rows of dim 0 of the parameter, in that order; the other rows are left unchanged.
 */
type Rows = { rows: readonly number[] | null };

export interface SgdAttrs extends Record<string, number | boolean | readonly number[] | null>, Rows {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export interface AdamAttrs extends Record<string, number | boolean | readonly number[] | null>, Rows {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** AdamW: decay the weights directly instead of adding wd*p to the gradient. */
  decoupled: boolean;
}

/** The shape of the gradient / state of a parameter of shape `p` under a row selection. */
export function updatedShape(p: readonly number[], rows: readonly number[] | null): number[] {
  return rows ? [rows.length, ...p.slice(1)] : [...p];
}

function checkRows(p: readonly number[], rows: readonly number[] | null, where: Parameters<typeof requireFloat>[2]) {
  if (!rows) return;
  if (p.length === 0 || rows.some((r, i) => !Number.isInteger(r) || r < 0 || r >= p[0]! || (i > 0 && r <= rows[i - 1]!)))
    throw new PockError('attr', `rows must be increasing indices into dim 0 (size ${p[0]}) of the parameter`, where);
}

function checkSame(shapes: readonly (readonly number[])[], where: Parameters<typeof requireFloat>[2]) {
  for (const s of shapes)
    if (!shapeEq(s, shapes[0]!))
      throw new PockError('shape', `optimizer operands differ in shape: ${shapes.map(fmtShape).join(', ')}`, where);
}

export interface OptimOpsAttrs {
  sgd_update: SgdAttrs;
  adam_update: AdamAttrs;
  matmul_sgd_update: MatmulAttrs;
}

export const optimOps: { [K in keyof OptimOpsAttrs]: OpDef<OptimOpsAttrs[K]> } = {
  /**
   * inputs: param, grad, lr (scalar), step (scalar, 1 on the first step), [velocity]
   * outputs: new param, [new velocity]  (velocity iff momentum != 0)
   */
  sgd_update: defineOp<SgdAttrs>({
    name: 'sgd_update',
    arity: [4, 5],
    outputs: (a) => (a.momentum !== 0 ? 2 : 1),
    infer: (inputs, a, where) => {
      const [p, g] = inputs;
      requireFloat(p!, 'parameter', where);
      const hasV = a.momentum !== 0;
      if (hasV !== (inputs.length === 5))
        throw new PockError('attr', `sgd_update with momentum=${a.momentum} takes ${hasV ? 5 : 4} inputs`, where);
      checkRows(p!.shape, a.rows, where);
      checkSame([updatedShape(p!.shape, a.rows), ...inputs.filter((_, i) => i === 1 || i === 4).map((t) => t.shape)], where);
      if (a.nesterov && (a.momentum <= 0 || a.dampening !== 0))
        throw new PockError('attr', 'nesterov momentum requires momentum > 0 and dampening = 0', where);
      const out = [{ dtype: p!.dtype, shape: p!.shape }];
      if (hasV) out.push({ dtype: g!.dtype, shape: g!.shape });
      return out;
    },
    nondiff: 'optimizer',
    cost: elementwiseCost(4),
  }),

  /**
   * Plain SGD (no momentum, no weight decay) whose gradient is a matmul, fused (the optimizer
   * update as the GEMM's epilogue: param - lr * op(a) op(b) accumulated straight into the
   * parameter, so the weight gradient is never stored). Made by passes/fuse-update.ts.
   * inputs: param [m, n], a, b (2-D), lr (scalar), step (scalar); output: new param
   */
  matmul_sgd_update: defineOp<MatmulAttrs>({
    name: 'matmul_sgd_update',
    arity: [5, 5],
    infer: (inputs, attrs, where) => {
      const [p, a, b] = inputs as [TypeInfo, TypeInfo, TypeInfo];
      requireFloat(p, 'parameter', where);
      if (p.shape.length !== 2 || a.shape.length !== 2 || b.shape.length !== 2)
        throw new PockError('shape', `parameter and operands must be 2-D (got ${fmtShape(p.shape)}, ${fmtShape(a.shape)}, ${fmtShape(b.shape)})`, where);
      const d = matmulDims(a.shape, b.shape, attrs);
      if (d.k !== d.kb || d.m !== p.shape[0] || d.n !== p.shape[1])
        throw new PockError('shape', `${fmtShape(a.shape)}${attrs.transA ? 'ᵀ' : ''} x ${fmtShape(b.shape)}${attrs.transB ? 'ᵀ' : ''} does not give the parameter's shape ${fmtShape(p.shape)}`, where);
      if (a.dtype !== p.dtype || b.dtype !== p.dtype) throw new PockError('dtype', `operands must be ${p.dtype} like the parameter`, where);
      return [{ dtype: p.dtype, shape: p.shape }];
    },
    nondiff: 'optimizer',
    cost: (inputs, outputs, attrs) => {
      const d = matmulDims(inputs[1]!.shape, inputs[2]!.shape, attrs);
      return { flops: 2 * d.m * d.n * d.k + 2 * d.m * d.n, bytes: movedBytes(inputs, outputs) };
    },
  }),

  /**
   * inputs: param, grad, lr (scalar), step (scalar, 1 on the first step), m, v
   * outputs: new param, new m, new v
   */
  adam_update: defineOp<AdamAttrs>({
    name: 'adam_update',
    arity: [6, 6],
    outputs: () => 3,
    infer: (inputs, a, where) => {
      const [p, , , , m, v] = inputs;
      requireFloat(p!, 'parameter', where);
      checkRows(p!.shape, a.rows, where);
      checkSame([updatedShape(p!.shape, a.rows), inputs[1]!.shape, m!.shape, v!.shape], where);
      return [
        { dtype: p!.dtype, shape: p!.shape },
        { dtype: m!.dtype, shape: m!.shape },
        { dtype: v!.dtype, shape: v!.shape },
      ];
    },
    nondiff: 'optimizer',
    cost: elementwiseCost(12),
  }),
};
